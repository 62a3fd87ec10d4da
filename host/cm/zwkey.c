/*
 * The Zw*Key routines on the in-memory hive (host/internal/cm.h). Every one is PASSIVE_LEVEL only.
 * Handles come from kernel mode (PreviousMode == KernelMode), so as on NT the handle's granted
 * access is not checked against what the routine does.
 */
#include "cm.h"
#include "ob.h"
#include "vf.h"

#include <stdlib.h>
#include <string.h>

#define CMP_ALIGN_ULONG(x) (((x) + 3u) & ~3u)

/* References the key object behind Handle. */
static NTSTATUS CmpReferenceKey(HANDLE Handle, PCM_KEY_BODY *Body)
{
    PVOID obj;
    NTSTATUS st = ObReferenceObjectByHandle(Handle, 0, &ObpKeyType, KernelMode, &obj, NULL);
    if (!NT_SUCCESS(st))
        return st;
    *Body = obj;
    return STATUS_SUCCESS;
}

/* Symbolic-link keys (REG_OPTION_CREATE_LINK) are not modelled. */
static NTSTATUS CmpRefuseLinkKeys(VOID)
{
    return KM_NOT_IMPLEMENTED();
}

/* Walks ObjectAttributes to a node: Start is the root directory's node or \Registry. With Create,
 * the last component is created when missing (every component before it must exist). Returns the
 * node with a reference taken for the caller's key object. */
static NTSTATUS CmpParseAndOpen(struct kmrig_runtime *rt, POBJECT_ATTRIBUTES ObjectAttributes,
                                BOOLEAN Create, ULONG CreateOptions, PUNICODE_STRING Class,
                                PCM_KEY_NODE *Result, PULONG Disposition)
{
    if (!ObjectAttributes || !ObjectAttributes->ObjectName)
        return STATUS_INVALID_PARAMETER;
    PUNICODE_STRING name = ObjectAttributes->ObjectName;
    if (name->Length & 1 || (name->Length && !name->Buffer))
        return STATUS_OBJECT_NAME_INVALID;
    PCM_KEY_BODY rootBody = NULL;
    PCWCH rest;
    USHORT restLength;
    if (ObjectAttributes->RootDirectory) {
        NTSTATUS st = CmpReferenceKey(ObjectAttributes->RootDirectory, &rootBody);
        if (!NT_SUCCESS(st))
            return st;
        if (name->Length && name->Buffer[0] == L'\\') {
            ObfDereferenceObject(rootBody);
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        }
        rest = name->Buffer;
        restLength = name->Length;
    } else if (!CmpStripRegistryPrefix(name, &rest, &restLength)) {
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    } else if (restLength) {
        rest++; /* the '\' after "\Registry" */
        restLength -= sizeof(WCHAR);
    }
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    PWCH classCopy = NULL;
    if (Create && Class && Class->Length) {
        classCopy = malloc(Class->Length);
        if (!classCopy) {
            if (rootBody)
                ObfDereferenceObject(rootBody);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
        memcpy(classCopy, Class->Buffer, Class->Length);
    }

    NTSTATUS st = STATUS_SUCCESS;
    ULONG disposition = REG_OPENED_EXISTING_KEY;
    pthread_mutex_lock(&rt->Cm->Lock);
    PCM_KEY_NODE node = rootBody ? rootBody->Node : rt->Cm->Root;
    if (node->Deleted)
        st = STATUS_KEY_DELETED;
    USHORT n = restLength / sizeof(WCHAR), i = 0;
    while (NT_SUCCESS(st) && i < n) {
        USHORT s = i;
        while (i < n && rest[i] != L'\\')
            i++;
        USHORT len = (USHORT)((i - s) * sizeof(WCHAR));
        BOOLEAN last = (i >= n - 1); /* a trailing '\' still names the same last key */
        if (i < n)
            i++;
        if (!len) {
            if (!last)
                st = STATUS_OBJECT_NAME_INVALID;
            break;
        }
        PCM_KEY_NODE child = CmpFindChild(node, rest + s, len);
        if (!child) {
            if (!Create || !last) {
                st = STATUS_OBJECT_NAME_NOT_FOUND;
                break;
            }
            st = CmpCreateChildNode(node, rest + s, len, (CreateOptions & REG_OPTION_VOLATILE) != 0,
                                    &child);
            if (!NT_SUCCESS(st))
                break;
            child->Class = classCopy;
            child->ClassLength = classCopy ? Class->Length : 0;
            classCopy = NULL;
            CmpTouch(node, now);
            CmpTouch(child, now);
            disposition = REG_CREATED_NEW_KEY;
        }
        node = child;
    }
    if (NT_SUCCESS(st))
        node->References++;
    pthread_mutex_unlock(&rt->Cm->Lock);
    free(classCopy);
    if (rootBody)
        ObfDereferenceObject(rootBody);
    if (!NT_SUCCESS(st))
        return st;
    *Result = node;
    if (Disposition)
        *Disposition = disposition;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, ULONG TitleIndex,
                           PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    if (CreateOptions & ~REG_LEGAL_OPTION)
        return STATUS_INVALID_PARAMETER;
    if (CreateOptions & REG_OPTION_CREATE_LINK)
        return CmpRefuseLinkKeys();
    PCM_KEY_NODE node;
    NTSTATUS st =
        CmpParseAndOpen(rt, ObjectAttributes, TRUE, CreateOptions, Class, &node, Disposition);
    if (!NT_SUCCESS(st))
        return st;
    return CmpCreateKeyHandle(rt, node, DesiredAccess, KeyHandle);
}

NTSTATUS NTAPI ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                         POBJECT_ATTRIBUTES ObjectAttributes)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    PCM_KEY_NODE node;
    NTSTATUS st = CmpParseAndOpen(rt, ObjectAttributes, FALSE, 0, NULL, &node, NULL);
    if (!NT_SUCCESS(st))
        return st;
    return CmpCreateKeyHandle(rt, node, DesiredAccess, KeyHandle);
}

