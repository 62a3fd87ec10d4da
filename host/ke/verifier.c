/* Verifier IRQL checks: DRIVER_VERIFIER_DETECTED_VIOLATION with kmrig's parameter-1 codes
 * (host/internal/vf.h): p2 = current IRQL, p3 = the rule's IRQL, p4 = routine name. */
#include "vf.h"

static BOOLEAN VfpActive(PKTHREAD *out)
{
    PKTHREAD t = KiCurrentThreadOrNull();
    if (!t || !(t->Runtime->Verify & KMRIG_VERIFY_IRQL))
        return FALSE;
    *out = t;
    return TRUE;
}

static DECLSPEC_NORETURN void VfpIrqlViolation(ULONG_PTR kind, KIRQL cur, KIRQL rule,
                                               const char *Routine)
{
    KmLog(KiRuntime(), KMRIG_LOG_ERROR, "verifier: %s called at IRQL %u; its rule is %s %u",
          Routine, cur, kind == VF_IRQL_TOO_HIGH ? "<=" : (kind == VF_IRQL_TOO_LOW ? ">=" : "=="),
          rule);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, kind, cur, rule, (ULONG_PTR)Routine);
}

VOID VfCheckIrqlMax(KIRQL Max, const char *Routine)
{
    PKTHREAD t;
    if (VfpActive(&t) && t->Prcb->Irql > Max)
        VfpIrqlViolation(VF_IRQL_TOO_HIGH, t->Prcb->Irql, Max, Routine);
}

VOID VfCheckIrqlMin(KIRQL Min, const char *Routine)
{
    PKTHREAD t;
    if (VfpActive(&t) && t->Prcb->Irql < Min)
        VfpIrqlViolation(VF_IRQL_TOO_LOW, t->Prcb->Irql, Min, Routine);
}

VOID VfCheckIrqlEq(KIRQL Irql, const char *Routine)
{
    PKTHREAD t;
    if (VfpActive(&t) && t->Prcb->Irql != Irql)
        VfpIrqlViolation(t->Prcb->Irql > Irql ? VF_IRQL_TOO_HIGH : VF_IRQL_TOO_LOW, t->Prcb->Irql,
                         Irql, Routine);
}
