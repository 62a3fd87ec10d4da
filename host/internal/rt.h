/*
 * rt.h - the runtime instance: every piece of runtime state hangs off struct kmrig_runtime.
 * Components embed their state here (Ke) or own a private struct behind a pointer that their
 * Xxp/Xxi Initialize routine allocates and their Shutdown frees.
 */
#ifndef KMRIG_INTERNAL_RT_H
#define KMRIG_INTERNAL_RT_H

#include <ntddk.h>
#include <kmrig/runtime.h>
#include "ke.h"

struct _EXP_STATE;
struct _OBP_STATE;
struct _OBP_NAMESPACE;
struct _PSP_STATE;
struct _IOP_STATE;
struct _RTLP_STATE;
struct _SEP_STATE;
struct _CMP_STATE;
struct _MMP_STATE;
struct _HALP_STATE;

struct kmrig_runtime {
    kmrig_config Config;
    unsigned Verify;                /* effective KMRIG_VERIFY_* flags (0 when verify_off) */
    KI_STATE Ke;                    /* processors, scheduler, clock, timers */
    struct _EXP_STATE *Ex;          /* pool, lookasides, work queues, callbacks */
    struct _OBP_STATE *Ob;          /* object headers, handle table */
    struct _PSP_STATE *Ps;          /* thread ids, notify routines */
    struct _SEP_STATE *Se;          /* security: the caller's token model */
    struct _CMP_STATE *Cm;          /* configuration manager: the registry hive */
    struct _MMP_STATE *Mm;          /* memory: MDL bookkeeping, sections, driver paging */
    struct _HALP_STATE *Hal;        /* HAL: the link, I/O windows, interrupt lines, DMA */
    struct kmrig_runtime *NextLive; /* the live instances (kmrig_runtime_report_all) */
    /* The HAL's interrupt-line report (HalpIrqReport), set by HalpInitialize: a deadlock's or an
     * exhausted time budget's bugcheck report includes it. NULL before. */
    size_t (*IrqReport)(struct kmrig_runtime *rt, char *buf, size_t n);
    struct _IOP_STATE *Io;              /* I/O manager */
    struct _OBP_NAMESPACE *ObNamespace; /* object name space (host/ob/namespace.c, set up by Io) */
    struct _KMP_TRACE *Trace;           /* event trace (host/rig/trace.c); NULL: off */
};

/* The instance of the calling runtime thread; NULL on a thread that is not attached. */
static inline struct kmrig_runtime *KiRuntime(void)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    return t ? t->Runtime : NULL;
}

/* Text built piecewise into a caller's buffer (the reports): Len counts what was wanted, so a
 * short buffer gets a NUL-terminated prefix and the caller the length it needed. */
typedef struct {
    char *Buf;
    size_t Cap, Len;
} KM_TEXT;
void KmSay(KM_TEXT *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A lock taken for at most 200 ms (TRUE when taken): a report must not hang on what it
 * reports. */
BOOLEAN KmLockBriefly(pthread_mutex_t *m);
/* The threads of the instance and what each waits for (any thread; kmrig_runtime_report_all). */
size_t KiThreadReport(struct kmrig_runtime *rt, char *buf, size_t n);

/* Component lifecycle: called in this order by kmrig_runtime_create, Shutdown in reverse by
 * destroy. Shutdown is called if and only if Initialize succeeded. */
NTSTATUS ExpInitialize(struct kmrig_runtime *rt);
VOID ExpShutdown(struct kmrig_runtime *rt);
NTSTATUS ObpInitialize(struct kmrig_runtime *rt);
VOID ObpShutdown(struct kmrig_runtime *rt);
NTSTATUS PspInitialize(struct kmrig_runtime *rt);
VOID PspShutdown(struct kmrig_runtime *rt);
NTSTATUS SepInitialize(struct kmrig_runtime *rt);
VOID SepShutdown(struct kmrig_runtime *rt);
NTSTATUS CmpInitialize(struct kmrig_runtime *rt);
VOID CmpShutdown(struct kmrig_runtime *rt);
NTSTATUS MmpInitialize(struct kmrig_runtime *rt);
VOID MmpShutdown(struct kmrig_runtime *rt);
NTSTATUS HalpInitialize(struct kmrig_runtime *rt);
VOID HalpShutdown(struct kmrig_runtime *rt);
NTSTATUS IopInitialize(struct kmrig_runtime *rt);
VOID IopShutdown(struct kmrig_runtime *rt);

/* Logging (host/rig/log.c). */
void KmLog(struct kmrig_runtime *rt, enum kmrig_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define KmLogError(...) KmLog(KiRuntime(), KMRIG_LOG_ERROR, __VA_ARGS__)
#define KmLogWarn(...) KmLog(KiRuntime(), KMRIG_LOG_WARN, __VA_ARGS__)
#define KmLogInfo(...) KmLog(KiRuntime(), KMRIG_LOG_INFO, __VA_ARGS__)
#define KmLogDebug(...) KmLog(KiRuntime(), KMRIG_LOG_DEBUG, __VA_ARGS__)

/* A routine that is not implemented yet: logs its name and returns STATUS_NOT_IMPLEMENTED. */
#define KM_NOT_IMPLEMENTED()                                                                       \
    (KmLogError("%s: not implemented in kmrig", __func__), STATUS_NOT_IMPLEMENTED)

#endif
