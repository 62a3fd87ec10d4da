/* Threads as Ke sees them: priorities, critical regions, floating point state, processors. */
#include "rt.h"
#include "vf.h"

PKTHREAD NTAPI KeGetCurrentThread(VOID)
{
    return KiCurrentThread();
}

ULONG NTAPI KeGetCurrentProcessorNumber(VOID)
{
    return KiCurrentThread()->Prcb->Number;
}

ULONG NTAPI KeGetCurrentProcessorNumberEx(PVOID ProcNumber)
{
    return KeGetCurrentProcessorNumber();
}

ULONG NTAPI KeQueryActiveProcessorCount(PKAFFINITY ActiveProcessors)
{
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    if (ActiveProcessors)
        *ActiveProcessors = KeQueryActiveProcessors();
    return rt->Ke.NumberProcessors;
}

KAFFINITY NTAPI KeQueryActiveProcessors(VOID)
{
    ULONG n = KiCurrentThread()->Runtime->Ke.NumberProcessors;
    return n >= 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << n) - 1);
}

KPRIORITY NTAPI KeQueryPriorityThread(PKTHREAD Thread)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = Thread->Runtime;
    KiAcquireDispatcherLock(rt);
    KPRIORITY p = Thread->Priority;
    KiReleaseDispatcherLock(rt);
    return p;
}

/* Dispatcher lock held. */
static void KipSetPriority(struct kmrig_runtime *rt, PKTHREAD Thread, KPRIORITY Priority)
{
    if (Thread->State == Ready && Thread->ReadyEntry.Flink) {
        RemoveEntryList(&Thread->ReadyEntry);
        atomic_fetch_sub(&rt->Ke.ReadyCount, 1);
        Thread->Priority = Priority;
        KiReadyThread(rt, Thread);
        return;
    }
    Thread->Priority = Priority;
    /* A running thread that lowered itself below a ready one yields at its next delivery. */
    if (Thread->State == Running && atomic_load(&rt->Ke.ReadyCount))
        atomic_fetch_or(&Thread->Prcb->Pending, KI_PENDING_RESCHED);
}

KPRIORITY NTAPI KeSetPriorityThread(PKTHREAD Thread, KPRIORITY Priority)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    if (Priority < LOW_PRIORITY + 1 || Priority > HIGH_PRIORITY)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, VF_PRIORITY_RANGE, (ULONG_PTR)Thread,
                     (ULONG_PTR)Priority, 0);
    struct kmrig_runtime *rt = Thread->Runtime;
    KiAcquireDispatcherLock(rt);
    KPRIORITY old = Thread->Priority;
    KipSetPriority(rt, Thread, Priority);
    KiReleaseDispatcherLock(rt);
    if (KiCurrentThreadOrNull())
        KiDeliver(KiCurrentThread());
    return old;
}

#define KI_SYSTEM_BASE_PRIORITY 8

/* Sets the thread's base priority relative to its process (the System process, base 8) and
 * returns the previous increment. Variable-priority threads stay within 1..15, real-time ones
 * within 16..31. */
LONG NTAPI KeSetBasePriorityThread(PKTHREAD Thread, LONG Increment)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = Thread->Runtime;
    KiAcquireDispatcherLock(rt);
    LONG old = Thread->BasePriority - KI_SYSTEM_BASE_PRIORITY;
    LONG base = KI_SYSTEM_BASE_PRIORITY + Increment;
    if (base < 1)
        base = 1;
    if (base > 15)
        base = 15;
    Thread->BasePriority = base;
    if (Thread->Priority < LOW_REALTIME_PRIORITY)
        KipSetPriority(rt, Thread, base);
    KiReleaseDispatcherLock(rt);
    return old;
}

VOID NTAPI KeEnterCriticalRegion(VOID)
{
    VF_IRQL_MAX(APC_LEVEL);
    KiCurrentThread()->KernelApcDisable--;
}

VOID NTAPI KeLeaveCriticalRegion(VOID)
{
    VF_IRQL_MAX(APC_LEVEL);
    PKTHREAD t = KiCurrentThread();
    if (t->KernelApcDisable >= 0 && (t->Runtime->Verify & KMRIG_VERIFY_LOCKS))
        KeBugCheckEx(APC_INDEX_MISMATCH, (ULONG_PTR)t, (ULONG_PTR)t->KernelApcDisable, 0, 0);
    t->KernelApcDisable++;
    KiDeliver(t);
}

BOOLEAN NTAPI KeAreApcsDisabled(VOID)
{
    PKTHREAD t = KiCurrentThread();
    return t->KernelApcDisable != 0 || t->Prcb->Irql >= APC_LEVEL;
}

/* x64 keeps the FP registers per thread already; what a driver can change that would leak into
 * other code is the control state: MXCSR (SSE rounding/exception masks) and the x87 control word.
 * KFLOATING_SAVE.Dummy holds both: MXCSR's defined bits (0..15) in the low half, the x87 control
 * word in the high half. */
NTSTATUS NTAPI KeSaveFloatingPointState(PKFLOATING_SAVE FloatSave)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
#if defined(__x86_64__)
    unsigned int mxcsr = __builtin_ia32_stmxcsr();
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    FloatSave->Dummy = (mxcsr & 0xFFFFu) | ((ULONG)cw << 16);
#else
    FloatSave->Dummy = 0;
#endif
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI KeRestoreFloatingPointState(PKFLOATING_SAVE FloatSave)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
#if defined(__x86_64__)
    unsigned int mxcsr = FloatSave->Dummy & 0xFFFFu;
    unsigned short cw = (unsigned short)(FloatSave->Dummy >> 16);
    __builtin_ia32_ldmxcsr(mxcsr);
    __asm__ volatile("fldcw %0" : : "m"(cw));
#endif
    return STATUS_SUCCESS;
}
