/*
 * The PnP routines drivers call on their devices: IoGetDeviceProperty, IoOpenDeviceRegistryKey,
 * IoInvalidateDeviceRelations, IoInvalidateDeviceState, IoRequestDeviceEject,
 * IoReportDetectedDevice. The three "invalidate/request" routines queue work for the PnP worker
 * and return at once, as on NT.
 */
#include "pnp.h"
#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PDEVICE_NODE IopPnpRequirePdo(PDEVICE_OBJECT DeviceObject)
{
    PDEVICE_NODE n = IopPnpNodeOf(DeviceObject);
    if (!n)
        KeBugCheckEx(PNP_DETECTED_FATAL_ERROR, IOP_PNP_FATAL_INVALID_PDO, (ULONG_PTR)DeviceObject,
                     0, 0);
    return n;
}

/* ---- IoGetDeviceProperty ---- */

static NTSTATUS IopPnpReturn(const VOID *Data, ULONG Bytes, ULONG BufferLength, PVOID Buffer,
                             PULONG ResultLength)
{
    *ResultLength = Bytes;
    if (BufferLength < Bytes || (!Buffer && Bytes))
        return STATUS_BUFFER_TOO_SMALL;
    if (Bytes)
        memcpy(Buffer, Data, Bytes);
    return STATUS_SUCCESS;
}

static NTSTATUS IopPnpReturnString(PCWSTR s, ULONG BufferLength, PVOID Buffer, PULONG Result)
{
    if (!s)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    return IopPnpReturn(s, (ULONG)((IopPnpWcslen(s) + 1) * sizeof(WCHAR)), BufferLength, Buffer,
                        Result);
}

