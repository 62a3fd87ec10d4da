/* System threads, handles and references (Ps, Ob), priorities and stacks. */
#include "kmtest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile LONG g_ran;
static HANDLE g_tid;

static VOID NTAPI simple_thread(PVOID ctx)
{
    g_tid = PsGetCurrentThreadId();
    InterlockedExchange((PLONG)&g_ran, (LONG)(ULONG_PTR)ctx);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(PsIsSystemThread(PsGetCurrentThread()));
    PsTerminateSystemThread(STATUS_UNSUCCESSFUL);
    g_ran = -1; /* not reached */
}

static void test_ps_create_system_thread_handle_wait_and_close(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h = NULL;
    CLIENT_ID cid;
    g_ran = 0;
    assert_int_equal(
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, &cid, simple_thread, (PVOID)7),
        STATUS_SUCCESS);
    assert_non_null(h);
    assert_ptr_equal(cid.UniqueProcess, PsGetCurrentProcessId());
    PVOID obj = NULL;
    OBJECT_HANDLE_INFORMATION info;
    assert_int_equal(
        ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, &info),
        STATUS_SUCCESS);
    assert_int_equal(info.GrantedAccess, THREAD_ALL_ACCESS);
    assert_int_equal(KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(g_ran, 7);
    assert_ptr_equal(g_tid, cid.UniqueThread);
    assert_ptr_equal(PsGetThreadId(obj), cid.UniqueThread);
    assert_true(ObGetObjectPointerCount(obj) >= 2); /* ours + the handle's */
    /* Wrong type, bad handle. */
    PVOID other;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, *ExEventObjectType, KernelMode, &other, NULL),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ObReferenceObjectByPointer(obj, 0, *IoFileObjectType, KernelMode),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ObReferenceObjectByPointer(obj, 0, *PsThreadType, KernelMode), STATUS_SUCCESS);
    ObDereferenceObject(obj);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_INVALID_HANDLE);
    assert_int_equal(ObReferenceObjectByHandle(h, 0, NULL, KernelMode, &other, NULL),
                     STATUS_INVALID_HANDLE);
    assert_int_equal(ObGetObjectPointerCount(obj), 1);
    ObReferenceObject(obj);
    assert_int_equal(ObGetObjectPointerCount(obj), 2);
    ObDereferenceObject(obj);
    ObDereferenceObject(obj); /* the last reference: the object goes */
    kmrig_runtime_destroy(rt);
}

static void test_ps_terminate_system_thread_from_non_system_thread_fails(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    /* The harness thread was not created by PsCreateSystemThread. */
    assert_int_equal(PsTerminateSystemThread(STATUS_SUCCESS), STATUS_INVALID_PARAMETER);
    kmrig_runtime_destroy(rt);
}

static volatile LONG g_creates, g_exits;
static VOID NTAPI thread_notify(HANDLE pid, HANDLE tid, BOOLEAN create)
{
    InterlockedIncrement((PLONG)(create ? &g_creates : &g_exits));
}
static VOID NTAPI empty_thread(PVOID ctx) {}
static VOID NTAPI process_notify(HANDLE parent, HANDLE pid, BOOLEAN create) {}
static VOID NTAPI image_notify(PUNICODE_STRING name, HANDLE pid, PIMAGE_INFO info) {}

static void test_ps_set_create_thread_notify_routine(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    g_creates = g_exits = 0;
    assert_int_equal(PsSetCreateThreadNotifyRoutine(thread_notify), STATUS_SUCCESS);
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, empty_thread, NULL),
                     STATUS_SUCCESS);
    PVOID t;
    ObReferenceObjectByHandle(h, 0, *PsThreadType, KernelMode, &t, NULL);
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(t);
    ZwClose(h);
    assert_int_equal(g_creates, 1);
    assert_int_equal(g_exits, 1);
    assert_int_equal(PsRemoveCreateThreadNotifyRoutine(thread_notify), STATUS_SUCCESS);
    assert_int_equal(PsRemoveCreateThreadNotifyRoutine(thread_notify), STATUS_PROCEDURE_NOT_FOUND);
    kmrig_runtime_destroy(rt);
}

