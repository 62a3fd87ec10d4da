/* The event trace: per-processor buffers, the timer-DPC marks, and the Chrome trace event JSON
 * writer (kmrig/trace.h, host/internal/trace.h). */
#define _GNU_SOURCE
#include "trace.h"
#include "hal.h"

#include <kmrig/trace.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMP_TRACE_TIMER_MARKS 64u
#define KMP_TRACE_DEVICE_TID 1000u
#define KMP_TRACE_NO_CPU 0xFFFFu /* recorded by no processor (the clock thread) */

typedef struct _KMP_TRACE_EVENT {
    ULONGLONG Ts, Dur; /* ns of device time */
    const void *Routine;
    ULONGLONG A;
    ULONG B, C;
    ULONG Seq; /* order within its buffer */
    USHORT Kind, Cpu;
} KMP_TRACE_EVENT;

typedef struct _KMP_TRACE_BUFFER {
    pthread_mutex_t Lock;
    KMP_TRACE_EVENT *Events;
    ULONG Count;
    ULONGLONG Dropped;
} KMP_TRACE_BUFFER;

typedef struct _KMP_TRACE {
    char *Path;
    ULONG Cap;
    ULONG Buffers; /* processors + 1 (events from no processor: the clock thread) */
    pthread_mutex_t MarkLock;
    PKDPC TimerMarks[KMP_TRACE_TIMER_MARKS];
    ULONG MarkCount;
    ULONGLONG MarkOverflow;
    KMP_TRACE_BUFFER Buffer[];
} KMP_TRACE;

