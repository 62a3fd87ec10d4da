/* Interrupts: HalGetInterruptVector, IoConnectInterrupt/IoDisconnectInterrupt, the line
 * service routine that runs KINTERRUPT chains, KeSynchronizeExecution. The scheme is in
 * host/internal/hal.h. */
#include "hal.h"
#include "trace.h"
#include "vf.h"

#include <stdlib.h>

ULONG NTAPI HalGetInterruptVector(INTERFACE_TYPE InterfaceType, ULONG BusNumber,
                                  ULONG BusInterruptLevel, ULONG BusInterruptVector, PKIRQL Irql,
                                  PKAFFINITY Affinity)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(PASSIVE_LEVEL);
    (void)BusInterruptVector;
    HALP_STATE *h = rt->Hal;
    /* The target's interrupt unit is the one bus: line = BusInterruptLevel (ISA meaning). */
    if (!h->Link || BusNumber != 0 || BusInterruptLevel >= h->Info.irq_lines ||
        (InterfaceType != Internal && InterfaceType != Isa && InterfaceType != PNPBus &&
         InterfaceType != PNPISABus)) {
        KmLog(rt, KMRIG_LOG_WARN,
              "HalGetInterruptVector(type %d, bus %u, level %u): no such interrupt line on "
              "this target",
              (int)InterfaceType, (unsigned)BusNumber, (unsigned)BusInterruptLevel);
        *Irql = 0;
        *Affinity = 0;
        return 0;
    }
    *Irql = h->Lines[BusInterruptLevel].Irql;
    *Affinity = KeQueryActiveProcessors();
    return h->Lines[BusInterruptLevel].Vector;
}

/* ---- delivery ---------------------------------------------------------------------------- */

/* Polls the link and requests the vector of every connected line that is pending, not requested
 * already and whose service did not start since before the link was read (host/internal/hal.h,
 * "Races"). Returns the lines it requested. Any thread, no HAL lock held. */
static uint32_t HalpPollLines(struct kmrig_runtime *rt)
{
    HALP_STATE *h = rt->Hal;
    if (!h || !h->Link)
        return 0;
    uint32_t connected = atomic_load_explicit(&h->ConnectedLines, memory_order_acquire);
    if (!connected)
        return 0;
    ULONG epoch[HALP_MAX_LINES];
    pthread_mutex_lock(&h->IrqLock);
    for (uint32_t m = connected; m; m &= m - 1)
        epoch[__builtin_ctz(m)] = h->Lines[__builtin_ctz(m)].Epoch;
    pthread_mutex_unlock(&h->IrqLock);
    uint32_t lines;
    if (kmrig_link_irq_pending(h->Link, &lines) != KMRIG_LINK_OK)
        return 0;
    atomic_fetch_add_explicit(&h->Polls, 1, memory_order_relaxed);
    lines &= connected;
    if (!lines)
        return 0;
    uint32_t requested = 0;
    pthread_mutex_lock(&h->IrqLock);
    lines &= atomic_load(&h->ConnectedLines) & ~atomic_load(&h->Requested);
    while (lines) {
        unsigned l = (unsigned)__builtin_ctz(lines);
        lines &= lines - 1;
        HALP_LINE *ln = &h->Lines[l];
        if ((epoch[l] & 1) || ln->Epoch != epoch[l])
            continue; /* read while (or before) its service ran: a later poll reads it anew */
        atomic_fetch_or(&h->Requested, 1u << l);
        KmTraceLine(rt, FALSE, l);
        KiRequestInterrupt(rt, ln->Processor, ln->Vector);
        requested |= 1u << l;
    }
    pthread_mutex_unlock(&h->IrqLock);
    return requested;
}

BOOLEAN HalpPollInterrupts(struct kmrig_runtime *rt)
{
    return HalpPollLines(rt) != 0;
}

/* An interrupt storm on a level line (HARDWARE_INTERRUPT_STORM): the line is masked first. */
static DECLSPEC_NORETURN void HalpStorm(struct kmrig_runtime *rt, HALP_LINE *ln, PKINTERRUPT first,
                                        BOOLEAN chained, ULONG run, const char *why)
{
    kmrig_link_irq_control(rt->Hal->Link, ln->Line, KMRIG_IRQ_MASK);
    KmLog(rt, KMRIG_LOG_ERROR,
          "interrupt storm on line %u (vector 0x%x): the line stayed asserted, %s %u times "
          "in a row",
          (unsigned)ln->Line, (unsigned)ln->Vector, why, (unsigned)run);
    KeBugCheckEx(HARDWARE_INTERRUPT_STORM, (ULONG_PTR)(first ? first->ServiceRoutine : NULL),
                 (ULONG_PTR)(first ? first->ServiceContext : NULL), (ULONG_PTR)first,
                 chained ? 2 : 1);
}

