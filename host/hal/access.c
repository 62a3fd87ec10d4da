/* Port and register access: READ/WRITE_PORT_* and READ/WRITE_REGISTER_*, routed to the
 * instance's target. Each access is a delivery point: the time it took is accounted (timers,
 * quantum, budget), the interrupt lines are polled, and what became due runs. */
#include "hal.h"

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
    if (n <= 10 || n % 1000 == 0)
        KmLog(rt, KMRIG_LOG_WARN, "%s: %s of %u byte(s) at %s 0x%llx failed: %s%s (%llu so far)",
              Routine, Write ? "write" : "read", Size, Space == KMRIG_SPACE_IO ? "port" : "bus",
              Addr, kmrig_link_strerror(rc), Write ? "" : "; the driver reads all ones",
              (unsigned long long)n);
}

static void HalpAfterAccess(struct kmrig_runtime *rt)
{
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
    if (rt->Config.log_level >= KMRIG_LOG_IO)
        KmLog(rt, KMRIG_LOG_IO, "@%llu %s %s 0x%llx/%u <- 0x%x", (unsigned long long)ts, Routine,
              Space == KMRIG_SPACE_IO ? "port" : "bus", Addr, Size, (unsigned)Value);
    HalpAfterAccess(rt);
}

/* ---- registers: pointer -> window -> bus address ----------------------------------------- */

/* The window containing [p, p + Size), or NULL when p is ordinary memory. A pointer into a
 * window that was unmapped is a page fault, as on NT. */
static const HALP_WINDOW *HalpFindWindow(struct kmrig_runtime *rt, const volatile void *p,
                                         unsigned Size, BOOLEAN Write)
{
    HALP_STATE *h = rt->Hal;
    ULONG_PTR a = (ULONG_PTR)p;
    unsigned n = atomic_load_explicit(&h->WindowCount, memory_order_acquire);
    for (unsigned i = n; i-- > 0;) {
        const HALP_WINDOW *w = &h->Windows[i];
        ULONG_PTR lo = (ULONG_PTR)w->Reserved, hi = lo + w->ReservedSize;
        if (a < lo || a >= hi)
            continue;
        if (atomic_load_explicit(&w->Dead, memory_order_acquire) || a < w->Va ||
            a + Size > w->Va + w->Length) {
            KmLog(rt, KMRIG_LOG_ERROR,
                  "register access at %p: %s", (void *)a,
                  atomic_load(&w->Dead) ? "the mapping was released with MmUnmapIoSpace"
                                        : "outside the range MmMapIoSpace mapped");
            KeBugCheckEx(PAGE_FAULT_IN_NONPAGED_AREA, a, Write, 0, 0);
        }
        return w;
    }
    return NULL;
}

#define HALP_REG_READ(Name, Type, Size)                                                            \
    Type NTAPI Name(volatile Type *Register)                                                       \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        const HALP_WINDOW *w = HalpFindWindow(rt, Register, Size, FALSE);                          \
        if (!w)                                                                                    \
            return *Register; /* ordinary memory: as on NT, a plain load */                       \
        return (Type)HalpBusRead(rt, KMRIG_SPACE_MEM, w->Bus + ((ULONG_PTR)Register - w->Va),     \
                                 Size, #Name);                                                     \
    }

#define HALP_REG_WRITE(Name, Type, Size)                                                           \
    VOID NTAPI Name(volatile Type *Register, Type Value)                                           \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        const HALP_WINDOW *w = HalpFindWindow(rt, Register, Size, TRUE);                           \
        if (!w) {                                                                                  \
            *Register = Value;                                                                     \
            return;                                                                                \
        }                                                                                          \
        HalpBusWrite(rt, KMRIG_SPACE_MEM, w->Bus + ((ULONG_PTR)Register - w->Va), Size, Value,     \
                     #Name);                                                                       \
    }

/* Buffers walk incrementing register addresses. */
#define HALP_REG_READ_BUFFER(Name, Type, Size)                                                     \
    VOID NTAPI Name(volatile Type *Register, Type *Buffer, ULONG Count)                            \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        for (ULONG i = 0; i < Count; i++) {                                                        \
            const HALP_WINDOW *w = HalpFindWindow(rt, Register + i, Size, FALSE);                  \
            Buffer[i] = w ? (Type)HalpBusRead(rt, KMRIG_SPACE_MEM,                                 \
                                              w->Bus + ((ULONG_PTR)(Register + i) - w->Va), Size,  \
                                              #Name)                                               \
                          : Register[i];                                                           \
        }                                                                                          \
    }

#define HALP_REG_WRITE_BUFFER(Name, Type, Size)                                                    \
    VOID NTAPI Name(volatile Type *Register, Type *Buffer, ULONG Count)                            \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        for (ULONG i = 0; i < Count; i++) {                                                        \
            const HALP_WINDOW *w = HalpFindWindow(rt, Register + i, Size, TRUE);                   \
            if (w)                                                                                 \
                HalpBusWrite(rt, KMRIG_SPACE_MEM, w->Bus + ((ULONG_PTR)(Register + i) - w->Va),   \
                             Size, Buffer[i], #Name);                                              \
            else                                                                                   \
                Register[i] = Buffer[i];                                                           \
        }                                                                                          \
    }