NTSTATUS KmpTraceInitialize(struct kmrig_runtime *rt)
{
    if (!rt->Config.trace_path || !*rt->Config.trace_path)
        return STATUS_SUCCESS;
    ULONG n = rt->Config.processors + 1;
    KMP_TRACE *t = calloc(1, sizeof *t + n * sizeof t->Buffer[0]);
    if (!t || !(t->Path = strdup(rt->Config.trace_path))) {
        free(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    t->Cap = rt->Config.trace_events ? rt->Config.trace_events : KMRIG_TRACE_EVENTS_DEFAULT;
    t->Buffers = n;
    pthread_mutex_init(&t->MarkLock, NULL);
    for (ULONG i = 0; i < n; i++) {
        pthread_mutex_init(&t->Buffer[i].Lock, NULL);
        if (!(t->Buffer[i].Events = calloc(t->Cap, sizeof(KMP_TRACE_EVENT)))) {
            while (i--)
                free(t->Buffer[i].Events);
            free(t->Path);
            free(t);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    rt->Trace = t;
    return STATUS_SUCCESS;
}

VOID KmpTraceRecord(struct kmrig_runtime *rt, KMP_TRACE_KIND Kind, ULONGLONG Ts, ULONGLONG Dur,
                    const void *Routine, ULONGLONG A, ULONG B, ULONG C)
{
    KMP_TRACE *t = rt->Trace;
    PKTHREAD th = KiCurrentThreadOrNull();
    ULONG cpu = th && th->Runtime == rt && th->Prcb ? th->Prcb->Number : t->Buffers - 1;
    KMP_TRACE_BUFFER *b = &t->Buffer[cpu];
    pthread_mutex_lock(&b->Lock);
    if (b->Count < t->Cap) {
        KMP_TRACE_EVENT *e = &b->Events[b->Count];
        e->Ts = Ts;
        e->Dur = Dur;
        e->Routine = Routine;
        e->A = A;
        e->B = B;
        e->C = C;
        e->Seq = b->Count++;
        e->Kind = (USHORT)Kind;
        e->Cpu = cpu + 1 == t->Buffers ? KMP_TRACE_NO_CPU : (USHORT)cpu;
    } else {
        b->Dropped++;
    }
    pthread_mutex_unlock(&b->Lock);
}

VOID KmpTraceTimerDpc(struct kmrig_runtime *rt, PKDPC Dpc)
{
    KMP_TRACE *t = rt->Trace;
    pthread_mutex_lock(&t->MarkLock);
    if (t->MarkCount < KMP_TRACE_TIMER_MARKS)
        t->TimerMarks[t->MarkCount++] = Dpc;
    else
        t->MarkOverflow++; /* that run shows as a plain DPC */
    pthread_mutex_unlock(&t->MarkLock);
}

BOOLEAN KmpTraceTakeTimerDpc(struct kmrig_runtime *rt, PKDPC Dpc)
{
    KMP_TRACE *t = rt->Trace;
    BOOLEAN found = FALSE;
    pthread_mutex_lock(&t->MarkLock);
    for (ULONG i = 0; i < t->MarkCount; i++)
        if (t->TimerMarks[i] == Dpc) {
            t->TimerMarks[i] = t->TimerMarks[--t->MarkCount];
            found = TRUE;
            break;
        }
    pthread_mutex_unlock(&t->MarkLock);
    return found;
}

ULONGLONG KmpTraceCyclesToNs(struct kmrig_runtime *rt, ULONGLONG Cycles)
{
    return rt->Hal && rt->Hal->Link ? kmrig_link_cycles_to_ns(rt->Hal->Link, Cycles) : 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int KmpCompare(const void *x, const void *y)
{
    const KMP_TRACE_EVENT *a = x, *b = y;
    if (a->Ts != b->Ts)
        return a->Ts < b->Ts ? -1 : 1;
    if (a->Cpu != b->Cpu)
        return a->Cpu < b->Cpu ? -1 : 1;
    return a->Seq < b->Seq ? -1 : a->Seq > b->Seq;
}

static const char *const KmpMajor[] = {"IRP_MJ_CREATE",
                                       "IRP_MJ_CREATE_NAMED_PIPE",
                                       "IRP_MJ_CLOSE",
                                       "IRP_MJ_READ",
                                       "IRP_MJ_WRITE",
                                       "IRP_MJ_QUERY_INFORMATION",
                                       "IRP_MJ_SET_INFORMATION",
                                       "IRP_MJ_QUERY_EA",
                                       "IRP_MJ_SET_EA",
                                       "IRP_MJ_FLUSH_BUFFERS",
                                       "IRP_MJ_QUERY_VOLUME_INFORMATION",
                                       "IRP_MJ_SET_VOLUME_INFORMATION",
                                       "IRP_MJ_DIRECTORY_CONTROL",
                                       "IRP_MJ_FILE_SYSTEM_CONTROL",
                                       "IRP_MJ_DEVICE_CONTROL",
                                       "IRP_MJ_INTERNAL_DEVICE_CONTROL",
                                       "IRP_MJ_SHUTDOWN",
                                       "IRP_MJ_LOCK_CONTROL",
                                       "IRP_MJ_CLEANUP",
                                       "IRP_MJ_CREATE_MAILSLOT",
                                       "IRP_MJ_QUERY_SECURITY",
                                       "IRP_MJ_SET_SECURITY",
                                       "IRP_MJ_POWER",
                                       "IRP_MJ_SYSTEM_CONTROL",
                                       "IRP_MJ_DEVICE_CHANGE",
                                       "IRP_MJ_QUERY_QUOTA",
                                       "IRP_MJ_SET_QUOTA",
                                       "IRP_MJ_PNP"};

static const char *KmpSpanName(const KMP_TRACE_EVENT *e)
{
    switch (e->Kind) {
    case KmTraceKindDispatch:
        return e->A < sizeof KmpMajor / sizeof KmpMajor[0] ? KmpMajor[e->A] : "IRP_MJ_?";
    case KmTraceKindStartIo:
        return "StartIo";
    case KmTraceKindIsr:
        return "ISR";
    case KmTraceKindDpc:
        return "DPC";
    case KmTraceKindTimerDpc:
        return "TimerDPC";
    default:
        return "WorkItem";
    }
}

/* A routine as "module+0xOFFSET" (or its symbol): the same on every run of the same binary,
 * whatever the load address. */
static void KmpRoutineName(const void *Routine, char *out, size_t n, ULONGLONG *Stable)
{
    Dl_info di;
    if (Routine && dladdr(Routine, &di) && di.dli_fname) {
        const char *base = strrchr(di.dli_fname, '/');
        base = base ? base + 1 : di.dli_fname;
        ULONGLONG off = (ULONGLONG)((const char *)Routine - (const char *)di.dli_fbase);
        if (di.dli_sname && di.dli_saddr == Routine)
            snprintf(out, n, "%s", di.dli_sname);
        else
            snprintf(out, n, "%s+0x%llx", base, off);
        *Stable = off;
        return;
    }
    snprintf(out, n, "?");
    *Stable = 0;
}

static ULONGLONG KmpFnv(ULONGLONG h, ULONGLONG v)
{
    for (int i = 0; i < 8; i++)
        h = (h ^ ((v >> (8 * i)) & 0xFF)) * 1099511628211ull;
    return h;
}

/* Sorted copy of every buffer; the caller frees it. */
static KMP_TRACE_EVENT *KmpCollect(KMP_TRACE *t, ULONGLONG *Count, ULONGLONG *Dropped)
{
    ULONGLONG n = 0, d = 0;
    for (ULONG i = 0; i < t->Buffers; i++) {
        pthread_mutex_lock(&t->Buffer[i].Lock);
        n += t->Buffer[i].Count;
        d += t->Buffer[i].Dropped;
        pthread_mutex_unlock(&t->Buffer[i].Lock);
    }
    KMP_TRACE_EVENT *all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return NULL;
    ULONGLONG k = 0;
    for (ULONG i = 0; i < t->Buffers; i++) {
        pthread_mutex_lock(&t->Buffer[i].Lock);
        ULONG c = t->Buffer[i].Count;
        if (k + c > n)
            c = (ULONG)(n - k);
        memcpy(all + k, t->Buffer[i].Events, c * sizeof *all);
        k += c;
        pthread_mutex_unlock(&t->Buffer[i].Lock);
    }
    qsort(all, k, sizeof *all, KmpCompare);
    *Count = k;
    *Dropped = d;
    return all;
}

static ULONGLONG KmpHash(const KMP_TRACE_EVENT *all, ULONGLONG n)
{
    ULONGLONG h = 14695981039346656037ull;
    for (ULONGLONG i = 0; i < n; i++) {
        const KMP_TRACE_EVENT *e = &all[i];
        char name[8];
        ULONGLONG stable;
        KmpRoutineName(e->Routine, name, sizeof name, &stable);
        h = KmpFnv(h, e->Ts);
        h = KmpFnv(h, e->Dur);
        h = KmpFnv(h, (ULONGLONG)e->Kind << 16 | e->Cpu);
        h = KmpFnv(h, stable);
        h = KmpFnv(h, e->A);
        h = KmpFnv(h, (ULONGLONG)e->B << 32 | e->C);
    }
    return h;
}

int kmrig_trace_get_summary(kmrig_runtime *rt, struct kmrig_trace_summary *s)
{
    memset(s, 0, sizeof *s);
    if (!rt->Trace)
        return -ENODATA;
    ULONGLONG n = 0, dropped = 0;
    KMP_TRACE_EVENT *all = KmpCollect(rt->Trace, &n, &dropped);
    if (!all)
        return -ENOMEM;
    s->events = n;
    s->dropped = dropped;
    s->hash = KmpHash(all, n);
    free(all);
    return 0;
}

/* ns as microseconds with three decimals, exactly. */
static void KmpUs(FILE *f, const char *key, ULONGLONG ns)
{
    fprintf(f, ",\"%s\":%llu.%03llu", key, ns / 1000, ns % 1000);
}

static int KmpCpu(const KMP_TRACE_EVENT *e)
{
    return e->Cpu == KMP_TRACE_NO_CPU ? -1 : e->Cpu;
}

static void KmpWriteEvent(FILE *f, const KMP_TRACE_EVENT *e)
{
    char routine[160];
    ULONGLONG stable;
    switch (e->Kind) {
    case KmTraceKindRead:
    case KmTraceKindWrite:
        fprintf(f, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(f, "ts", e->Ts);
        fprintf(f,
                ",\"name\":\"%s %s\",\"args\":{\"addr\":\"0x%llx\",\"size\":%u,\"value\":"
                "\"0x%x\",\"cpu\":%d}}",
                e->Kind == KmTraceKindRead ? "read" : "write", (e->B >> 8) ? "port" : "bus", e->A,
                e->B & 0xFF, e->C, KmpCpu(e));
        return;
    case KmTraceKindIrq:
    case KmTraceKindEoi:
        fprintf(f, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(f, "ts", e->Ts);
        fprintf(f, ",\"name\":\"%s line %llu\",\"args\":{\"cpu\":%d}},\n",
                e->Kind == KmTraceKindIrq ? "IRQ" : "EOI", e->A, KmpCpu(e));
        fprintf(f, "{\"ph\":\"C\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(f, "ts", e->Ts);
        fprintf(f, ",\"name\":\"irq line %llu\",\"args\":{\"requested\":%d}}", e->A,
                e->Kind == KmTraceKindIrq);
        return;
    case KmTraceKindDma:
        fprintf(f, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(f, "ts", e->Ts);
        fprintf(f, ",\"name\":\"DMA %s\",\"args\":{\"bus\":\"0x%llx\",\"size\":%u}}",
                (e->B >> 16) ? "write" : "read", e->A, e->B & 0xFFFF);
        return;
    default:
        KmpRoutineName(e->Routine, routine, sizeof routine, &stable);
        fprintf(f, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u", e->Cpu);
        KmpUs(f, "ts", e->Ts);
        KmpUs(f, "dur", e->Dur);
        fprintf(f, ",\"name\":\"%s\",\"args\":{\"routine\":\"%s\"", KmpSpanName(e), routine);
        if (e->Kind == KmTraceKindIsr)
            fprintf(f, ",\"line\":%llu,\"claimed\":%u", e->A, e->B);
        fprintf(f, "}}");
    }
}

VOID KmpTraceShutdown(struct kmrig_runtime *rt)
{
    KMP_TRACE *t = rt->Trace;
    if (!t)
        return;
    ULONGLONG n = 0, dropped = 0;
    KMP_TRACE_EVENT *all = KmpCollect(t, &n, &dropped);
    FILE *f = all ? fopen(t->Path, "w") : NULL;
    if (!f) {
        KmLog(rt, KMRIG_LOG_ERROR, "trace: cannot write %s: %s", t->Path, strerror(errno));
    } else {
        ULONGLONG hash = KmpHash(all, n);
        fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        fprintf(f, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
                   "\"kmrig (device time)\"}},\n");
        for (ULONG i = 0; i + 1 < t->Buffers; i++)
            fprintf(f,
                    "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":{"
                    "\"name\":\"processor %u\"}},\n",
                    i, i);
        fprintf(f,
                "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":"
                "\"device\"}}",
                KMP_TRACE_DEVICE_TID);
        for (ULONGLONG i = 0; i < n; i++) {
            fprintf(f, ",\n");
            KmpWriteEvent(f, &all[i]);
        }
        fprintf(f,
                "\n],\"otherData\":{\"hash\":\"%016llx\",\"events\":%llu,\"dropped\":%llu,"
                "\"events_per_buffer\":%u,\"target\":\"%s\"}}\n",
                hash, n, dropped, t->Cap, rt->Config.target ? rt->Config.target : "");
        if (fclose(f))
            KmLog(rt, KMRIG_LOG_ERROR, "trace: writing %s failed: %s", t->Path, strerror(errno));
        if (dropped)
            KmLog(rt, KMRIG_LOG_WARN,
                  "trace: %llu events dropped (buffers of %u events per processor are full; "
                  "raise kmrig_config.trace_events)",
                  dropped, t->Cap);
        KmLog(rt, KMRIG_LOG_INFO, "trace: %llu events, hash %016llx, written to %s", n, hash,
              t->Path);
    }
    free(all);
    for (ULONG i = 0; i < t->Buffers; i++) {
        pthread_mutex_destroy(&t->Buffer[i].Lock);
        free(t->Buffer[i].Events);
    }
    pthread_mutex_destroy(&t->MarkLock);
    free(t->Path);
    free(t);
    rt->Trace = NULL;
}
