/* Interrupt requests: a device source (a model, a link thread) requests a vector on a processor;
 * the holder of that processor services it at its next delivery point if the vector's IRQL is
 * above the processor's, or the processor's DPC thread does when it is idle. */
#include "rt.h"

VOID KiConnectVector(struct kmrig_runtime *rt, ULONG Vector, KIRQL Irql,
                     void (*Service)(struct kmrig_runtime *, ULONG, PVOID), PVOID Context)
{
    KiAcquireDispatcherLock(rt);
    rt->Ke.Vectors[Vector].Irql = Irql;
    rt->Ke.Vectors[Vector].Context = Context;
    rt->Ke.Vectors[Vector].Service = Service;
    KiReleaseDispatcherLock(rt);
}

/* Also withdraws the vector's requests: one that a device source made just before (a link's
 * thread polling while the driver disconnects) would otherwise stay pending for a vector with no
 * service, and its processor would never be idle again. */
VOID KiDisconnectVector(struct kmrig_runtime *rt, ULONG Vector)
{
    KiAcquireDispatcherLock(rt);
    rt->Ke.Vectors[Vector].Service = NULL;
    rt->Ke.Vectors[Vector].Context = NULL;
    rt->Ke.Vectors[Vector].Irql = 0;
    for (ULONG i = 0; i < rt->Ke.NumberProcessors; i++)
        atomic_fetch_and(&rt->Ke.Prcb[i].InterruptRequest[Vector / 64], ~(1ull << (Vector % 64)));
    KiReleaseDispatcherLock(rt);
}

VOID KiRequestInterrupt(struct kmrig_runtime *rt, ULONG Processor, ULONG Vector)
{
    if (Vector >= KI_MAX_VECTORS || Processor >= rt->Ke.NumberProcessors)
        return;
    PKPRCB p = &rt->Ke.Prcb[Processor];
    KiAcquireDispatcherLock(rt);
    if (!rt->Ke.Vectors[Vector].Service) {
        KiReleaseDispatcherLock(rt);
        KmLog(rt, KMRIG_LOG_WARN, "interrupt on vector %u, which nothing is connected to", Vector);
        return;
    }
    atomic_fetch_or(&p->InterruptRequest[Vector / 64], 1ull << (Vector % 64));
    atomic_fetch_or(&p->Pending, KI_PENDING_INTERRUPT);
    KiWakeProcessorForWork(rt, p);
    KiReleaseDispatcherLock(rt);
}
