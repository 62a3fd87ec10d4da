/* initguid.h - include before a header of DEFINE_GUIDs to define them in this file (WDK). */
#ifndef INITGUID
#define INITGUID
#endif
#include "ddk/pnp.h"
#undef DEFINE_GUID
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8)                               \
    KMRIG_EXTERN_C const GUID name;                                                                \
    const GUID name = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
