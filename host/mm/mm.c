/* memory manager (Mm): MDLs, sections, driver paging: component lifecycle. */
#include "rt.h"

NTSTATUS MmpInitialize(struct kmrig_runtime *rt)
{
    (void)rt;
    return STATUS_SUCCESS;
}

VOID MmpShutdown(struct kmrig_runtime *rt)
{
    (void)rt;
}
