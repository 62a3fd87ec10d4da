/*
 * ddk/se.h - security: security descriptors, access checks, privileges.
 */
#ifndef KMRIG_DDK_SE_H
#define KMRIG_DDK_SE_H

#include "../ntdef.h"
#include "iotypes.h"
#include "cmres.h"

#endif
