/*
 * pnp.h - the PnP manager's internals (host/io/pnp*.c): device nodes, the root bus, the driver
 * registry the harness fills, device interfaces, PnP notifications, the PnP worker.
 *
 * Locking. State changes of device nodes (start, stop, remove, enumeration) run one at a time
 * under the engine lock, a synchronization KEVENT (it is held across calls into drivers, which
 * may wait). The lists (nodes, interfaces, notifications, registrations, claims) are guarded by
 * a host mutex (IOP_PNP_STATE.Lock) held for a few instructions, never across driver code.
 * Asynchronous work (IoInvalidateDeviceRelations/State, IoRequestDeviceEject, the start of a
 * detected device, interface and custom notifications) goes to one queue that a system worker
 * drains in order, at PASSIVE_LEVEL, as NT's PnP worker does.
 */
#ifndef KMRIG_INTERNAL_PNP_H
#define KMRIG_INTERNAL_PNP_H

#include "io.h"
#include <kmrig/rig.h>

#define IOP_TAG_PNP ((ULONG)' ' << 24 | (ULONG)'p' << 16 | (ULONG)'n' << 8 | (ULONG)'P')

/* Parameter 1 of DRIVER_VERIFIER_IOMANAGER_VIOLATION (0xC9) for the PnP rules. */
#define IOP_VF_PNP_WRONG_STATE                                                                     \
    0x4B4D0110u /* a PnP IRP in a state that forbids it: p2 = PDO,                                 \
                   p3 = state, p4 = minor function */
#define IOP_VF_PNP_REMOVE_FAILED                                                                   \
    0x4B4D0111u /* REMOVE / SURPRISE_REMOVAL failed: p2 = PDO,                                     \
                   p3 = status, p4 = minor */
#define IOP_VF_PNP_STACK_LEFT                                                                      \
    0x4B4D0112u /* after REMOVE a device is still attached to the PDO:                             \
                   p2 = PDO, p3 = the device above it */
#define IOP_VF_PNP_DRIVER_SENT                                                                     \
    0x4B4D0114u /* a driver sent a PnP IRP only the PnP manager                                    \
                   sends: p2 = device, p3 = IRP, p4 = minor */
#define IOP_VF_PNP_BAD_RELATIONS                                                                   \
    0x4B4D0113u /* BusRelations names a non-device: p2 = PDO of                                    \
                   the bus, p3 = the pointer */

/* PNP_DETECTED_FATAL_ERROR (0xCA) parameter 1, as NT: a PDO was required. p2 = the object. */
#define IOP_PNP_FATAL_INVALID_PDO 0x2

typedef enum _IOP_DEVNODE_STATE {
    DevnodeEnumerated = KMRIG_DEVICE_ENUMERATED,
    DevnodeDriversAdded = KMRIG_DEVICE_DRIVERS_ADDED,
    DevnodeStarted = KMRIG_DEVICE_STARTED,
    DevnodeStopped = KMRIG_DEVICE_STOPPED,
    DevnodeFailed = KMRIG_DEVICE_FAILED,
    DevnodeSurpriseRemoved = KMRIG_DEVICE_SURPRISE_REMOVED,
    DevnodeRemoved = KMRIG_DEVICE_REMOVED,
} IOP_DEVNODE_STATE;

