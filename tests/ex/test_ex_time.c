/* ExSystemTimeToLocalTime / ExLocalTimeToSystemTime with the instance's time zone bias. */
#include "kmtest.h"

#define MINUTE (60LL * 10000000LL)

static kmrig_runtime *runtime_with_bias(int32_t bias)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.tz_bias_minutes = bias;
    return kmtest_runtime_cfg(&cfg);
}

static void test_ex_system_time_to_local_time_subtracts_bias(void **state)
{
    const int32_t biases[] = {0, 60, -330, 480};
    for (unsigned i = 0; i < ARRAYSIZE(biases); i++) {
        kmrig_runtime *rt = runtime_with_bias(biases[i]);
        LARGE_INTEGER sys, local;
        KeQuerySystemTime(&sys);
        kmtest_junk(&local, sizeof local);
        ExSystemTimeToLocalTime(&sys, &local);
        assert_int_equal(local.QuadPart, sys.QuadPart - biases[i] * MINUTE);
        kmrig_runtime_destroy(rt);
    }
}

static void test_ex_local_time_to_system_time_adds_bias(void **state)
{
    kmrig_runtime *rt = runtime_with_bias(-120); /* UTC+2 */
    LARGE_INTEGER local = {.QuadPart = 133485408000000000LL}, sys;
    ExLocalTimeToSystemTime(&local, &sys);
    assert_int_equal(sys.QuadPart, local.QuadPart - 120 * MINUTE);
    LARGE_INTEGER back;
    ExSystemTimeToLocalTime(&sys, &back);
    assert_int_equal(back.QuadPart, local.QuadPart);
    kmrig_runtime_destroy(rt);
}

static void test_ex_time_conversion_in_place(void **state)
{
    kmrig_runtime *rt = runtime_with_bias(60);
    LARGE_INTEGER t = {.QuadPart = 1000 * MINUTE};
    ExSystemTimeToLocalTime(&t, &t);
    assert_int_equal(t.QuadPart, 940 * MINUTE);
    ExLocalTimeToSystemTime(&t, &t);
    assert_int_equal(t.QuadPart, 1000 * MINUTE);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_system_time_to_local_time_subtracts_bias),
    cmocka_unit_test(test_ex_local_time_to_system_time_adds_bias),
    cmocka_unit_test(test_ex_time_conversion_in_place),
};
KMTEST_MAIN(tests)
