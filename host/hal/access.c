/* Port and register access: READ/WRITE_PORT_* and READ/WRITE_REGISTER_*, routed to the
 * instance's target. Each access is a delivery point: the time it took is accounted (timers,
 * quantum, budget), the interrupt lines are polled, and what became due runs. */
#include "hal.h"
#include "trace.h"

#include <stdio.h>

static struct kmrig_runtime *HalpRuntime(const char *Routine)
{
    struct kmrig_runtime *rt = KiRuntime();
    if (!rt)
        KiFatal("%s called from a thread that is not attached to a kmrig runtime", Routine);
    return rt;
}

/* A failed access: counted, logged (the first ten, then every thousandth), all ones read. */
static void HalpAccessFailed(struct kmrig_runtime *rt, int rc, BOOLEAN Write, unsigned Space,
                             ULONGLONG Addr, unsigned Size, const char *Routine)
{
    ULONGLONG n = atomic_fetch_add(&rt->Hal->BusErrors, 1) + 1;
    if (rc == KMRIG_LINK_EGONE) {
        HalpNoteLinkLost(rt->Hal);
        /* the link dropped: one line, not one per access (the driver reads all ones, as from
         * a surprise-removed PCI device, until its device is removed) */
        if (!atomic_exchange(&rt->Hal->GoneLogged, TRUE))
            KmLog(rt, KMRIG_LOG_ERROR,
                  "%s: %s at %s 0x%llx failed: the target link dropped; every access fails "
                  "from now on%s",
                  Routine, Write ? "write" : "read", Space == KMRIG_SPACE_IO ? "port" : "bus", Addr,
                  Write ? "" : " and reads all ones");
        return;
    }
    if (n <= 10 || n % 1000 == 0)
        KmLog(rt, KMRIG_LOG_WARN, "%s: %s of %u byte(s) at %s 0x%llx failed: %s%s (%llu so far)",
              Routine, Write ? "write" : "read", Size, Space == KMRIG_SPACE_IO ? "port" : "bus",
              Addr, kmrig_link_strerror(rc), Write ? "" : "; the driver reads all ones",
              (unsigned long long)n);
}

static void HalpAfterAccess(struct kmrig_runtime *rt)
{
    HalpReportDmaFaults(rt->Hal);
    if (rt->Hal->DeviceClock)
        KiTimeMoved(rt);
    HalpPollInterrupts(rt);
    KiDeliver(KiCurrentThread());
}

static ULONG HalpBusRead(struct kmrig_runtime *rt, unsigned Space, ULONGLONG Addr, unsigned Size,
                         const char *Routine)
{
    HALP_STATE *h = rt->Hal;
    ULONG v = Size == 4 ? 0xFFFFFFFFu : (1u << (8 * Size)) - 1;
    if (!h->Link) {
        HalpAccessFailed(rt, KMRIG_LINK_EBUS, FALSE, Space, Addr, Size, Routine);
        return v;
    }
    uint32_t value;
    uint64_t ts;
    int rc = kmrig_link_read(h->Link, Space, Addr, Size, &value, &ts);
    if (rc != KMRIG_LINK_OK)
        HalpAccessFailed(rt, rc, FALSE, Space, Addr, Size, Routine);
    else
        v = value;
    KmTraceAccess(rt, FALSE, Space, Addr, Size, v);
    if (rt->Config.log_level >= KMRIG_LOG_IO)
        KmLog(rt, KMRIG_LOG_IO, "@%llu %s %s 0x%llx/%u -> 0x%x", (unsigned long long)ts, Routine,
              Space == KMRIG_SPACE_IO ? "port" : "bus", Addr, Size, (unsigned)v);
    HalpAfterAccess(rt);
    return v;
}