typedef struct _DEVICE_NODE {
    LIST_ENTRY Link; /* IOP_PNP_STATE.Nodes, in enumeration order */
    struct _DEVICE_NODE *Parent;
    PDEVICE_OBJECT Pdo; /* referenced while the node lives */
    IOP_DEVNODE_STATE State;
    NTSTATUS Status;        /* why it failed */
    BOOLEAN QueryRemoved;   /* between QUERY_REMOVE and REMOVE/CANCEL */
    BOOLEAN Present;        /* its bus still reports it */
    BOOLEAN RootEnumerated; /* the PDO is the PnP manager's (root bus) */
    BOOLEAN Detected;       /* IoReportDetectedDevice */
    BOOLEAN Deleted;        /* the PDO is gone (REMOVE of a vanished device) */
    /* Deferred removal (NT: after SURPRISE_REMOVAL, REMOVE_DEVICE waits for the last file object
     * open on the stack). RemovePending is read by any thread closing a file: written and read
     * under IOP_PNP_STATE.Lock. The others are the engine's (engine lock held). */
    BOOLEAN RemovePending;   /* REMOVE_DEVICE waits for open files here or for a child */
    BOOLEAN DropWhenRemoved; /* a vanished bus child: forgotten after its REMOVE */
    BOOLEAN HasFinalState;   /* after the REMOVE the node is FinalState/FinalStatus, not Removed */
    IOP_DEVNODE_STATE FinalState;
    NTSTATUS FinalStatus;
    ULONG DriverKeyNumber;        /* Control\Class\{guid}\NNNN */
    PNP_DEVICE_STATE DeviceState; /* last IRP_MN_QUERY_PNP_DEVICE_STATE answer */
    PWCHAR DeviceId;              /* "KMRIG\SGDMA" */
    PWCHAR InstanceId;            /* "0" */
    PWCHAR InstancePath;          /* "KMRIG\SGDMA\0" */
    PWCHAR Enumerator;            /* "KMRIG" */
    PWCHAR HardwareIds;           /* REG_MULTI_SZ */
    ULONG HardwareIdsBytes;
    PWCHAR CompatibleIds; /* REG_MULTI_SZ (may be NULL) */
    ULONG CompatibleIdsBytes;
    PWCHAR Description;
    PWCHAR Service;    /* the function driver's service, or NULL */
    WCHAR PdoName[40]; /* "\Device\KmPnp0000002a"; empty if unknown */
    INTERFACE_TYPE LegacyBusType;
    ULONG BusNumber;
    ULONG Address;
    struct kmrig_device_desc Desc; /* root-bus devices: their description (strings owned) */
    BOOLEAN HasDesc;
    PCM_RESOURCE_LIST BootConfig; /* root-bus / detected devices: what the bus reports */
    PCM_RESOURCE_LIST BootConfigTranslated;
    PIO_RESOURCE_REQUIREMENTS_LIST Requirements; /* after FILTER_RESOURCE_REQUIREMENTS */
    PCM_RESOURCE_LIST Raw;                       /* AllocatedResources of the last start */
    PCM_RESOURCE_LIST Translated;                /* AllocatedResourcesTranslated */
    LIST_ENTRY Interfaces;                       /* IOP_DEVICE_INTERFACE.NodeLink */
} DEVICE_NODE, *PDEVICE_NODE;

/* One IoRegisterDeviceInterface instance. */
typedef struct _IOP_DEVICE_INTERFACE {
    LIST_ENTRY Link;     /* IOP_PNP_STATE.Interfaces */
    LIST_ENTRY NodeLink; /* DEVICE_NODE.Interfaces */
    PDEVICE_NODE Node;
    GUID Class;
    UNICODE_STRING SymbolicLink; /* \??\KMRIG#SGDMA#0#{guid}[\ref] */
    UNICODE_STRING LinkObject;   /* \??\KMRIG#SGDMA#0#{guid}: the symbolic link object */
    UNICODE_STRING Reference;    /* "" or "ref" */
    PWCHAR KeyPath;              /* ...\DeviceClasses\{guid}\##?#KMRIG#SGDMA#0#{guid}\#ref */
    BOOLEAN Enabled;
} IOP_DEVICE_INTERFACE, *PIOP_DEVICE_INTERFACE;

/* An IRP the PnP manager has in flight (IOP_PNP_STATE.Sent). */
typedef struct _IOP_PNP_SENT {
    LIST_ENTRY Link;
    PIRP Irp;
} IOP_PNP_SENT, *PIOP_PNP_SENT;

/* One driver registered by the harness for an ID. */
typedef struct _IOP_PNP_REGISTRATION {
    LIST_ENTRY Link;
    WCHAR Id[128];
    WCHAR Service[64];
    PDRIVER_INITIALIZE Entry;
    enum kmrig_driver_role Role;
} IOP_PNP_REGISTRATION, *PIOP_PNP_REGISTRATION;

/* A loaded service. */
typedef struct _IOP_PNP_SERVICE {
    LIST_ENTRY Link;
    WCHAR Name[64];
    PDRIVER_OBJECT Driver; /* referenced */
    NTSTATUS LoadStatus;   /* DriverEntry's, when it failed */
} IOP_PNP_SERVICE, *PIOP_PNP_SERVICE;