NTSTATUS NTAPI ZwOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess,
                           POBJECT_ATTRIBUTES ObjectAttributes, ULONG OpenOptions)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (OpenOptions & ~(REG_OPTION_OPEN_LINK | REG_OPTION_BACKUP_RESTORE))
        return STATUS_INVALID_PARAMETER;
    return ZwOpenKey(KeyHandle, DesiredAccess, ObjectAttributes);
}

/* ---- Answers in the caller's buffer ---------------------------------------------------------- */

/* Copies the fixed part (Fixed bytes of Header) and then the variable parts in order, as far as
 * they fit; see the buffer rules at the top of ddk/cm.h. */
typedef struct {
    const VOID *Data;
    ULONG Offset;
    ULONG Length;
    BOOLEAN AllOrNothing; /* value data: copied only when it fits entirely */
} CMP_PIECE;

static NTSTATUS CmpAnswer(PVOID Buffer, ULONG Length, PULONG ResultLength, const VOID *Header,
                          ULONG Fixed, const CMP_PIECE *Pieces, ULONG PieceCount, ULONG Required)
{
    if (ResultLength)
        *ResultLength = Required;
    if (Length < Fixed)
        return STATUS_BUFFER_TOO_SMALL;
    memcpy(Buffer, Header, Fixed);
    for (ULONG i = 0; i < PieceCount; i++) {
        const CMP_PIECE *p = &Pieces[i];
        if (!p->Length || p->Offset >= Length)
            continue;
        ULONG room = Length - p->Offset;
        if (room >= p->Length)
            memcpy((PUCHAR)Buffer + p->Offset, p->Data, p->Length);
        else if (!p->AllOrNothing)
            memcpy((PUCHAR)Buffer + p->Offset, p->Data, room & ~1u);
    }
    return Length < Required ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

/* The full path of Node ("\REGISTRY\MACHINE\..."): malloc'd, length in bytes. */
static PWCH CmpFullName(PCM_KEY_NODE Node, ULONG *Length)
{
    ULONG total = 0;
    for (PCM_KEY_NODE n = Node; n; n = n->Parent)
        total += sizeof(WCHAR) + n->NameLength;
    PWCH p = malloc(total ? total : 2);
    if (!p)
        return NULL;
    ULONG at = total;
    for (PCM_KEY_NODE n = Node; n; n = n->Parent) {
        at -= n->NameLength;
        memcpy((PUCHAR)p + at, n->Name, n->NameLength);
        at -= sizeof(WCHAR);
        p[at / 2] = L'\\';
    }
    *Length = total;
    return p;
}

static NTSTATUS CmpQueryKeyData(PCM_KEY_NODE Node, KEY_INFORMATION_CLASS Class, PVOID Buffer,
                                ULONG Length, PULONG ResultLength)
{
    union {
        KEY_BASIC_INFORMATION Basic;
        KEY_NODE_INFORMATION Node;
        KEY_FULL_INFORMATION Full;
        KEY_NAME_INFORMATION Name;
        KEY_CACHED_INFORMATION Cached;
    } h;
    memset(&h, 0, sizeof h);
    CMP_PIECE pieces[2];
    ULONG maxName = 0, maxClass = 0, maxValueName = 0, maxValueData = 0;
    if (Class == KeyFullInformation || Class == KeyCachedInformation) {
        for (ULONG i = 0; i < Node->SubKeyCount; i++) {
            maxName = max(maxName, Node->SubKeys[i]->NameLength);
            maxClass = max(maxClass, Node->SubKeys[i]->ClassLength);
        }
        for (ULONG i = 0; i < Node->ValueCount; i++) {
            maxValueName = max(maxValueName, Node->Values[i].NameLength);
            maxValueData = max(maxValueData, Node->Values[i].DataLength);
        }
    }
    switch (Class) {
    case KeyBasicInformation: {
        ULONG fixed = FIELD_OFFSET(KEY_BASIC_INFORMATION, Name);
        h.Basic.LastWriteTime = Node->LastWriteTime;
        h.Basic.TitleIndex = 0;
        h.Basic.NameLength = Node->NameLength;
        pieces[0] = (CMP_PIECE){Node->Name, fixed, Node->NameLength, FALSE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 1,
                         fixed + Node->NameLength);
    }
    case KeyNodeInformation: {
        ULONG fixed = FIELD_OFFSET(KEY_NODE_INFORMATION, Name);
        ULONG classOffset = CMP_ALIGN_ULONG(fixed + Node->NameLength);
        h.Node.LastWriteTime = Node->LastWriteTime;
        h.Node.NameLength = Node->NameLength;
        h.Node.ClassLength = Node->ClassLength;
        h.Node.ClassOffset = Node->ClassLength ? classOffset : 0xFFFFFFFFu;
        pieces[0] = (CMP_PIECE){Node->Name, fixed, Node->NameLength, FALSE};
        pieces[1] = (CMP_PIECE){Node->Class, classOffset, Node->ClassLength, FALSE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 2,
                         Node->ClassLength ? classOffset + Node->ClassLength
                                           : fixed + Node->NameLength);
    }
    case KeyFullInformation: {
        ULONG fixed = FIELD_OFFSET(KEY_FULL_INFORMATION, Class);
        h.Full.LastWriteTime = Node->LastWriteTime;
        h.Full.ClassOffset = Node->ClassLength ? fixed : 0xFFFFFFFFu;
        h.Full.ClassLength = Node->ClassLength;
        h.Full.SubKeys = Node->SubKeyCount;
        h.Full.MaxNameLen = maxName;
        h.Full.MaxClassLen = maxClass;
        h.Full.Values = Node->ValueCount;
        h.Full.MaxValueNameLen = maxValueName;
        h.Full.MaxValueDataLen = maxValueData;
        pieces[0] = (CMP_PIECE){Node->Class, fixed, Node->ClassLength, FALSE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 1,
                         fixed + Node->ClassLength);
    }
    case KeyCachedInformation:
        h.Cached.LastWriteTime = Node->LastWriteTime;
        h.Cached.SubKeys = Node->SubKeyCount;
        h.Cached.MaxNameLen = maxName;
        h.Cached.Values = Node->ValueCount;
        h.Cached.MaxValueNameLen = maxValueName;
        h.Cached.MaxValueDataLen = maxValueData;
        h.Cached.NameLength = Node->NameLength;
        return CmpAnswer(Buffer, Length, ResultLength, &h, sizeof h.Cached, NULL, 0,
                         sizeof h.Cached);
    case KeyNameInformation: {
        ULONG fixed = FIELD_OFFSET(KEY_NAME_INFORMATION, Name), nameLength = 0;
        PWCH full = CmpFullName(Node, &nameLength);
        if (!full)
            return STATUS_INSUFFICIENT_RESOURCES;
        h.Name.NameLength = nameLength;
        pieces[0] = (CMP_PIECE){full, fixed, nameLength, FALSE};
        NTSTATUS st =
            CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 1, fixed + nameLength);
        free(full);
        return st;
    }
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

/* Runs Fn on the node of KeyHandle with the hive lock held; STATUS_KEY_DELETED for a deleted
 * key. */
#define CMP_WITH_NODE(KeyHandle, node, body_stmt)                                                  \
    do {                                                                                           \
        struct kmrig_runtime *rt_ = KiRuntime();                                                   \
        PCM_KEY_BODY kb_;                                                                          \
        NTSTATUS st_ = CmpReferenceKey((KeyHandle), &kb_);                                         \
        if (!NT_SUCCESS(st_))                                                                      \
            return st_;                                                                            \
        pthread_mutex_lock(&rt_->Cm->Lock);                                                        \
        PCM_KEY_NODE node = kb_->Node;                                                             \
        if (node->Deleted)                                                                         \
            st_ = STATUS_KEY_DELETED;                                                              \
        else                                                                                       \
            st_ = (body_stmt);                                                                     \
        pthread_mutex_unlock(&rt_->Cm->Lock);                                                      \
        ObfDereferenceObject(kb_);                                                                 \
        return st_;                                                                                \
    } while (0)

NTSTATUS NTAPI ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass,
                          PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!ResultLength)
        return STATUS_INVALID_PARAMETER;
    CMP_WITH_NODE(KeyHandle, node,
                  CmpQueryKeyData(node, KeyInformationClass, KeyInformation, Length, ResultLength));
}