/* The vector's service routine: called by the kernel at the line's DIRQL on the processor the
 * vector was requested on. */
static void HalpInterruptService(struct kmrig_runtime *rt, ULONG Vector, PVOID Context)
{
    HALP_STATE *h = rt->Hal;
    HALP_LINE *ln = Context;
    unsigned bit = 1u << ln->Line;
    PKTHREAD t = KiCurrentThread();
    (void)Vector;
    pthread_mutex_lock(&h->IrqLock);
    ln->Epoch++; /* odd: in service; a poll that read the line before this requests nothing */
    atomic_fetch_and(&h->Requested, ~bit);
    pthread_mutex_unlock(&h->IrqLock);
    pthread_rwlock_rdlock(&h->ChainLock);
    if (ln->Mode == Latched) /* acknowledge first: an edge during the ISRs is latched again */
        kmrig_link_irq_control(h->Link, ln->Line, KMRIG_IRQ_EOI);
    BOOLEAN claimed = FALSE;
    PKINTERRUPT first = NULL;
    for (PLIST_ENTRY e = ln->Chain.Flink; e != &ln->Chain; e = e->Flink) {
        PKINTERRUPT i = CONTAINING_RECORD(e, KINTERRUPT, InterruptListEntry);
        if (!first)
            first = i;
        KIRQL old = KiRaiseIrql(t, i->SynchronizeIrql);
        KeAcquireSpinLockAtDpcLevel(i->ActualLock);
        BOOLEAN r = KmTraceIsr(rt, i->ServiceRoutine, i, i->ServiceContext, ln->Line);
        KeReleaseSpinLockFromDpcLevel(i->ActualLock);
        t->Prcb->Irql = old;
        i->ServiceCount++;
        if (r) {
            i->ClaimCount++;
            claimed = TRUE;
            if (ln->Mode == LevelSensitive)
                break; /* NT: a level chain stops at the first ISR that claims */
        }
    }
    KINTERRUPT_MODE mode = ln->Mode;
    if (mode == LevelSensitive) {
        /* The level flow's EOI: a link that reports lines by event (a wall-time target) keeps
         * the line as last reported until the device says otherwise, so it is EOIed: the line
         * leaves the pending set, and the device reports it again if it is still high. On a
         * virtual-time target the HAL reads the live line (with a profile, the EOI is posted
         * and the line hidden until it arrives). */
        if (h->DeviceClock)
            kmrig_link_irq_ack(h->Link, ln->Line);
        else
            kmrig_link_irq_control(h->Link, ln->Line, KMRIG_IRQ_EOI);
    }
    atomic_fetch_add_explicit(&ln->Services, 1, memory_order_relaxed);
    ln->UnclaimedRun = claimed ? 0 : ln->UnclaimedRun + 1;
    ULONG run = ln->UnclaimedRun;
    BOOLEAN chained = first && first->InterruptListEntry.Flink != &ln->Chain;
    pthread_rwlock_unlock(&h->ChainLock);
    KmTraceLine(rt, TRUE, ln->Line);
    pthread_mutex_lock(&h->IrqLock);
    ln->Epoch++; /* even: done */
    pthread_mutex_unlock(&h->IrqLock);
    if (!claimed && first && mode == Latched)
        KmLog(rt, KMRIG_LOG_WARN, "interrupt on line %u: no ISR claimed it", (unsigned)ln->Line);
    if (run >= HALP_STORM_UNCLAIMED && mode == LevelSensitive)
        HalpStorm(rt, ln, first, chained, run, "no ISR claimed it");
    if (!h->DeviceClock) {
        /* A wall-time link reports a line by event, and an event that came while this service
         * ran was polled and dropped (the line was in service): present the line again now if
         * it is pending (an edge latched during the ISRs, a level line reported again after
         * its EOI), as NT does when IRQL drops. Nothing else would poll it. */
        HalpPollLines(rt);
    } else if (mode == LevelSensitive && first) {
        /* A virtual-time target polls again at the next access or when the processors idle,
         * after the DPCs had their turn. Its device changes only as its time moves: services
         * of a level line that all end at the same device time (nothing touched the device in
         * or between them) will go on for ever. */
        uint64_t now = kmrig_link_now(h->Link);
        ln->AssertedRun = now == ln->LastEnd ? ln->AssertedRun + 1 : 0;
        ln->LastEnd = now;
        if (ln->AssertedRun >= HALP_STORM_UNCLAIMED)
            HalpStorm(rt, ln, first, chained, ln->AssertedRun,
                      "its ISRs claimed it without the device's time moving");
    }
}

