/*
 * vf.h - the verifier: documented-rule checks that bugcheck like Driver Verifier does.
 * Every check is a no-op when the instance's verifier is off.
 */
#ifndef KMRIG_INTERNAL_VF_H
#define KMRIG_INTERNAL_VF_H

#include "rt.h"

/* Parameter 1 values of DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) of kmrig's own. They live at
 * 0x4B4D0000 and up, clear of the WDK's own 0xC4 codes (0x1000 is its self-deadlock code). */
#define VF_KMRIG_BASE 0x4B4D0000u
/* A routine called above its IRQL rule: p2 = IRQL, p3 = the rule's IRQL, p4 = routine (char *). */
#define VF_IRQL_TOO_HIGH KMRIG_VF_IRQL_TOO_HIGH
#define VF_IRQL_TOO_LOW KMRIG_VF_IRQL_TOO_LOW /* ... below its IRQL rule */
#define VF_WAIT_AT_DISPATCH                                                                        \
    (VF_KMRIG_BASE + 2) /* nonzero-timeout wait at DISPATCH_LEVEL or above */
#define VF_DEVICE_QUEUE_INVALID (VF_KMRIG_BASE + 0x10)  /* not a device queue */
#define VF_DEVICE_QUEUE_NOT_BUSY (VF_KMRIG_BASE + 0x11) /* remove from a queue not busy */
#define VF_PRIORITY_RANGE (VF_KMRIG_BASE + 0x12)        /* thread priority out of range */
#define VF_NOT_AN_OBJECT (VF_KMRIG_BASE + 0x20)         /* Ob routine on a non-Ob pointer */
#define VF_POOL_LEAK_AT_UNLOAD 0x62 /* WDK: pool still allocated at unload; p4 = block count */

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