static void test_ps_set_create_process_and_load_image_notify_routines(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(process_notify, TRUE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(process_notify, FALSE), STATUS_SUCCESS);
    assert_int_equal(PsSetCreateProcessNotifyRoutine(process_notify, TRUE), STATUS_SUCCESS);
    assert_int_equal(PsSetLoadImageNotifyRoutine(image_notify), STATUS_SUCCESS);
    assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_notify), STATUS_SUCCESS);
    assert_int_equal(PsRemoveLoadImageNotifyRoutine(image_notify), STATUS_PROCEDURE_NOT_FOUND);
    kmrig_runtime_destroy(rt);
}

static void test_ps_get_version_and_ids(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    ULONG maj = 0, min = 9, build = 0;
    WCHAR buf[8] = {'x'};
    UNICODE_STRING csd = {0, sizeof buf, buf};
    assert_false(PsGetVersion(&maj, &min, &build, &csd)); /* not a checked build */
    assert_int_equal(maj, 10);
    assert_int_equal(min, 0);
    assert_int_equal(build, 19045);
    assert_int_equal(csd.Length, 0);
    assert_ptr_equal(PsGetCurrentProcessId(), (HANDLE)4);
    assert_non_null(PsGetCurrentProcess());
    assert_ptr_equal((PVOID)PsGetCurrentThread(), (PVOID)KeGetCurrentThread());
    assert_non_null(PsGetCurrentThreadId());
    kmrig_runtime_destroy(rt);
}

static volatile LONG g_order[4];
static volatile LONG g_n;
static VOID NTAPI record_order(PVOID ctx)
{
    g_order[InterlockedIncrement((PLONG)&g_n) - 1] = (LONG)(ULONG_PTR)ctx;
}

static void test_ke_set_priority_thread_orders_ready_threads(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PKTHREAD self = KeGetCurrentThread();
    assert_int_equal(KeQueryPriorityThread(self), 8);
    /* Hold the only processor at a high priority while creating two threads. */
    assert_int_equal(KeSetPriorityThread(self, 20), 8);
    g_n = 0;
    HANDLE a, b;
    PsCreateSystemThread(&a, 0, NULL, NULL, NULL, record_order, (PVOID)1);
    PsCreateSystemThread(&b, 0, NULL, NULL, NULL, record_order, (PVOID)2);
    PVOID tb;
    ObReferenceObjectByHandle(b, 0, *PsThreadType, KernelMode, &tb, NULL);
    assert_int_equal(KeSetPriorityThread(tb, 12), 8); /* b now outranks a */
    assert_int_equal(g_n, 0);
    KeSetPriorityThread(self, 8);
    LARGE_INTEGER d = kmtest_ms(1);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(g_n, 2);
    assert_int_equal(g_order[0], 2);
    assert_int_equal(g_order[1], 1);
    ObDereferenceObject(tb);
    ZwClose(a);
    ZwClose(b);
    kmrig_runtime_destroy(rt);
}

static void test_ke_set_base_priority_thread_returns_previous_increment(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PKTHREAD self = KeGetCurrentThread();
    assert_int_equal(KeSetBasePriorityThread(self, 2), 0);
    assert_int_equal(KeQueryPriorityThread(self), 10);
    assert_int_equal(KeSetBasePriorityThread(self, -20), 2); /* clamped to priority 1 */
    assert_int_equal(KeQueryPriorityThread(self), 1);
    assert_int_equal(KeSetBasePriorityThread(self, 0), -7);
    kmrig_runtime_destroy(rt);
}

