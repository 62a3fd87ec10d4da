/*
 * trace.h - the runtime's event trace hooks (kmrig/trace.h; host/rig/trace.c).
 *
 * Each hook is one line at its call site and one branch when tracing is off. Routine hooks wrap
 * the call (KmTraceDispatch(rt, ...) instead of dispatch(...)) and record an "X" span on the
 * calling processor from entry to return; device hooks record an instant. Times are device
 * time (KiNowNs), except DMA, which is recorded inside the link (where the clock cannot be read)
 * with the cycle the link gives.
 */
#ifndef KMRIG_INTERNAL_TRACE_H
#define KMRIG_INTERNAL_TRACE_H

#include "rt.h"

typedef enum _KMP_TRACE_KIND {
    KmTraceKindDispatch = 1, /* A = major function */
    KmTraceKindStartIo,
    KmTraceKindIsr, /* A = line */
    KmTraceKindDpc,
    KmTraceKindTimerDpc,
    KmTraceKindWorkItem,
    KmTraceKindRead, /* A = address, B = space << 8 | size, C = value */
    KmTraceKindWrite,
    KmTraceKindIrq, /* A = line: the runtime requested the line's vector */
    KmTraceKindEoi, /* A = line: its service ended (EOI / level acknowledge) */
    KmTraceKindDma, /* A = bus address, B = write << 16 | size */
} KMP_TRACE_KIND;

#define KM_TRACE_ON(rt) __builtin_expect((rt)->Trace != NULL, 0)

NTSTATUS KmpTraceInitialize(struct kmrig_runtime *rt);
VOID KmpTraceShutdown(struct kmrig_runtime *rt); /* writes the file */
VOID KmpTraceRecord(struct kmrig_runtime *rt, KMP_TRACE_KIND Kind, ULONGLONG Ts, ULONGLONG Dur,
                    const void *Routine, ULONGLONG A, ULONG B, ULONG C);
VOID KmpTraceTimerDpc(struct kmrig_runtime *rt, PKDPC Dpc);
BOOLEAN KmpTraceTakeTimerDpc(struct kmrig_runtime *rt, PKDPC Dpc);
ULONGLONG KmpTraceCyclesToNs(struct kmrig_runtime *rt, ULONGLONG Cycles);

static inline NTSTATUS KmTraceDispatch(struct kmrig_runtime *rt, PDRIVER_DISPATCH Dispatch,
                                       PDEVICE_OBJECT DeviceObject, PIRP Irp, UCHAR Major)
{
    if (!KM_TRACE_ON(rt))
        return Dispatch(DeviceObject, Irp);
    ULONGLONG b = KiNowNs(rt);
    NTSTATUS s = Dispatch(DeviceObject, Irp);
    KmpTraceRecord(rt, KmTraceKindDispatch, b, KiNowNs(rt) - b, (const void *)Dispatch, Major, 0,
                   0);
    return s;
}

static inline VOID KmTraceStartIo(struct kmrig_runtime *rt, PDRIVER_STARTIO StartIo,
                                  PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    if (!KM_TRACE_ON(rt)) {
        StartIo(DeviceObject, Irp);
        return;
    }
    ULONGLONG b = KiNowNs(rt);
    StartIo(DeviceObject, Irp);
    KmpTraceRecord(rt, KmTraceKindStartIo, b, KiNowNs(rt) - b, (const void *)StartIo, 0, 0, 0);
}

static inline BOOLEAN KmTraceIsr(struct kmrig_runtime *rt, PKSERVICE_ROUTINE Isr,
                                 PKINTERRUPT Interrupt, PVOID Context, ULONG Line)
{
    if (!KM_TRACE_ON(rt))
        return Isr(Interrupt, Context);
    ULONGLONG b = KiNowNs(rt);
    BOOLEAN r = Isr(Interrupt, Context);
    KmpTraceRecord(rt, KmTraceKindIsr, b, KiNowNs(rt) - b, (const void *)Isr, Line, r, 0);
    return r;
}

static inline VOID KmTraceDpc(struct kmrig_runtime *rt, PKDEFERRED_ROUTINE Routine, PKDPC Dpc,
                              PVOID Context, PVOID A1, PVOID A2)
{
    if (!KM_TRACE_ON(rt)) {
        Routine(Dpc, Context, A1, A2);
        return;
    }
    KMP_TRACE_KIND k = KmpTraceTakeTimerDpc(rt, Dpc) ? KmTraceKindTimerDpc : KmTraceKindDpc;
    ULONGLONG b = KiNowNs(rt);
    Routine(Dpc, Context, A1, A2);
    KmpTraceRecord(rt, k, b, KiNowNs(rt) - b, (const void *)Routine, 0, 0, 0);
}

/* A timer queues its DPC: the next run of that DPC is a timer DPC. */
static inline VOID KmTraceTimerDpcQueued(struct kmrig_runtime *rt, PKDPC Dpc)
{
    if (KM_TRACE_ON(rt))
        KmpTraceTimerDpc(rt, Dpc);
}

static inline VOID KmTraceWorkItem(struct kmrig_runtime *rt, const void *Routine,
                                   VOID (*Call)(PVOID), PVOID Arg)
{
    if (!KM_TRACE_ON(rt)) {
        Call(Arg);
        return;
    }
    ULONGLONG b = KiNowNs(rt);
    Call(Arg);
    KmpTraceRecord(rt, KmTraceKindWorkItem, b, KiNowNs(rt) - b, Routine, 0, 0, 0);
}

static inline VOID KmTraceAccess(struct kmrig_runtime *rt, BOOLEAN Write, unsigned Space,
                                 ULONGLONG Addr, unsigned Size, ULONG Value)
{
    if (KM_TRACE_ON(rt))
        KmpTraceRecord(rt, Write ? KmTraceKindWrite : KmTraceKindRead, KiNowNs(rt), 0, NULL, Addr,
                       Space << 8 | Size, Value);
}

static inline VOID KmTraceLine(struct kmrig_runtime *rt, BOOLEAN Eoi, ULONG Line)
{
    if (KM_TRACE_ON(rt))
        KmpTraceRecord(rt, Eoi ? KmTraceKindEoi : KmTraceKindIrq, KiNowNs(rt), 0, NULL, Line, 0, 0);
}

/* From the link's DMA handler: no clock reads there; Cycle is the request's issue cycle. */
static inline VOID KmTraceDma(struct kmrig_runtime *rt, int Write, ULONGLONG Bus, size_t Size,
                              ULONGLONG Cycle)
{
    if (KM_TRACE_ON(rt))
        KmpTraceRecord(rt, KmTraceKindDma, KmpTraceCyclesToNs(rt, Cycle), 0, NULL, Bus,
                       (ULONG)(Write ? 1u << 16 : 0) | (ULONG)Size, 0);
}

#endif
