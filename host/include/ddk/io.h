/*
 * ddk/io.h - I/O manager: driver and device objects, IRPs, stack locations, queues, work items.
 */
#ifndef KMRIG_DDK_IO_H
#define KMRIG_DDK_IO_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#endif