static void HalpBusWrite(struct kmrig_runtime *rt, unsigned Space, ULONGLONG Addr, unsigned Size,
                         ULONG Value, const char *Routine)
{
    HALP_STATE *h = rt->Hal;
    if (!h->Link) {
        HalpAccessFailed(rt, KMRIG_LINK_EBUS, TRUE, Space, Addr, Size, Routine);
        return;
    }
    uint64_t ts;
    int rc = kmrig_link_write(h->Link, Space, Addr, Size, Value, &ts);
    if (rc != KMRIG_LINK_OK)
        HalpAccessFailed(rt, rc, TRUE, Space, Addr, Size, Routine);
    KmTraceAccess(rt, TRUE, Space, Addr, Size, Value);
    if (rt->Config.log_level >= KMRIG_LOG_IO)
        KmLog(rt, KMRIG_LOG_IO, "@%llu %s %s 0x%llx/%u <- 0x%x", (unsigned long long)ts, Routine,
              Space == KMRIG_SPACE_IO ? "port" : "bus", Addr, Size, (unsigned)Value);
    HalpAfterAccess(rt);
}

/* ---- registers: pointer -> window -> bus address ----------------------------------------- */

/* The window containing [p, p + Size) (a copy in *v), or FALSE when p is ordinary memory. A
 * pointer into a window that was unmapped is a page fault, as on NT. */
static BOOLEAN HalpFindWindow(struct kmrig_runtime *rt, const volatile void *p, unsigned Size,
                              BOOLEAN Write, HALP_WINDOW_VIEW *v)
{
    HALP_STATE *h = rt->Hal;
    ULONG_PTR a = (ULONG_PTR)p;
    unsigned n = atomic_load_explicit(&h->WindowCount, memory_order_acquire);
    for (unsigned i = n; i-- > 0;) {
        HalpWindowView(&h->Windows[i], v);
        if (a < v->Lo || a >= v->Hi)
            continue;
        if (v->Dead || a < v->Va || a + Size > v->Va + v->Length) {
            KmLog(rt, KMRIG_LOG_ERROR, "register access at %p: %s", (void *)a,
                  v->Dead ? "the mapping was released with MmUnmapIoSpace"
                          : "outside the range MmMapIoSpace mapped");
            KeBugCheckEx(PAGE_FAULT_IN_NONPAGED_AREA, a, Write, 0, 0);
        }
        return TRUE;
    }
    return FALSE;
}

static ULONG HalpRegRead(volatile void *Register, unsigned Size, const char *Routine)
{
    struct kmrig_runtime *rt = HalpRuntime(Routine);
    HALP_WINDOW_VIEW w;
    if (!HalpFindWindow(rt, Register, Size, FALSE, &w)) /* ordinary memory: a plain load */
        return Size == 1   ? *(volatile UCHAR *)Register
               : Size == 2 ? *(volatile USHORT *)Register
                           : *(volatile ULONG *)Register;
    return HalpBusRead(rt, KMRIG_SPACE_MEM, w.Bus + ((ULONG_PTR)Register - w.Va), Size, Routine);
}

static void HalpRegWrite(volatile void *Register, unsigned Size, ULONG Value, const char *Routine)
{
    struct kmrig_runtime *rt = HalpRuntime(Routine);
    HALP_WINDOW_VIEW w;
    if (!HalpFindWindow(rt, Register, Size, TRUE, &w)) {
        if (Size == 1)
            *(volatile UCHAR *)Register = (UCHAR)Value;
        else if (Size == 2)
            *(volatile USHORT *)Register = (USHORT)Value;
        else
            *(volatile ULONG *)Register = Value;
        return;
    }
    HalpBusWrite(rt, KMRIG_SPACE_MEM, w.Bus + ((ULONG_PTR)Register - w.Va), Size, Value, Routine);
}

UCHAR NTAPI READ_REGISTER_UCHAR(volatile UCHAR *Register)
{
    return (UCHAR)HalpRegRead(Register, 1, __func__);
}

USHORT NTAPI READ_REGISTER_USHORT(volatile USHORT *Register)
{
    return (USHORT)HalpRegRead(Register, 2, __func__);
}

ULONG NTAPI READ_REGISTER_ULONG(volatile ULONG *Register)
{
    return HalpRegRead(Register, 4, __func__);
}

VOID NTAPI WRITE_REGISTER_UCHAR(volatile UCHAR *Register, UCHAR Value)
{
    HalpRegWrite(Register, 1, Value, __func__);
}

VOID NTAPI WRITE_REGISTER_USHORT(volatile USHORT *Register, USHORT Value)
{
    HalpRegWrite(Register, 2, Value, __func__);
}