NTSTATUS NTAPI IoGetDeviceProperty(PDEVICE_OBJECT DeviceObject,
                                   DEVICE_REGISTRY_PROPERTY DeviceProperty, ULONG BufferLength,
                                   PVOID PropertyBuffer, PULONG ResultLength)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    *ResultLength = 0;
    PDEVICE_NODE n = IopPnpNodeOf(DeviceObject);
    if (!n || !n->InstancePath)
        return STATUS_INVALID_DEVICE_REQUEST;
    static const GUID system = {
        0x4d36e97d, 0xe325, 0x11ce, {0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18}};
    WCHAR buf[64];
    ULONG u;
    NTSTATUS s;
    switch (DeviceProperty) {
    case DevicePropertyDeviceDescription:
    case DevicePropertyFriendlyName:
        return IopPnpReturnString(n->Description, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyHardwareID:
        if (!n->HardwareIds)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        return IopPnpReturn(n->HardwareIds, n->HardwareIdsBytes, BufferLength, PropertyBuffer,
                            ResultLength);
    case DevicePropertyCompatibleIDs:
        if (!n->CompatibleIds)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        return IopPnpReturn(n->CompatibleIds, n->CompatibleIdsBytes, BufferLength, PropertyBuffer,
                            ResultLength);
    case DevicePropertyBootConfiguration:
        if (!n->BootConfig)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        return IopPnpReturn(n->BootConfig, IopPnpResourceListSize(n->BootConfig), BufferLength,
                            PropertyBuffer, ResultLength);
    case DevicePropertyBootConfigurationTranslated:
        if (!n->BootConfigTranslated)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        return IopPnpReturn(n->BootConfigTranslated,
                            IopPnpResourceListSize(n->BootConfigTranslated), BufferLength,
                            PropertyBuffer, ResultLength);
    case DevicePropertyClassName:
        return IopPnpReturnString(L"System", BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyClassGuid:
        IopPnpGuidToString(&system, buf);
        buf[38] = 0;
        return IopPnpReturnString(buf, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyDriverKeyName: {
        if (!n->Service)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        IopPnpGuidToString(&system, buf);
        char t[8];
        snprintf(t, sizeof t, "\\%04u", (unsigned)(n->DriverKeyNumber % 10000));
        for (int i = 0; i < 6; i++)
            buf[38 + i] = (UCHAR)t[i];
        return IopPnpReturnString(buf, BufferLength, PropertyBuffer, ResultLength);
    }
    case DevicePropertyManufacturer:
        return IopPnpReturnString(L"kmrig", BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyLocationInformation:
        return STATUS_OBJECT_NAME_NOT_FOUND;
    case DevicePropertyPhysicalDeviceObjectName:
        if (!n->PdoName[0])
            return STATUS_OBJECT_NAME_NOT_FOUND;
        return IopPnpReturnString(n->PdoName, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyBusTypeGuid:
        return STATUS_OBJECT_NAME_NOT_FOUND;
    case DevicePropertyLegacyBusType:
        u = (ULONG)n->LegacyBusType;
        return IopPnpReturn(&u, sizeof u, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyBusNumber:
        u = n->BusNumber;
        return IopPnpReturn(&u, sizeof u, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyEnumeratorName:
        return IopPnpReturnString(n->Enumerator, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyAddress:
        if (n->Address == 0xFFFFFFFF)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        u = n->Address;
        return IopPnpReturn(&u, sizeof u, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyUINumber:
        return STATUS_OBJECT_NAME_NOT_FOUND;
    case DevicePropertyInstallState:
        u = n->Service ? InstallStateInstalled : InstallStateFailedInstall;
        return IopPnpReturn(&u, sizeof u, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyRemovalPolicy:
        u = n->RootEnumerated ? RemovalPolicyExpectNoRemoval : RemovalPolicyExpectSurpriseRemoval;
        return IopPnpReturn(&u, sizeof u, BufferLength, PropertyBuffer, ResultLength);
    case DevicePropertyResourceRequirements:
        if (!n->Requirements)
            return STATUS_OBJECT_NAME_NOT_FOUND;
        return IopPnpReturn(n->Requirements, n->Requirements->ListSize, BufferLength,
                            PropertyBuffer, ResultLength);
    case DevicePropertyAllocatedResources:
        pthread_mutex_lock(&IopPnp(rt)->Lock);
        s = n->Raw ? IopPnpReturn(n->Raw, IopPnpResourceListSize(n->Raw), BufferLength,
                                  PropertyBuffer, ResultLength)
                   : STATUS_OBJECT_NAME_NOT_FOUND;
        pthread_mutex_unlock(&IopPnp(rt)->Lock);
        return s;
    case DevicePropertyContainerID:
        return STATUS_OBJECT_NAME_NOT_FOUND;
    default:
        return STATUS_INVALID_PARAMETER_2;
    }
}

/* ---- IoOpenDeviceRegistryKey ---- */

NTSTATUS NTAPI IoOpenDeviceRegistryKey(PDEVICE_OBJECT DeviceObject, ULONG DevInstKeyType,
                                       ACCESS_MASK DesiredAccess, PHANDLE DeviceRegKey)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    *DeviceRegKey = NULL;
    PDEVICE_NODE n = IopPnpNodeOf(DeviceObject);
    if (!n || !n->InstancePath)
        return STATUS_INVALID_DEVICE_REQUEST;
    ULONG kind = DevInstKeyType & ~PLUGPLAY_REGKEY_CURRENT_HWPROFILE;
    if (kind != PLUGPLAY_REGKEY_DEVICE && kind != PLUGPLAY_REGKEY_DRIVER)
        return STATUS_INVALID_PARAMETER;
    BOOLEAN hw = (DevInstKeyType & PLUGPLAY_REGKEY_CURRENT_HWPROFILE) != 0;
    static const WCHAR machine[] = L"\\Registry\\Machine\\System\\CurrentControlSet\\";
    static const WCHAR profile[] =
        L"\\Registry\\Machine\\System\\CurrentControlSet\\Hardware Profiles\\Current\\System\\"
        L"CurrentControlSet\\";
    PCWSTR base = hw ? profile : machine;
    size_t bl = IopPnpWcslen(base), il = IopPnpWcslen(n->InstancePath);
    PWCHAR p = malloc((bl + il + 80) * sizeof(WCHAR));
    if (!p)
        return STATUS_INSUFFICIENT_RESOURCES;
    memcpy(p, base, bl * sizeof(WCHAR));
    size_t at = bl;
    if (kind == PLUGPLAY_REGKEY_DEVICE) {
        memcpy(p + at, L"Enum\\", 5 * sizeof(WCHAR));
        at += 5;
        memcpy(p + at, n->InstancePath, il * sizeof(WCHAR));
        at += il;
        memcpy(p + at, L"\\Device Parameters", 19 * sizeof(WCHAR));
    } else {
        if (!n->Service) {
            free(p);
            return STATUS_INVALID_DEVICE_REQUEST; /* no driver: no driver key */
        }
        char t[80];
        snprintf(t, sizeof t, "Control\\Class\\{4d36e97d-e325-11ce-bfc1-08002be10318}\\%04u",
                 (unsigned)(n->DriverKeyNumber % 10000));
        for (size_t i = 0;; i++) {
            p[at + i] = (UCHAR)t[i];
            if (!t[i])
                break;
        }
    }
    NTSTATUS s =
        CmpCreateKeyPathW(p, DesiredAccess, hw ? REG_OPTION_VOLATILE : 0, DeviceRegKey, NULL);
    free(p);
    return s;
}

/* ---- IoInvalidateDeviceRelations / State, IoRequestDeviceEject ---- */

static VOID IopPnpRelationsWork(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IopPnpAcquireEngine(rt);
    PDEVICE_NODE n = IopPnpNodeOf(w->Pdo);
    if (n && n->State == DevnodeStarted && !IopPnp(rt)->ShuttingDown) {
        IopPnpReenumerate(rt, n);
    }
    IopPnpReleaseEngine(rt);
}

VOID NTAPI IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    IopPnpRequirePdo(DeviceObject);
    if (Type != BusRelations) {
        /* only bus relations change what the PnP manager does here */
        KmLog(rt, KMRIG_LOG_DEBUG, "pnp: IoInvalidateDeviceRelations type %d ignored", (int)Type);
        return;
    }
    IopPnpQueue(rt, IopPnpRelationsWork, DeviceObject, 0, NULL);
}

static VOID IopPnpStateWork(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IopPnpAcquireEngine(rt);
    PDEVICE_NODE n = IopPnpNodeOf(w->Pdo);
    if (n && n->State == DevnodeStarted && !IopPnp(rt)->ShuttingDown) {
        IopPnpQueryState(rt, n);
    }
    IopPnpReleaseEngine(rt);
}

VOID NTAPI IoInvalidateDeviceState(PDEVICE_OBJECT PhysicalDeviceObject)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    IopPnpRequirePdo(PhysicalDeviceObject);
    IopPnpQueue(rt, IopPnpStateWork, PhysicalDeviceObject, 0, NULL);
}

static VOID IopPnpEjectWork(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IopPnpAcquireEngine(rt);
    PDEVICE_NODE n = IopPnpNodeOf(w->Pdo);
    if (n && n->State != DevnodeRemoved && !IopPnp(rt)->ShuttingDown) {
        IopPnpEject(rt, n);
    }
    IopPnpReleaseEngine(rt);
}

VOID NTAPI IoRequestDeviceEject(PDEVICE_OBJECT PhysicalDeviceObject)
{
    VF_IRQL_MAX(DISPATCH_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    IopPnpRequirePdo(PhysicalDeviceObject);
    IopPnpQueue(rt, IopPnpEjectWork, PhysicalDeviceObject, 0, NULL);
}

/* ---- IoReportDetectedDevice ---- */

static VOID IopPnpStartDetectedWork(struct kmrig_runtime *rt, PIOP_PNP_WORK w)
{
    IopPnpAcquireEngine(rt);
    PDEVICE_NODE n = IopPnpNodeOf(w->Pdo);
    if (n && n->State == DevnodeDriversAdded && !IopPnp(rt)->ShuttingDown)
        IopPnpStartNode(rt, n);
    IopPnpReleaseEngine(rt);
}

NTSTATUS NTAPI IoReportDetectedDevice(PDRIVER_OBJECT DriverObject, INTERFACE_TYPE LegacyBusType,
                                      ULONG BusNumber, ULONG SlotNumber,
                                      PCM_RESOURCE_LIST ResourceList,
                                      PIO_RESOURCE_REQUIREMENTS_LIST ResourceRequirements,
                                      BOOLEAN ResourceAssigned, PDEVICE_OBJECT *DeviceObject)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = IopRuntime();
    PIOP_PNP_STATE pnp = IopPnp(rt);
    if (!DriverObject || !DeviceObject)
        return STATUS_INVALID_PARAMETER;
    if (*DeviceObject) {
        /* a PDO from an earlier report: reused, as NT does on later boots */
        PDEVICE_NODE n = IopPnpNodeOf(*DeviceObject);
        return n && n->Detected ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
    }
    if (ResourceList && !ResourceAssigned) {
        pthread_mutex_lock(&pnp->Lock);
        BOOLEAN clash = IopPnpConflicts(rt, ResourceList, NULL, DriverObject);
        pthread_mutex_unlock(&pnp->Lock);
        if (clash)
            return STATUS_CONFLICTING_ADDRESSES;
    }
    /* Root\LEGACY_<SERVICE>\<n> */
    PUNICODE_STRING svc = &DriverObject->DriverExtension->ServiceKeyName;
    size_t sl = svc->Length / sizeof(WCHAR);
    PWCHAR dev = calloc(sl + 16, sizeof(WCHAR)), hw = calloc(sl + 16, sizeof(WCHAR));
    if (!dev || !hw) {
        free(dev);
        free(hw);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    memcpy(dev, L"ROOT\\LEGACY_", 12 * sizeof(WCHAR));
    for (size_t i = 0; i < sl; i++)
        dev[12 + i] = RtlUpcaseUnicodeChar(svc->Buffer[i]);
    memcpy(hw, L"DETECTED\\", 9 * sizeof(WCHAR));
    memcpy(hw + 9, svc->Buffer, sl * sizeof(WCHAR));
    ULONG same = 0;
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
        PDEVICE_NODE o = CONTAINING_RECORD(e, DEVICE_NODE, Link);
        if (o->Detected && IopPnpWideEqualNoCase(o->DeviceId, dev))
            same++;
    }
    pthread_mutex_unlock(&pnp->Lock);
    WCHAR inst[8];
    char t[8];
    snprintf(t, sizeof t, "%04u", (unsigned)(same % 10000));
    for (int i = 0; i < 5; i++)
        inst[i] = (UCHAR)t[i];
    IopPnpAcquireEngine(rt);
    PDEVICE_NODE n;
    NTSTATUS s = IopPnpCreateRootNode(rt, NULL, dev, inst, &n);
    if (!NT_SUCCESS(s)) {
        IopPnpReleaseEngine(rt);
        free(dev);
        free(hw);
        return s;
    }
    n->Detected = TRUE;
    n->LegacyBusType = LegacyBusType;
    n->BusNumber = BusNumber;
    n->Address = SlotNumber;
    ULONG hb = (ULONG)((IopPnpWcslen(hw) + 2) * sizeof(WCHAR));
    n->HardwareIds = calloc(1, hb);
    if (n->HardwareIds)
        memcpy(n->HardwareIds, hw, hb - 2 * sizeof(WCHAR));
    n->HardwareIdsBytes = hb;
    n->Description = IopPnpDupWide(hw);
    n->Service = calloc(sl + 1, sizeof(WCHAR));
    if (n->Service)
        memcpy(n->Service, svc->Buffer, sl * sizeof(WCHAR));
    free(hw);
    free(dev);
    if (ResourceList) {
        ULONG size = IopPnpResourceListSize(ResourceList);
        n->BootConfig = malloc(size);
        if (n->BootConfig)
            memcpy(n->BootConfig, ResourceList, size);
        n->BootConfigTranslated = n->BootConfig ? IopPnpTranslate(n->BootConfig) : NULL;
    }
    if (ResourceRequirements) {
        n->Requirements = malloc(ResourceRequirements->ListSize);
        if (n->Requirements)
            memcpy(n->Requirements, ResourceRequirements, ResourceRequirements->ListSize);
    } else if (n->BootConfig) {
        n->Requirements = IopPnpRawToRequirements(n->BootConfig);
    }
    s = IopPnpIdentify(rt, n);
    if (!NT_SUCCESS(s)) {
        IopPnpReleaseEngine(rt);
        return s;
    }
    /* The driver attaches its own FDO to this PDO; the PnP manager starts the stack afterwards
     * (from its worker, once the caller has returned). */
    n->State = DevnodeDriversAdded;
    IopPnpReleaseEngine(rt);
    IopPnpQueue(rt, IopPnpStartDetectedWork, n->Pdo, 0, NULL);
    *DeviceObject = n->Pdo;
    return STATUS_SUCCESS;
}
