/* Buffer routines: the DDK macros and the exported functions behind them must agree. */
#include "kmtest.h"

#include <stdlib.h>

/* The function forms, reached the way a driver reaches them after #undef. */
static VOID(NTAPI *const FnCopyMemory)(VOID UNALIGNED *, const VOID UNALIGNED *,
                                       SIZE_T) = (RtlCopyMemory);
static VOID(NTAPI *const FnMoveMemory)(VOID UNALIGNED *, const VOID UNALIGNED *,
                                       SIZE_T) = (RtlMoveMemory);
static VOID(NTAPI *const FnFillMemory)(VOID UNALIGNED *, SIZE_T, UCHAR) = (RtlFillMemory);
static VOID(NTAPI *const FnZeroMemory)(VOID UNALIGNED *, SIZE_T) = (RtlZeroMemory);
static LOGICAL(NTAPI *const FnEqualMemory)(const VOID *, const VOID *, SIZE_T) = (RtlEqualMemory);

static void fill_pattern(UCHAR *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (UCHAR)(seed + i * 7);
}

static void test_rtl_compare_memory_counts_matching_prefix(void **state)
{
    UCHAR a[64], b[64];
    fill_pattern(a, sizeof a, 3);
    memcpy(b, a, sizeof b);
    assert_int_equal(RtlCompareMemory(a, b, sizeof a), sizeof a);
    for (size_t k = 0; k < sizeof a; k += 5) {
        memcpy(b, a, sizeof b);
        b[k] ^= 0x40;
        assert_int_equal(RtlCompareMemory(a, b, sizeof a), k);
        /* A shorter length that stops before the difference matches entirely. */
        assert_int_equal(RtlCompareMemory(a, b, k), k);
    }
    assert_int_equal(RtlCompareMemory(a, b, 0), 0);
}

static void test_rtl_compare_memory_ulong_counts_bytes(void **state)
{
    ULONG buf[8];
    for (int i = 0; i < 8; i++)
        buf[i] = 0xDEADBEEF;
    assert_int_equal(RtlCompareMemoryUlong(buf, sizeof buf, 0xDEADBEEF), sizeof buf);
    buf[5] = 0;
    assert_int_equal(RtlCompareMemoryUlong(buf, sizeof buf, 0xDEADBEEF), 5 * sizeof(ULONG));
    /* A length that is not a multiple of 4 is rounded down. */
    assert_int_equal(RtlCompareMemoryUlong(buf, 11, 0xDEADBEEF), 8);
}

static void test_rtl_copy_memory_macro_and_function(void **state)
{
    UCHAR src[100], dst[100], dst2[100];
    fill_pattern(src, sizeof src, 11);
    kmtest_junk(dst, sizeof dst);
    kmtest_junk(dst2, sizeof dst2);
    RtlCopyMemory(dst, src, 37);
    FnCopyMemory(dst2, src, 37);
    assert_memory_equal(dst, src, 37);
    assert_memory_equal(dst2, src, 37);
    assert_int_equal(dst[37], 0xA5);
    assert_int_equal(dst2[37], 0xA5);
    FnCopyMemory(NULL, NULL, 0); /* zero length: no access */
}

static void test_rtl_move_memory_overlapping(void **state)
{
    UCHAR buf[64], ref[64];
    for (int shift = -9; shift <= 9; shift += 3) {
        fill_pattern(buf, sizeof buf, 1);
        memcpy(ref, buf, sizeof ref);
        memmove(ref + 20 + shift, ref + 20, 30);
        FnMoveMemory(buf + 20 + shift, buf + 20, 30);
        assert_memory_equal(buf, ref, sizeof buf);
        fill_pattern(buf, sizeof buf, 1);
        RtlMoveMemory(buf + 20 + shift, buf + 20, 30);
        assert_memory_equal(buf, ref, sizeof buf);
    }
}

static void test_rtl_fill_and_zero_memory(void **state)
{
    UCHAR buf[40];
    kmtest_junk(buf, sizeof buf);
    FnFillMemory(buf + 4, 10, 0x3C);
    for (int i = 0; i < 40; i++)
        assert_int_equal(buf[i], i >= 4 && i < 14 ? 0x3C : 0xA5);
    RtlFillMemory(buf, 3, 0x11);
    assert_int_equal(buf[2], 0x11);
    assert_int_equal(buf[3], 0xA5);
    FnZeroMemory(buf + 20, 5);
    for (int i = 18; i < 27; i++)
        assert_int_equal(buf[i], i >= 20 && i < 25 ? 0 : 0xA5);
    RtlZeroMemory(buf, sizeof buf);
    for (int i = 0; i < 40; i++)
        assert_int_equal(buf[i], 0);
    UCHAR secret[16];
    kmtest_junk(secret, sizeof secret);
    assert_ptr_equal(RtlSecureZeroMemory(secret, sizeof secret), secret);
    for (int i = 0; i < 16; i++)
        assert_int_equal(secret[i], 0);
}

static void test_rtl_fill_memory_ulong(void **state)
{
    UCHAR buf[20];
    kmtest_junk(buf, sizeof buf);
    RtlFillMemoryUlong(buf, 14, 0x01020304); /* three whole ULONGs */
    ULONG v;
    for (int i = 0; i < 3; i++) {
        memcpy(&v, buf + 4 * i, 4);
        assert_int_equal(v, 0x01020304);
    }
    assert_int_equal(buf[12], 0xA5);
}

static void test_rtl_equal_memory(void **state)
{
    UCHAR a[32], b[32];
    fill_pattern(a, sizeof a, 5);
    memcpy(b, a, sizeof b);
    assert_true(RtlEqualMemory(a, b, sizeof a));
    assert_true(FnEqualMemory(a, b, sizeof a));
    b[31] ^= 1;
    assert_false(RtlEqualMemory(a, b, sizeof a));
    assert_false(FnEqualMemory(a, b, sizeof a));
    assert_true(FnEqualMemory(a, b, 31));
    assert_true(FnEqualMemory(a, b, 0));
}

