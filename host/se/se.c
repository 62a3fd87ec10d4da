/* security (Se): the caller's token model: component lifecycle. */
#include "rt.h"

NTSTATUS SepInitialize(struct kmrig_runtime *rt)
{
    (void)rt;
    return STATUS_SUCCESS;
}

VOID SepShutdown(struct kmrig_runtime *rt)
{
    (void)rt;
}
