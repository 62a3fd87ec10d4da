/* __try/__except/__finally/__leave on the runtime's setjmp frames; ExRaiseStatus. */
#include "kmtest.h"

static void raise_it(NTSTATUS s)
{
    ExRaiseStatus(s);
}

static void test_ex_raise_status_caught_by_except(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile NTSTATUS status = STATUS_SUCCESS;
    volatile int after_raise = 0;
    __try {
        ExRaiseStatus(STATUS_INVALID_PARAMETER);
        after_raise = 1;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        status = GetExceptionCode();
    }
    assert_int_equal(status, STATUS_INVALID_PARAMETER);
    assert_int_equal(after_raise, 0);
    kmrig_runtime_destroy(rt);
}

static void test_ex_try_without_raise_skips_handler(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile int body = 0, handler = 0;
    for (int i = 0; i < 3; i++) {
        __try {
            body++;
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            handler++;
        }
    }
    assert_int_equal(body, 3);
    assert_int_equal(handler, 0);
    /* The chain is empty again: an unrelated raise reaches a new outer frame. */
    volatile NTSTATUS s = 0;
    __try {
        raise_it(STATUS_ACCESS_VIOLATION);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_ACCESS_VIOLATION);
    kmrig_runtime_destroy(rt);
}

static LONG filter_record(NTSTATUS code, NTSTATUS want, volatile int *calls)
{
    (*calls)++;
    return code == want ? EXCEPTION_EXECUTE_HANDLER : EXCEPTION_CONTINUE_SEARCH;
}

