/* configuration manager (Cm): the registry: component lifecycle. */
#include "rt.h"

NTSTATUS CmpInitialize(struct kmrig_runtime *rt)
{
    (void)rt;
    return STATUS_SUCCESS;
}

VOID CmpShutdown(struct kmrig_runtime *rt)
{
    (void)rt;
}
