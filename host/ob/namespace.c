/*
 * The object name space: directory objects, symbolic links, named objects, and the routines
 * drivers use on them (ZwCreateDirectoryObject, ZwMakeTemporaryObject, symbolic link objects).
 *
 * Each instance has its own tree (rt->ObNamespace). A name entry links an object into its parent
 * directory and into one list of every entry of the instance. Permanent objects are held by one
 * pointer reference of their entry; temporary ones are not, and their type's DeleteProcedure
 * removes the name when the last reference goes.
 */
#include "ob.h"
#include "vf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct _OBP_DIRECTORY {
    LIST_ENTRY Entries; /* OBP_NAME_ENTRY.DirLink */
} OBP_DIRECTORY, *POBP_DIRECTORY;

typedef struct _OBP_SYMLINK {
    UNICODE_STRING Target;
} OBP_SYMLINK, *POBP_SYMLINK;

typedef struct _OBP_NAME_ENTRY {
    LIST_ENTRY DirLink;
    LIST_ENTRY AllLink;
    PVOID Object;
    POBP_DIRECTORY Parent;
    UNICODE_STRING Name;
} OBP_NAME_ENTRY, *POBP_NAME_ENTRY;

typedef struct _OBP_NAMESPACE {
    pthread_mutex_t Lock;
    POBP_DIRECTORY Root;
    LIST_ENTRY All;
} OBP_NAMESPACE, *POBP_NAMESPACE;

#define OBP_MAX_REPARSE 32

static VOID ObpDeleteDirectory(PVOID Object);
static VOID ObpDeleteSymbolicLink(PVOID Object);

OBJECT_TYPE ObpDirectoryType = {"Directory", ObpDeleteDirectory, 20};
OBJECT_TYPE ObpSymbolicLinkType = {"SymbolicLink", ObpDeleteSymbolicLink, 21};

static POBP_NAMESPACE ObpNs(PVOID Object)
{
    return OBJECT_TO_OBJECT_HEADER(Object)->Runtime->ObNamespace;
}

static POBJECT_TYPE ObpTypeOf(PVOID Object)
{
    return OBJECT_TO_OBJECT_HEADER(Object)->Type;
}

/* The pointer reference of a lookup: fails on an object whose last reference is going. */
static BOOLEAN ObpTryReference(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    long long n = atomic_load(&h->PointerCount);
    while (n > 0)
        if (atomic_compare_exchange_weak(&h->PointerCount, &n, n + 1))
            return TRUE;
    return FALSE;
}

static POBP_NAME_ENTRY ObpFindEntry(POBP_DIRECTORY Dir, PCUNICODE_STRING Name)
{
    for (PLIST_ENTRY e = Dir->Entries.Flink; e != &Dir->Entries; e = e->Flink) {
        POBP_NAME_ENTRY n = CONTAINING_RECORD(e, OBP_NAME_ENTRY, DirLink);
        if (RtlEqualUnicodeString(&n->Name, Name, TRUE))
            return n;
    }
    return NULL;
}

static VOID ObpFreeEntry(POBP_NAME_ENTRY Entry)
{
    free(Entry->Name.Buffer);
    free(Entry);
}

/* Unlinks an entry (namespace lock held). Returns TRUE if it held a permanent reference. */
static BOOLEAN ObpUnlinkEntry(POBP_NAME_ENTRY Entry)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Entry->Object);
    BOOLEAN permanent = (h->Flags & OBP_FLAG_PERMANENT) != 0;
    h->Flags &= ~(OBP_FLAG_NAMED | OBP_FLAG_PERMANENT);
    RemoveEntryList(&Entry->DirLink);
    RemoveEntryList(&Entry->AllLink);
    return permanent;
}

static POBP_NAME_ENTRY ObpEntryOf(POBP_NAMESPACE ns, PVOID Object)
{
    for (PLIST_ENTRY e = ns->All.Flink; e != &ns->All; e = e->Flink) {
        POBP_NAME_ENTRY n = CONTAINING_RECORD(e, OBP_NAME_ENTRY, AllLink);
        if (n->Object == Object)
            return n;
    }
    return NULL;
}

