/*
 * ddk/mm.h - memory manager: PAGE_SIZE and page macros, MDLs, sections, pageable code.
 */
#ifndef KMRIG_DDK_MM_H
#define KMRIG_DDK_MM_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#endif