static NTSTATUS CmpEnumerateKey(PCM_KEY_NODE Node, ULONG Index, KEY_INFORMATION_CLASS Class,
                                PVOID Buffer, ULONG Length, PULONG ResultLength)
{
    if (Class != KeyBasicInformation && Class != KeyNodeInformation && Class != KeyFullInformation)
        return STATUS_INVALID_PARAMETER;
    if (Index >= Node->SubKeyCount)
        return STATUS_NO_MORE_ENTRIES;
    return CmpQueryKeyData(Node->SubKeys[Index], Class, Buffer, Length, ResultLength);
}

NTSTATUS NTAPI ZwEnumerateKey(HANDLE KeyHandle, ULONG Index,
                              KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                              ULONG Length, PULONG ResultLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!ResultLength)
        return STATUS_INVALID_PARAMETER;
    CMP_WITH_NODE(
        KeyHandle, node,
        CmpEnumerateKey(node, Index, KeyInformationClass, KeyInformation, Length, ResultLength));
}

static NTSTATUS CmpQueryValueData(PCM_KEY_VALUE Value, KEY_VALUE_INFORMATION_CLASS Class,
                                  PVOID Buffer, ULONG Length, PULONG ResultLength)
{
    union {
        KEY_VALUE_BASIC_INFORMATION Basic;
        KEY_VALUE_FULL_INFORMATION Full;
        KEY_VALUE_PARTIAL_INFORMATION Partial;
        KEY_VALUE_PARTIAL_INFORMATION_ALIGN64 Partial64;
    } h;
    memset(&h, 0, sizeof h);
    CMP_PIECE pieces[2];
    switch (Class) {
    case KeyValueBasicInformation: {
        ULONG fixed = FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name);
        h.Basic.Type = Value->Type;
        h.Basic.NameLength = Value->NameLength;
        pieces[0] = (CMP_PIECE){Value->Name, fixed, Value->NameLength, FALSE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 1,
                         fixed + Value->NameLength);
    }
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64: {
        ULONG fixed = FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name);
        ULONG dataOffset;
        if (Class == KeyValueFullInformation) {
            dataOffset = CMP_ALIGN_ULONG(fixed + Value->NameLength);
        } else {
            ULONG_PTR at = (ULONG_PTR)Buffer + fixed + Value->NameLength;
            dataOffset = (ULONG)(ALIGN_UP_BY(at, 8) - (ULONG_PTR)Buffer);
        }
        h.Full.Type = Value->Type;
        h.Full.DataOffset = dataOffset;
        h.Full.DataLength = Value->DataLength;
        h.Full.NameLength = Value->NameLength;
        pieces[0] = (CMP_PIECE){Value->Name, fixed, Value->NameLength, FALSE};
        pieces[1] = (CMP_PIECE){Value->Data, dataOffset, Value->DataLength, TRUE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 2,
                         dataOffset + Value->DataLength);
    }
    case KeyValuePartialInformation: {
        ULONG fixed = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data);
        h.Partial.Type = Value->Type;
        h.Partial.DataLength = Value->DataLength;
        pieces[0] = (CMP_PIECE){Value->Data, fixed, Value->DataLength, TRUE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 1,
                         fixed + Value->DataLength);
    }
    case KeyValuePartialInformationAlign64: {
        ULONG fixed = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data);
        h.Partial64.Type = Value->Type;
        h.Partial64.DataLength = Value->DataLength;
        pieces[0] = (CMP_PIECE){Value->Data, fixed, Value->DataLength, TRUE};
        return CmpAnswer(Buffer, Length, ResultLength, &h, fixed, pieces, 1,
                         fixed + Value->DataLength);
    }
    default:
        return STATUS_INVALID_PARAMETER;
    }
}