VOID ObpDeleteObjectName(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBP_NAMESPACE ns = h->Runtime->ObNamespace;
    if (!ns)
        return;
    pthread_mutex_lock(&ns->Lock);
    POBP_NAME_ENTRY n = (h->Flags & OBP_FLAG_NAMED) ? ObpEntryOf(ns, Object) : NULL;
    if (n)
        ObpUnlinkEntry(n);
    pthread_mutex_unlock(&ns->Lock);
    if (n)
        ObpFreeEntry(n);
}

VOID ObpDeleteNameCheck(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBP_NAMESPACE ns = h->Runtime->ObNamespace;
    if (!ns)
        return;
    POBP_NAME_ENTRY n = NULL;
    pthread_mutex_lock(&ns->Lock);
    if ((h->Flags & (OBP_FLAG_NAMED | OBP_FLAG_PERMANENT)) == OBP_FLAG_NAMED &&
        atomic_load(&h->HandleCount) == 0) {
        n = ObpEntryOf(ns, Object);
        if (n)
            ObpUnlinkEntry(n);
    }
    pthread_mutex_unlock(&ns->Lock);
    if (n)
        ObpFreeEntry(n);
}

ULONG ObpQueryObjectName(PVOID Object, PWCHAR Buffer, ULONG Chars)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBP_NAMESPACE ns = h->Runtime->ObNamespace;
    if (!ns || !(h->Flags & OBP_FLAG_NAMED))
        return 0;
    pthread_mutex_lock(&ns->Lock);
    /* the components from the object up to the root, then written root first */
    ULONG need = 0;
    for (PVOID o = Object; o && o != ns->Root;) {
        POBP_NAME_ENTRY n = ObpEntryOf(ns, o);
        if (!n) {
            need = 0; /* unlinked on the way: no name */
            break;
        }
        need += 1 + n->Name.Length / sizeof(WCHAR);
        o = n->Parent;
    }
    if (need && need < Chars) {
        ULONG at = need;
        Buffer[at] = 0;
        for (PVOID o = Object; o != ns->Root;) {
            POBP_NAME_ENTRY n = ObpEntryOf(ns, o);
            ULONG len = n->Name.Length / sizeof(WCHAR);
            at -= len;
            memcpy(Buffer + at, n->Name.Buffer, len * sizeof(WCHAR));
            Buffer[--at] = L'\\';
            o = n->Parent;
        }
    }
    pthread_mutex_unlock(&ns->Lock);
    return need;
}

/* Detaches every entry of a directory; drops the permanent references outside the lock. */
static VOID ObpEmptyDirectory(POBP_NAMESPACE ns, POBP_DIRECTORY Dir)
{
    for (;;) {
        PVOID drop = NULL;
        POBP_NAME_ENTRY n = NULL;
        pthread_mutex_lock(&ns->Lock);
        if (!IsListEmpty(&Dir->Entries)) {
            n = CONTAINING_RECORD(Dir->Entries.Flink, OBP_NAME_ENTRY, DirLink);
            if (ObpUnlinkEntry(n))
                drop = n->Object;
        }
        pthread_mutex_unlock(&ns->Lock);
        if (!n)
            return;
        ObpFreeEntry(n);
        if (drop)
            ObfDereferenceObject(drop);
    }
}

static VOID ObpDeleteDirectory(PVOID Object)
{
    ObpDeleteObjectName(Object);
    POBP_NAMESPACE ns = ObpNs(Object);
    if (ns)
        ObpEmptyDirectory(ns, Object);
}

static VOID ObpDeleteSymbolicLink(PVOID Object)
{
    ObpDeleteObjectName(Object);
    POBP_SYMLINK l = Object;
    free(l->Target.Buffer);
}

static VOID ObpDeleteNamedObject(PVOID Object)
{
    ObpDeleteObjectName(Object);
}

