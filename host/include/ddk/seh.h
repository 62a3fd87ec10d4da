/*
 * ddk/seh.h - structured exception handling for driver code: __try/__except/__finally/__leave,
 * GetExceptionCode() and AbnormalTermination(), on top of setjmp/longjmp. Part of wdm.h; do not
 * include directly.
 *
 * How it works. Each __try declares a frame (KMRIG_SEH_FRAME) in the enclosing function and links
 * it onto a per-thread chain (thread-local; the frames themselves live on the stack). A raise
 * (ExRaiseStatus, ExRaiseAccessViolation, a probe that fails) takes the innermost frame off the
 * chain and longjmps to it:
 *   - for __except, the filter is evaluated there, in the frame of the function that contains it:
 *       EXCEPTION_EXECUTE_HANDLER (1)     the handler runs; execution goes on after it;
 *       EXCEPTION_CONTINUE_SEARCH (0)     the exception goes on to the next outer frame;
 *       EXCEPTION_CONTINUE_EXECUTION (-1) exceptions raised by ExRaiseStatus are not continuable,
 *                                         so, as on NT, the code becomes
 *                                         STATUS_NONCONTINUABLE_EXCEPTION and the same filter is
 *                                         asked again; a second -1 passes it outward;
 *   - for __finally, the termination handler runs with AbnormalTermination() TRUE and the
 *     exception then goes on outward.
 * A raise with no frame left bugchecks KMODE_EXCEPTION_NOT_HANDLED (0x1E) with the status as
 * parameter 1 and the raiser's address as parameter 2.
 *
 * Limits (what differs from the compiler-supported SEH of MSVC):
 *   - Exceptions are only those raised by the runtime and ExRaiseStatus: no hardware exceptions
 *     (an access to a bad pointer is a SIGSEGV, not STATUS_ACCESS_VIOLATION).
 *   - Unwinding is one-phase: the filters of outer frames run after inner __finally blocks, not
 *     before them as on NT. Filters should not depend on that order.
 *   - A local variable modified inside a __try body and read after a raise (in the filter, the
 *     handler or after the statement) must be declared volatile (the setjmp rule, C11 7.13.2.1).
 *   - Do not leave a __try body with return, goto or break/continue aimed at an enclosing loop:
 *     the frame is still unlinked (a cleanup attribute takes care of that), but a __finally block
 *     is then skipped. Use __leave to leave the body.
 *   - GetExceptionInformation() is not provided.
 *   - Works with GCC and Clang (uses __attribute__((cleanup))), C only.
 */
#ifndef KMRIG_DDK_SEH_H
#define KMRIG_DDK_SEH_H

#include <setjmp.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)

#define EXCEPTION_NONCONTINUABLE 0x1
#define EXCEPTION_MAXIMUM_PARAMETERS 15

typedef struct _EXCEPTION_RECORD {
    NTSTATUS ExceptionCode;
    ULONG ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    ULONG NumberParameters;
    ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;

/* Frame states (KMRIG_SEH_FRAME.State). */
enum {
    KMSEH_ARM = 0, /* declared, setjmp not yet done */
    KMSEH_ARMED,   /* linked; the body runs in the next iteration */
    KMSEH_BODY,    /* linked; the body runs (or ran) */
    KMSEH_LEFT,    /* the body completed (or __leave) */
    KMSEH_CAUGHT,  /* an exception arrived; the frame is unlinked */
    KMSEH_HANDLER, /* the __except handler or the __finally block runs */
    KMSEH_DONE,
};

typedef struct _KMRIG_SEH_FRAME {
    struct _KMRIG_SEH_FRAME *Prev; /* next outer frame of this thread */
    int State;
    int Retries;      /* EXCEPTION_CONTINUE_EXECUTION answers seen */
    BOOLEAN Abnormal; /* __finally entered because of an exception */
    BOOLEAN IsFinally;
    NTSTATUS Code; /* GetExceptionCode() */
    PVOID Address; /* where the exception was raised */
    jmp_buf Jmp;
} KMRIG_SEH_FRAME;

/* Runtime side (host/ex/raise.c); called only through the macros below. */
VOID KmSehPush(KMRIG_SEH_FRAME *Frame);
VOID KmSehStep(KMRIG_SEH_FRAME *Frame);
VOID KmSehCleanup(KMRIG_SEH_FRAME *Frame);
BOOLEAN KmSehFilter(KMRIG_SEH_FRAME *Frame, LONG Disposition);
BOOLEAN KmSehEnterFinally(KMRIG_SEH_FRAME *Frame);
DECLSPEC_NORETURN VOID KmSehLeave(KMRIG_SEH_FRAME *Frame);

/* The statement is a for-loop that owns the frame. Iteration 1 arms it (setjmp, link); later
 * iterations run the body, the filter and the handler according to State. KmSehStep, after each
 * iteration, moves ARMED to BODY, BODY to LEFT (unlinking the frame), LEFT and HANDLER to DONE, and
 * passes the exception on after an abnormal __finally. A raise or __leave longjmps back into
 * iteration 1. */
/* (clang-format takes __except for a keyword and would write "__except (filter)".) */
/* clang-format off */
#define __try                                                                                      \
    for (KMRIG_SEH_FRAME _kmseh_f __attribute__((cleanup(KmSehCleanup))) = {.State = KMSEH_ARM};   \
         _kmseh_f.State != KMSEH_DONE; KmSehStep(&_kmseh_f))                                       \
        if (_kmseh_f.State == KMSEH_ARM) {                                                         \
            if (setjmp(_kmseh_f.Jmp) == 0)                                                         \
                KmSehPush(&_kmseh_f);                                                              \
        } else if (_kmseh_f.State == KMSEH_BODY)

#define __except(filter)                                                                          \
    else if (_kmseh_f.State == KMSEH_CAUGHT && KmSehFilter(&_kmseh_f, (LONG)(filter)))

/* clang-format on */
#define __finally else if (KmSehEnterFinally(&_kmseh_f))

#define __leave KmSehLeave(&_kmseh_f)

#define GetExceptionCode() (_kmseh_f.Code)
#define _exception_code() (_kmseh_f.Code)
#define AbnormalTermination() (_kmseh_f.Abnormal)
#define _abnormal_termination() (_kmseh_f.Abnormal)

#ifdef __cplusplus
}
#endif

#endif
