/*
 * cm.h - configuration manager internals: the in-memory hive, key objects, the .reg reader and
 * writer, and the kernel-mode key API other components build on (IoOpenDeviceRegistryKey, the
 * Services\<driver>\Parameters keys).
 *
 * The hive is a tree of CM_KEY_NODEs under one mutex per instance (CMP_STATE.Lock). The mutex is
 * a host mutex: no runtime routine that can yield the processor (pool, time, waits) is called
 * while it is held. A key object (Ob type ObpKeyType, body CM_KEY_BODY) holds a reference on its
 * node; a deleted node stays alive, marked Deleted, until its last key object goes, and every
 * operation through such a handle returns STATUS_KEY_DELETED.
 */
#ifndef KMRIG_INTERNAL_CM_H
#define KMRIG_INTERNAL_CM_H

#include "rt.h"

#include <pthread.h>

typedef struct _CM_KEY_VALUE {
    PWCH Name; /* NULL/0 for the default (unnamed) value */
    USHORT NameLength;
    ULONG Type;
    PUCHAR Data;
    ULONG DataLength;
} CM_KEY_VALUE, *PCM_KEY_VALUE;

typedef struct _CM_KEY_NODE {
    struct _CM_KEY_NODE *Parent; /* NULL for \Registry and for a deleted node */
    PWCH Name;
    USHORT NameLength; /* bytes */
    PWCH Class;
    USHORT ClassLength;
    BOOLEAN Volatile;
    BOOLEAN Deleted;
    ULONG TitleIndex;
    LONG References; /* one for the link from the parent, one per key object */
    LARGE_INTEGER LastWriteTime;
    struct _CM_KEY_NODE **SubKeys; /* sorted by upcased name, as NT enumerates them */
    ULONG SubKeyCount, SubKeyCapacity;
    CM_KEY_VALUE *Values; /* in creation order, as NT enumerates them */
    ULONG ValueCount, ValueCapacity;
} CM_KEY_NODE, *PCM_KEY_NODE;

/* The body of a key object. */
typedef struct _CM_KEY_BODY {
    PCM_KEY_NODE Node;
} CM_KEY_BODY, *PCM_KEY_BODY;

typedef struct _CMP_STATE {
    pthread_mutex_t Lock;
    PCM_KEY_NODE Root; /* \Registry */
    ULONG Flushes;     /* ZwFlushKey calls (the hive is in memory; a flush is a no-op) */
} CMP_STATE;

/* ---- The kernel-mode key API (any component; PASSIVE_LEVEL, calling thread attached) ---------
 * Paths are absolute NT registry paths ("\Registry\Machine\System\..."), case-insensitive.
 * Handles are kernel handles; close them with ZwClose. */

/* Opens an existing key. STATUS_OBJECT_NAME_NOT_FOUND when it does not exist. */
NTSTATUS CmpOpenKeyPath(PCUNICODE_STRING Path, ACCESS_MASK DesiredAccess, PHANDLE KeyHandle);
/* Opens the key, creating it and every missing key above it (CreateOptions: REG_OPTION_VOLATILE
 * or 0, applied to the keys it creates). *Disposition (optional) tells whether the last key was
 * created (REG_CREATED_NEW_KEY) or opened (REG_OPENED_EXISTING_KEY). */
NTSTATUS CmpCreateKeyPath(PCUNICODE_STRING Path, ACCESS_MASK DesiredAccess, ULONG CreateOptions,
                          PHANDLE KeyHandle, PULONG Disposition);
/* The same with a NUL-terminated path. */
NTSTATUS CmpOpenKeyPathW(PCWSTR Path, ACCESS_MASK DesiredAccess, PHANDLE KeyHandle);
NTSTATUS CmpCreateKeyPathW(PCWSTR Path, ACCESS_MASK DesiredAccess, ULONG CreateOptions,
                           PHANDLE KeyHandle, PULONG Disposition);

/* ---- Hive internals (host/cm) ---------------------------------------------------------------- */
/* Node lookup and creation, with rt->Cm->Lock held. Path components are separated by '\'. */
PCM_KEY_NODE CmpLookupNode(PCM_KEY_NODE Start, PCWCH Path, USHORT PathLength);
NTSTATUS CmpCreateChildNode(PCM_KEY_NODE Parent, PCWCH Name, USHORT NameLength, BOOLEAN Volatile,
                            PCM_KEY_NODE *Child);
PCM_KEY_NODE CmpFindChild(PCM_KEY_NODE Parent, PCWCH Name, USHORT NameLength);
PCM_KEY_VALUE CmpFindValue(PCM_KEY_NODE Node, PCWCH Name, USHORT NameLength);
NTSTATUS CmpSetValue(PCM_KEY_NODE Node, PCWCH Name, USHORT NameLength, ULONG Type, const VOID *Data,
                     ULONG DataLength);
BOOLEAN CmpDeleteValue(PCM_KEY_NODE Node, PCWCH Name, USHORT NameLength);
/* Unlinks Node and its whole subtree (used by [-KEY] in .reg files). */
VOID CmpDeleteTree(PCM_KEY_NODE Node);
VOID CmpReleaseNode(PCM_KEY_NODE Node);
VOID CmpTouch(PCM_KEY_NODE Node, LARGE_INTEGER Now);
/* Deletes one key that has no subkeys (STATUS_CANNOT_DELETE otherwise, STATUS_KEY_DELETED when it
 * is already deleted). */
NTSTATUS CmpDeleteLeaf(PCM_KEY_NODE Node);
/* The part of an absolute path after "\Registry" (case-insensitive), or FALSE. */
BOOLEAN CmpStripRegistryPrefix(PCUNICODE_STRING Path, PCWCH *Rest, USHORT *RestLength);

/* A key object for Node (takes a node reference), and a handle to it. */
NTSTATUS CmpCreateKeyHandle(struct kmrig_runtime *rt, PCM_KEY_NODE Node, ACCESS_MASK Access,
                            PHANDLE KeyHandle);
/* The key object's delete procedure (ObpKeyType). */
VOID CmpDeleteKeyObject(PVOID Object);

/* Case-insensitive name compare (lengths in bytes). */
BOOLEAN CmpNameEqual(PCWCH A, USHORT ALength, PCWCH B, USHORT BLength);

#endif
