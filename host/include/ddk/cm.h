/*
 * ddk/cm.h - configuration manager: registry keys and values, RtlQueryRegistryValues.
 */
#ifndef KMRIG_DDK_CM_H
#define KMRIG_DDK_CM_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#endif
