/*
 * Timers. Set timers sit in one list per instance sorted by due time (ns of the instance clock,
 * kept in KTIMER.DueTime); Ke.NextTimerDue caches the head. Expiry happens under the dispatcher
 * lock, either at a delivery point of a processor that saw time pass the head, or in the clock
 * thread when every processor is idle. An expired timer is signalled, its DPC is queued (never
 * called inline) and a periodic timer is set again at due + period.
 */
#include "rt.h"
#include "trace.h"
#include "vf.h"

static void KiUpdateNextDue(struct kmrig_runtime *rt)
{
    PLIST_ENTRY h = &rt->Ke.TimerList;
    ULONGLONG due = UINT64_MAX;
    if (h->Flink != h)
        due = CONTAINING_RECORD(h->Flink, KTIMER, TimerListEntry)->DueTime.QuadPart;
    atomic_store(&rt->Ke.NextTimerDue, due);
}

VOID KiInsertTimer(struct kmrig_runtime *rt, PKTIMER Timer, ULONGLONG DueNs)
{
    Timer->DueTime.QuadPart = DueNs;
    PLIST_ENTRY h = &rt->Ke.TimerList, e = h->Blink;
    /* Stable: equal due times expire in the order they were set. */
    while (e != h && CONTAINING_RECORD(e, KTIMER, TimerListEntry)->DueTime.QuadPart > DueNs)
        e = e->Blink;
    InsertHeadList(e, &Timer->TimerListEntry);
    KiUpdateNextDue(rt);
    if (DueNs <= KiNowNs(rt))
        for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++)
            atomic_fetch_or(&rt->Ke.Prcb[i].Pending, KI_PENDING_TIMER);
    KiClockChanged(rt);
}

BOOLEAN KiRemoveTimer(struct kmrig_runtime *rt, PKTIMER Timer)
{
    if (!Timer->TimerListEntry.Flink)
        return FALSE;
    RemoveEntryList(&Timer->TimerListEntry);
    Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = NULL;
    KiUpdateNextDue(rt);
    return TRUE;
}

VOID KiExpireTimers(struct kmrig_runtime *rt, ULONGLONG NowNs)
{
    PLIST_ENTRY h = &rt->Ke.TimerList;
    while (h->Flink != h) {
        PKTIMER Timer = CONTAINING_RECORD(h->Flink, KTIMER, TimerListEntry);
        ULONGLONG due = Timer->DueTime.QuadPart;
        if (due > NowNs)
            break;
        KiRemoveTimer(rt, Timer);
        Timer->Header.SignalState = 1;
        KiWaitTest(rt, &Timer->Header);
        if (Timer->Period)
            KiInsertTimer(rt, Timer, due + (ULONGLONG)Timer->Period * 1000000ull);
        if (Timer->Dpc) {
            PKPRCB p =
                &rt->Ke.Prcb[Timer->Processor < rt->Ke.NumberProcessors ? Timer->Processor : 0];
            /* As on NT: the expiry time, low and high 32 bits. */
            ULONGLONG when = rt->Ke.BootSystemTime + due / 100;
            KmTraceTimerDpcQueued(rt, Timer->Dpc);
            KiQueueDpcOnPrcb(rt, p, Timer->Dpc, (PVOID)(ULONG_PTR)(ULONG)when,
                             (PVOID)(ULONG_PTR)(ULONG)(when >> 32));
        }
    }
    KiUpdateNextDue(rt);
}

VOID NTAPI KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    Timer->Header.Type =
        (UCHAR)(Type == NotificationTimer ? TimerNotificationObject : TimerSynchronizationObject);
    Timer->Header.Signalling = 0;
    Timer->Header.Size = sizeof(KTIMER) / sizeof(LONG);
    Timer->Header.Reserved1 = 0;
    Timer->Header.SignalState = 0;
    InitializeListHead(&Timer->Header.WaitListHead);
    Timer->DueTime.QuadPart = 0;
    Timer->TimerListEntry.Flink = Timer->TimerListEntry.Blink = NULL;
    Timer->Dpc = NULL;
    Timer->Processor = 0;
    Timer->Period = 0;
}

VOID NTAPI KeInitializeTimer(PKTIMER Timer)
{
    KeInitializeTimerEx(Timer, NotificationTimer);
}

BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    PKTHREAD t = KiCurrentThread();
    struct kmrig_runtime *rt = t->Runtime;
    if (Period < 0)
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 0x10 /* kmrig: negative period */, (ULONG_PTR)Timer,
                     (ULONG_PTR)Period, 0);
    KiAcquireDispatcherLock(rt);
    BOOLEAN wasSet = KiRemoveTimer(rt, Timer);
    Timer->Header.SignalState = 0;
    Timer->Dpc = Dpc;
    Timer->Period = (ULONG)Period;
    Timer->Processor = t->Prcb->Number;
    KiInsertTimer(rt, Timer, KiDueTimeToNs(rt, DueTime.QuadPart));
    KiReleaseDispatcherLock(rt);
    KiDeliver(t);
    return wasSet;
}

BOOLEAN NTAPI KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN NTAPI KeCancelTimer(PKTIMER Timer)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KiAcquireDispatcherLock(rt);
    BOOLEAN wasSet = KiRemoveTimer(rt, Timer);
    KiReleaseDispatcherLock(rt);
    return wasSet;
}

BOOLEAN NTAPI KeReadStateTimer(PKTIMER Timer)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    KiAcquireDispatcherLock(rt);
    BOOLEAN state = Timer->Header.SignalState != 0;
    KiReleaseDispatcherLock(rt);
    return state;
}
