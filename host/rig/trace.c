/* The event trace: per-processor buffers, the timer-DPC marks, and the Chrome trace event JSON
 * writer (kmrig/trace.h, host/internal/trace.h). */
#define _GNU_SOURCE
#include "trace.h"
#include "hal.h"

#include <kmrig/trace.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KMP_TRACE_TIMER_MARKS 64u
#define KMP_TRACE_DEVICE_TID 1000u
#define KMP_TRACE_DEVICE_CPU 0xFFFEu /* the device's own events (DMA), whoever served them */
#define KMP_TRACE_NO_CPU 0xFFFFu     /* recorded by no processor (the clock thread) */

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
    int StreamFd;               /* the file as it grows (-1: not streaming); see KmpStreamOpen */
    pthread_mutex_t StreamLock; /* one writer at a time: whole lines, one order */
    ULONG Cap;
    /* processors + 2: one per processor, then the device's DMA (KMP_TRACE_DEVICE_CPU: the
     * link serialises DMA, so the device's order, whichever host thread served a request: a
     * processor's, the clock thread, a transport's reader), then events from no processor
     * (the clock thread) */
    ULONG Buffers;
    pthread_mutex_t MarkLock;
    PKDPC TimerMarks[KMP_TRACE_TIMER_MARKS];
    ULONG MarkCount;
    ULONGLONG MarkOverflow;
    KMP_TRACE_BUFFER Buffer[];
} KMP_TRACE;

static VOID KmpStreamOpen(struct kmrig_runtime *rt, KMP_TRACE *t);
static VOID KmpStreamEvent(KMP_TRACE *t, const KMP_TRACE_EVENT *e);