/* ---- connect / disconnect ---------------------------------------------------------------- */

NTSTATUS NTAPI IoConnectInterrupt(PKINTERRUPT *InterruptObject, PKSERVICE_ROUTINE ServiceRoutine,
                                  PVOID ServiceContext, PKSPIN_LOCK SpinLock, ULONG Vector,
                                  KIRQL Irql, KIRQL SynchronizeIrql, KINTERRUPT_MODE InterruptMode,
                                  BOOLEAN ShareVector, KAFFINITY ProcessorEnableMask,
                                  BOOLEAN FloatingSave)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HALP_STATE *h = rt->Hal;
    *InterruptObject = NULL;
    KAFFINITY active = KeQueryActiveProcessors();
    if (!ServiceRoutine || SynchronizeIrql < Irql || !(ProcessorEnableMask & active) ||
        (InterruptMode != LevelSensitive && InterruptMode != Latched))
        return STATUS_INVALID_PARAMETER;
    if (!h->Link || Vector < HALP_VECTOR_BASE || Vector - HALP_VECTOR_BASE >= h->Info.irq_lines) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "IoConnectInterrupt: vector 0x%x is not an interrupt line of this target",
              (unsigned)Vector);
        return STATUS_INVALID_PARAMETER;
    }
    ULONG line = Vector - HALP_VECTOR_BASE;
    HALP_LINE *ln = &h->Lines[line];
    if (Irql != ln->Irql) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "IoConnectInterrupt: Irql %u does not match vector 0x%x (DIRQL %u): pass the "
              "translated resource's u.Interrupt.Level",
              Irql, (unsigned)Vector, ln->Irql);
        return STATUS_INVALID_PARAMETER;
    }
    PKINTERRUPT i = calloc(1, sizeof *i);
    if (!i)
        return STATUS_INSUFFICIENT_RESOURCES;
    i->Type = 22; /* InterruptObject */
    i->Size = sizeof *i;
    i->ServiceRoutine = ServiceRoutine;
    i->ServiceContext = ServiceContext;
    KeInitializeSpinLock(&i->SpinLock);
    i->ActualLock = SpinLock ? SpinLock : &i->SpinLock;
    i->Vector = Vector;
    i->Irql = Irql;
    i->SynchronizeIrql = SynchronizeIrql;
    i->ShareVector = ShareVector;
    i->FloatingSave = FloatingSave;
    i->Mode = InterruptMode;
    i->Affinity = ProcessorEnableMask & active;
    i->Line = line;
    i->Runtime = rt;

    pthread_mutex_lock(&h->Lock);
    BOOLEAN first = IsListEmpty(&ln->Chain);
    if (!first) {
        PKINTERRUPT other = CONTAINING_RECORD(ln->Chain.Flink, KINTERRUPT, InterruptListEntry);
        if (!ShareVector || !other->ShareVector || other->Mode != InterruptMode) {
            pthread_mutex_unlock(&h->Lock);
            free(i);
            KmLog(rt, KMRIG_LOG_ERROR,
                  "IoConnectInterrupt: vector 0x%x is connected already and %s", (unsigned)Vector,
                  other->Mode != InterruptMode ? "with another interrupt mode"
                                               : "not shared by both connections");
            return STATUS_INVALID_PARAMETER;
        }
    }
    pthread_rwlock_wrlock(&h->ChainLock);
    InsertTailList(&ln->Chain, &i->InterruptListEntry);
    ln->Connected++;
    pthread_rwlock_unlock(&h->ChainLock);
    if (first) {
        ln->Mode = InterruptMode;
        ln->Processor = (ULONG)__builtin_ctzll(i->Affinity);
        ln->UnclaimedRun = 0;
        KiConnectVector(rt, Vector, ln->Irql, HalpInterruptService, ln);
        kmrig_link_irq_control(h->Link, line,
                               InterruptMode == Latched ? KMRIG_IRQ_EDGE : KMRIG_IRQ_LEVEL);
        /* What the line reported before anyone listened is stale: an edge latched then, or a
           report a previous connection never acknowledged (disconnected in between), after
           which the device would not report the line again. EOI clears both; a level line
           still high is reported again. */
        kmrig_link_irq_control(h->Link, line, KMRIG_IRQ_EOI);
        kmrig_link_irq_control(h->Link, line, KMRIG_IRQ_UNMASK);
        ln->AssertedRun = 0;
        ln->LastEnd = UINT64_MAX;
        pthread_mutex_lock(&h->IrqLock);
        atomic_fetch_and(&h->Requested, ~(1u << line));
        atomic_fetch_or(&h->ConnectedLines, 1u << line);
        pthread_mutex_unlock(&h->IrqLock);
    }
    pthread_mutex_unlock(&h->Lock);
    *InterruptObject = i;
    KmLog(rt, KMRIG_LOG_DEBUG, "IoConnectInterrupt: ISR %p on line %u, vector 0x%x, DIRQL %u%s",
          (void *)(ULONG_PTR)ServiceRoutine, (unsigned)line, (unsigned)Vector, Irql,
          InterruptMode == Latched ? ", latched" : ", level-sensitive");
    HalpPollInterrupts(rt); /* the line may be pending already */
    KiDeliver(KiCurrentThread());
    return STATUS_SUCCESS;
}

