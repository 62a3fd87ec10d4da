/* HAL: the link, I/O windows, interrupt lines, DMA: component lifecycle. */
#include "rt.h"

NTSTATUS HalpInitialize(struct kmrig_runtime *rt)
{
    (void)rt;
    return STATUS_SUCCESS;
}

VOID HalpShutdown(struct kmrig_runtime *rt)
{
    (void)rt;
}
