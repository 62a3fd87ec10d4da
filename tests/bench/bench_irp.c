/*
 * bench_irp: IRP round trips per second through a 3-deep device stack, one processor.
 *
 * Each round trip is what a driver does to send a request down its stack and wait for it:
 *   IoBuildDeviceIoControlRequest (the I/O manager's thread IRP, with an event and a status block)
 *   IoCallDriver to the top device; the top and middle drivers copy their stack location down,
 *   set a completion routine and pass the IRP on; the bottom driver completes it; the two
 *   completion routines run on the way up; the final phase writes the status block, frees the
 *   IRP and sets the event. The caller checks the status block (and would wait if STATUS_PENDING
 *   came back: it never does here).
 * Measured for METHOD_NEITHER (no buffer: the IRP path alone) and METHOD_BUFFERED with 16 bytes in
 * and out (a system buffer allocated, copied in and out), with the verifier off and then on
 * (KMRIG_VERIFY_DEFAULT, in a second runtime instance). The reference is the same work done with
 * plain C: malloc of an IRP-sized block, three indirect calls down, three completion calls up,
 * free. Best of five rounds after a warm-up, host wall time (CLOCK_MONOTONIC). Figures, not
 * assertions: the exit status is 0 unless a runtime cannot be created or a request fails.
 * Target: >= 1,000,000 round trips per second with the verifier off.
 *
 *   bench_irp [iterations]
 */
#include <ntddk.h>
#include <kmrig/runtime.h>

#include "io.h" /* IopLoadDriver: the benchmark loads its drivers as the I/O tests do */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define IOCTL_BENCH_NEITHER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x800, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_BENCH_BUFFERED CTL_CODE(FILE_DEVICE_UNKNOWN, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct {
    PDEVICE_OBJECT Lower;
    ULONG Completions;
} LAYER;

static NTSTATUS NTAPI layer_completion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    LAYER *x = Context;
    x->Completions++;
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    return STATUS_CONTINUE_COMPLETION;
}

static NTSTATUS NTAPI layer_pass_down(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    LAYER *x = DeviceObject->DeviceExtension;
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, layer_completion, x, TRUE, TRUE, TRUE);
    return IoCallDriver(x->Lower, Irp);
}

static NTSTATUS NTAPI bottom_complete(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(Irp);
    ULONG_PTR info = 0;
    if (sl->Parameters.DeviceIoControl.IoControlCode == IOCTL_BENCH_BUFFERED) {
        PUCHAR b = Irp->AssociatedIrp.SystemBuffer;
        for (ULONG i = 0; i < sl->Parameters.DeviceIoControl.OutputBufferLength; i++)
            b[i] ^= 0x5A;
        info = sl->Parameters.DeviceIoControl.OutputBufferLength;
    }
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = info;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static VOID NTAPI bench_unload(PDRIVER_OBJECT d)
{
    while (d->DeviceObject) {
        PDEVICE_OBJECT x = d->DeviceObject;
        if (x->DeviceObjectExtension->AttachedTo)
            IoDetachDevice(x->DeviceObjectExtension->AttachedTo);
        IoDeleteDevice(x);
    }
}

static NTSTATUS NTAPI bench_entry(PDRIVER_OBJECT d, PUNICODE_STRING RegistryPath)
{
    d->DriverUnload = bench_unload;
    return STATUS_SUCCESS;
}

static PDEVICE_OBJECT make_layer(kmrig_runtime *rt, PCWSTR service, PDRIVER_DISPATCH dispatch,
                                 PDEVICE_OBJECT below)
{
    PDRIVER_OBJECT d = NULL;
    PDEVICE_OBJECT dev = NULL;
    if (!NT_SUCCESS(IopLoadDriver(rt, service, bench_entry, NULL, &d)))
        return NULL;
    d->MajorFunction[IRP_MJ_DEVICE_CONTROL] = dispatch;
    if (!NT_SUCCESS(IoCreateDevice(d, sizeof(LAYER), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &dev)))
        return NULL;
    LAYER *x = dev->DeviceExtension;
    memset(x, 0, sizeof *x);
    if (below)
        x->Lower = IoAttachDeviceToDeviceStack(dev, below);
    dev->Flags &= ~DO_DEVICE_INITIALIZING;
    return dev;
}

/* n round trips; returns ns per round trip, or a negative value if a request failed. */
static double run_irps(PDEVICE_OBJECT top, ULONG code, unsigned long n)
{
    KEVENT ev;
    IO_STATUS_BLOCK iosb;
    UCHAR in[16], out[16];
    memset(in, 0xA5, sizeof in);
    KeInitializeEvent(&ev, NotificationEvent, FALSE);
    BOOLEAN buffered = code == IOCTL_BENCH_BUFFERED;
    uint64_t t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i++) {
        PIRP irp = IoBuildDeviceIoControlRequest(code, top, buffered ? in : NULL,
                                                 buffered ? sizeof in : 0, buffered ? out : NULL,
                                                 buffered ? sizeof out : 0, FALSE, &ev, &iosb);
        if (!irp)
            return -1;
        NTSTATUS s = IoCallDriver(top, irp);
        if (s == STATUS_PENDING) {
            KeWaitForSingleObject(&ev, Executive, KernelMode, FALSE, NULL);
            s = iosb.Status;
        }
        if (!NT_SUCCESS(s) || iosb.Information != (buffered ? sizeof out : 0))
            return -1;
        KeClearEvent(&ev);
    }
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    if (buffered && out[0] != (0xA5 ^ 0x5A))
        return -1;
    return ns;
}