VOID NTAPI IoDisconnectInterrupt(PKINTERRUPT InterruptObject)
{
    struct kmrig_runtime *rt = KiRuntime();
    VF_IRQL_MAX(PASSIVE_LEVEL);
    HALP_STATE *h = rt->Hal;
    PKINTERRUPT i = InterruptObject;
    if (!i || i->Runtime != rt || i->Line >= HALP_MAX_LINES)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_INTERRUPT_OBJECT,
                     (ULONG_PTR)i, 0, (ULONG_PTR) "IoDisconnectInterrupt");
    HALP_LINE *ln = &h->Lines[i->Line];
    pthread_mutex_lock(&h->Lock);
    BOOLEAN last = ln->Connected == 1;
    if (last) {
        /* no poll requests the line from now on; one that requested it already is withdrawn by
         * KiDisconnectVector below */
        pthread_mutex_lock(&h->IrqLock);
        atomic_fetch_and(&h->ConnectedLines, ~(1u << i->Line));
        pthread_mutex_unlock(&h->IrqLock);
        kmrig_link_irq_control(h->Link, i->Line, KMRIG_IRQ_MASK);
    }
    /* Taking the chain lock for writing waits for an ISR of this chain running elsewhere. */
    pthread_rwlock_wrlock(&h->ChainLock);
    RemoveEntryList(&i->InterruptListEntry);
    ln->Connected--;
    pthread_rwlock_unlock(&h->ChainLock);
    if (last) {
        KiDisconnectVector(rt, i->Vector); /* and its requests on every processor */
        pthread_mutex_lock(&h->IrqLock);
        atomic_fetch_and(&h->Requested, ~(1u << i->Line));
        pthread_mutex_unlock(&h->IrqLock);
    }
    pthread_mutex_unlock(&h->Lock);
    free(i);
}

/* ---- synchronisation with an ISR --------------------------------------------------------- */

BOOLEAN NTAPI KeSynchronizeExecution(PKINTERRUPT Interrupt,
                                     PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                     PVOID SynchronizeContext)
{
    struct kmrig_runtime *rt = KiRuntime();
    if (!Interrupt || Interrupt->Runtime != rt)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_INTERRUPT_OBJECT,
                     (ULONG_PTR)Interrupt, 0, (ULONG_PTR) "KeSynchronizeExecution");
    if (VfOn(rt, KMRIG_VERIFY_IRQL))
        VfCheckIrqlMax(Interrupt->SynchronizeIrql, "KeSynchronizeExecution");
    KIRQL old;
    KeRaiseIrql(Interrupt->SynchronizeIrql, &old);
    KeAcquireSpinLockAtDpcLevel(Interrupt->ActualLock);
    BOOLEAN r = SynchronizeRoutine(SynchronizeContext);
    KeReleaseSpinLockFromDpcLevel(Interrupt->ActualLock);
    KeLowerIrql(old);
    return r;
}

/* ---- the report ---------------------------------------------------------------------------- */

/* Why a connected line with this state is not being serviced, from the device's view `d` (the
 * first rule that applies), or NULL when it is serviced as it should be. */