static NTSTATUS ObpCopyString(PUNICODE_STRING Dst, PCUNICODE_STRING Src)
{
    Dst->Length = Src->Length;
    Dst->MaximumLength = (USHORT)(Src->Length + sizeof(WCHAR));
    Dst->Buffer = malloc(Dst->MaximumLength);
    if (!Dst->Buffer)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(Dst->Buffer, Src->Buffer, Src->Length);
    Dst->Buffer[Src->Length / sizeof(WCHAR)] = 0;
    return STATUS_SUCCESS;
}

static PVOID ObpCreateDirectory(struct kmrig_runtime *rt)
{
    POBP_DIRECTORY d = ObpCreateObject(rt, &ObpDirectoryType, sizeof(OBP_DIRECTORY));
    if (d)
        InitializeListHead(&d->Entries);
    return d;
}

NTSTATUS ObpCreateSymbolicLink(struct kmrig_runtime *rt, PCUNICODE_STRING Target, PVOID *Link)
{
    POBP_SYMLINK l = ObpCreateObject(rt, &ObpSymbolicLinkType, sizeof(OBP_SYMLINK));
    if (!l)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (!NT_SUCCESS(ObpCopyString(&l->Target, Target))) {
        ObfDereferenceObject(l);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    *Link = l;
    return STATUS_SUCCESS;
}

/* ---- lookup ---- */

/* Walks Path from Start (namespace lock held). On success *Object is the object found (not
 * referenced) and *Rest the unparsed tail (from its leading backslash) when the walk stopped at
 * a non-directory; *Reparse is set to a new absolute path to restart with when a symbolic link
 * was crossed. */
static NTSTATUS ObpWalk(POBP_DIRECTORY Start, UNICODE_STRING Path, ULONG Attributes, PVOID *Object,
                        UNICODE_STRING *Rest, UNICODE_STRING *Reparse)
{
    POBP_DIRECTORY cur = Start;
    USHORT n = Path.Length / sizeof(WCHAR), i = 0;
    Reparse->Buffer = NULL;
    Rest->Length = Rest->MaximumLength = 0;
    Rest->Buffer = NULL;
    if (i < n && Path.Buffer[i] == L'\\')
        i++;
    if (i == n) {
        *Object = cur;
        return STATUS_SUCCESS;
    }
    for (;;) {
        USHORT s = i;
        while (i < n && Path.Buffer[i] != L'\\')
            i++;
        if (i == s)
            return STATUS_OBJECT_NAME_INVALID;
        UNICODE_STRING comp = {(USHORT)((i - s) * sizeof(WCHAR)), (USHORT)((i - s) * sizeof(WCHAR)),
                               Path.Buffer + s};
        BOOLEAN more = i < n; /* Path.Buffer[i] is a backslash */
        POBP_NAME_ENTRY e = ObpFindEntry(cur, &comp);
        if (!e)
            return more ? STATUS_OBJECT_PATH_NOT_FOUND : STATUS_OBJECT_NAME_NOT_FOUND;
        PVOID obj = e->Object;
        POBJECT_TYPE type = ObpTypeOf(obj);
        if (type == &ObpSymbolicLinkType && (more || !(Attributes & OBJ_OPENLINK))) {
            POBP_SYMLINK l = obj;
            USHORT restChars = (USHORT)(n - i);
            SIZE_T bytes = l->Target.Length + restChars * sizeof(WCHAR);
            if (bytes > UNICODE_STRING_MAX_BYTES)
                return STATUS_NAME_TOO_LONG;
            PWCH b = malloc(bytes + sizeof(WCHAR));
            if (!b)
                return STATUS_INSUFFICIENT_RESOURCES;
            memcpy(b, l->Target.Buffer, l->Target.Length);
            memcpy((PUCHAR)b + l->Target.Length, Path.Buffer + i, restChars * sizeof(WCHAR));
            Reparse->Buffer = b;
            Reparse->Length = (USHORT)bytes;
            Reparse->MaximumLength = (USHORT)(bytes + sizeof(WCHAR));
            return STATUS_REPARSE;
        }
        if (!more) {
            *Object = obj;
            return STATUS_SUCCESS;
        }
        if (type != &ObpDirectoryType) {
            *Object = obj;
            Rest->Buffer = Path.Buffer + i;
            Rest->Length = Rest->MaximumLength = (USHORT)((n - i) * sizeof(WCHAR));
            return STATUS_SUCCESS;
        }
        cur = obj;
        i++;
        if (i == n) /* trailing backslash names the directory */
        {
            *Object = cur;
            return STATUS_SUCCESS;
        }
    }
}

NTSTATUS ObpLookupObjectName(struct kmrig_runtime *rt, PCUNICODE_STRING Name, PVOID RootDirectory,
                             ULONG Attributes, PVOID *Object, PUNICODE_STRING Remaining)
{
    POBP_NAMESPACE ns = rt->ObNamespace;
    *Object = NULL;
    if (Remaining) {
        Remaining->Length = Remaining->MaximumLength = 0;
        Remaining->Buffer = NULL;
    }
    if (!Name || (Name->Length & 1))
        return STATUS_OBJECT_NAME_INVALID;
    BOOLEAN absolute = Name->Length && Name->Buffer[0] == L'\\';
    if (RootDirectory ? absolute : !absolute)
        return STATUS_OBJECT_PATH_SYNTAX_BAD;
    if (RootDirectory && ObpTypeOf(RootDirectory) != &ObpDirectoryType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    UNICODE_STRING path = *Name, rest, reparse;
    PWCH owned = NULL;
    POBP_DIRECTORY start = RootDirectory ? RootDirectory : ns->Root;
    NTSTATUS s;
    pthread_mutex_lock(&ns->Lock);
    for (int hops = 0;; hops++) {
        PVOID obj = NULL;
        s = ObpWalk(start, path, Attributes, &obj, &rest, &reparse);
        if (s == STATUS_REPARSE) {
            free(owned);
            owned = reparse.Buffer;
            path = reparse;
            start = ns->Root;
            if (hops == OBP_MAX_REPARSE || !path.Length || path.Buffer[0] != L'\\') {
                s = STATUS_OBJECT_PATH_NOT_FOUND;
                break;
            }
            continue;
        }
        if (NT_SUCCESS(s)) {
            if (!ObpTryReference(obj)) {
                s = STATUS_OBJECT_NAME_NOT_FOUND;
                break;
            }
            if (rest.Length && !Remaining) {
                ObfDereferenceObject(obj); /* the walk stopped in a non-directory */
                s = STATUS_OBJECT_PATH_NOT_FOUND;
                break;
            }
            if (rest.Length) {
                UNICODE_STRING copy;
                if (!NT_SUCCESS(ObpCopyString(&copy, &rest))) {
                    pthread_mutex_unlock(&ns->Lock);
                    free(owned);
                    ObfDereferenceObject(obj);
                    return STATUS_INSUFFICIENT_RESOURCES;
                }
                *Remaining = copy;
            }
            *Object = obj;
        }
        break;
    }
    pthread_mutex_unlock(&ns->Lock);
    free(owned);
    return s;
}

/* ---- insertion, removal ---- */

NTSTATUS ObpInsertObjectName(struct kmrig_runtime *rt, PVOID Object, PCUNICODE_STRING Name,
                             PVOID RootDirectory, ULONG Attributes, PVOID *Existing)
{
    POBP_NAMESPACE ns = rt->ObNamespace;
    if (Existing)
        *Existing = NULL;
    if (!Name || !Name->Length || (Name->Length & 1))
        return STATUS_OBJECT_NAME_INVALID;
    if (RootDirectory && Name->Buffer[0] == L'\\')
        return STATUS_OBJECT_PATH_SYNTAX_BAD; /* relative to a directory: no leading backslash */
    USHORT n = Name->Length / sizeof(WCHAR), last = n;
    while (last > 0 && Name->Buffer[last - 1] != L'\\')
        last--;
    if (last == n)
        return STATUS_OBJECT_NAME_INVALID; /* empty final component */
    UNICODE_STRING parentName = {(USHORT)(last * sizeof(WCHAR)), (USHORT)(last * sizeof(WCHAR)),
                                 Name->Buffer};
    UNICODE_STRING leaf = {(USHORT)((n - last) * sizeof(WCHAR)),
                           (USHORT)((n - last) * sizeof(WCHAR)), Name->Buffer + last};
    PVOID parent;
    NTSTATUS s;
    if (!RootDirectory && last <= 1) {
        if (last == 0)
            return STATUS_OBJECT_PATH_SYNTAX_BAD;
        parent = ns->Root;
        ObfReferenceObject(parent);
    } else if (RootDirectory && last == 0) {
        if (ObpTypeOf(RootDirectory) != &ObpDirectoryType)
            return STATUS_OBJECT_TYPE_MISMATCH;
        parent = RootDirectory;
        ObfReferenceObject(parent);
    } else {
        parentName.Length -= sizeof(WCHAR); /* without the separator */
        s = ObpLookupObjectName(rt, &parentName, RootDirectory, 0, &parent, NULL);
        if (s == STATUS_OBJECT_NAME_NOT_FOUND)
            s = STATUS_OBJECT_PATH_NOT_FOUND;
        if (!NT_SUCCESS(s))
            return s;
        if (ObpTypeOf(parent) != &ObpDirectoryType) {
            ObfDereferenceObject(parent);
            return STATUS_OBJECT_PATH_NOT_FOUND;
        }
    }
    POBP_NAME_ENTRY e = calloc(1, sizeof *e);
    if (!e || !NT_SUCCESS(ObpCopyString(&e->Name, &leaf))) {
        free(e);
        ObfDereferenceObject(parent);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    pthread_mutex_lock(&ns->Lock);
    POBP_NAME_ENTRY old = ObpFindEntry(parent, &leaf);
    if (old) {
        s = STATUS_OBJECT_NAME_COLLISION;
        if ((Attributes & OBJ_OPENIF) && Existing && ObpTypeOf(old->Object) == h->Type &&
            ObpTryReference(old->Object)) {
            *Existing = old->Object;
            s = STATUS_OBJECT_NAME_EXISTS;
        }
    } else if (h->Flags & OBP_FLAG_NAMED) {
        s = STATUS_OBJECT_NAME_COLLISION;
    } else {
        e->Object = Object;
        e->Parent = parent;
        InsertTailList(&((POBP_DIRECTORY)parent)->Entries, &e->DirLink);
        InsertTailList(&ns->All, &e->AllLink);
        h->Flags |= OBP_FLAG_NAMED;
        if (Attributes & OBJ_PERMANENT) {
            h->Flags |= OBP_FLAG_PERMANENT;
            ObfReferenceObject(Object);
        }
        e = NULL;
        s = STATUS_SUCCESS;
    }
    pthread_mutex_unlock(&ns->Lock);
    if (e)
        ObpFreeEntry(e);
    ObfDereferenceObject(parent);
    return s;
}

VOID ObpMakeTemporaryObject(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBP_NAMESPACE ns = h->Runtime->ObNamespace;
    BOOLEAN drop = FALSE;
    POBP_NAME_ENTRY gone = NULL;
    pthread_mutex_lock(&ns->Lock);
    if (h->Flags & OBP_FLAG_PERMANENT) {
        h->Flags &= ~OBP_FLAG_PERMANENT;
        drop = TRUE;
    }
    if ((h->Flags & OBP_FLAG_NAMED) && atomic_load(&h->HandleCount) == 0) {
        gone = ObpEntryOf(ns, Object);
        if (gone)
            ObpUnlinkEntry(gone);
    }
    pthread_mutex_unlock(&ns->Lock);
    if (gone)
        ObpFreeEntry(gone);
    if (drop)
        ObfDereferenceObject(Object);
}

/* ---- lifecycle ---- */

static pthread_once_t ObpTypesOnce = PTHREAD_ONCE_INIT;
static void ObpInitializeTypes(void)
{
    /* Named events (IoCreateNotificationEvent) lose their name when deleted. */
    if (!ObpEventType.DeleteProcedure)
        ObpEventType.DeleteProcedure = ObpDeleteNamedObject;
}

static NTSTATUS ObpMakeDirectory(struct kmrig_runtime *rt, PCWSTR Name)
{
    UNICODE_STRING n;
    RtlInitUnicodeString(&n, Name);
    PVOID d = ObpCreateDirectory(rt);
    if (!d)
        return STATUS_INSUFFICIENT_RESOURCES;
    NTSTATUS s = ObpInsertObjectName(rt, d, &n, NULL, OBJ_PERMANENT, NULL);
    ObfDereferenceObject(d);
    return s;
}

static NTSTATUS ObpMakeLink(struct kmrig_runtime *rt, PCWSTR Name, PCWSTR Target)
{
    UNICODE_STRING n, t;
    RtlInitUnicodeString(&n, Name);
    RtlInitUnicodeString(&t, Target);
    PVOID l;
    NTSTATUS s = ObpCreateSymbolicLink(rt, &t, &l);
    if (!NT_SUCCESS(s))
        return s;
    s = ObpInsertObjectName(rt, l, &n, NULL, OBJ_PERMANENT, NULL);
    ObfDereferenceObject(l);
    return s;
}

NTSTATUS ObpInitializeNamespace(struct kmrig_runtime *rt)
{
    pthread_once(&ObpTypesOnce, ObpInitializeTypes);
    POBP_NAMESPACE ns = calloc(1, sizeof *ns);
    if (!ns)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&ns->Lock, NULL);
    InitializeListHead(&ns->All);
    rt->ObNamespace = ns;
    ns->Root = ObpCreateDirectory(rt);
    NTSTATUS s = ns->Root ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    static const PCWSTR dirs[] = {L"\\Device",        L"\\Driver",   L"\\FileSystem",
                                  L"\\GLOBAL??",      L"\\ArcName",  L"\\BaseNamedObjects",
                                  L"\\KernelObjects", L"\\Callback", L"\\ObjectTypes"};
    for (size_t i = 0; NT_SUCCESS(s) && i < ARRAYSIZE(dirs); i++)
        s = ObpMakeDirectory(rt, dirs[i]);
    if (NT_SUCCESS(s))
        s = ObpMakeLink(rt, L"\\??", L"\\GLOBAL??");
    if (NT_SUCCESS(s))
        s = ObpMakeLink(rt, L"\\DosDevices", L"\\??");
    if (NT_SUCCESS(s))
        s = ObpMakeLink(rt, L"\\GLOBAL??\\Global", L"\\GLOBAL??");
    if (!NT_SUCCESS(s))
        ObpShutdownNamespace(rt);
    return s;
}

VOID ObpShutdownNamespace(struct kmrig_runtime *rt)
{
    POBP_NAMESPACE ns = rt->ObNamespace;
    if (!ns)
        return;
    /* Drop every name, deepest last-created first, then the root. */
    for (;;) {
        PVOID drop = NULL;
        POBP_NAME_ENTRY n = NULL;
        pthread_mutex_lock(&ns->Lock);
        if (!IsListEmpty(&ns->All)) {
            n = CONTAINING_RECORD(ns->All.Blink, OBP_NAME_ENTRY, AllLink);
            if (ObpUnlinkEntry(n))
                drop = n->Object;
        }
        pthread_mutex_unlock(&ns->Lock);
        if (!n)
            break;
        ObpFreeEntry(n);
        if (drop)
            ObfDereferenceObject(drop);
    }
    if (ns->Root)
        ObfDereferenceObject(ns->Root);
    rt->ObNamespace = NULL;
    pthread_mutex_destroy(&ns->Lock);
    free(ns);
}

/* ---- Zw routines ---- */

static NTSTATUS ObpReferenceRoot(HANDLE Root, PVOID *Object)
{
    *Object = NULL;
    if (!Root)
        return STATUS_SUCCESS;
    return ObReferenceObjectByHandle(Root, DIRECTORY_TRAVERSE, &ObpDirectoryType, KernelMode,
                                     Object, NULL);
}

NTSTATUS NTAPI ZwCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    if (!DirectoryHandle || !ObjectAttributes)
        return STATUS_INVALID_PARAMETER;
    PVOID root;
    NTSTATUS s = ObpReferenceRoot(ObjectAttributes->RootDirectory, &root);
    if (!NT_SUCCESS(s))
        return s;
    PVOID dir = ObpCreateDirectory(rt), existing = NULL;
    if (!dir) {
        if (root)
            ObfDereferenceObject(root);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (ObjectAttributes->ObjectName && ObjectAttributes->ObjectName->Length) {
        s = ObpInsertObjectName(rt, dir, ObjectAttributes->ObjectName, root,
                                ObjectAttributes->Attributes & (OBJ_PERMANENT | OBJ_OPENIF),
                                &existing);
        if (s == STATUS_OBJECT_NAME_EXISTS) {
            ObfDereferenceObject(dir);
            dir = existing;
        } else if (!NT_SUCCESS(s)) {
            ObfDereferenceObject(dir);
            dir = NULL;
        }
    }
    if (root)
        ObfDereferenceObject(root);
    if (!dir)
        return s;
    NTSTATUS h =
        ObpCreateHandle(rt, dir, DesiredAccess, ObjectAttributes->Attributes, DirectoryHandle);
    ObfDereferenceObject(dir);
    return NT_SUCCESS(h) ? s : h;
}

NTSTATUS NTAPI ZwMakeTemporaryObject(HANDLE Handle)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PVOID obj;
    NTSTATUS s = ObReferenceObjectByHandle(Handle, DELETE, NULL, KernelMode, &obj, NULL);
    if (!NT_SUCCESS(s))
        return s;
    ObpMakeTemporaryObject(obj);
    ObfDereferenceObject(obj);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwOpenSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiCurrentThread()->Runtime;
    if (!LinkHandle || !ObjectAttributes)
        return STATUS_INVALID_PARAMETER;
    PVOID root, obj;
    NTSTATUS s = ObpReferenceRoot(ObjectAttributes->RootDirectory, &root);
    if (!NT_SUCCESS(s))
        return s;
    s = ObpLookupObjectName(rt, ObjectAttributes->ObjectName, root,
                            ObjectAttributes->Attributes | OBJ_OPENLINK, &obj, NULL);
    if (root)
        ObfDereferenceObject(root);
    if (!NT_SUCCESS(s))
        return s;
    if (ObpTypeOf(obj) != &ObpSymbolicLinkType)
        s = STATUS_OBJECT_TYPE_MISMATCH;
    else
        s = ObpCreateHandle(rt, obj, DesiredAccess, ObjectAttributes->Attributes, LinkHandle);
    ObfDereferenceObject(obj);
    return s;
}

NTSTATUS NTAPI ZwQuerySymbolicLinkObject(HANDLE LinkHandle, PUNICODE_STRING LinkTarget,
                                         PULONG ReturnedLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    PVOID obj;
    NTSTATUS s = ObReferenceObjectByHandle(LinkHandle, SYMBOLIC_LINK_QUERY, &ObpSymbolicLinkType,
                                           KernelMode, &obj, NULL);
    if (!NT_SUCCESS(s))
        return s;
    POBP_SYMLINK l = obj;
    if (ReturnedLength)
        *ReturnedLength = l->Target.Length;
    if (LinkTarget->MaximumLength < l->Target.Length) {
        s = STATUS_BUFFER_TOO_SMALL;
    } else {
        memcpy(LinkTarget->Buffer, l->Target.Buffer, l->Target.Length);
        LinkTarget->Length = l->Target.Length;
        if (LinkTarget->MaximumLength >= l->Target.Length + sizeof(WCHAR))
            LinkTarget->Buffer[l->Target.Length / sizeof(WCHAR)] = 0;
    }
    ObfDereferenceObject(obj);
    return s;
}
