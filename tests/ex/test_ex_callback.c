/* Callback objects: create/open by name, registration rules, notification, unregistration. */
#include "kmtest.h"

typedef struct {
    LONG Calls;
    PVOID A1, A2;
    KIRQL Irql;
} SEEN;

static VOID NTAPI record(PVOID Context, PVOID A1, PVOID A2)
{
    SEEN *s = Context;
    s->Calls++;
    s->A1 = A1;
    s->A2 = A2;
    s->Irql = KeGetCurrentIrql();
}

static NTSTATUS open_cb(PCWSTR name, BOOLEAN create, BOOLEAN multiple, PCALLBACK_OBJECT *out)
{
    UNICODE_STRING n;
    n.Buffer = (PWCH)name;
    n.Length = 0;
    while (name[n.Length / 2])
        n.Length += 2;
    n.MaximumLength = n.Length + 2;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &n, OBJ_CASE_INSENSITIVE, NULL, NULL);
    return ExCreateCallback(out, &oa, create, multiple);
}

static void test_ex_create_callback_create_and_open(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PCALLBACK_OBJECT a = NULL, b = NULL, c = NULL;
    assert_int_equal(open_cb(L"\\Callback\\KmrigTest", FALSE, TRUE, &a),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(open_cb(L"\\Callback\\KmrigTest", TRUE, TRUE, &a), STATUS_SUCCESS);
    assert_non_null(a);
    assert_int_equal(open_cb(L"\\CALLBACK\\kmrigtest", FALSE, FALSE, &b), STATUS_SUCCESS);
    assert_ptr_equal(a, b);
    assert_int_equal(open_cb(L"\\Callback\\KmrigTest", TRUE, FALSE, &c), STATUS_SUCCESS);
    assert_ptr_equal(a, c); /* opened, not created again */
    /* The objects Windows creates exist in every instance. */
    PCALLBACK_OBJECT t = NULL;
    assert_int_equal(open_cb(L"\\Callback\\SetSystemTime", FALSE, FALSE, &t), STATUS_SUCCESS);
    assert_int_equal(open_cb(L"\\Callback\\PowerState", FALSE, FALSE, &t), STATUS_SUCCESS);
    ObDereferenceObject(t);
    ObDereferenceObject(a);
    ObDereferenceObject(b);
    ObDereferenceObject(c);
    OBJECT_ATTRIBUTES unnamed;
    InitializeObjectAttributes(&unnamed, NULL, OBJ_CASE_INSENSITIVE, NULL, NULL);
    assert_int_equal(ExCreateCallback(&t, &unnamed, TRUE, TRUE), STATUS_UNSUCCESSFUL);
    kmrig_runtime_destroy(rt);
}

static void test_ex_notify_callback_calls_every_registration(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PCALLBACK_OBJECT cb;
    assert_int_equal(open_cb(L"\\Callback\\Multi", TRUE, TRUE, &cb), STATUS_SUCCESS);
    SEEN s1 = {0}, s2 = {0};
    PVOID r1 = ExRegisterCallback(cb, record, &s1);
    PVOID r2 = ExRegisterCallback(cb, record, &s2);
    assert_non_null(r1);
    assert_non_null(r2);
    ExNotifyCallback(cb, (PVOID)1, (PVOID)2);
    assert_int_equal(s1.Calls, 1);
    assert_int_equal(s2.Calls, 1);
    assert_ptr_equal(s2.A1, (PVOID)1);
    assert_ptr_equal(s2.A2, (PVOID)2);
    assert_int_equal(s1.Irql, PASSIVE_LEVEL);
    /* At DISPATCH_LEVEL the callbacks run at DISPATCH_LEVEL. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExNotifyCallback(cb, (PVOID)3, NULL);
    KeLowerIrql(old);
    assert_int_equal(s1.Irql, DISPATCH_LEVEL);
    assert_int_equal(s1.Calls, 2);
    ExUnregisterCallback(r1);
    ExNotifyCallback(cb, (PVOID)4, NULL);
    assert_int_equal(s1.Calls, 2);
    assert_int_equal(s2.Calls, 3);
    assert_ptr_equal(s2.A1, (PVOID)4);
    ExUnregisterCallback(r2);
    ObDereferenceObject(cb);
    kmrig_runtime_destroy(rt);
}

static void test_ex_register_callback_single_registration_object(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PCALLBACK_OBJECT cb;
    assert_int_equal(open_cb(L"\\Callback\\Single", TRUE, FALSE, &cb), STATUS_SUCCESS);
    SEEN s = {0};
    PVOID r = ExRegisterCallback(cb, record, &s);
    assert_non_null(r);
    assert_null(ExRegisterCallback(cb, record, &s)); /* AllowMultipleCallbacks FALSE */
    ExUnregisterCallback(r);
    r = ExRegisterCallback(cb, record, &s); /* the slot is free again */
    assert_non_null(r);
    ExNotifyCallback(cb, NULL, NULL);
    assert_int_equal(s.Calls, 1);
    ExUnregisterCallback(r);
    ObDereferenceObject(cb);
    kmrig_runtime_destroy(rt);
}

static void test_ex_notify_callback_without_registrations(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PCALLBACK_OBJECT cb;
    assert_int_equal(open_cb(L"\\Callback\\ProcessorAdd", FALSE, FALSE, &cb), STATUS_SUCCESS);
    ExNotifyCallback(cb, NULL, NULL);
    ObDereferenceObject(cb);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ex_create_callback_create_and_open),
    cmocka_unit_test(test_ex_notify_callback_calls_every_registration),
    cmocka_unit_test(test_ex_register_callback_single_registration_object),
    cmocka_unit_test(test_ex_notify_callback_without_registrations),
};
KMTEST_MAIN(tests)
