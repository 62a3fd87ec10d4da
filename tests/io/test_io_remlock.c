/* Remove locks (IoInitializeRemoveLock, IoAcquireRemoveLock, IoReleaseRemoveLock,
 * IoReleaseRemoveLockAndWait) and cancel-safe queues (IoCsq*). */
#include "io_test.h"

/* ---- remove locks ---- */

static IO_REMOVE_LOCK Lock;
static WORK_QUEUE_ITEM LaterItem;
static volatile LONG Released;

static VOID NTAPI release_later(PVOID Parameter)
{
    LARGE_INTEGER t = kmtest_ms(10);
    KeDelayExecutionThread(KernelMode, FALSE, &t);
    InterlockedExchange(&Released, 1);
    IoReleaseRemoveLock(&Lock, Parameter);
}

static void test_io_acquire_remove_lock_and_wait(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    kmtest_junk(&Lock, sizeof Lock);
    IoInitializeRemoveLock(&Lock, 'kcoL', 0, 0);
    assert_int_equal(Lock.Common.IoCount, 1);
    assert_false(Lock.Common.Removed);
    assert_int_equal(IoAcquireRemoveLock(&Lock, (PVOID)1), STATUS_SUCCESS);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old); /* acquire and release work at DISPATCH_LEVEL */
    assert_int_equal(IoAcquireRemoveLock(&Lock, (PVOID)2), STATUS_SUCCESS);
    KeLowerIrql(old);
    assert_int_equal(Lock.Common.IoCount, 3);
    /* An I/O in flight on a worker; the remove path acquires, then releases and waits. */
    Released = 0;
    ExInitializeWorkItem(&LaterItem, release_later, (PVOID)2);
    ExQueueWorkItem(&LaterItem, DelayedWorkQueue);
    IoReleaseRemoveLockAndWait(&Lock, (PVOID)1);
    assert_int_equal(Released, 1); /* returned only after the last holder let go */
    assert_true(Lock.Common.Removed);
    assert_int_equal(Lock.Common.IoCount, 0);
    /* Removed: new acquisitions fail and leave the count alone. */
    assert_int_equal(IoAcquireRemoveLock(&Lock, (PVOID)3), STATUS_DELETE_PENDING);
    assert_int_equal(Lock.Common.IoCount, 0);
    kmrig_runtime_destroy(rt);
}

static void test_io_release_remove_lock_and_wait_idle(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    IoInitializeRemoveLockEx(&Lock, 'kcoL', 1, 100, sizeof Lock);
    assert_int_equal(IoAcquireRemoveLockEx(&Lock, NULL, __FILE__, __LINE__, sizeof Lock),
                     STATUS_SUCCESS);
    IoReleaseRemoveLockAndWaitEx(&Lock, NULL, sizeof Lock); /* no one else: returns at once */
    assert_true(Lock.Common.Removed);
    kmrig_runtime_destroy(rt);
}

static void release_too_often(void *arg)
{
    kmtest_runtime(1);
    IoInitializeRemoveLock(&Lock, 0, 0, 0);
    IoReleaseRemoveLock(&Lock, (PVOID)7); /* the bias */
    IoReleaseRemoveLock(&Lock, (PVOID)7); /* one more than acquired */
}

static void test_io_release_remove_lock_underflow_bugchecks(void **state)
{
    ULONG_PTR p[4];
    assert_int_equal(kmtest_bugcheck_of(release_too_often, NULL, p),
                     DRIVER_VERIFIER_IOMANAGER_VIOLATION);
    assert_int_equal(p[0], IOP_VF_REMOVE_LOCK_UNDERFLOW);
    assert_int_equal(p[2], 7);
}

/* ---- a cancel-safe queue ---- */

typedef struct {
    IO_CSQ Csq;
    LIST_ENTRY Queue;
    KSPIN_LOCK Lock;
    int Canceled;
    BOOLEAN Refuse; /* the Ex insert routine refuses */
} QUEUE;
static QUEUE Q;

static VOID NTAPI q_insert(PIO_CSQ Csq, PIRP Irp)
{
    InsertTailList(&Q.Queue, &Irp->Tail.Overlay.ListEntry);
}

static NTSTATUS NTAPI q_insert_ex(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    assert_ptr_equal(InsertContext, (PVOID)0x1C);
    if (Q.Refuse)
        return STATUS_DEVICE_BUSY;
    q_insert(Csq, Irp);
    return STATUS_SUCCESS;
}

static VOID NTAPI q_remove(PIO_CSQ Csq, PIRP Irp)
{
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

static PIRP NTAPI q_peek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    PLIST_ENTRY e = Irp ? Irp->Tail.Overlay.ListEntry.Flink : Q.Queue.Flink;
    for (; e != &Q.Queue; e = e->Flink) {
        PIRP i = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        if (!PeekContext ||
            IoGetCurrentIrpStackLocation(i)->FileObject == (PFILE_OBJECT)PeekContext)
            return i;
    }
    return NULL;
}

static VOID NTAPI q_lock(PIO_CSQ Csq, PKIRQL Irql)
{
    KeAcquireSpinLock(&Q.Lock, Irql);
}

static VOID NTAPI q_unlock(PIO_CSQ Csq, KIRQL Irql)
{
    KeReleaseSpinLock(&Q.Lock, Irql);
}

static VOID NTAPI q_complete_canceled(PIO_CSQ Csq, PIRP Irp)
{
    Q.Canceled++;
    io_complete(Irp, STATUS_CANCELLED, 0);
}

