/* ntddk.h - wdm.h plus the non-WDM kernel surface. */
#ifndef KMRIG_NTDDK_H
#define KMRIG_NTDDK_H

#include "wdm.h"

#endif
