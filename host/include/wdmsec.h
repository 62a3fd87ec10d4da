/*
 * wdmsec.h - IoCreateDeviceSecure and the SDDL strings drivers pass to it.
 *
 * IoCreateDeviceSecure (WdmlibIoCreateDeviceSecure) creates a device object as IoCreateDevice
 * does and gives it the security descriptor an SDDL string describes, in the subset the WDK
 * documents for device objects ("SDDL for Device Objects"): "D:P" followed by "(A;;Access;;;SID)"
 * ACEs, Access as "0xHEX" or two-letter codes (GA GR GW GX RC SD WD WO), SID as a two-letter code
 * (SY LS NS BA BU BG AU AN WD RC IU NU SU) or "S-1-...". The descriptor's owner and group are
 * LocalSystem (S-1-5-18); the DACL is protected. A string outside that subset is
 * STATUS_INVALID_PARAMETER. DeviceClassGuid (optional) is kept for the device
 * (DEVOBJ_EXTENSION.DeviceClassGuid) and names the class key whose Properties values override the
 * arguments, as on Windows: ...\Control\Class\{guid}\Properties Security (REG_BINARY,
 * self-relative descriptor), DeviceType, DeviceCharacteristics, Exclusive (REG_DWORD).
 * PASSIVE_LEVEL. The device's descriptor is what ObGetObjectSecurity returns for it; the I/O
 * manager does not check it when a device is opened (docs/security.md).
 */
#ifndef KMRIG_WDMSEC_H
#define KMRIG_WDMSEC_H

#include <ntddk.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const UNICODE_STRING SDDL_DEVOBJ_KERNEL_ONLY; /* D:P */
#define SDDL_DEVOBJ_INF_SUPPLIED SDDL_DEVOBJ_KERNEL_ONLY
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RX;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R_RES_R;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R;
extern const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX;

NTSTATUS NTAPI IoCreateDeviceSecure(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
                                    PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType,
                                    ULONG DeviceCharacteristics, BOOLEAN Exclusive,
                                    PCUNICODE_STRING DefaultSDDLString, LPCGUID DeviceClassGuid,
                                    PDEVICE_OBJECT *DeviceObject);
#define WdmlibIoCreateDeviceSecure IoCreateDeviceSecure

#ifdef __cplusplus
}
#endif

#endif
