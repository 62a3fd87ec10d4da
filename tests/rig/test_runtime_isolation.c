/* Two runtime instances in one process share no runtime state (docs/architecture.md, "The
 * runtime instance"): one after the other, and two alive at once (one thread switching between
 * them with kmrig_runtime_detach/attach). What one creates - named objects, symbolic links,
 * registry keys and values, handles, the clock - is not visible in the other. Labelled tsan: two
 * instances' threads run at once, so a shared static between them would be a reported race. */
#include "kmtest.h"

#include <string.h>

static const WCHAR EventName[] = L"\\BaseNamedObjects\\KmrigIsoEvent";
static const WCHAR LinkName[] = L"\\??\\KmrigIsoLink";

typedef struct {
    HANDLE Event, Link;
    PKEVENT EventObject;
    PVOID LinkObject;
} MADE;

static UNICODE_STRING us(PCWSTR s)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, s);
    return u;
}

/* In the attached instance: a named event (created signalled, as IoCreateNotificationEvent
 * documents; cleared here), a symbolic link, a registry value. */
static void make_things(MADE *m, ULONG who)
{
    UNICODE_STRING en = us(EventName), ln = us(LinkName), target = us(L"\\Device\\Whatever");
    m->EventObject = IoCreateNotificationEvent(&en, &m->Event);
    assert_non_null(m->EventObject);
    assert_int_equal(KeReadStateEvent(m->EventObject), 1);
    KeClearEvent(m->EventObject);
    assert_int_equal(IoCreateSymbolicLink(&ln, &target), STATUS_SUCCESS);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &ln, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenSymbolicLinkObject(&m->Link, GENERIC_READ, &oa), STATUS_SUCCESS);
    assert_int_equal(ObReferenceObjectByHandle(m->Link, 0, NULL, KernelMode, &m->LinkObject, NULL),
                     STATUS_SUCCESS);
    ObDereferenceObject(m->LinkObject);
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_SERVICES, L"KmrigIso", L"Who", REG_DWORD,
                                           &who, sizeof who),
                     STATUS_SUCCESS);
}

static void drop_things(MADE *m)
{
    UNICODE_STRING ln = us(LinkName);
    ZwClose(m->Link);
    ZwClose(m->Event);
    IoDeleteSymbolicLink(&ln);
}

static ULONG read_who(NTSTATUS *status)
{
    ULONG who = 0;
    RTL_QUERY_REGISTRY_TABLE t[2];
    memset(t, 0, sizeof t);
    t[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
    t[0].Name = L"Who";
    t[0].EntryContext = &who;
    *status = RtlQueryRegistryValues(RTL_REGISTRY_SERVICES, L"KmrigIso", t, NULL, NULL);
    return who;
}

/* In the attached instance: none of the other's things (other may be NULL: it is gone). */
static void sees_nothing_of(const MADE *other)
{
    /* The named event is a new one here: signalled (the other's was cleared), not the other's
     * object. */
    UNICODE_STRING en = us(EventName), ln = us(LinkName);
    HANDLE h;
    PKEVENT e = IoCreateNotificationEvent(&en, &h);
    assert_non_null(e);
    assert_int_equal(KeReadStateEvent(e), 1);
    if (other)
        assert_ptr_not_equal(e, other->EventObject);
    ZwClose(h);
    /* No such symbolic link. */
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &ln, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE l;
    assert_int_equal(ZwOpenSymbolicLinkObject(&l, GENERIC_READ, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    /* No such service key. */
    NTSTATUS s;
    read_who(&s);
    assert_int_equal(s, STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(RtlCheckRegistryKey(RTL_REGISTRY_SERVICES, L"KmrigIso"),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    /* The other's handle does not reach its object here. */
    if (other) {
        PVOID o = NULL;
        if (NT_SUCCESS(ObReferenceObjectByHandle(other->Link, 0, NULL, KernelMode, &o, NULL))) {
            assert_ptr_not_equal(o, other->LinkObject);
            ObDereferenceObject(o);
        }
    }
}

static void test_runtime_instances_one_after_the_other(void **state)
{
    kmrig_runtime *a = kmtest_runtime(1);
    MADE ma;
    make_things(&ma, 0xA);
    kmrig_runtime_run_for(a, 2000000000ull);
    drop_things(&ma);
    kmrig_runtime_destroy(a);
    assert_null(kmrig_runtime_current());

    kmrig_runtime *b = kmtest_runtime(1);
    assert_ptr_equal(kmrig_runtime_current(), b);
    sees_nothing_of(NULL);
    /* B's clock starts at its own zero, not where A's stopped. */
    assert_true(KeQueryInterruptTime() < 10000000ull); /* < 1 s in 100 ns units */
    kmrig_runtime_destroy(b);
}

static void test_runtime_instances_alive_at_once(void **state)
{
    kmrig_runtime *a = kmtest_runtime(1);
    MADE ma, mb;
    make_things(&ma, 0xA);
    kmrig_runtime_run_for(a, 2000000000ull);
    ULONGLONG timeA = KeQueryInterruptTime();
    kmrig_runtime_detach(a);
    assert_null(kmrig_runtime_current());

    kmrig_runtime *b = kmtest_runtime(1);
    assert_ptr_equal(kmrig_runtime_current(), b);
    sees_nothing_of(&ma);
    assert_true(KeQueryInterruptTime() < timeA);
    /* B makes the same names with its own contents. */
    make_things(&mb, 0xB);
    assert_ptr_not_equal(mb.EventObject, ma.EventObject);
    assert_ptr_not_equal(mb.LinkObject, ma.LinkObject);
    kmrig_runtime_detach(b);

    /* Back in A: its things are as A left them, B's writes are not there. */
    kmrig_runtime_attach(a);
    assert_ptr_equal(kmrig_runtime_current(), a);
    NTSTATUS s;
    assert_int_equal(read_who(&s), 0xA);
    assert_int_equal(s, STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(ma.EventObject), 0);
    KeSetEvent(ma.EventObject, IO_NO_INCREMENT, FALSE);
    kmrig_runtime_detach(a);

    kmrig_runtime_attach(b);
    assert_int_equal(read_who(&s), 0xB);
    assert_int_equal(KeReadStateEvent(mb.EventObject), 0); /* A's set did not reach it */
    drop_things(&mb);
    kmrig_runtime_destroy(b);

    kmrig_runtime_attach(a);
    assert_int_equal(read_who(&s), 0xA); /* B's end took nothing of A's */
    drop_things(&ma);
    kmrig_runtime_destroy(a);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_runtime_instances_one_after_the_other),
    cmocka_unit_test(test_runtime_instances_alive_at_once),
};

KMTEST_MAIN(tests)