NTSTATUS KmpTraceInitialize(struct kmrig_runtime *rt)
{
    if (!rt->Config.trace_path || !*rt->Config.trace_path)
        return STATUS_SUCCESS;
    ULONG n = rt->Config.processors + 2;
    KMP_TRACE *t = calloc(1, sizeof *t + n * sizeof t->Buffer[0]);
    if (!t || !(t->Path = strdup(rt->Config.trace_path))) {
        free(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    t->Cap = rt->Config.trace_events ? rt->Config.trace_events : KMRIG_TRACE_EVENTS_DEFAULT;
    t->Buffers = n;
    t->StreamFd = -1;
    pthread_mutex_init(&t->MarkLock, NULL);
    pthread_mutex_init(&t->StreamLock, NULL);
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
    KmpStreamOpen(rt, t);
    return STATUS_SUCCESS;
}

VOID KmpTraceRecord(struct kmrig_runtime *rt, KMP_TRACE_KIND Kind, ULONGLONG Ts, ULONGLONG Dur,
                    const void *Routine, ULONGLONG A, ULONG B, ULONG C)
{
    KMP_TRACE *t = rt->Trace;
    PKTHREAD th = KiCurrentThreadOrNull();
    ULONG cpu = Kind == KmTraceKindDma                ? t->Buffers - 2
                : th && th->Runtime == rt && th->Prcb ? th->Prcb->Number
                                                      : t->Buffers - 1;
    KMP_TRACE_BUFFER *b = &t->Buffer[cpu];
    KMP_TRACE_EVENT copy;
    BOOLEAN stored = FALSE;
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
        e->Cpu = cpu + 1 == t->Buffers   ? KMP_TRACE_NO_CPU
                 : cpu + 2 == t->Buffers ? KMP_TRACE_DEVICE_CPU
                                         : (USHORT)cpu;
        copy = *e;
        stored = TRUE;
    } else {
        b->Dropped++;
    }
    pthread_mutex_unlock(&b->Lock);
    if (stored && t->StreamFd >= 0)
        KmpStreamEvent(t, &copy);
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

/* Time, then processor (the device's DMA after the processors, then the clock thread's), then
 * the order in that buffer. Every key is the runtime's, none the host's (which thread served a
 * device's request, when a transport's answer arrived), so the order is the same over any
 * transport. */
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

/* Text appended to a fixed buffer; what does not fit is cut (an event is far shorter). */
typedef struct _KMP_TEXT {
    char *Buf;
    size_t Cap, Len;
} KMP_TEXT;

static void KmpPut(KMP_TEXT *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void KmpPut(KMP_TEXT *x, const char *fmt, ...)
{
    if (x->Len + 1 >= x->Cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(x->Buf + x->Len, x->Cap - x->Len, fmt, ap);
    va_end(ap);
    if (n > 0)
        x->Len = x->Len + (size_t)n < x->Cap ? x->Len + (size_t)n : x->Cap - 1;
}

/* ns as microseconds with three decimals, exactly. */
static void KmpUs(KMP_TEXT *x, const char *key, ULONGLONG ns)
{
    KmpPut(x, ",\"%s\":%llu.%03llu", key, ns / 1000, ns % 1000);
}

static int KmpCpu(const KMP_TRACE_EVENT *e)
{
    return e->Cpu == KMP_TRACE_NO_CPU ? -1 : e->Cpu;
}

/* One event as JSON (an interrupt edge is two objects: the instant and the counter, separated
 * by ",\n"); returns its length. */
static size_t KmpFormatEvent(char *buf, size_t cap, const KMP_TRACE_EVENT *e)
{
    KMP_TEXT x = {buf, cap, 0};
    char routine[160];
    ULONGLONG stable;
    buf[0] = 0;
    switch (e->Kind) {
    case KmTraceKindRead:
    case KmTraceKindWrite:
        KmpPut(&x, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(&x, "ts", e->Ts);
        KmpPut(&x,
               ",\"name\":\"%s %s\",\"args\":{\"addr\":\"0x%llx\",\"size\":%u,\"value\":"
               "\"0x%x\",\"cpu\":%d}}",
               e->Kind == KmTraceKindRead ? "read" : "write", (e->B >> 8) ? "port" : "bus", e->A,
               e->B & 0xFF, e->C, KmpCpu(e));
        break;
    case KmTraceKindIrq:
    case KmTraceKindEoi:
        KmpPut(&x, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(&x, "ts", e->Ts);
        KmpPut(&x, ",\"name\":\"%s line %llu\",\"args\":{\"cpu\":%d}},\n",
               e->Kind == KmTraceKindIrq ? "IRQ" : "EOI", e->A, KmpCpu(e));
        KmpPut(&x, "{\"ph\":\"C\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(&x, "ts", e->Ts);
        KmpPut(&x, ",\"name\":\"irq line %llu\",\"args\":{\"requested\":%d}}", e->A,
               e->Kind == KmTraceKindIrq);
        break;
    case KmTraceKindDma:
        KmpPut(&x, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u", KMP_TRACE_DEVICE_TID);
        KmpUs(&x, "ts", e->Ts);
        KmpPut(&x, ",\"name\":\"DMA %s\",\"args\":{\"bus\":\"0x%llx\",\"size\":%u}}",
               (e->B >> 16) ? "write" : "read", e->A, e->B & 0xFFFF);
        break;
    default:
        KmpRoutineName(e->Routine, routine, sizeof routine, &stable);
        KmpPut(&x, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u", e->Cpu);
        KmpUs(&x, "ts", e->Ts);
        KmpUs(&x, "dur", e->Dur);
        KmpPut(&x, ",\"name\":\"%s\",\"args\":{\"routine\":\"%s\"", KmpSpanName(e), routine);
        if (e->Kind == KmTraceKindIsr)
            KmpPut(&x, ",\"line\":%llu,\"claimed\":%u", e->A, e->B);
        KmpPut(&x, "}}");
    }
    return x.Len;
}

/* The file's head: the object, the array, the process and thread names, each metadata event
 * followed by ",\n" except the last. */
static void KmpFormatHeader(KMP_TEXT *x, const KMP_TRACE *t)
{
    KmpPut(x, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    KmpPut(x, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
              "\"kmrig (device time)\"}},\n");
    for (ULONG i = 0; i + 2 < t->Buffers; i++)
        KmpPut(x,
               "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":{"
               "\"name\":\"processor %u\"}},\n",
               i, i);
    KmpPut(x,
           "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":"
           "\"device\"}}",
           KMP_TRACE_DEVICE_TID);
}

/* ---- the stream: the trace as it grows, so that a process that dies leaves one ----------
 *
 * From initialisation on, the file at trace_path holds the header and then every recorded
 * event, in recording order, each followed by ",\n", written with one write(2) each: what was
 * written is in the kernel's hands when the process dies, whatever kills it (an assertion's
 * exit, SIGSEGV, SIGKILL). At shutdown the sorted, complete file replaces it (rename).
 * kmrig_trace_complete() turns a stream left by a dead process into a valid file. */

static int KmpWriteAll(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static VOID KmpStreamOpen(struct kmrig_runtime *rt, KMP_TRACE *t)
{
    size_t cap = 512 + 128 * (size_t)t->Buffers;
    char *head = malloc(cap);
    int fd = head ? open(t->Path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (fd < 0) {
        KmLog(rt, KMRIG_LOG_WARN,
              "trace: cannot create %s (%s): the trace is written at destroy only, so a "
              "process that dies first leaves none",
              t->Path, head ? strerror(errno) : "out of memory");
        free(head);
        return;
    }
    KMP_TEXT x = {head, cap, 0};
    KmpFormatHeader(&x, t);
    KmpPut(&x, ",\n");
    if (KmpWriteAll(fd, head, x.Len) < 0) {
        KmLog(rt, KMRIG_LOG_WARN, "trace: writing %s failed: %s", t->Path, strerror(errno));
        close(fd);
        fd = -1;
    }
    free(head);
    t->StreamFd = fd;
}

static VOID KmpStreamEvent(KMP_TRACE *t, const KMP_TRACE_EVENT *e)
{
    char line[640];
    size_t n = KmpFormatEvent(line, sizeof line - 3, e);
    memcpy(line + n, ",\n", 3);
    pthread_mutex_lock(&t->StreamLock);
    if (t->StreamFd >= 0 && KmpWriteAll(t->StreamFd, line, n + 2) < 0) {
        close(t->StreamFd); /* the disk is full or gone: the final file may still be written */
        t->StreamFd = -1;
    }
    pthread_mutex_unlock(&t->StreamLock);
}

VOID KmpTraceShutdown(struct kmrig_runtime *rt)
{
    KMP_TRACE *t = rt->Trace;
    if (!t)
        return;
    pthread_mutex_lock(&t->StreamLock);
    if (t->StreamFd >= 0)
        close(t->StreamFd);
    t->StreamFd = -1;
    pthread_mutex_unlock(&t->StreamLock);
    ULONGLONG n = 0, dropped = 0;
    KMP_TRACE_EVENT *all = KmpCollect(t, &n, &dropped);
    size_t tlen = strlen(t->Path) + 32;
    char *tmp = malloc(tlen), line[640];
    if (tmp)
        snprintf(tmp, tlen, "%s.tmp%d", t->Path, (int)getpid());
    FILE *f = all && tmp ? fopen(tmp, "w") : NULL;
    if (!f) {
        KmLog(rt, KMRIG_LOG_ERROR, "trace: cannot write %s: %s", tmp ? tmp : t->Path,
              strerror(errno));
    } else {
        ULONGLONG hash = KmpHash(all, n);
        size_t hcap = 512 + 128 * (size_t)t->Buffers;
        char *head = malloc(hcap);
        int bad = !head;
        if (head) {
            KMP_TEXT x = {head, hcap, 0};
            KmpFormatHeader(&x, t);
            fputs(head, f);
            free(head);
        }
        for (ULONGLONG i = 0; i < n; i++) {
            KmpFormatEvent(line, sizeof line, &all[i]);
            fprintf(f, ",\n%s", line);
        }
        fprintf(f,
                "\n],\"otherData\":{\"hash\":\"%016llx\",\"events\":%llu,\"dropped\":%llu,"
                "\"events_per_buffer\":%u,\"target\":\"",
                hash, n, dropped, t->Cap);
        for (const char *p = rt->Config.target ? rt->Config.target : ""; *p; p++) {
            if (*p == '"' || *p == '\\')
                fputc('\\', f);
            fputc((unsigned char)*p < 0x20 ? '?' : *p, f);
        }
        fprintf(f, "\"}}\n");
        bad |= ferror(f);
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, t->Path) != 0) {
            KmLog(rt, KMRIG_LOG_ERROR, "trace: writing %s failed: %s", t->Path,
                  bad ? strerror(errno ? errno : EIO) : strerror(errno));
            unlink(tmp);
        } else {
            if (dropped)
                KmLog(rt, KMRIG_LOG_WARN,
                      "trace: %llu events dropped (buffers of %u events per processor are full; "
                      "raise kmrig_config.trace_events)",
                      dropped, t->Cap);
            KmLog(rt, KMRIG_LOG_INFO, "trace: %llu events, hash %016llx, written to %s", n, hash,
                  t->Path);
        }
    }
    free(tmp);
    free(all);
    for (ULONG i = 0; i < t->Buffers; i++) {
        pthread_mutex_destroy(&t->Buffer[i].Lock);
        free(t->Buffer[i].Events);
    }
    pthread_mutex_destroy(&t->MarkLock);
    pthread_mutex_destroy(&t->StreamLock);
    free(t->Path);
    free(t);
    rt->Trace = NULL;
}

/* ---- completing a stream a dead process left (kmrig/trace.h) ---------------------------- */

static const char KmpHead[] = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";

/* "12.345" (microseconds, as the writer prints them) to ns. */
static ULONGLONG KmpParseUs(const char *p)
{
    ULONGLONG us = 0, frac = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9')
        us = us * 10 + (ULONGLONG)(*p++ - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits < 3) {
                frac = frac * 10 + (ULONGLONG)(*p - '0');
                digits++;
            }
    while (digits++ < 3)
        frac *= 10;
    return us * 1000 + frac;
}

static void KmpJsonString(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int kmrig_trace_complete(const char *path, const char *marker)
{
    FILE *in = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (in) {
        FILE *mem = open_memstream(&text, &len);
        char chunk[65536];
        size_t got;
        while (mem && (got = fread(chunk, 1, sizeof chunk, in)) > 0)
            fwrite(chunk, 1, got, mem);
        int bad = ferror(in);
        fclose(in);
        if (!mem || fclose(mem) != 0 || bad) {
            free(text);
            return -EIO;
        }
    } else if (errno != ENOENT) {
        return -errno;
    }
    if (text && len > 2 && !strcmp(text + len - 2, "}\n")) {
        const char *end = strstr(text, "\n],\"otherData\":");
        if (end && !strchr(end + 1, '\n')[1]) {
            free(text);
            return 0; /* the runtime wrote it whole */
        }
    }
    /* Keep the stream up to its last whole event ("},\n"); without a header, start anew. */
    size_t keep = 0;
    if (text && len >= sizeof KmpHead - 1 && !strncmp(text, KmpHead, sizeof KmpHead - 1))
        for (size_t i = len; i >= sizeof KmpHead + 2; i--)
            if (!strncmp(text + i - 3, "},\n", 3)) {
                keep = i;
                break;
            }
    ULONGLONG last = 0, ts = 0, events = 0;
    for (size_t i = 0; i < keep; i++) {
        if (!strncmp(text + i, "\"ts\":", 5)) {
            ts = KmpParseUs(text + i + 5);
            last = ts > last ? ts : last;
        } else if (!strncmp(text + i, "\"dur\":", 6)) {
            ULONGLONG endt = ts + KmpParseUs(text + i + 6);
            last = endt > last ? endt : last;
        } else if (!strncmp(text + i, "{\"ph\":\"", 7) && text[i + 7] != 'M' &&
                   text[i + 7] != 'C') {
            events++;
        }
    }
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(text);
        return -ENOMEM;
    }
    snprintf(tmp, tlen, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        free(tmp);
        free(text);
        return -e;
    }
    if (keep)
        fwrite(text, 1, keep, f);
    else
        fprintf(f,
                "%s{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":"
                "\"kmrig (device time)\"}},\n",
                KmpHead);
    fprintf(f, "{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"tid\":%u,\"ts\":%llu.%03llu,\"name\":",
            KMP_TRACE_DEVICE_TID, last / 1000, last % 1000);
    KmpJsonString(f, marker ? marker : "test died");
    fprintf(f,
            ",\"args\":{}}\n],\"otherData\":{\"complete\":false,\"events\":%llu,\"end\":", events);
    KmpJsonString(f, marker ? marker : "test died");
    fprintf(f, "}}\n");
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    int rc = 1;
    if (bad || rename(tmp, path) != 0) {
        rc = bad ? -EIO : -errno;
        unlink(tmp);
    }
    free(tmp);
    free(text);
    return rc;
}