static const char *HalpDiagnose(unsigned bit, const struct kmrig_irq_state *d, BOOLEAN requested,
                                BOOLEAN busy)
{
    if (busy)
        return NULL;
    if (requested)
        return "requested and not serviced yet: its processor runs at or above the line's "
               "DIRQL (an ISR, or a spin lock held at high IRQL), or its thread is stuck";
    if (d->mask & bit)
        return "masked at the device, so it reports nothing (the HAL unmasks a line when an ISR "
               "connects; something masked it since, or the device was reset)";
    if ((d->mode & bit) && (d->raw & bit) && !(d->pending & bit))
        return "a lost edge: the input is high but no edge is latched, and none can come while "
               "it stays high. It stayed high across the last acknowledgement (the device's "
               "cause was set again on the edge of the ISR's write-1-to-clear): an ISR of a "
               "latched line acknowledges until its status reads clear, or the line is "
               "connected LevelSensitive (docs/rtl.md, \"A latched line loses that edge\")";
    if ((d->pending & bit) && !(d->active & bit))
        return "pending at the device, but the link has no report of it (yet): if this "
               "persists, an interrupt event was lost on the way (the link's statistics)";
    if (d->active & bit)
        return "reported to the host and not requested (yet): if this persists, the HAL did not "
               "present it";
    if (!(d->raw & bit) && !(d->pending & bit))
        return "the device does not assert it: the peripheral has not raised its interrupt "
               "(its interrupt enabled? its cause set?)";
    return NULL;
}

size_t HalpIrqReport(struct kmrig_runtime *rt, char *buf, size_t n)
{
    KM_TEXT t = {buf, n, 0};
    if (n)
        buf[0] = 0;
    HALP_STATE *h = rt->Hal;
    if (!h || !h->Link) {
        KmSay(&t, "interrupts: this instance has no target\n");
        return t.Len;
    }
    struct kmrig_irq_state d;
    int qrc = kmrig_link_irq_query(h->Link, &d);
    KmSay(&t, "interrupt lines of %s", h->Info.description);
    if (qrc == KMRIG_LINK_OK && h->Info.clock_hz)
        KmSay(&t, " (device time %.6f s)", (double)d.ts / (double)h->Info.clock_hz);
    KmSay(&t, ":\n");
    uint32_t requested = atomic_load(&h->Requested);
    ULONG epoch[HALP_MAX_LINES];
    BOOLEAN epochs = KmLockBriefly(&h->IrqLock);
    for (unsigned l = 0; l < HALP_MAX_LINES; l++)
        epoch[l] = epochs ? h->Lines[l].Epoch : 0;
    if (epochs)
        pthread_mutex_unlock(&h->IrqLock);
    BOOLEAN locked = KmLockBriefly(&h->Lock);
    unsigned lines = h->Info.irq_lines < HALP_MAX_LINES ? h->Info.irq_lines : HALP_MAX_LINES;
    unsigned shown = 0;
    for (unsigned l = 0; l < lines; l++) {
        HALP_LINE *ln = &h->Lines[l];
        unsigned bit = 1u << l;
        ULONG connected = locked ? ln->Connected : 0;
        if (!connected) {
            if (qrc == KMRIG_LINK_OK && ((d.raw | d.pending) & bit)) {
                KmSay(&t, "  line %u: %s at the device, no ISR connected\n", l,
                      d.pending & bit ? "pending" : "input high");
                shown++;
            }
            continue;
        }
        shown++;
        BOOLEAN busy = (epoch[l] & 1) != 0;
        KmSay(&t, "  line %u (vector 0x%x, DIRQL %u): %s, %u ISR(s), %llu service(s); host: %s\n",
              l, (unsigned)ln->Vector, (unsigned)ln->Irql,
              ln->Mode == Latched ? "latched" : "level-sensitive", (unsigned)connected,
              (unsigned long long)atomic_load(&ln->Services),
              busy              ? "in service"
              : requested & bit ? "requested, not serviced yet"
                                : "idle");
        if (qrc != KMRIG_LINK_OK) {
            KmSay(&t, "    device: its view is not available (%s)\n", kmrig_link_strerror(qrc));
            continue;
        }
        KmSay(&t, "    device: input %s, %s, %s, %s mode; the link has it %s\n",
              d.raw & bit ? "high" : "low", d.pending & bit ? "pending" : "not pending",
              d.mask & bit ? "masked" : "unmasked", d.mode & bit ? "edge" : "level",
              d.active & bit ? "reported" : "not reported");
        const char *why = HalpDiagnose(bit, &d, (requested & bit) != 0, busy);
        if (why)
            KmSay(&t, "    diagnosis: %s\n", why);
    }
    if (locked)
        pthread_mutex_unlock(&h->Lock);
    else
        KmSay(&t, "  (the HAL's lock is held elsewhere: connections not shown)\n");
    if (!shown)
        KmSay(&t, "  no line is connected%s\n",
              qrc == KMRIG_LINK_OK ? " or asserted at the device" : "");
    return t.Len;
}