static void test_rtl_store_retrieve_unaligned(void **state)
{
    UCHAR buf[24];
    for (int off = 0; off < 8; off++) {
        kmtest_junk(buf, sizeof buf);
        RtlStoreUshort(buf + off, 0xBEEF);
        assert_int_equal(buf[off], 0xEF); /* little-endian, as on x64 */
        assert_int_equal(buf[off + 1], 0xBE);
        assert_int_equal(buf[off + 2], 0xA5);
        USHORT us = 0;
        RtlRetrieveUshort(&us, buf + off);
        assert_int_equal(us, 0xBEEF);

        kmtest_junk(buf, sizeof buf);
        RtlStoreUlong(buf + off, 0x12345678);
        assert_int_equal(buf[off], 0x78);
        assert_int_equal(buf[off + 3], 0x12);
        assert_int_equal(buf[off + 4], 0xA5);
        ULONG ul = 0;
        RtlRetrieveUlong(&ul, buf + off);
        assert_int_equal(ul, 0x12345678);
        /* Retrieve into an unaligned destination too. */
        RtlRetrieveUlong(buf + 16 + (off & 3), buf + off);
        memcpy(&ul, buf + 16 + (off & 3), 4);
        assert_int_equal(ul, 0x12345678);

        kmtest_junk(buf, sizeof buf);
        RtlStoreUlonglong(buf + off, 0x1122334455667788ULL);
        assert_int_equal(buf[off], 0x88);
        assert_int_equal(buf[off + 7], 0x11);
        RtlStoreUlongPtr(buf + off, (ULONG_PTR)0xA1B2C3D4E5F60718ULL);
        ULONG_PTR up;
        memcpy(&up, buf + off, sizeof up);
        assert_int_equal(up, (ULONG_PTR)0xA1B2C3D4E5F60718ULL);
    }
}

#undef RtlStoreUshort
#undef RtlStoreUlong
#undef RtlStoreUlonglong
#undef RtlStoreUlongPtr
#undef RtlRetrieveUshort
#undef RtlRetrieveUlong

static void test_rtl_store_retrieve_functions(void **state)
{
    UCHAR buf[16];
    for (int off = 0; off < 4; off++) {
        kmtest_junk(buf, sizeof buf);
        RtlStoreUshort(buf + off, 0xCAFE);
        assert_int_equal(buf[off], 0xFE);
        assert_int_equal(buf[off + 1], 0xCA);
        assert_int_equal(buf[off + 2], 0xA5);
        USHORT us;
        RtlRetrieveUshort(&us, buf + off);
        assert_int_equal(us, 0xCAFE);
        RtlStoreUlong(buf + off + 1, 0x0BADF00D);
        ULONG ul;
        RtlRetrieveUlong(&ul, buf + off + 1);
        assert_int_equal(ul, 0x0BADF00D);
        assert_int_equal(buf[off + 1], 0x0D);
        RtlStoreUlonglong(buf + off, 0x0102030405060708ULL);
        assert_int_equal(buf[off], 0x08);
        RtlStoreUlongPtr(buf + off, (ULONG_PTR)0x42);
        assert_int_equal(buf[off], 0x42);
        assert_int_equal(buf[off + 7], 0);
    }
}

#undef RtlCopyMemory
#undef RtlMoveMemory
#undef RtlFillMemory
#undef RtlZeroMemory
#undef RtlEqualMemory

static void test_rtl_memory_functions_after_undef(void **state)
{
    UCHAR a[16], b[16];
    fill_pattern(a, sizeof a, 9);
    kmtest_junk(b, sizeof b);
    RtlCopyMemory(b, a, sizeof a);
    assert_true(RtlEqualMemory(a, b, sizeof a));
    RtlMoveMemory(b + 1, b, 8);
    assert_int_equal(b[1], a[0]);
    assert_int_equal(b[8], a[7]);
    RtlFillMemory(b, 4, 0x77);
    assert_int_equal(b[3], 0x77);
    RtlZeroMemory(b, 2);
    assert_int_equal(b[0], 0);
    assert_int_equal(b[2], 0x77);
    assert_false(RtlEqualMemory(a, b, sizeof a));
}

static void test_rtl_byte_swaps(void **state)
{
    assert_int_equal(RtlUshortByteSwap(0x1234), 0x3412);
    assert_int_equal(RtlUlongByteSwap(0x12345678), 0x78563412);
    assert_true(RtlUlonglongByteSwap(0x0102030405060708ULL) == 0x0807060504030201ULL);
    for (ULONG v = 1; v; v <<= 3)
        assert_int_equal(RtlUlongByteSwap(RtlUlongByteSwap(v)), v);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rtl_compare_memory_counts_matching_prefix),
    cmocka_unit_test(test_rtl_compare_memory_ulong_counts_bytes),
    cmocka_unit_test(test_rtl_copy_memory_macro_and_function),
    cmocka_unit_test(test_rtl_move_memory_overlapping),
    cmocka_unit_test(test_rtl_fill_and_zero_memory),
    cmocka_unit_test(test_rtl_fill_memory_ulong),
    cmocka_unit_test(test_rtl_equal_memory),
    cmocka_unit_test(test_rtl_store_retrieve_unaligned),
    cmocka_unit_test(test_rtl_store_retrieve_functions),
    cmocka_unit_test(test_rtl_memory_functions_after_undef),
    cmocka_unit_test(test_rtl_byte_swaps),
};

KMTEST_MAIN(tests)
