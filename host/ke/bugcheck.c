/*
 * Bugchecks. A bugcheck ends the process it happens in (any thread: a DPC, a system thread, the
 * clock thread) after the registered callbacks have run and a report has been written: code,
 * parameters, the thread and processor, and a backtrace. The report goes to stderr and, when the
 * test runner asked for it (KMRIG_BUGCHECK_REPORT), to a file it reads. Tests therefore run in
 * their own processes (tests/support/kmtest.c).
 */
#define _GNU_SOURCE
#include "rt.h"
#include "vf.h"

#include <execinfo.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int KiBugCheckActive; /* process-wide by nature: the process is going away */

static const char *KiBugCheckName(ULONG code)
{
    switch (code) {
    case APC_INDEX_MISMATCH:
        return "APC_INDEX_MISMATCH";
    case IRQL_NOT_GREATER_OR_EQUAL:
        return "IRQL_NOT_GREATER_OR_EQUAL";
    case IRQL_NOT_LESS_OR_EQUAL:
        return "IRQL_NOT_LESS_OR_EQUAL";
    case MAXIMUM_WAIT_OBJECTS_EXCEEDED:
        return "MAXIMUM_WAIT_OBJECTS_EXCEEDED";
    case MUTEX_LEVEL_NUMBER_VIOLATION:
        return "MUTEX_LEVEL_NUMBER_VIOLATION";
    case SPIN_LOCK_ALREADY_OWNED:
        return "SPIN_LOCK_ALREADY_OWNED";
    case SPIN_LOCK_NOT_OWNED:
        return "SPIN_LOCK_NOT_OWNED";
    case THREAD_NOT_MUTEX_OWNER:
        return "THREAD_NOT_MUTEX_OWNER";
    case BAD_POOL_HEADER:
        return "BAD_POOL_HEADER";
    case KMODE_EXCEPTION_NOT_HANDLED:
        return "KMODE_EXCEPTION_NOT_HANDLED";
    case KERNEL_APC_PENDING_DURING_EXIT:
        return "KERNEL_APC_PENDING_DURING_EXIT";
    case NO_MORE_IRP_STACK_LOCATIONS:
        return "NO_MORE_IRP_STACK_LOCATIONS";
    case MULTIPLE_IRP_COMPLETE_REQUESTS:
        return "MULTIPLE_IRP_COMPLETE_REQUESTS";
    case CANCEL_STATE_IN_COMPLETED_IRP:
        return "CANCEL_STATE_IN_COMPLETED_IRP";
    case SYSTEM_THREAD_EXCEPTION_NOT_HANDLED:
        return "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED";
    case MUTEX_ALREADY_OWNED:
        return "MUTEX_ALREADY_OWNED";
    case BAD_POOL_CALLER:
        return "BAD_POOL_CALLER";
    case DRIVER_VERIFIER_DETECTED_VIOLATION:
        return "DRIVER_VERIFIER_DETECTED_VIOLATION";
    case DRIVER_CORRUPTED_EXPOOL:
        return "DRIVER_CORRUPTED_EXPOOL";
    case TIMER_OR_DPC_INVALID:
        return "TIMER_OR_DPC_INVALID";
    case IRQL_UNEXPECTED_VALUE:
        return "IRQL_UNEXPECTED_VALUE";
    case DRIVER_VERIFIER_IOMANAGER_VIOLATION:
        return "DRIVER_VERIFIER_IOMANAGER_VIOLATION";
    case DRIVER_IRQL_NOT_LESS_OR_EQUAL:
        return "DRIVER_IRQL_NOT_LESS_OR_EQUAL";
    case WORKER_THREAD_RETURNED_AT_BAD_IRQL:
        return "WORKER_THREAD_RETURNED_AT_BAD_IRQL";
    case RESOURCE_NOT_OWNED:
        return "RESOURCE_NOT_OWNED";
    case MANUALLY_INITIATED_CRASH:
        return "MANUALLY_INITIATED_CRASH";
    case KERNEL_SECURITY_CHECK_FAILURE:
        return "KERNEL_SECURITY_CHECK_FAILURE";
    case KMRIG_BUGCHECK_DEADLOCK:
        return "KMRIG_DEADLOCK";
    case KMRIG_BUGCHECK_TIME_BUDGET:
        return "KMRIG_TIME_BUDGET_EXCEEDED";
    case KMRIG_BUGCHECK_HARNESS:
        return "KMRIG_HARNESS_MISUSE";
    default:
        return "";
    }
}