/* ---- the plain C reference: the same shape without an I/O manager ---- */

typedef struct PLAIN_REQ {
    int Status;
    unsigned long Information;
    int Depth;
    void (*Up[3])(struct PLAIN_REQ *);
} PLAIN_REQ;

static volatile unsigned long plain_completions;
static void plain_up(PLAIN_REQ *r)
{
    plain_completions++;
}
static int plain_call(int level, PLAIN_REQ *r);
static int (*volatile plain_layer)(int, PLAIN_REQ *) = plain_call;
static int plain_call(int level, PLAIN_REQ *r)
{
    if (level == 0) {
        r->Status = 0;
        r->Information = 0;
        for (int i = r->Depth - 1; i >= 0; i--)
            r->Up[i](r);
        return 0;
    }
    r->Up[r->Depth++] = plain_up;
    return plain_layer(level - 1, r);
}

static double run_plain(unsigned long n)
{
    uint64_t t0 = bench_now_ns();
    for (unsigned long i = 0; i < n; i++) {
        PLAIN_REQ *r = malloc(sizeof(IRP) + 3 * sizeof(IO_STACK_LOCATION));
        if (!r)
            return -1;
        memset(r, 0, sizeof *r);
        plain_layer(2, r);
        free(r);
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

static int bench_instance(int verify, unsigned long n, double *neither, double *buffered)
{
    kmrig_config cfg;
    kmrig_config_init(&cfg);
    cfg.processors = 1;
    cfg.verify_off = !verify;
    kmrig_runtime *rt = NULL;
    if (kmrig_runtime_create(&cfg, &rt) != 0) {
        fprintf(stderr, "bench_irp: cannot create a runtime\n");
        return 2;
    }
    PDEVICE_OBJECT bottom = make_layer(rt, L"BenchBottom", bottom_complete, NULL);
    PDEVICE_OBJECT mid = bottom ? make_layer(rt, L"BenchMiddle", layer_pass_down, bottom) : NULL;
    PDEVICE_OBJECT top = mid ? make_layer(rt, L"BenchTop", layer_pass_down, bottom) : NULL;
    if (!top || top->StackSize != 3) {
        fprintf(stderr, "bench_irp: cannot build the 3-deep stack\n");
        kmrig_runtime_destroy(rt);
        return 2;
    }
    int rc = 0;
    *neither = *buffered = 1e30;
    run_irps(top, IOCTL_BENCH_NEITHER, n / 10);
    run_irps(top, IOCTL_BENCH_BUFFERED, n / 10);
    for (int r = 0; r < 5 && rc == 0; r++) {
        double a = run_irps(top, IOCTL_BENCH_NEITHER, n);
        double b = run_irps(top, IOCTL_BENCH_BUFFERED, n);
        if (a < 0 || b < 0) {
            fprintf(stderr, "bench_irp: a request failed\n");
            rc = 1;
        }
        *neither = a < *neither ? a : *neither;
        *buffered = b < *buffered ? b : *buffered;
    }
    LAYER *lt = top->DeviceExtension, *lm = mid->DeviceExtension;
    if (rc == 0 && lt->Completions != lm->Completions) {
        fprintf(stderr, "bench_irp: completion routines ran %lu and %lu times\n",
                (unsigned long)lt->Completions, (unsigned long)lm->Completions);
        rc = 1;
    }
    kmrig_runtime_destroy(rt);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000ul;
    if (n < 10)
        n = 10;
    double off_n, off_b, on_n, on_b, plain = 1e30;
    int rc = bench_instance(0, n, &off_n, &off_b);
    if (rc == 0)
        rc = bench_instance(1, n / 4, &on_n, &on_b);
    if (rc != 0)
        return rc;
    run_plain(n / 10);
    for (int r = 0; r < 5; r++) {
        double p = run_plain(n);
        plain = p < plain ? p : plain;
    }
    printf(
        "IRP round trip through a 3-deep stack (IoBuildDeviceIoControlRequest, IoCallDriver, two "
        "pass-down layers with completion routines, bottom completes), 1 processor\n");
    printf("%-34s %12s %14s\n", "", "ns/trip", "trips/s");
    printf("%-34s %12.1f %14.0f\n", "verifier off, METHOD_NEITHER", off_n, 1e9 / off_n);
    printf("%-34s %12.1f %14.0f\n", "verifier off, METHOD_BUFFERED 16 B", off_b, 1e9 / off_b);
    printf("%-34s %12.1f %14.0f\n", "verifier on,  METHOD_NEITHER", on_n, 1e9 / on_n);
    printf("%-34s %12.1f %14.0f\n", "verifier on,  METHOD_BUFFERED 16 B", on_b, 1e9 / on_b);
    printf("%-34s %12.1f %14.0f\n", "plain C (malloc, 3 calls, free)", plain, 1e9 / plain);
    printf("target: >= 1000000 trips/s with the verifier off (METHOD_NEITHER): %s\n",
           1e9 / off_n >= 1e6 ? "met" : "NOT met");
    return 0;
}