static void test_ex_nested_try_continue_search_reaches_outer(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile int inner_calls = 0, inner_handler = 0, outer_handler = 0;
    volatile NTSTATUS outer = 0;
    __try {
        __try {
            raise_it(STATUS_DATATYPE_MISALIGNMENT);
        } __except (filter_record(GetExceptionCode(), STATUS_ACCESS_VIOLATION, &inner_calls)) {
            inner_handler = 1;
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        outer_handler = 1;
        outer = GetExceptionCode();
    }
    assert_int_equal(inner_calls, 1);
    assert_int_equal(inner_handler, 0);
    assert_int_equal(outer_handler, 1);
    assert_int_equal(outer, STATUS_DATATYPE_MISALIGNMENT);
    kmrig_runtime_destroy(rt);
}

static void test_ex_nested_try_inner_handles(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile int inner = 0, outer = 0, after = 0;
    __try {
        __try {
            ExRaiseAccessViolation();
        } __except (GetExceptionCode() == STATUS_ACCESS_VIOLATION ? EXCEPTION_EXECUTE_HANDLER
                                                                  : EXCEPTION_CONTINUE_SEARCH) {
            inner = 1;
        }
        after = 1;
        ExRaiseDatatypeMisalignment();
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        outer = GetExceptionCode() == STATUS_DATATYPE_MISALIGNMENT;
    }
    assert_true(inner && after && outer);
    kmrig_runtime_destroy(rt);
}

static void test_ex_raise_inside_handler_goes_outward(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile NTSTATUS seen = 0;
    __try {
        __try {
            ExRaiseStatus(STATUS_UNSUCCESSFUL);
        } __except (EXCEPTION_EXECUTE_HANDLER) {
            ExRaiseStatus(STATUS_INSUFFICIENT_RESOURCES);
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        seen = GetExceptionCode();
    }
    assert_int_equal(seen, STATUS_INSUFFICIENT_RESOURCES);
    kmrig_runtime_destroy(rt);
}

static void test_ex_continue_execution_becomes_noncontinuable(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile int calls = 0;
    volatile NTSTATUS handled = 0;
    __try {
        ExRaiseStatus(STATUS_UNSUCCESSFUL);
    } __except (calls++ == 0 ? EXCEPTION_CONTINUE_EXECUTION : EXCEPTION_EXECUTE_HANDLER) {
        handled = GetExceptionCode();
    }
    assert_int_equal(calls, 2);
    assert_int_equal(handled, STATUS_NONCONTINUABLE_EXCEPTION);
    kmrig_runtime_destroy(rt);
}

static void test_ex_finally_runs_on_normal_and_abnormal_exit(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile int fin = 0, abnormal = -1;
    __try {
        fin = 0;
    } __finally {
        fin = 1;
        abnormal = AbnormalTermination();
    }
    assert_int_equal(fin, 1);
    assert_int_equal(abnormal, 0);

    volatile int order = 0, fin_at = 0, handler_at = 0;
    volatile NTSTATUS code = 0;
    __try {
        __try {
            ExRaiseStatus(STATUS_INVALID_PARAMETER);
        } __finally {
            fin_at = ++order;
            abnormal = AbnormalTermination();
        }
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        handler_at = ++order;
        code = GetExceptionCode();
    }
    assert_int_equal(abnormal, 1);
    assert_int_equal(fin_at, 1);
    assert_int_equal(handler_at, 2);
    assert_int_equal(code, STATUS_INVALID_PARAMETER);
    kmrig_runtime_destroy(rt);
}

static void test_ex_leave_exits_body(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile int reached = 0, fin = 0, handler = 0;
    __try {
        for (int i = 0; i < 10; i++)
            if (i == 2)
                __leave;
        reached = 1;
    } __finally {
        fin = AbnormalTermination() ? -1 : 1;
    }
    assert_int_equal(reached, 0);
    assert_int_equal(fin, 1);
    __try {
        __leave;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        handler = 1;
    }
    assert_int_equal(handler, 0);
    kmrig_runtime_destroy(rt);
}

static NTSTATUS return_from_try(void)
{
    __try {
        return STATUS_PENDING;
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        return STATUS_UNSUCCESSFUL;
    }
    return STATUS_SUCCESS;
}

static void test_ex_return_from_try_body_unlinks_frame(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(return_from_try(), STATUS_PENDING);
    /* The returned-from frame is gone from the chain: this raise must land here, not in it. */
    volatile NTSTATUS s = 0;
    __try {
        ExRaiseStatus(STATUS_ACCESS_VIOLATION);
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_ACCESS_VIOLATION);
    kmrig_runtime_destroy(rt);
}

static void test_ex_allocate_pool_with_quota_raise_is_caught(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    volatile NTSTATUS s = 0;
    PVOID volatile p = (PVOID)1;
    __try {
        p = ExAllocatePoolWithQuotaTag(PagedPool, (SIZE_T)1 << 62, 'atoQ');
    } __except (EXCEPTION_EXECUTE_HANDLER) {
        s = GetExceptionCode();
    }
    assert_int_equal(s, STATUS_INSUFFICIENT_RESOURCES);
    assert_ptr_equal(p, (PVOID)1);
    kmrig_runtime_destroy(rt);
}

static void unhandled_raise(void *arg)
{
    kmtest_runtime(1);
    ExRaiseStatus(STATUS_INVALID_PARAMETER);
}

static void unhandled_after_continue_search(void *arg)
{
    kmtest_runtime(1);
    __try {
        ExRaiseStatus(STATUS_ACCESS_VIOLATION);
    } __except (EXCEPTION_CONTINUE_SEARCH) {
    }
}

static void test_ex_unhandled_raise_bugchecks_kmode_exception(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(unhandled_raise, NULL, p), KMODE_EXCEPTION_NOT_HANDLED);
    assert_int_equal((ULONG)p[0], (ULONG)STATUS_INVALID_PARAMETER);
    assert_true(p[1] != 0); /* the raiser's address */
    assert_int_equal(kmtest_bugcheck_of(unhandled_after_continue_search, NULL, p),
                     KMODE_EXCEPTION_NOT_HANDLED);
    assert_int_equal((ULONG)p[0], (ULONG)STATUS_ACCESS_VIOLATION);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_raise_status_caught_by_except),
    cmocka_unit_test(test_ex_try_without_raise_skips_handler),
    cmocka_unit_test(test_ex_nested_try_continue_search_reaches_outer),
    cmocka_unit_test(test_ex_nested_try_inner_handles),
    cmocka_unit_test(test_ex_raise_inside_handler_goes_outward),
    cmocka_unit_test(test_ex_continue_execution_becomes_noncontinuable),
    cmocka_unit_test(test_ex_finally_runs_on_normal_and_abnormal_exit),
    cmocka_unit_test(test_ex_leave_exits_body),
    cmocka_unit_test(test_ex_return_from_try_body_unlinks_frame),
    cmocka_unit_test(test_ex_allocate_pool_with_quota_raise_is_caught),
    cmocka_unit_test(test_ex_unhandled_raise_bugchecks_kmode_exception),
};
KMTEST_MAIN(tests)
