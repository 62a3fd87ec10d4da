/*
 * Configuration manager (Cm): the in-memory hive of an instance, key objects, and the kernel-mode
 * key API of host/internal/cm.h. The Zw*Key routines are in zwkey.c, the Rtl*Registry* routines
 * in rtlreg.c, the .reg reader and writer in regfile.c.
 */
#include "cm.h"
#include "ob.h"
#include "rtlp.h"
#include "vf.h"

#include <stdlib.h>
#include <string.h>

/* Keys every instance starts with. Hardware is volatile, as on NT (rebuilt at each boot). */
static const struct {
    const char *Path;
    BOOLEAN Volatile;
} CmpPredefinedKeys[] = {
    {"MACHINE", FALSE},
    {"MACHINE\\HARDWARE", TRUE},
    {"MACHINE\\HARDWARE\\DESCRIPTION", TRUE},
    {"MACHINE\\HARDWARE\\DEVICEMAP", TRUE},
    {"MACHINE\\HARDWARE\\RESOURCEMAP", TRUE},
    {"MACHINE\\SYSTEM", FALSE},
    {"MACHINE\\SYSTEM\\CurrentControlSet", FALSE},
    {"MACHINE\\SYSTEM\\CurrentControlSet\\Control", FALSE},
    {"MACHINE\\SYSTEM\\CurrentControlSet\\Enum", FALSE},
    {"MACHINE\\SYSTEM\\CurrentControlSet\\Services", FALSE},
    {"MACHINE\\SOFTWARE", FALSE},
    {"MACHINE\\SOFTWARE\\Classes", FALSE},
    {"MACHINE\\SOFTWARE\\Microsoft", FALSE},
    {"MACHINE\\SOFTWARE\\Microsoft\\Windows NT", FALSE},
    {"MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", FALSE},
    {"USER", FALSE},
    {"USER\\.DEFAULT", FALSE},
};

static WCHAR CmpUpcase(WCHAR c)
{
    return RtlpUpcaseChar(c);
}

