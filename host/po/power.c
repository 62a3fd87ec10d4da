/*
 * Power manager (Po): PoRequestPowerIrp.
 *
 * The IRP gets one stack location more than the target stack needs: the first (bottom) one is
 * the power manager's own, holding the request, so that its completion routine runs after every
 * driver's and is given the target device. That routine calls the requester's PowerCompletion
 * with the documented arguments (the device given, the minor function, the power state asked,
 * the context, the IRP's final IoStatus) and frees the IRP.
 */
#include "io.h"

#include <stdlib.h>

typedef struct _POP_REQUEST {
    PDEVICE_OBJECT DeviceObject; /* the device given (referenced until completion) */
    UCHAR MinorFunction;
    POWER_STATE PowerState;
    PREQUEST_POWER_COMPLETE Completion;
    PVOID Context;
} POP_REQUEST, *PPOP_REQUEST;

static NTSTATUS NTAPI PopRequestComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PPOP_REQUEST r = Context;
    if (r->Completion)
        r->Completion(r->DeviceObject, r->MinorFunction, r->PowerState, r->Context, &Irp->IoStatus);
    ObfDereferenceObject(r->DeviceObject);
    free(r);
    IoFreeIrp(Irp);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS NTAPI PoRequestPowerIrp(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                 POWER_STATE PowerState, PREQUEST_POWER_COMPLETE CompletionFunction,
                                 PVOID Context, PIRP *Irp)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    if (Irp)
        *Irp = NULL;
    if (MinorFunction != IRP_MN_SET_POWER && MinorFunction != IRP_MN_QUERY_POWER &&
        MinorFunction != IRP_MN_WAIT_WAKE)
        return STATUS_INVALID_PARAMETER_2;
    PPOP_REQUEST r = malloc(sizeof *r);
    if (!r)
        return STATUS_INSUFFICIENT_RESOURCES;
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(DeviceObject);
    PIRP irp = IoAllocateIrp((CCHAR)(top->StackSize + 1), FALSE);
    if (!irp) {
        ObfDereferenceObject(top);
        free(r);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    ObfReferenceObject(DeviceObject);
    r->DeviceObject = DeviceObject;
    r->MinorFunction = MinorFunction;
    r->PowerState = PowerState;
    r->Completion = CompletionFunction;
    r->Context = Context;
    /* the power manager's own location */
    PIO_STACK_LOCATION own = IoGetNextIrpStackLocation(irp);
    own->MajorFunction = IRP_MJ_POWER;
    own->MinorFunction = MinorFunction;
    own->DeviceObject = DeviceObject;
    IoSetNextIrpStackLocation(irp);
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->IoStatus.Information = 0;
    irp->RequestorMode = KernelMode;
    irp->Tail.Overlay.Thread = (PETHREAD)KeGetCurrentThread();
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_POWER;
    sl->MinorFunction = MinorFunction;
    if (MinorFunction == IRP_MN_WAIT_WAKE) {
        sl->Parameters.WaitWake.PowerState = PowerState.SystemState;
    } else {
        sl->Parameters.Power.Type = DevicePowerState;
        sl->Parameters.Power.State = PowerState;
        sl->Parameters.Power.ShutdownType = PowerActionNone;
    }
    IoSetCompletionRoutine(irp, PopRequestComplete, r, TRUE, TRUE, TRUE);
    if (Irp && MinorFunction == IRP_MN_WAIT_WAKE)
        *Irp = irp; /* only a wait/wake IRP stays pending long enough to be cancelled */
    PoCallDriver(top, irp);
    ObfDereferenceObject(top);
    return STATUS_PENDING;
}