HALP_REG_READ(READ_REGISTER_UCHAR, UCHAR, 1)
HALP_REG_READ(READ_REGISTER_USHORT, USHORT, 2)
HALP_REG_READ(READ_REGISTER_ULONG, ULONG, 4)
HALP_REG_WRITE(WRITE_REGISTER_UCHAR, UCHAR, 1)
HALP_REG_WRITE(WRITE_REGISTER_USHORT, USHORT, 2)
HALP_REG_WRITE(WRITE_REGISTER_ULONG, ULONG, 4)
HALP_REG_READ_BUFFER(READ_REGISTER_BUFFER_UCHAR, UCHAR, 1)
HALP_REG_READ_BUFFER(READ_REGISTER_BUFFER_USHORT, USHORT, 2)
HALP_REG_READ_BUFFER(READ_REGISTER_BUFFER_ULONG, ULONG, 4)
HALP_REG_WRITE_BUFFER(WRITE_REGISTER_BUFFER_UCHAR, UCHAR, 1)
HALP_REG_WRITE_BUFFER(WRITE_REGISTER_BUFFER_USHORT, USHORT, 2)
HALP_REG_WRITE_BUFFER(WRITE_REGISTER_BUFFER_ULONG, ULONG, 4)

/* ---- ports: the pointer is the port number ----------------------------------------------- */

static ULONGLONG HalpPort(struct kmrig_runtime *rt, const void *Port, unsigned Size,
                          const char *Routine)
{
    ULONG_PTR p = (ULONG_PTR)Port;
    if (p + Size > 0x10000) {
        KmLog(rt, KMRIG_LOG_ERROR,
              "%s(%p): not a port number (ports are 0..0xFFFF, passed by value as on x86)",
              Routine, Port);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, KMRIG_VF_BAD_PORT, p, Size,
                     (ULONG_PTR)Routine);
    }
    return p;
}

#define HALP_PORT_READ(Name, Type, Size)                                                           \
    Type NTAPI Name(Type *Port)                                                                    \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        return (Type)HalpBusRead(rt, KMRIG_SPACE_IO, HalpPort(rt, Port, Size, #Name), Size, #Name); \
    }

#define HALP_PORT_WRITE(Name, Type, Size)                                                          \
    VOID NTAPI Name(Type *Port, Type Value)                                                        \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        HalpBusWrite(rt, KMRIG_SPACE_IO, HalpPort(rt, Port, Size, #Name), Size, Value, #Name);     \
    }

/* Buffers repeat the one port (a FIFO). */
#define HALP_PORT_READ_BUFFER(Name, Type, Size)                                                    \
    VOID NTAPI Name(Type *Port, Type *Buffer, ULONG Count)                                         \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        ULONGLONG p = HalpPort(rt, Port, Size, #Name);                                             \
        for (ULONG i = 0; i < Count; i++)                                                          \
            Buffer[i] = (Type)HalpBusRead(rt, KMRIG_SPACE_IO, p, Size, #Name);                     \
    }

#define HALP_PORT_WRITE_BUFFER(Name, Type, Size)                                                   \
    VOID NTAPI Name(Type *Port, Type *Buffer, ULONG Count)                                         \
    {                                                                                              \
        struct kmrig_runtime *rt = HalpRuntime(#Name);                                             \
        ULONGLONG p = HalpPort(rt, Port, Size, #Name);                                             \
        for (ULONG i = 0; i < Count; i++)                                                          \
            HalpBusWrite(rt, KMRIG_SPACE_IO, p, Size, Buffer[i], #Name);                           \
    }

HALP_PORT_READ(READ_PORT_UCHAR, UCHAR, 1)
HALP_PORT_READ(READ_PORT_USHORT, USHORT, 2)
HALP_PORT_READ(READ_PORT_ULONG, ULONG, 4)
HALP_PORT_WRITE(WRITE_PORT_UCHAR, UCHAR, 1)
HALP_PORT_WRITE(WRITE_PORT_USHORT, USHORT, 2)
HALP_PORT_WRITE(WRITE_PORT_ULONG, ULONG, 4)
HALP_PORT_READ_BUFFER(READ_PORT_BUFFER_UCHAR, UCHAR, 1)
HALP_PORT_READ_BUFFER(READ_PORT_BUFFER_USHORT, USHORT, 2)
HALP_PORT_READ_BUFFER(READ_PORT_BUFFER_ULONG, ULONG, 4)
HALP_PORT_WRITE_BUFFER(WRITE_PORT_BUFFER_UCHAR, UCHAR, 1)
HALP_PORT_WRITE_BUFFER(WRITE_PORT_BUFFER_USHORT, USHORT, 2)
HALP_PORT_WRITE_BUFFER(WRITE_PORT_BUFFER_ULONG, ULONG, 4)