static NTSTATUS CmpQueryValueByName(PCM_KEY_NODE Node, PUNICODE_STRING ValueName,
                                    KEY_VALUE_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length,
                                    PULONG ResultLength)
{
    PCM_KEY_VALUE v =
        CmpFindValue(Node, ValueName ? ValueName->Buffer : NULL, ValueName ? ValueName->Length : 0);
    if (!v)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    return CmpQueryValueData(v, Class, Buffer, Length, ResultLength);
}

NTSTATUS NTAPI ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                               KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                               PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!ResultLength)
        return STATUS_INVALID_PARAMETER;
    CMP_WITH_NODE(KeyHandle, node,
                  CmpQueryValueByName(node, ValueName, KeyValueInformationClass,
                                      KeyValueInformation, Length, ResultLength));
}

static NTSTATUS CmpEnumerateValue(PCM_KEY_NODE Node, ULONG Index, KEY_VALUE_INFORMATION_CLASS Class,
                                  PVOID Buffer, ULONG Length, PULONG ResultLength)
{
    if (Index >= Node->ValueCount)
        return STATUS_NO_MORE_ENTRIES;
    return CmpQueryValueData(&Node->Values[Index], Class, Buffer, Length, ResultLength);
}

NTSTATUS NTAPI ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index,
                                   KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                   PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!ResultLength)
        return STATUS_INVALID_PARAMETER;
    CMP_WITH_NODE(KeyHandle, node,
                  CmpEnumerateValue(node, Index, KeyValueInformationClass, KeyValueInformation,
                                    Length, ResultLength));
}