static void test_zw_set_information_thread(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h;
    PsCreateSystemThread(&h, 0, NULL, NULL, NULL, empty_thread, NULL);
    KPRIORITY p = 14;
    assert_int_equal(ZwSetInformationThread(h, ThreadPriority, &p, sizeof p), STATUS_SUCCESS);
    PVOID t;
    ObReferenceObjectByHandle(h, 0, *PsThreadType, KernelMode, &t, NULL);
    assert_int_equal(KeQueryPriorityThread(t), 14);
    assert_int_equal(ZwSetInformationThread(h, ThreadPriority, &p, 1), STATUS_INFO_LENGTH_MISMATCH);
    p = 40;
    assert_int_equal(ZwSetInformationThread(h, ThreadPriority, &p, sizeof p),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwSetInformationThread(h, ThreadHideFromDebugger, NULL, 0),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwSetInformationThread((HANDLE)0x1234, ThreadPriority, &p, sizeof p),
                     STATUS_INVALID_HANDLE);
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(t);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_io_get_stack_limits_and_remaining_size(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    ULONG_PTR lo = 0, hi = 0;
    IoGetStackLimits(&lo, &hi);
    ULONG_PTR here = (ULONG_PTR)&lo;
    assert_true(lo < here && here < hi);
    assert_ptr_equal(IoGetInitialStack(), (PVOID)hi);
    ULONG_PTR rem = IoGetRemainingStackSize();
    assert_true(rem > 0 && rem < hi - lo);
    kmrig_runtime_destroy(rt);
}

static void test_initialize_object_attributes_macro_and_function(void **state)
{
    UNICODE_STRING name = {0};
    OBJECT_ATTRIBUTES a, b;
    kmtest_junk(&a, sizeof a);
    kmtest_junk(&b, sizeof b);
    InitializeObjectAttributes(&a, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
#undef InitializeObjectAttributes
    InitializeObjectAttributes(&b, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    assert_int_equal(a.Length, sizeof(OBJECT_ATTRIBUTES));
    assert_ptr_equal(a.ObjectName, &name);
    assert_int_equal(a.Attributes, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE);
    assert_null(a.RootDirectory);
    assert_null(a.SecurityQualityOfService);
    assert_memory_equal(&a, &b, sizeof a);
}

/* kmrig_runtime_report_all (the hang report kmrig run asks for): every thread and what it
 * waits for; a runtime with no target says so for its interrupt lines. */
static KEVENT report_event;

static VOID NTAPI report_waiter(PVOID Context)
{
    (void)Context;
    KeWaitForSingleObject(&report_event, Executive, KernelMode, FALSE, NULL);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static void test_runtime_report_all_says_what_each_thread_waits_for(void **state)
{
    (void)state;
    kmrig_runtime *rt = kmtest_runtime(2);
    KeInitializeEvent(&report_event, NotificationEvent, FALSE);
    HANDLE h;
    assert_int_equal(
        PsCreateSystemThread(&h, THREAD_ALL_ACCESS, NULL, NULL, NULL, report_waiter, NULL),
        STATUS_SUCCESS);
    char want[128];
    snprintf(want, sizeof want, "waiting for any of notification event %p (not signalled)",
             (void *)&report_event);
    char text[16384];
    int found = 0;
    for (int tries = 0; tries < 500 && !found; tries++) { /* until the thread waits */
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        kmrig_runtime_report_all(fds[1]);
        close(fds[1]);
        ssize_t got = read(fds[0], text, sizeof text - 1);
        close(fds[0]);
        assert_true(got > 0);
        text[got] = 0;
        found = strstr(text, want) != NULL;
        if (!found) {
            LARGE_INTEGER d = kmtest_ms(1);
            KeDelayExecutionThread(KernelMode, FALSE, &d);
        }
    }
    assert_true(found);
    assert_non_null(strstr(text, "interrupts: this instance has no target"));
    assert_non_null(strstr(text, "(a host thread attached to the runtime): running on processor"));
    assert_non_null(strstr(text, "(a system worker thread (ExQueueWorkItem)): waiting for any of "
                                 "semaphore"));
    KeSetEvent(&report_event, 0, FALSE);
    kmtest_join(h);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ps_create_system_thread_handle_wait_and_close),
    cmocka_unit_test(test_ps_terminate_system_thread_from_non_system_thread_fails),
    cmocka_unit_test(test_ps_set_create_thread_notify_routine),
    cmocka_unit_test(test_ps_set_create_process_and_load_image_notify_routines),
    cmocka_unit_test(test_ps_get_version_and_ids),
    cmocka_unit_test(test_ke_set_priority_thread_orders_ready_threads),
    cmocka_unit_test(test_ke_set_base_priority_thread_returns_previous_increment),
    cmocka_unit_test(test_zw_set_information_thread),
    cmocka_unit_test(test_io_get_stack_limits_and_remaining_size),
    cmocka_unit_test(test_initialize_object_attributes_macro_and_function),
    cmocka_unit_test(test_runtime_report_all_says_what_each_thread_waits_for),
};
KMTEST_MAIN(tests)
