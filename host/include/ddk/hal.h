/*
 * ddk/hal.h - HAL: port and register access, interrupts (KINTERRUPT), DMA adapters.
 */
#ifndef KMRIG_DDK_HAL_H
#define KMRIG_DDK_HAL_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#endif
