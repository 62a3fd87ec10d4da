/* ob.h - object manager internals: headers in front of object bodies, types, the handle table. */
#ifndef KMRIG_INTERNAL_OB_H
#define KMRIG_INTERNAL_OB_H

#include "rt.h"

typedef struct _OBJECT_TYPE {
    const char *Name;
    /* Called when the last reference goes, before the memory is freed. Optional. */
    VOID (*DeleteProcedure)(PVOID Object);
    ULONG Index;
    /* Called by ZwClose when the object's last handle goes, before that handle's reference is
     * dropped (a file's IRP_MJ_CLEANUP). Optional; PASSIVE_LEVEL. */
    VOID (*CloseProcedure)(PVOID Object);
} OBJECT_TYPE;

#define OBP_HEADER_MAGIC 0x4F424A48u /* 'OBJH' */

typedef struct _OBJECT_HEADER {
    ULONG Magic;
    ULONG Flags;
    atomic_llong PointerCount;
    atomic_llong HandleCount;
    POBJECT_TYPE Type;
    struct kmrig_runtime *Runtime;
    DECLSPEC_ALIGN(16) QUAD Body; /* 16: DEVICE_OBJECT, IRP... are 16-aligned types */
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

/* ---- The object name space (host/ob/namespace.c) ----
 * A tree of directory objects from the root "\", with symbolic links (resolved on lookup,
 * \DosDevices -> \?? -> \GLOBAL??). A directory entry holds a pointer reference only while the
 * object is permanent (OBJ_PERMANENT, named devices, symbolic links from IoCreateSymbolicLink);
 * a temporary object's name goes away when its last handle is closed (ObpDeleteNameCheck, as
 * NT's ObpDeleteNameCheck: a pointer reference alone does not keep a temporary name), when it
 * is made temporary with no handle open, or at the latest when the object is deleted (its type's
 * DeleteProcedure calls ObpDeleteObjectName).
 * Names compare case-insensitively. The name-space lock is a host mutex held for a few
 * instructions, never across driver code. */
#define OBP_FLAG_NAMED 0x00000001u     /* OBJECT_HEADER.Flags: the object has a name */
#define OBP_FLAG_PERMANENT 0x00000002u /* the directory entry holds a reference */

extern OBJECT_TYPE ObpDirectoryType, ObpSymbolicLinkType;

NTSTATUS ObpInitializeNamespace(struct kmrig_runtime *rt);
VOID ObpShutdownNamespace(struct kmrig_runtime *rt);
/* Inserts Object under Name (absolute, or relative to the directory RootDirectory).
 * Attributes: OBJ_PERMANENT, OBJ_OPENIF (an existing object of the same type is returned in
 * *Existing, referenced, with STATUS_OBJECT_NAME_EXISTS). */
NTSTATUS ObpInsertObjectName(struct kmrig_runtime *rt, PVOID Object, PCUNICODE_STRING Name,
                             PVOID RootDirectory, ULONG Attributes, PVOID *Existing);
/* Looks Name up, following symbolic links (a final link too unless OBJ_OPENLINK). Returns the
 * object referenced. When the walk reaches a non-directory object with path left (a device
 * with a file name), it stops there and *Remaining receives a malloc'd copy of the rest (from
 * its backslash; the caller free()s Remaining->Buffer); without Remaining that is
 * STATUS_OBJECT_PATH_NOT_FOUND. Other failures: STATUS_OBJECT_NAME_NOT_FOUND,
 * STATUS_OBJECT_PATH_NOT_FOUND, STATUS_OBJECT_NAME_INVALID, STATUS_OBJECT_PATH_SYNTAX_BAD. */
NTSTATUS ObpLookupObjectName(struct kmrig_runtime *rt, PCUNICODE_STRING Name, PVOID RootDirectory,
                             ULONG Attributes, PVOID *Object, PUNICODE_STRING Remaining);
/* Removes the object's name (a no-op for unnamed objects). For delete procedures. */
VOID ObpDeleteObjectName(PVOID Object);
/* Called when an object's handle count reached zero: a named, temporary object loses its name. */
VOID ObpDeleteNameCheck(PVOID Object);
/* The full name of a named object ("\Device\Foo") into Buffer (Chars WCHARs, NUL-terminated)
 * if it fits. Returns its length in WCHARs without the NUL; 0 if the object has no name. */
ULONG ObpQueryObjectName(PVOID Object, PWCHAR Buffer, ULONG Chars);
/* ObMakeTemporaryObject: drops the permanent reference; the name goes now if no handle is open. */
VOID ObpMakeTemporaryObject(PVOID Object);
/* A new symbolic link object (referenced, unnamed) to Target. */
NTSTATUS ObpCreateSymbolicLink(struct kmrig_runtime *rt, PCUNICODE_STRING Target, PVOID *Link);

#endif
