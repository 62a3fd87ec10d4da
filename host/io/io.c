/* I/O manager (Io): component lifecycle. */
#include "rt.h"

NTSTATUS IopInitialize(struct kmrig_runtime *rt)
{
    (void)rt;
    return STATUS_SUCCESS;
}

VOID IopShutdown(struct kmrig_runtime *rt)
{
    (void)rt;
}