static int CmpCompareNames(PCWCH A, USHORT ALength, PCWCH B, USHORT BLength)
{
    USHORT a = ALength / sizeof(WCHAR), b = BLength / sizeof(WCHAR);
    for (USHORT i = 0; i < a && i < b; i++) {
        WCHAR x = CmpUpcase(A[i]), y = CmpUpcase(B[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a == b ? 0 : (a < b ? -1 : 1);
}

BOOLEAN CmpNameEqual(PCWCH A, USHORT ALength, PCWCH B, USHORT BLength)
{
    return ALength == BLength && CmpCompareNames(A, ALength, B, BLength) == 0;
}

static PWCH CmpDupName(PCWCH Name, USHORT Length)
{
    PWCH p = malloc(Length ? Length : sizeof(WCHAR));
    if (p && Length)
        memcpy(p, Name, Length);
    return p;
}

static PCM_KEY_NODE CmpAllocateNode(PCWCH Name, USHORT NameLength, BOOLEAN Volatile)
{
    PCM_KEY_NODE n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->Name = CmpDupName(Name, NameLength);
    if (!n->Name) {
        free(n);
        return NULL;
    }
    n->NameLength = NameLength;
    n->Volatile = Volatile;
    n->References = 1;
    return n;
}

static VOID CmpFreeValues(PCM_KEY_NODE Node)
{
    for (ULONG i = 0; i < Node->ValueCount; i++) {
        free(Node->Values[i].Name);
        free(Node->Values[i].Data);
    }
    free(Node->Values);
    Node->Values = NULL;
    Node->ValueCount = Node->ValueCapacity = 0;
}

static VOID CmpFreeNode(PCM_KEY_NODE Node)
{
    CmpFreeValues(Node);
    free(Node->SubKeys);
    free(Node->Name);
    free(Node->Class);
    free(Node);
}

VOID CmpReleaseNode(PCM_KEY_NODE Node)
{
    if (--Node->References == 0)
        CmpFreeNode(Node);
}

VOID CmpTouch(PCM_KEY_NODE Node, LARGE_INTEGER Now)
{
    Node->LastWriteTime = Now;
}

/* Binary search: the index of Name among Parent's subkeys, or where it would go. */
static ULONG CmpChildIndex(PCM_KEY_NODE Parent, PCWCH Name, USHORT NameLength, BOOLEAN *Found)
{
    ULONG lo = 0, hi = Parent->SubKeyCount;
    *Found = FALSE;
    while (lo < hi) {
        ULONG mid = (lo + hi) / 2;
        PCM_KEY_NODE c = Parent->SubKeys[mid];
        int r = CmpCompareNames(Name, NameLength, c->Name, c->NameLength);
        if (r == 0) {
            *Found = TRUE;
            return mid;
        }
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

PCM_KEY_NODE CmpFindChild(PCM_KEY_NODE Parent, PCWCH Name, USHORT NameLength)
{
    BOOLEAN found;
    ULONG i = CmpChildIndex(Parent, Name, NameLength, &found);
    return found ? Parent->SubKeys[i] : NULL;
}

NTSTATUS CmpCreateChildNode(PCM_KEY_NODE Parent, PCWCH Name, USHORT NameLength, BOOLEAN Volatile,
                            PCM_KEY_NODE *Child)
{
    BOOLEAN found;
    ULONG i = CmpChildIndex(Parent, Name, NameLength, &found);
    if (found) {
        *Child = Parent->SubKeys[i];
        return STATUS_OBJECT_NAME_EXISTS;
    }
    if (Parent->Volatile && !Volatile)
        return STATUS_CHILD_MUST_BE_VOLATILE;
    if (Parent->SubKeyCount == Parent->SubKeyCapacity) {
        ULONG cap = Parent->SubKeyCapacity ? Parent->SubKeyCapacity * 2 : 4;
        PCM_KEY_NODE *p = realloc(Parent->SubKeys, cap * sizeof *p);
        if (!p)
            return STATUS_INSUFFICIENT_RESOURCES;
        Parent->SubKeys = p;
        Parent->SubKeyCapacity = cap;
    }
    PCM_KEY_NODE n = CmpAllocateNode(Name, NameLength, Volatile);
    if (!n)
        return STATUS_INSUFFICIENT_RESOURCES;
    n->Parent = Parent;
    n->LastWriteTime = Parent->LastWriteTime;
    memmove(&Parent->SubKeys[i + 1], &Parent->SubKeys[i],
            (Parent->SubKeyCount - i) * sizeof(PCM_KEY_NODE));
    Parent->SubKeys[i] = n;
    Parent->SubKeyCount++;
    *Child = n;
    return STATUS_SUCCESS;
}

/* Removes Node from its parent's list, marks it deleted and drops the parent's link reference. */
static VOID CmpUnlinkNode(PCM_KEY_NODE Node)
{
    PCM_KEY_NODE parent = Node->Parent;
    if (parent) {
        BOOLEAN found;
        ULONG i = CmpChildIndex(parent, Node->Name, Node->NameLength, &found);
        if (found) {
            memmove(&parent->SubKeys[i], &parent->SubKeys[i + 1],
                    (parent->SubKeyCount - i - 1) * sizeof(PCM_KEY_NODE));
            parent->SubKeyCount--;
        }
    }
    Node->Parent = NULL;
    Node->Deleted = TRUE;
    CmpFreeValues(Node);
    CmpReleaseNode(Node);
}

VOID CmpDeleteTree(PCM_KEY_NODE Node)
{
    while (Node->SubKeyCount)
        CmpDeleteTree(Node->SubKeys[Node->SubKeyCount - 1]);
    CmpUnlinkNode(Node);
}

NTSTATUS CmpDeleteLeaf(PCM_KEY_NODE Node)
{
    if (Node->Deleted)
        return STATUS_KEY_DELETED;
    if (Node->SubKeyCount || !Node->Parent)
        return STATUS_CANNOT_DELETE;
    CmpUnlinkNode(Node);
    return STATUS_SUCCESS;
}

PCM_KEY_NODE CmpLookupNode(PCM_KEY_NODE Start, PCWCH Path, USHORT PathLength)
{
    USHORT n = PathLength / sizeof(WCHAR), i = 0;
    PCM_KEY_NODE node = Start;
    while (i < n && node) {
        while (i < n && Path[i] == L'\\')
            i++;
        USHORT s = i;
        while (i < n && Path[i] != L'\\')
            i++;
        if (i > s)
            node = CmpFindChild(node, Path + s, (USHORT)((i - s) * sizeof(WCHAR)));
    }
    return node;
}

PCM_KEY_VALUE CmpFindValue(PCM_KEY_NODE Node, PCWCH Name, USHORT NameLength)
{
    for (ULONG i = 0; i < Node->ValueCount; i++)
        if (CmpNameEqual(Node->Values[i].Name, Node->Values[i].NameLength, Name, NameLength))
            return &Node->Values[i];
    return NULL;
}

NTSTATUS CmpSetValue(PCM_KEY_NODE Node, PCWCH Name, USHORT NameLength, ULONG Type, const VOID *Data,
                     ULONG DataLength)
{
    PUCHAR copy = malloc(DataLength ? DataLength : 1);
    if (!copy)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (DataLength)
        memcpy(copy, Data, DataLength);
    PCM_KEY_VALUE v = CmpFindValue(Node, Name, NameLength);
    if (!v) {
        if (Node->ValueCount == Node->ValueCapacity) {
            ULONG cap = Node->ValueCapacity ? Node->ValueCapacity * 2 : 4;
            CM_KEY_VALUE *p = realloc(Node->Values, cap * sizeof *p);
            if (!p) {
                free(copy);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            Node->Values = p;
            Node->ValueCapacity = cap;
        }
        PWCH name = CmpDupName(Name, NameLength);
        if (!name) {
            free(copy);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        v = &Node->Values[Node->ValueCount++];
        v->Name = name;
        v->NameLength = NameLength;
        v->Data = NULL;
    }
    free(v->Data);
    v->Type = Type;
    v->Data = copy;
    v->DataLength = DataLength;
    return STATUS_SUCCESS;
}

BOOLEAN CmpDeleteValue(PCM_KEY_NODE Node, PCWCH Name, USHORT NameLength)
{
    PCM_KEY_VALUE v = CmpFindValue(Node, Name, NameLength);
    if (!v)
        return FALSE;
    ULONG i = (ULONG)(v - Node->Values);
    free(v->Name);
    free(v->Data);
    memmove(&Node->Values[i], &Node->Values[i + 1],
            (Node->ValueCount - i - 1) * sizeof(CM_KEY_VALUE));
    Node->ValueCount--;
    return TRUE;
}

static VOID CmpFreeTree(PCM_KEY_NODE Node)
{
    for (ULONG i = 0; i < Node->SubKeyCount; i++)
        CmpFreeTree(Node->SubKeys[i]);
    Node->SubKeyCount = 0;
    /* A node still referenced by a key object that leaked stays allocated with it. */
    Node->Parent = NULL;
    Node->Deleted = TRUE;
    CmpReleaseNode(Node);
}

NTSTATUS CmpInitialize(struct kmrig_runtime *rt)
{
    CMP_STATE *cm = calloc(1, sizeof *cm);
    if (!cm)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&cm->Lock, NULL);
    static const WCHAR registry[] = L"REGISTRY";
    cm->Root = CmpAllocateNode(registry, sizeof registry - sizeof(WCHAR), FALSE);
    if (!cm->Root) {
        free(cm);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    cm->Root->LastWriteTime.QuadPart = rt->Config.epoch;
    for (size_t i = 0; i < RTL_NUMBER_OF(CmpPredefinedKeys); i++) {
        WCHAR path[128];
        RtlpAnsiToWcs(path, CmpPredefinedKeys[i].Path);
        USHORT len = (USHORT)(RtlpWcsLen(path) * sizeof(WCHAR));
        USHORT cut = len;
        while (cut && path[cut / 2 - 1] != L'\\')
            cut -= sizeof(WCHAR);
        PCM_KEY_NODE parent = cut ? CmpLookupNode(cm->Root, path, cut - sizeof(WCHAR)) : cm->Root;
        PCM_KEY_NODE child;
        if (!parent || !NT_SUCCESS(CmpCreateChildNode(parent, path + cut / 2, len - cut,
                                                      CmpPredefinedKeys[i].Volatile, &child))) {
            CmpFreeTree(cm->Root);
            free(cm);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    rt->Cm = cm;
    return STATUS_SUCCESS;
}

VOID CmpShutdown(struct kmrig_runtime *rt)
{
    CMP_STATE *cm = rt->Cm;
    CmpFreeTree(cm->Root);
    pthread_mutex_destroy(&cm->Lock);
    free(cm);
    rt->Cm = NULL;
}

/* ---- Key objects ----------------------------------------------------------------------------- */

VOID CmpDeleteKeyObject(PVOID Object)
{
    PCM_KEY_BODY body = Object;
    struct kmrig_runtime *rt = OBJECT_TO_OBJECT_HEADER(Object)->Runtime;
    if (!body->Node)
        return;
    if (rt->Cm) {
        pthread_mutex_lock(&rt->Cm->Lock);
        CmpReleaseNode(body->Node);
        pthread_mutex_unlock(&rt->Cm->Lock);
    }
    body->Node = NULL;
}

/* Called with the hive lock held: takes the node reference the key object will own. */
static PCM_KEY_BODY CmpCreateKeyObject(struct kmrig_runtime *rt)
{
    return ObpCreateObject(rt, &ObpKeyType, sizeof(CM_KEY_BODY));
}

NTSTATUS CmpCreateKeyHandle(struct kmrig_runtime *rt, PCM_KEY_NODE Node, ACCESS_MASK Access,
                            PHANDLE KeyHandle)
{
    /* Node carries a reference the caller took for this object (under the lock). */
    PCM_KEY_BODY body = CmpCreateKeyObject(rt);
    if (!body) {
        pthread_mutex_lock(&rt->Cm->Lock);
        CmpReleaseNode(Node);
        pthread_mutex_unlock(&rt->Cm->Lock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    body->Node = Node;
    NTSTATUS st = ObpCreateHandle(rt, body, Access, OBJ_KERNEL_HANDLE, KeyHandle);
    ObfDereferenceObject(body); /* the handle holds the object now (or it goes on failure) */
    return st;
}

/* ---- The kernel-mode key API ----------------------------------------------------------------- */

static const WCHAR CmpRegistryPrefix[] = L"\\REGISTRY";
#define CMP_PREFIX_LENGTH (sizeof CmpRegistryPrefix - sizeof(WCHAR))

BOOLEAN CmpStripRegistryPrefix(PCUNICODE_STRING Path, PCWCH *Rest, USHORT *RestLength)
{
    if (!Path || !Path->Buffer || Path->Length < CMP_PREFIX_LENGTH)
        return FALSE;
    if (!CmpNameEqual(Path->Buffer, CMP_PREFIX_LENGTH, CmpRegistryPrefix, CMP_PREFIX_LENGTH))
        return FALSE;
    if (Path->Length > CMP_PREFIX_LENGTH && Path->Buffer[CMP_PREFIX_LENGTH / 2] != L'\\')
        return FALSE;
    *Rest = Path->Buffer + CMP_PREFIX_LENGTH / 2;
    *RestLength = (USHORT)(Path->Length - CMP_PREFIX_LENGTH);
    return TRUE;
}

static NTSTATUS CmpOpenOrCreatePath(PCUNICODE_STRING Path, ACCESS_MASK DesiredAccess,
                                    BOOLEAN Create, ULONG CreateOptions, PHANDLE KeyHandle,
                                    PULONG Disposition)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    PCWCH rest;
    USHORT restLength;
    *KeyHandle = NULL;
    if (!CmpStripRegistryPrefix(Path, &rest, &restLength))
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    BOOLEAN create = Create;
    BOOLEAN isVolatile = (CreateOptions & REG_OPTION_VOLATILE) != 0;
    ULONG disposition = REG_OPENED_EXISTING_KEY;
    NTSTATUS st = STATUS_SUCCESS;
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    pthread_mutex_lock(&rt->Cm->Lock);
    PCM_KEY_NODE node = rt->Cm->Root;
    USHORT n = restLength / sizeof(WCHAR), i = 0;
    while (i < n) {
        while (i < n && rest[i] == L'\\')
            i++;
        USHORT s = i;
        while (i < n && rest[i] != L'\\')
            i++;
        if (i == s)
            break;
        USHORT len = (USHORT)((i - s) * sizeof(WCHAR));
        PCM_KEY_NODE child = CmpFindChild(node, rest + s, len);
        if (!child) {
            if (!create) {
                st = STATUS_OBJECT_NAME_NOT_FOUND;
                break;
            }
            st = CmpCreateChildNode(node, rest + s, len, isVolatile, &child);
            if (!NT_SUCCESS(st))
                break;
            CmpTouch(node, now);
            CmpTouch(child, now);
            disposition = REG_CREATED_NEW_KEY;
        } else {
            disposition = REG_OPENED_EXISTING_KEY;
        }
        node = child;
    }
    if (NT_SUCCESS(st))
        node->References++;
    pthread_mutex_unlock(&rt->Cm->Lock);
    if (!NT_SUCCESS(st))
        return st;
    if (Disposition)
        *Disposition = disposition;
    return CmpCreateKeyHandle(rt, node, DesiredAccess, KeyHandle);
}

NTSTATUS CmpOpenKeyPath(PCUNICODE_STRING Path, ACCESS_MASK DesiredAccess, PHANDLE KeyHandle)
{
    return CmpOpenOrCreatePath(Path, DesiredAccess, FALSE, 0, KeyHandle, NULL);
}

NTSTATUS CmpCreateKeyPath(PCUNICODE_STRING Path, ACCESS_MASK DesiredAccess, ULONG CreateOptions,
                          PHANDLE KeyHandle, PULONG Disposition)
{
    return CmpOpenOrCreatePath(Path, DesiredAccess, TRUE, CreateOptions, KeyHandle, Disposition);
}

NTSTATUS CmpOpenKeyPathW(PCWSTR Path, ACCESS_MASK DesiredAccess, PHANDLE KeyHandle)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, Path);
    return CmpOpenKeyPath(&s, DesiredAccess, KeyHandle);
}

NTSTATUS CmpCreateKeyPathW(PCWSTR Path, ACCESS_MASK DesiredAccess, ULONG CreateOptions,
                           PHANDLE KeyHandle, PULONG Disposition)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, Path);
    return CmpCreateKeyPath(&s, DesiredAccess, CreateOptions, KeyHandle, Disposition);
}