typedef struct _IOP_PNP_STATE {
    pthread_mutex_t Lock; /* the lists below */
    KEVENT EngineLock;    /* synchronization event: signalled = free */
    _Atomic(PKTHREAD)
        EngineOwner;   /* the thread holding it (read by others to see it is not them) */
    ULONG EngineDepth; /* its owner's recursion */
    LIST_ENTRY Nodes;
    ULONG NodeCount;
    ULONG NextDriverKey;
    ULONG NextPdoNumber;
    PDRIVER_OBJECT RootDriver; /* \Driver\PnpManager: owns root-enumerated PDOs */
    BOOLEAN Started;           /* the root bus was enumerated */
    BOOLEAN ShuttingDown;
    BOOLEAN RemovingAll; /* IopPnpRemoveAll runs: a REMOVE with files open reports them */
    LIST_ENTRY Registrations;
    LIST_ENTRY Services;
    LIST_ENTRY Interfaces;
    LIST_ENTRY Notifications;
    LIST_ENTRY Claims; /* IoReportResourceForDetection */
    LIST_ENTRY Sent;   /* IRPs the PnP manager has sent and not yet seen complete */
    /* the worker */
    LIST_ENTRY Work;
    BOOLEAN WorkerQueued;
    KEVENT Idle; /* notification: signalled when the queue is empty and the worker is done */
    WORK_QUEUE_ITEM WorkItem;
} IOP_PNP_STATE, *PIOP_PNP_STATE;

/* ---- host/io/pnp.c: the engine ---- */
NTSTATUS IopPnpInitialize(struct kmrig_runtime *rt);
/* Removes every device and forgets the registrations; drivers are unloaded by IopShutdown. */
VOID IopPnpShutdown(struct kmrig_runtime *rt);
VOID IopPnpFreeState(struct kmrig_runtime *rt);         /* after every driver is unloaded */
PDEVICE_NODE IopPnpNodeOf(PDEVICE_OBJECT DeviceObject); /* the PDO's node, or NULL */
NTSTATUS IopPnpRegisterDriver(struct kmrig_runtime *rt, PCWSTR Id, PCWSTR Service,
                              PDRIVER_INITIALIZE Entry, enum kmrig_driver_role Role);
/* Enumerates the root bus from these descriptions (copied). */
NTSTATUS IopPnpStartRoot(struct kmrig_runtime *rt, const struct kmrig_device_desc *Descs,
                         size_t Count);
/* Removes Node and its subtree, children first. Orderly (Surprise FALSE): query-remove, then
 * REMOVE_DEVICE; STATUS_INVALID_DEVICE_STATE if Node was removed or waits for its handles,
 * STATUS_PLUGPLAY_QUERY_VETOED on a veto (or when a descendant waits for its handles). Surprise:
 * SURPRISE_REMOVAL to the started stacks, REMOVE_COMPLETE notifications, then REMOVE_DEVICE to
 * each stack with no file open (and no child waiting); the others wait (RemovePending) until
 * their last file closes. Nodes may be forgotten (freed) on return. Engine lock held. */
NTSTATUS IopPnpRemoveDevice(struct kmrig_runtime *rt, PDEVICE_NODE Node, BOOLEAN Surprise);
/* Sends the REMOVE_DEVICE that waiting nodes are owed: to each with no file open on its stack
 * and no waiting child, children first; Force (shutdown): to every one of them. Engine lock
 * held. */
VOID IopPnpCompletePendingRemoves(struct kmrig_runtime *rt, BOOLEAN Force);
/* The I/O manager's hook: the last file object open on DeviceObject was closed (its
 * ReferenceCount reached zero after IRP_MJ_CLOSE). If its stack waits for that, the
 * REMOVE_DEVICE is queued for the PnP worker. Any thread, IRQL <= DISPATCH_LEVEL. */
VOID IopPnpDeviceDereferenced(PDEVICE_OBJECT DeviceObject);
NTSTATUS IopPnpRemoveAll(struct kmrig_runtime *rt);
/* The target's link dropped (the HAL's work item, PASSIVE_LEVEL): every present device of the
 * root bus is surprise-removed, as when a bus reports its children missing. Takes the engine
 * lock. */
VOID IopPnpSurpriseRemoveRoot(struct kmrig_runtime *rt);
VOID IopPnpUnloadDrivers(struct kmrig_runtime *rt);
VOID IopPnpSettle(struct kmrig_runtime *rt);
/* Starts a node that has its drivers (IoReportDetectedDevice). Engine lock held. */
VOID IopPnpStartNode(struct kmrig_runtime *rt, PDEVICE_NODE Node);
/* A node for a PDO the PnP manager creates on the root bus. Engine lock held. */
NTSTATUS IopPnpCreateRootNode(struct kmrig_runtime *rt, const struct kmrig_device_desc *Desc,
                              PCWSTR DeviceId, PCWSTR InstanceId, PDEVICE_NODE *Out);
