/*
 * wdm.h - the WDM driver interface as kmrig provides it. Split by component under ddk/ for
 * maintenance; a driver includes <wdm.h> or <ntddk.h> as on Windows.
 */
#ifndef KMRIG_WDM_H
#define KMRIG_WDM_H

#include "ntdef.h"
#include "ddk/list.h"
#include "ddk/ke.h"
#include "ddk/rtl.h"
#include "ddk/ex.h"
#include "ddk/ob.h"
#include "ddk/ps.h"
#include "ddk/seh.h"
#include "ddk/iotypes.h"
#include "ddk/cmres.h"
#include "ddk/se.h"
#include "ddk/mm.h"
#include "ddk/io.h"
#include "ddk/file.h"
#include "ddk/pnp.h"
#include "ddk/hal.h"
#include "ddk/cm.h"

#endif
