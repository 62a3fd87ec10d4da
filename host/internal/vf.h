/*
 * vf.h - the verifier: documented-rule checks that bugcheck like Driver Verifier does.
 * Every check is a no-op when the instance's verifier is off.
 */
#ifndef KMRIG_INTERNAL_VF_H
#define KMRIG_INTERNAL_VF_H

#include "rt.h"

/* Parameter 1 values of DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) used by kmrig. */
#define VF_IRQL_TOO_HIGH                                                                           \
    0x1000                          /* kmrig: routine called above its IRQL rule; p2 = IRQL,       \
                                       p3 = max IRQL, p4 = routine name (char *) */
#define VF_IRQL_TOO_LOW 0x1001      /* kmrig: routine called below its IRQL rule */
#define VF_WAIT_AT_DISPATCH 0x1002  /* nonzero-timeout wait at DISPATCH_LEVEL or above */
#define VF_POOL_LEAK_AT_UNLOAD 0x62 /* pool still allocated at unload; p2 = name, p3 = count */

static inline BOOLEAN VfOn(struct kmrig_runtime *rt, unsigned check)
{
    return rt && (rt->Verify & check);
}

/* Bugchecks DRIVER_VERIFIER_DETECTED_VIOLATION when the current IRQL is above Max. */
VOID VfCheckIrqlMax(KIRQL Max, const char *Routine);
/* ... when the current IRQL is not exactly Irql. */
VOID VfCheckIrqlEq(KIRQL Irql, const char *Routine);
/* ... when below Min. */
VOID VfCheckIrqlMin(KIRQL Min, const char *Routine);

#define VF_IRQL_MAX(max) VfCheckIrqlMax((max), __func__)
#define VF_IRQL_EQ(irql) VfCheckIrqlEq((irql), __func__)
#define VF_IRQL_MIN(min) VfCheckIrqlMin((min), __func__)

#endif
