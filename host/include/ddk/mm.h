/*
 * ddk/mm.h - memory manager: PAGE_SIZE and page macros, MDLs, sections, pageable code.
 */
#ifndef KMRIG_DDK_MM_H
#define KMRIG_DDK_MM_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#define PAGE_SIZE 0x1000
#define PAGE_SHIFT 12L

typedef enum _MEMORY_CACHING_TYPE_ORIG { MmFrameBufferCached = 2 } MEMORY_CACHING_TYPE_ORIG;
typedef enum _MEMORY_CACHING_TYPE {
    MmNonCached = FALSE,
    MmCached = TRUE,
    MmWriteCombined = MmFrameBufferCached,
    MmHardwareCoherentCached,
    MmNonCachedUnordered,
    MmUSWCCached,
    MmMaximumCacheType,
    MmNotMapped = -1
} MEMORY_CACHING_TYPE;

#endif