static NTSTATUS CmpSetValueLocked(PCM_KEY_NODE Node, PUNICODE_STRING ValueName, ULONG Type,
                                  PVOID Data, ULONG DataSize, LARGE_INTEGER Now)
{
    NTSTATUS st = CmpSetValue(Node, ValueName ? ValueName->Buffer : NULL,
                              ValueName ? ValueName->Length : 0, Type, Data, DataSize);
    if (NT_SUCCESS(st))
        CmpTouch(Node, Now);
    return st;
}

NTSTATUS NTAPI ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex,
                             ULONG Type, PVOID Data, ULONG DataSize)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (ValueName && (ValueName->Length & 1 || (ValueName->Length && !ValueName->Buffer)))
        return STATUS_INVALID_PARAMETER;
    if (DataSize && !Data)
        return STATUS_INVALID_PARAMETER;
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    CMP_WITH_NODE(KeyHandle, node, CmpSetValueLocked(node, ValueName, Type, Data, DataSize, now));
}

static NTSTATUS CmpDeleteValueLocked(PCM_KEY_NODE Node, PUNICODE_STRING ValueName,
                                     LARGE_INTEGER Now)
{
    if (!CmpDeleteValue(Node, ValueName ? ValueName->Buffer : NULL,
                        ValueName ? ValueName->Length : 0))
        return STATUS_OBJECT_NAME_NOT_FOUND;
    CmpTouch(Node, Now);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    CMP_WITH_NODE(KeyHandle, node, CmpDeleteValueLocked(node, ValueName, now));
}

static NTSTATUS CmpFlushLocked(struct kmrig_runtime *rt)
{
    rt->Cm->Flushes++;
    return STATUS_SUCCESS;
}

/* The hive lives in memory: a flush has nothing to write (the harness saves the hive with
 * kmrig_registry_save). It still fails on a deleted key, as on NT. */
NTSTATUS NTAPI ZwFlushKey(HANDLE KeyHandle)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    CMP_WITH_NODE(KeyHandle, node, CmpFlushLocked(rt_));
}

static NTSTATUS CmpDeleteKeyLocked(struct kmrig_runtime *rt, PCM_KEY_NODE Node, LARGE_INTEGER Now)
{
    /* \Registry and the hive roots under it cannot go. */
    if (!Node->Parent || Node->Parent == rt->Cm->Root)
        return STATUS_CANNOT_DELETE;
    PCM_KEY_NODE parent = Node->Parent;
    NTSTATUS st = CmpDeleteLeaf(Node);
    if (NT_SUCCESS(st))
        CmpTouch(parent, Now);
    return st;
}

NTSTATUS NTAPI ZwDeleteKey(HANDLE KeyHandle)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    CMP_WITH_NODE(KeyHandle, node, CmpDeleteKeyLocked(rt_, node, now));
}