static void KiWriteAll(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void KiRunBugCheckCallbacks(struct kmrig_runtime *rt)
{
    if (!rt)
        return;
    /* No locks: the machine is stopping, as on NT. */
    PLIST_ENTRY h = &rt->Ke.BugCheckCallbackList;
    for (PLIST_ENTRY e = h->Flink; e && e != h; e = e->Flink) {
        PKBUGCHECK_CALLBACK_RECORD r = CONTAINING_RECORD(e, KBUGCHECK_CALLBACK_RECORD, Entry);
        if (r->State != BufferInserted)
            continue;
        r->State = BufferStarted;
        r->CallbackRoutine(r->Buffer, r->Length);
        r->State = BufferFinished;
    }
}

VOID KiBugCheckRt(struct kmrig_runtime *rt, ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3,
                  ULONG_PTR P4)
{
    if (atomic_exchange(&KiBugCheckActive, 1)) {
        /* A second bugcheck (another thread, or inside a callback): the first one reports. */
        for (;;)
            pause();
    }
    PKTHREAD t = KiCurrentThreadOrNull();
    char head[512];
    int n = snprintf(head, sizeof head, "BUGCHECK 0x%08X (0x%llx, 0x%llx, 0x%llx, 0x%llx) %s\n",
                     Code, (unsigned long long)P1, (unsigned long long)P2, (unsigned long long)P3,
                     (unsigned long long)P4, KiBugCheckName(Code));
    char where[256];
    int m;
    if (t)
        m = snprintf(where, sizeof where,
                     "  on thread %p (start %p), processor %u, IRQL %u, time %llu ns\n", (void *)t,
                     t->StartRoutine, t->Prcb->Number, t->Prcb->Irql,
                     (unsigned long long)KiNowNs(rt));
    else
        m = snprintf(where, sizeof where, "  on a runtime service thread (clock), time %llu ns\n",
                     rt ? (unsigned long long)KiNowNs(rt) : 0ull);
    if (P4 && (Code == DRIVER_VERIFIER_DETECTED_VIOLATION) && P1 >= VF_KMRIG_BASE &&
        P1 < VF_KMRIG_BASE + 3) {
        m += snprintf(where + m, sizeof where - (size_t)m, "  routine: %s\n", (const char *)P4);
    }
    KiRunBugCheckCallbacks(rt);
    /* Every thread waited for something that never came: say what the interrupt lines did (the
     * clock thread reports these with no lock held). */
    static char lines[8192];
    size_t nl = 0;
    if (rt && rt->IrqReport &&
        (Code == KMRIG_BUGCHECK_DEADLOCK || Code == KMRIG_BUGCHECK_TIME_BUDGET)) {
        nl = rt->IrqReport(rt, lines, sizeof lines);
        if (nl >= sizeof lines)
            nl = sizeof lines - 1;
    }
    const char *path = getenv(KMRIG_BUGCHECK_REPORT_ENV);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    void *frames[64];
    int nf = backtrace(frames, 64);
    const char *bt = "  backtrace:\n";
    for (int pass = 0; pass < 2; pass++) {
        int out = pass == 0 ? STDERR_FILENO : fd;
        if (out < 0)
            continue;
        KiWriteAll(out, "*** ", 4);
        KiWriteAll(out, head, (size_t)n);
        KiWriteAll(out, where, (size_t)m);
        KiWriteAll(out, lines, nl);
        KiWriteAll(out, bt, strlen(bt));
        backtrace_symbols_fd(frames, nf, out);
    }
    if (fd >= 0) {
        /* The runner parses the first line: rewrite it without the "*** " prefix. */
        lseek(fd, 0, SEEK_SET);
        KiWriteAll(fd, head, (size_t)n);
        KiWriteAll(fd, "    ", 4);
        close(fd);
    }
    _exit(KMRIG_EXIT_BUGCHECK);
}

VOID NTAPI KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
    KiBugCheckRt(KiRuntime(), BugCheckCode, P1, P2, P3, P4);
}

VOID NTAPI KeBugCheck(ULONG BugCheckCode)
{
    KiBugCheckRt(KiRuntime(), BugCheckCode, 0, 0, 0, 0);
}

VOID KiFatal(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct kmrig_runtime *rt = KiRuntime();
    if (rt)
        KmLog(rt, KMRIG_LOG_ERROR, "kmrig: %s", msg);
    else
        fprintf(stderr, "kmrig: %s\n", msg);
    KiBugCheckRt(rt, KMRIG_BUGCHECK_HARNESS, 0, 0, 0, 0);
}

#undef KeInitializeCallbackRecord
VOID NTAPI KeInitializeCallbackRecord(PKBUGCHECK_CALLBACK_RECORD CallbackRecord)
{
    CallbackRecord->State = BufferEmpty;
}

BOOLEAN NTAPI KeRegisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord,
                                         PKBUGCHECK_CALLBACK_ROUTINE CallbackRoutine, PVOID Buffer,
                                         ULONG Length, PUCHAR Component)
{
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KIRQL old;
    KeAcquireSpinLock(&rt->Ke.BugCheckLock, &old);
    BOOLEAN ok = CallbackRecord->State == BufferEmpty;
    if (ok) {
        CallbackRecord->CallbackRoutine = CallbackRoutine;
        CallbackRecord->Buffer = Buffer;
        CallbackRecord->Length = Length;
        CallbackRecord->Component = Component;
        CallbackRecord->Checksum =
            (ULONG_PTR)CallbackRoutine + (ULONG_PTR)Buffer + Length + (ULONG_PTR)Component;
        CallbackRecord->State = BufferInserted;
        InsertTailList(&rt->Ke.BugCheckCallbackList, &CallbackRecord->Entry);
    }
    KeReleaseSpinLock(&rt->Ke.BugCheckLock, old);
    return ok;
}

BOOLEAN NTAPI KeDeregisterBugCheckCallback(PKBUGCHECK_CALLBACK_RECORD CallbackRecord)
{
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KIRQL old;
    KeAcquireSpinLock(&rt->Ke.BugCheckLock, &old);
    BOOLEAN ok = CallbackRecord->State == BufferInserted;
    if (ok) {
        RemoveEntryList(&CallbackRecord->Entry);
        CallbackRecord->State = BufferEmpty;
    }
    KeReleaseSpinLock(&rt->Ke.BugCheckLock, old);
    return ok;
}
