/*
 * ddk/iotypes.h - forward declarations of the I/O structures, so that every component header
 * can name them whatever order wdm.h includes them in. The definitions live with their owner
 * (ddk/io.h, ddk/mm.h, ddk/hal.h).
 */
#ifndef KMRIG_DDK_IOTYPES_H
#define KMRIG_DDK_IOTYPES_H

#include "../ntdef.h"

typedef struct _DEVICE_OBJECT DEVICE_OBJECT, *PDEVICE_OBJECT;
typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
typedef struct _FILE_OBJECT FILE_OBJECT, *PFILE_OBJECT;
typedef struct _IRP IRP, *PIRP;
typedef struct _IO_STACK_LOCATION IO_STACK_LOCATION, *PIO_STACK_LOCATION;
typedef struct _MDL MDL, *PMDL;
typedef struct _DMA_ADAPTER DMA_ADAPTER, *PDMA_ADAPTER;
typedef struct _DMA_ADAPTER ADAPTER_OBJECT, *PADAPTER_OBJECT; /* the legacy name, same object */
typedef struct _CONTROLLER_OBJECT CONTROLLER_OBJECT, *PCONTROLLER_OBJECT;
typedef struct _IO_WORKITEM IO_WORKITEM, *PIO_WORKITEM;
typedef struct _IO_TIMER *PIO_TIMER;

#endif