static IO_CSQ_IRP_CONTEXT Contexts[4];
static NTSTATUS NTAPI csq_dispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    ULONG i = IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Key;
    IoCsqInsertIrp(&Q.Csq, Irp, i < 4 ? &Contexts[i] : NULL);
    return STATUS_PENDING; /* IoCsqInsertIrp marked it pending */
}

static NTSTATUS NTAPI csq_dispatch_ex(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    NTSTATUS s = IoCsqInsertIrpEx(&Q.Csq, Irp, NULL, (PVOID)0x1C);
    if (!NT_SUCCESS(s))
        return io_complete(Irp, s, 0);
    return STATUS_PENDING;
}

static NTSTATUS NTAPI keep(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static PIRP send_key(PDEVICE_OBJECT dev, ULONG key, BOOLEAN cancelFirst, NTSTATUS expect)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_READ;
    sl->Parameters.Read.Key = key;
    sl->FileObject = (PFILE_OBJECT)(ULONG_PTR)(key % 2 ? 0x100 : 0x200);
    IoSetCompletionRoutine(irp, keep, NULL, TRUE, TRUE, TRUE);
    if (cancelFirst)
        IoCancelIrp(irp);
    assert_int_equal(IoCallDriver(dev, irp), expect);
    return irp;
}

static PDEVICE_OBJECT csq_device(kmrig_runtime *rt, PDRIVER_DISPATCH dispatch)
{
    PDRIVER_OBJECT d = io_load(rt, L"Csq");
    d->MajorFunction[IRP_MJ_READ] = dispatch;
    memset(&Q, 0, sizeof Q);
    InitializeListHead(&Q.Queue);
    KeInitializeSpinLock(&Q.Lock);
    return io_device(d, NULL, 0);
}

static void test_io_csq_insert_remove_cancel(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = csq_device(rt, csq_dispatch);
    assert_int_equal(
        IoCsqInitialize(&Q.Csq, q_insert, q_remove, q_peek, q_lock, q_unlock, q_complete_canceled),
        STATUS_SUCCESS);
    assert_int_equal(Q.Csq.Type, IO_TYPE_CSQ);
    PIRP irp[5];
    for (ULONG i = 0; i < 5; i++)
        irp[i] = send_key(dev, i, FALSE, STATUS_PENDING);
    assert_ptr_equal(Contexts[2].Irp, irp[2]);
    assert_ptr_equal(Contexts[2].Csq, &Q.Csq);
    assert_non_null(irp[0]->CancelRoutine);
    /* Cancelling a queued IRP: taken out and completed through the queue's routine. */
    assert_true(IoCancelIrp(irp[1]));
    assert_int_equal(Q.Canceled, 1);
    assert_int_equal(irp[1]->IoStatus.Status, STATUS_CANCELLED);
    assert_null(Contexts[1].Irp);
    /* Remove by context, then the next ones in order (with a peek context). */
    assert_ptr_equal(IoCsqRemoveIrp(&Q.Csq, &Contexts[3]), irp[3]);
    assert_null(irp[3]->CancelRoutine);
    assert_null(IoCsqRemoveIrp(&Q.Csq, &Contexts[3])); /* already out */
    assert_null(IoCsqRemoveIrp(&Q.Csq, &Contexts[1])); /* cancelled */
    assert_ptr_equal(IoCsqRemoveNextIrp(&Q.Csq, (PVOID)0x200), irp[0]);
    assert_null(Contexts[0].Irp);
    assert_ptr_equal(IoCsqRemoveNextIrp(&Q.Csq, NULL), irp[2]);
    assert_ptr_equal(IoCsqRemoveNextIrp(&Q.Csq, NULL), irp[4]);
    assert_null(IoCsqRemoveNextIrp(&Q.Csq, NULL));
    assert_true(IsListEmpty(&Q.Queue));
    for (int i = 0; i < 5; i++) {
        if (i != 1)
            io_complete(irp[i], STATUS_SUCCESS, 0);
        IoFreeIrp(irp[i]);
    }
    /* Already cancelled when it arrives: completed as cancelled right away. */
    PIRP c = send_key(dev, 9, TRUE, STATUS_PENDING);
    assert_int_equal(Q.Canceled, 2);
    assert_true(IsListEmpty(&Q.Queue));
    IoFreeIrp(c);
    kmrig_runtime_destroy(rt);
}

static void test_io_csq_insert_irp_ex(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDEVICE_OBJECT dev = csq_device(rt, csq_dispatch_ex);
    assert_int_equal(IoCsqInitializeEx(&Q.Csq, q_insert_ex, q_remove, q_peek, q_lock, q_unlock,
                                       q_complete_canceled),
                     STATUS_SUCCESS);
    assert_int_equal(Q.Csq.Type, IO_TYPE_CSQ_EX);
    PIRP a = send_key(dev, 9, FALSE, STATUS_PENDING);
    Q.Refuse = TRUE;
    PIRP b = send_key(dev, 9, FALSE, STATUS_DEVICE_BUSY); /* refused: not queued, not pending */
    assert_null(b->CancelRoutine);
    assert_ptr_equal(IoCsqRemoveNextIrp(&Q.Csq, NULL), a);
    io_complete(a, STATUS_SUCCESS, 0);
    IoFreeIrp(a);
    IoFreeIrp(b);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_acquire_remove_lock_and_wait),
    cmocka_unit_test(test_io_release_remove_lock_and_wait_idle),
    cmocka_unit_test(test_io_release_remove_lock_underflow_bugchecks),
    cmocka_unit_test(test_io_csq_insert_remove_cancel),
    cmocka_unit_test(test_io_csq_insert_irp_ex),
};
KMTEST_MAIN(tests)
