/*
 * raise.c - ExRaiseStatus and the runtime side of the __try/__except/__finally macros (ddk/seh.h).
 *
 * Each host thread has its own chain of frames (thread-local pointer to the innermost; frames live
 * in the stack frames of the functions with a __try and link to the next outer one). A raise takes
 * the innermost frame off the chain, records the status and longjmps to it; the macros then run the
 * filter or the termination handler in that function and come back here (KmSehFilter,
 * KmSehStep) to pass the exception on when it is not handled.
 */
#include "ex.h"

static _Thread_local KMRIG_SEH_FRAME *KmSehTop;

static DECLSPEC_NORETURN void ExpDispatchException(NTSTATUS Status, PVOID Address)
{
    KMRIG_SEH_FRAME *f = KmSehTop;
    if (!f) {
        KmLogError("exception 0x%08x raised at %p with no handler", (unsigned)Status, Address);
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG)Status, (ULONG_PTR)Address, 0, 0);
    }
    KmSehTop = f->Prev;
    f->State = KMSEH_CAUGHT;
    f->Code = Status;
    f->Address = Address;
    f->Retries = 0;
    longjmp(f->Jmp, 1);
}

static void KmSehUnlink(KMRIG_SEH_FRAME *Frame)
{
    /* Frames above this one that are still linked belong to functions that were left without
     * unlinking (a longjmp of the driver's own): they are gone, drop them too. */
    for (KMRIG_SEH_FRAME *f = KmSehTop; f; f = f->Prev) {
        if (f == Frame) {
            KmSehTop = Frame->Prev;
            return;
        }
    }
}

VOID KmSehPush(KMRIG_SEH_FRAME *Frame)
{
    Frame->Prev = KmSehTop;
    Frame->State = KMSEH_ARMED;
    KmSehTop = Frame;
}

VOID KmSehStep(KMRIG_SEH_FRAME *Frame)
{
    switch (Frame->State) {
    case KMSEH_ARMED:
        Frame->State = KMSEH_BODY;
        break;
    case KMSEH_BODY:
        KmSehUnlink(Frame);
        Frame->State = KMSEH_LEFT;
        break;
    case KMSEH_LEFT:
        Frame->State = KMSEH_DONE;
        break;
    case KMSEH_HANDLER:
        Frame->State = KMSEH_DONE;
        if (Frame->IsFinally && Frame->Abnormal)
            ExpDispatchException(Frame->Code, Frame->Address);
        break;
    default:
        break;
    }
}

VOID KmSehCleanup(KMRIG_SEH_FRAME *Frame)
{
    if (Frame->State == KMSEH_ARMED || Frame->State == KMSEH_BODY)
        KmSehUnlink(Frame);
}

BOOLEAN KmSehFilter(KMRIG_SEH_FRAME *Frame, LONG Disposition)
{
    if (Disposition > 0) {
        Frame->State = KMSEH_HANDLER;
        return TRUE;
    }
    if (Disposition < 0 && Frame->Retries++ == 0) {
        /* ExRaiseStatus exceptions are not continuable: NT raises
         * STATUS_NONCONTINUABLE_EXCEPTION, which this filter sees next. */
        Frame->Code = STATUS_NONCONTINUABLE_EXCEPTION;
        return FALSE;
    }
    ExpDispatchException(Frame->Code, Frame->Address);
}

BOOLEAN KmSehEnterFinally(KMRIG_SEH_FRAME *Frame)
{
    if (Frame->State != KMSEH_CAUGHT && Frame->State != KMSEH_LEFT)
        return FALSE;
    Frame->IsFinally = TRUE;
    Frame->Abnormal = Frame->State == KMSEH_CAUGHT;
    Frame->State = KMSEH_HANDLER;
    return TRUE;
}

VOID KmSehLeave(KMRIG_SEH_FRAME *Frame)
{
    /* Back to the __try's setjmp with the frame still in BODY: KmSehStep unlinks it. */
    longjmp(Frame->Jmp, 2);
}

VOID NTAPI ExRaiseStatus(NTSTATUS Status)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpDispatchException(Status, __builtin_return_address(0));
}

VOID NTAPI ExRaiseAccessViolation(VOID)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpDispatchException(STATUS_ACCESS_VIOLATION, __builtin_return_address(0));
}

VOID NTAPI ExRaiseDatatypeMisalignment(VOID)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    ExpDispatchException(STATUS_DATATYPE_MISALIGNMENT, __builtin_return_address(0));
}
