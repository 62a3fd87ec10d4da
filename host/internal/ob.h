/* ob.h - object manager internals: headers in front of object bodies, types, the handle table. */
#ifndef KMRIG_INTERNAL_OB_H
#define KMRIG_INTERNAL_OB_H

#include "rt.h"

typedef struct _OBJECT_TYPE {
    const char *Name;
    /* Called when the last reference goes, before the memory is freed. Optional. */
    VOID (*DeleteProcedure)(PVOID Object);
    ULONG Index;
} OBJECT_TYPE;

#define OBP_HEADER_MAGIC 0x4F424A48u /* 'OBJH' */

typedef struct _OBJECT_HEADER {
    ULONG Magic;
    ULONG Flags;
    atomic_llong PointerCount;
    atomic_llong HandleCount;
    POBJECT_TYPE Type;
    struct kmrig_runtime *Runtime;
    QUAD Body;
} OBJECT_HEADER, *POBJECT_HEADER;

#define OBJECT_TO_OBJECT_HEADER(o) CONTAINING_RECORD((o), OBJECT_HEADER, Body)

extern OBJECT_TYPE ObpThreadType, ObpProcessType, ObpEventType, ObpSemaphoreType, ObpFileType,
    ObpDeviceType, ObpDriverType, ObpKeyType, ObpTokenType;

/* Delete procedures of the types whose bodies own memory (their components define them). */
VOID CmpDeleteKeyObject(PVOID Object);

/* A new object with one pointer reference, zeroed body. */
PVOID ObpCreateObject(struct kmrig_runtime *rt, POBJECT_TYPE Type, SIZE_T BodySize);
/* Is p the body of an Ob object? */
BOOLEAN ObpIsObject(PVOID p);
/* A handle to Object (takes a reference). */
NTSTATUS ObpCreateHandle(struct kmrig_runtime *rt, PVOID Object, ACCESS_MASK Access,
                         ULONG Attributes, PHANDLE Handle);

#endif
