/* Page arithmetic: PAGE_ALIGN, BYTE_OFFSET, ROUND_TO_PAGES, BYTES_TO_PAGES,
 * ADDRESS_AND_SIZE_TO_SPAN_PAGES, as macros and as the exported functions. */
#include "kmtest.h"

static const ULONG_PTR addresses[] = {0, 1, 0xFFF, 0x1000, 0x1001, 0x7FFFFFFFF123, 0x12345FFF};
static const SIZE_T sizes[] = {0, 1, 0xFFF, 0x1000, 0x1001, 0x2FFF, 0x3000, 0x100000};

static void test_mm_page_align_and_byte_offset(void **state)
{
    for (unsigned i = 0; i < ARRAYSIZE(addresses); i++) {
        PVOID va = (PVOID)addresses[i];
        ULONG_PTR want_page = addresses[i] & ~(ULONG_PTR)0xFFF;
        ULONG want_offset = (ULONG)(addresses[i] & 0xFFF);
        assert_int_equal((ULONG_PTR)PAGE_ALIGN(va), want_page);
        assert_int_equal((ULONG_PTR)(PAGE_ALIGN)(va), want_page);
        assert_int_equal(BYTE_OFFSET(va), want_offset);
        assert_int_equal((BYTE_OFFSET)(va), want_offset);
        /* The two halves put back together give the address again. */
        assert_int_equal((ULONG_PTR)PAGE_ALIGN(va) + BYTE_OFFSET(va), addresses[i]);
    }
}

static void test_mm_round_to_pages_and_bytes_to_pages(void **state)
{
    const SIZE_T want_round[] = {0, 0x1000, 0x1000, 0x1000, 0x2000, 0x3000, 0x3000, 0x100000};
    const ULONG want_pages[] = {0, 1, 1, 1, 2, 3, 3, 0x100};
    for (unsigned i = 0; i < ARRAYSIZE(sizes); i++) {
        assert_int_equal(ROUND_TO_PAGES(sizes[i]), want_round[i]);
        assert_int_equal((ROUND_TO_PAGES)(sizes[i]), want_round[i]);
        assert_int_equal(BYTES_TO_PAGES(sizes[i]), want_pages[i]);
        assert_int_equal((BYTES_TO_PAGES)(sizes[i]), want_pages[i]);
    }
}

static void test_mm_address_and_size_to_span_pages(void **state)
{
    for (unsigned i = 0; i < ARRAYSIZE(addresses); i++) {
        for (unsigned j = 0; j < ARRAYSIZE(sizes); j++) {
            PVOID va = (PVOID)addresses[i];
            ULONG_PTR first = addresses[i] >> 12;
            ULONG_PTR last = (addresses[i] + sizes[j] - 1) >> 12;
            /* Zero bytes at an unaligned address still count its page, as the WDK macro does. */
            ULONG want = sizes[j] ? (ULONG)(last - first + 1) : (addresses[i] & 0xFFF) != 0;
            assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES(va, sizes[j]), want);
            assert_int_equal((ADDRESS_AND_SIZE_TO_SPAN_PAGES)(va, sizes[j]), want);
        }
    }
    /* Two bytes across a page boundary touch two pages. */
    assert_int_equal(ADDRESS_AND_SIZE_TO_SPAN_PAGES((PVOID)0x1FFF, 2), 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mm_page_align_and_byte_offset),
    cmocka_unit_test(test_mm_round_to_pages_and_bytes_to_pages),
    cmocka_unit_test(test_mm_address_and_size_to_span_pages),
};
KMTEST_MAIN(tests)