VOID NTAPI WRITE_REGISTER_ULONG(volatile ULONG *Register, ULONG Value)
{
    HalpRegWrite(Register, 4, Value, __func__);
}

/* Buffers walk incrementing register addresses (x86 `rep movs`). */
VOID NTAPI READ_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = (UCHAR)HalpRegRead(Register + i, 1, __func__);
}

VOID NTAPI READ_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = (USHORT)HalpRegRead(Register + i, 2, __func__);
}

VOID NTAPI READ_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = HalpRegRead(Register + i, 4, __func__);
}

VOID NTAPI WRITE_REGISTER_BUFFER_UCHAR(volatile UCHAR *Register, PUCHAR Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        HalpRegWrite(Register + i, 1, Buffer[i], __func__);
}

VOID NTAPI WRITE_REGISTER_BUFFER_USHORT(volatile USHORT *Register, PUSHORT Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        HalpRegWrite(Register + i, 2, Buffer[i], __func__);
}

VOID NTAPI WRITE_REGISTER_BUFFER_ULONG(volatile ULONG *Register, PULONG Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        HalpRegWrite(Register + i, 4, Buffer[i], __func__);
}

/* ---- ports: the pointer is the port number ----------------------------------------------- */

static ULONGLONG HalpPort(struct kmrig_runtime *rt, const void *Port, unsigned Size,
                          const char *Routine)
{
    ULONG_PTR p = (ULONG_PTR)Port;
    if (p + Size > 0x10000) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "%s(%p): not a port number (ports are 0..0xFFFF, passed by value as on x86)", Routine,
              Port);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_PORT, p, Size,
                     (ULONG_PTR)Routine);
    }
    return p;
}

static ULONG HalpPortRead(const void *Port, unsigned Size, const char *Routine)
{
    struct kmrig_runtime *rt = HalpRuntime(Routine);
    return HalpBusRead(rt, KMRIG_SPACE_IO, HalpPort(rt, Port, Size, Routine), Size, Routine);
}

static void HalpPortWrite(const void *Port, unsigned Size, ULONG Value, const char *Routine)
{
    struct kmrig_runtime *rt = HalpRuntime(Routine);
    HalpBusWrite(rt, KMRIG_SPACE_IO, HalpPort(rt, Port, Size, Routine), Size, Value, Routine);
}

UCHAR NTAPI READ_PORT_UCHAR(PUCHAR Port)
{
    return (UCHAR)HalpPortRead(Port, 1, __func__);
}

USHORT NTAPI READ_PORT_USHORT(PUSHORT Port)
{
    return (USHORT)HalpPortRead(Port, 2, __func__);
}

ULONG NTAPI READ_PORT_ULONG(PULONG Port)
{
    return HalpPortRead(Port, 4, __func__);
}

VOID NTAPI WRITE_PORT_UCHAR(PUCHAR Port, UCHAR Value)
{
    HalpPortWrite(Port, 1, Value, __func__);
}

VOID NTAPI WRITE_PORT_USHORT(PUSHORT Port, USHORT Value)
{
    HalpPortWrite(Port, 2, Value, __func__);
}

VOID NTAPI WRITE_PORT_ULONG(PULONG Port, ULONG Value)
{
    HalpPortWrite(Port, 4, Value, __func__);
}

/* Buffers repeat the one port (a FIFO; x86 `rep ins`/`rep outs`). */
VOID NTAPI READ_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = (UCHAR)HalpPortRead(Port, 1, __func__);
}

VOID NTAPI READ_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = (USHORT)HalpPortRead(Port, 2, __func__);
}

VOID NTAPI READ_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        Buffer[i] = HalpPortRead(Port, 4, __func__);
}

VOID NTAPI WRITE_PORT_BUFFER_UCHAR(PUCHAR Port, PUCHAR Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        HalpPortWrite(Port, 1, Buffer[i], __func__);
}

VOID NTAPI WRITE_PORT_BUFFER_USHORT(PUSHORT Port, PUSHORT Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        HalpPortWrite(Port, 2, Buffer[i], __func__);
}

VOID NTAPI WRITE_PORT_BUFFER_ULONG(PULONG Port, PULONG Buffer, ULONG Count)
{
    for (ULONG i = 0; i < Count; i++)
        HalpPortWrite(Port, 4, Buffer[i], __func__);
}