/* Engine lock held for these: */
NTSTATUS IopPnpIdentify(struct kmrig_runtime *rt, PDEVICE_NODE Node); /* the enumeration queries */
VOID IopPnpReenumerate(struct kmrig_runtime *rt, PDEVICE_NODE Node);  /* BusRelations again */
VOID IopPnpQueryState(struct kmrig_runtime *rt, PDEVICE_NODE Node);   /* and act on the answer */
NTSTATUS IopPnpEject(struct kmrig_runtime *rt, PDEVICE_NODE Node);
VOID IopPnpMarkGone(struct kmrig_runtime *rt, PDEVICE_NODE Node); /* it and its subtree absent */
VOID IopPnpAcquireEngine(struct kmrig_runtime *rt);
VOID IopPnpReleaseEngine(struct kmrig_runtime *rt);

/* The worker queue. */
typedef struct _IOP_PNP_WORK {
    LIST_ENTRY Link;
    VOID (*Routine)(struct kmrig_runtime *rt, struct _IOP_PNP_WORK *Work);
    PDEVICE_OBJECT Pdo; /* referenced, or NULL */
    ULONG Argument;
    PVOID Data; /* freed with free() after the routine */
} IOP_PNP_WORK, *PIOP_PNP_WORK;
/* Queues routine(work) for the PnP worker; Pdo is referenced until it ran. FALSE: no memory. */
BOOLEAN IopPnpQueue(struct kmrig_runtime *rt,
                    VOID (*Routine)(struct kmrig_runtime *, PIOP_PNP_WORK), PDEVICE_OBJECT Pdo,
                    ULONG Argument, PVOID Data);

/* ---- host/io/pnpres.c: resources ---- */
/* Builds the CM_RESOURCE_LIST (raw, as the bus reports it) of a description. malloc'd. */
PCM_RESOURCE_LIST IopPnpDescToRaw(const struct kmrig_device_desc *Desc);
/* The requirements that a raw list fixes (each resource its own, no alternatives). malloc'd. */
PIO_RESOURCE_REQUIREMENTS_LIST IopPnpRawToRequirements(PCM_RESOURCE_LIST Raw);
/* Assigns raw resources from requirements (the first alternative list; each descriptor's
 * minimum), checking conflicts against every other node's resources and the detection claims:
 * STATUS_CONFLICTING_ADDRESSES. *Raw and *Translated malloc'd. */
NTSTATUS IopPnpAssignResources(struct kmrig_runtime *rt, PDEVICE_NODE Node,
                               PIO_RESOURCE_REQUIREMENTS_LIST Req, PCM_RESOURCE_LIST *Raw,
                               PCM_RESOURCE_LIST *Translated);
/* The translated list of a raw one (interrupts through HalGetInterruptVector). malloc'd. */
PCM_RESOURCE_LIST IopPnpTranslate(PCM_RESOURCE_LIST Raw);
ULONG IopPnpResourceListSize(PCM_RESOURCE_LIST List); /* 0 for NULL */
ULONG IopPnpRequirementsSize(PIO_RESOURCE_REQUIREMENTS_LIST Req);
/* Does List conflict with what nodes other than Except (and claims other than ExceptClaim) hold?
 * Lock held by the caller. */
BOOLEAN IopPnpConflicts(struct kmrig_runtime *rt, PCM_RESOURCE_LIST List, PDEVICE_NODE Except,
                        PVOID ExceptClaim);

/* ---- host/io/pnpif.c: interfaces and notifications ---- */
VOID IopPnpFreeClaims(struct kmrig_runtime *rt, PVOID Owner); /* NULL: every claim */
VOID IopPnpDisableInterfaces(struct kmrig_runtime *rt, PDEVICE_NODE Node);
VOID IopPnpFreeInterfaces(struct kmrig_runtime *rt, PDEVICE_NODE Node);
/* Target-device notifications for Node (GUID_TARGET_DEVICE_*), called synchronously on the
 * calling thread. For QUERY_REMOVE the first failure is returned (the callbacks already told get
 * REMOVE_CANCELLED). */
NTSTATUS IopPnpNotifyTarget(struct kmrig_runtime *rt, PDEVICE_NODE Node, const GUID *Event);
VOID IopPnpFreeNotifications(struct kmrig_runtime *rt);
NTSTATUS IopPnpHardwareProfileChange(struct kmrig_runtime *rt);

/* ---- helpers shared by the pnp files ---- */
PWCHAR IopPnpDupAscii(const char *s); /* malloc'd wide copy, NULL for NULL */
PWCHAR IopPnpDupWide(PCWSTR s);
size_t IopPnpWcslen(PCWSTR s);
BOOLEAN IopPnpWideEqualNoCase(PCWSTR a, PCWSTR b);
/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" into Buffer (39 WCHARs). */
VOID IopPnpGuidToString(const GUID *Guid, PWCHAR Buffer);

static inline PIOP_PNP_STATE IopPnp(struct kmrig_runtime *rt)
{
    return IopState(rt)->Pnp;
}

#endif
