/* The harness API (kmrig/rig.h): a runtime on a target, the PnP manager's driver registry and
 * root bus, and synchronous requests to devices. */
#include "pnp.h"
#include "hal.h"
#include "kmrig_soc_map.h"

#include <kmrig/registry.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RIG_ROM_MAX 32

struct kmrig_rig {
    kmrig_runtime *Runtime;
    BOOLEAN Stopped;
    struct kmrig_device_desc Rom[RIG_ROM_MAX];
    struct kmrig_rom_strings RomStrings[RIG_ROM_MAX];
};

/* Every call but open comes from a thread attached to the rig's runtime, at PASSIVE_LEVEL. */
static struct kmrig_runtime *RigEnter(kmrig_rig *rig, const char *what)
{
    if (!rig || KiRuntime() != rig->Runtime)
        KeBugCheckEx(KMRIG_BUGCHECK_HARNESS, (ULONG_PTR)rig, 1, 0, (ULONG_PTR)what);
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        KeBugCheckEx(KMRIG_BUGCHECK_HARNESS, (ULONG_PTR)rig, 2, KeGetCurrentIrql(),
                     (ULONG_PTR)what);
    return rig->Runtime;
}

void kmrig_rig_options_init(struct kmrig_rig_options *o)
{
    memset(o, 0, sizeof *o);
    o->log_level = KMRIG_LOG_WARN;
}

NTSTATUS kmrig_rig_open(const struct kmrig_rig_options *o, kmrig_rig **out)
{
    if (!o || !out)
        return STATUS_INVALID_PARAMETER;
    *out = NULL;
    kmrig_config cfg;
    if (o->config)
        cfg = *o->config;
    else
        kmrig_config_init(&cfg);
    if (o->target)
        cfg.target = o->target;
    if (o->processors)
        cfg.processors = o->processors;
    if (o->time_budget_ns)
        cfg.time_budget_ns = o->time_budget_ns;
    if (!o->config)
        cfg.log_level = o->log_level;
    kmrig_rig *rig = calloc(1, sizeof *rig);
    if (!rig)
        return STATUS_INSUFFICIENT_RESOURCES;
    int rc = kmrig_runtime_create(&cfg, &rig->Runtime);
    if (rc) {
        free(rig);
        switch (rc) {
        case -ENOMEM:
            return STATUS_INSUFFICIENT_RESOURCES;
        case -EINVAL:
            return STATUS_INVALID_PARAMETER;
        case -EBUSY:
            return STATUS_INVALID_DEVICE_STATE; /* this thread runs another runtime */
        default:
            return STATUS_NO_SUCH_DEVICE;
        }
    }
    *out = rig;
    return STATUS_SUCCESS;
}

kmrig_runtime *kmrig_rig_runtime(kmrig_rig *rig)
{
    return rig->Runtime;
}

struct kmrig_link *kmrig_rig_link(kmrig_rig *rig)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_link");
    return rt->Hal ? rt->Hal->Link : NULL;
}

void kmrig_rig_close(kmrig_rig *rig)
{
    RigEnter(rig, "kmrig_rig_close");
    if (!rig->Stopped)
        kmrig_rig_stop(rig);
    kmrig_runtime_destroy(rig->Runtime);
    free(rig);
}

/* ---- drivers ---- */

static PWCHAR RigWide(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) >= max)
        return NULL;
    return IopPnpDupAscii(s);
}

NTSTATUS kmrig_rig_register_driver_ex(kmrig_rig *rig, const char *id, const char *service,
                                      PDRIVER_INITIALIZE entry, enum kmrig_driver_role role)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_register_driver");
    PWCHAR wid = RigWide(id, 128), wsvc = RigWide(service, 64);
    NTSTATUS s =
        wid && wsvc ? IopPnpRegisterDriver(rt, wid, wsvc, entry, role) : STATUS_INVALID_PARAMETER;
    free(wid);
    free(wsvc);
    return s;
}

NTSTATUS kmrig_rig_register_driver(kmrig_rig *rig, const char *id, const char *service,
                                   PDRIVER_INITIALIZE entry)
{
    return kmrig_rig_register_driver_ex(rig, id, service, entry, KMRIG_DRIVER_FUNCTION);
}

NTSTATUS kmrig_rig_register_driver_reg(kmrig_rig *rig, const char *id, const char *service,
                                       PDRIVER_INITIALIZE entry, enum kmrig_driver_role role,
                                       const char *reg_path)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_register_driver_reg");
    if (!reg_path)
        return kmrig_rig_register_driver_ex(rig, id, service, entry, role);
    /* The arguments first, so a bad call changes nothing in the registry. */
    if (!id || !*id || strlen(id) >= 128 || !service || !*service || strlen(service) >= 64 ||
        strpbrk(service, "\\/") || !entry)
        return STATUS_INVALID_PARAMETER;
    char root[160];
    snprintf(root, sizeof root, "\\Registry\\Machine\\System\\CurrentControlSet\\Services\\%s",
             service);
    int rc = kmrig_registry_load(rt, reg_path, root);
    if (rc) {
        KmLog(rt, KMRIG_LOG_ERROR, "rig: driver %s (%s) not registered: %s did not load (%d)",
              service, id, reg_path, rc);
        switch (rc) {
        case -EINVAL: /* syntax, or a key that cannot be created */
        case -EPERM:  /* a section outside the service key */
            return STATUS_INVALID_PARAMETER_5;
        case -ENOENT:
            return STATUS_OBJECT_NAME_NOT_FOUND;
        case -EACCES:
            return STATUS_ACCESS_DENIED;
        case -ENOMEM:
            return STATUS_INSUFFICIENT_RESOURCES;
        default:
            return STATUS_UNSUCCESSFUL;
        }
    }
    return kmrig_rig_register_driver_ex(rig, id, service, entry, role);
}

/* ---- the ROM ---- */

NTSTATUS kmrig_rig_read_rom(kmrig_rig *rig, struct kmrig_device_desc *descs, size_t max,
                            size_t *count)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_read_rom");
    *count = 0;
    if (!rt->Hal || !rt->Hal->Link)
        return STATUS_NO_SUCH_DEVICE;
    PHYSICAL_ADDRESS pa;
    pa.QuadPart = KMRIG_SOC_ROM_BASE;
    volatile ULONG *rom = MmMapIoSpace(pa, KMRIG_SOC_ROM_SIZE, MmNonCached);
    if (!rom)
        return STATUS_INSUFFICIENT_RESOURCES;
    uint32_t words[KMRIG_SOC_ROM_SIZE / 4];
    for (size_t i = 0; i < KMRIG_SOC_ROM_SIZE / 4; i++)
        words[i] = READ_REGISTER_ULONG(rom + i);
    MmUnmapIoSpace((PVOID)rom, KMRIG_SOC_ROM_SIZE);
    size_t n = max < RIG_ROM_MAX ? max : RIG_ROM_MAX;
    NTSTATUS s =
        kmrig_rom_parse(words, KMRIG_SOC_ROM_SIZE / 4, rig->Rom, rig->RomStrings, n, count);
    if (NT_SUCCESS(s))
        for (size_t i = 0; i < *count && i < n; i++)
            descs[i] = rig->Rom[i];
    else
        KmLog(rt, KMRIG_LOG_ERROR, "rig: the target's enumeration ROM is not valid");
    return s;
}

/* ---- start, list, find ---- */

NTSTATUS kmrig_rig_start(kmrig_rig *rig, const struct kmrig_device_desc *descs, size_t count)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_start");
    if (!descs) {
        struct kmrig_device_desc rom[RIG_ROM_MAX];
        size_t n;
        NTSTATUS s = kmrig_rig_read_rom(rig, rom, RIG_ROM_MAX, &n);
        if (!NT_SUCCESS(s))
            return s;
        return IopPnpStartRoot(rt, rom, n < RIG_ROM_MAX ? n : RIG_ROM_MAX);
    }
    return IopPnpStartRoot(rt, descs, count);
}

static VOID RigFill(PDEVICE_NODE n, struct kmrig_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->pdo = n->Pdo;
    info->instance_path = n->InstancePath;
    info->hardware_ids = n->HardwareIds;
    info->service = n->Service;
    info->state = (enum kmrig_device_state)n->State;
    info->status = n->Status;
    info->raw = n->Raw;
    info->translated = n->Translated;
    info->parent = n->Parent ? n->Parent->Pdo : NULL;
    info->desc = n->HasDesc ? &n->Desc : NULL;
}

NTSTATUS kmrig_rig_device(kmrig_rig *rig, size_t index, struct kmrig_device_info *info)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_device");
    PIOP_PNP_STATE pnp = IopPnp(rt);
    NTSTATUS s = STATUS_NO_MORE_ENTRIES;
    pthread_mutex_lock(&pnp->Lock);
    size_t i = 0;
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink, i++)
        if (i == index) {
            RigFill(CONTAINING_RECORD(e, DEVICE_NODE, Link), info);
            s = STATUS_SUCCESS;
            break;
        }
    pthread_mutex_unlock(&pnp->Lock);
    return s;
}

static BOOLEAN RigEqual(PCWSTR w, const char *a)
{
    if (!w)
        return FALSE;
    for (;; w++, a++) {
        if (RtlUpcaseUnicodeChar(*w) != RtlUpcaseUnicodeChar((UCHAR)*a))
            return FALSE;
        if (!*a)
            return TRUE;
    }
}

PDEVICE_OBJECT kmrig_rig_find(kmrig_rig *rig, const char *key)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_find");
    PIOP_PNP_STATE pnp = IopPnp(rt);
    PDEVICE_OBJECT found = NULL;
    if (!key)
        return NULL;
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes && !found; e = e->Flink) {
        PDEVICE_NODE n = CONTAINING_RECORD(e, DEVICE_NODE, Link);
        if (RigEqual(n->InstancePath, key))
            found = n->Pdo;
        for (PCWSTR id = n->HardwareIds; id && *id && !found; id += IopPnpWcslen(id) + 1)
            if (RigEqual(id, key))
                found = n->Pdo;
    }
    pthread_mutex_unlock(&pnp->Lock);
    return found;
}

NTSTATUS kmrig_rig_device_info(kmrig_rig *rig, PDEVICE_OBJECT pdo, struct kmrig_device_info *info)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_device_info");
    PIOP_PNP_STATE pnp = IopPnp(rt);
    NTSTATUS s = STATUS_NO_SUCH_DEVICE;
    pthread_mutex_lock(&pnp->Lock);
    for (PLIST_ENTRY e = pnp->Nodes.Flink; e != &pnp->Nodes; e = e->Flink) {
        PDEVICE_NODE n = CONTAINING_RECORD(e, DEVICE_NODE, Link);
        if (n->Pdo == pdo) {
            RigFill(n, info);
            s = STATUS_SUCCESS;
            break;
        }
    }
    pthread_mutex_unlock(&pnp->Lock);
    return s;
}

void kmrig_rig_settle(kmrig_rig *rig)
{
    IopPnpSettle(RigEnter(rig, "kmrig_rig_settle"));
}

/* ---- I/O ---- */

NTSTATUS kmrig_rig_open_device(kmrig_rig *rig, const char *name, PFILE_OBJECT *file)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_open_device");
    *file = NULL;
    if (!name || !*name || strlen(name) >= 0x7FFF)
        return STATUS_OBJECT_NAME_INVALID;
    PWCHAR w = IopPnpDupAscii(name);
    if (!w)
        return STATUS_INSUFFICIENT_RESOURCES;
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, w);
    NTSTATUS s = IopOpenDevice(rt, &u, GENERIC_READ | GENERIC_WRITE, 0, file);
    free(w);
    return s;
}

NTSTATUS kmrig_rig_open_interface(kmrig_rig *rig, const GUID *interface_class, unsigned index,
                                  PFILE_OBJECT *file)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_open_interface");
    *file = NULL;
    PZZWSTR list;
    NTSTATUS s = IoGetDeviceInterfaces(interface_class, NULL, 0, &list);
    if (!NT_SUCCESS(s))
        return s;
    PWCHAR p = list;
    for (unsigned i = 0; *p && i < index; i++)
        p += IopPnpWcslen(p) + 1;
    if (!*p) {
        ExFreePool(list);
        return STATUS_OBJECT_NAME_NOT_FOUND;
    }
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, p);
    s = IopOpenDevice(rt, &u, GENERIC_READ | GENERIC_WRITE, 0, file);
    ExFreePool(list);
    return s;
}

void kmrig_rig_close_file(PFILE_OBJECT file)
{
    if (file)
        IopCloseFile(file);
}

static NTSTATUS RigRequest(PFILE_OBJECT file, UCHAR major, ULONG code, void *in, ULONG in_length,
                           void *out, ULONG out_length, int64_t offset, ULONG_PTR *information)
{
    if (information)
        *information = 0;
    if (!file)
        return STATUS_INVALID_HANDLE;
    IO_STATUS_BLOCK iosb;
    LARGE_INTEGER off;
    off.QuadPart = offset;
    NTSTATUS s =
        IopSynchronousRequest(file, major, code, in, in_length, out, out_length, &off, &iosb);
    if (information)
        *information = iosb.Information;
    return s;
}

NTSTATUS kmrig_rig_ioctl(PFILE_OBJECT file, ULONG code, void *in, ULONG in_length, void *out,
                         ULONG out_length, ULONG_PTR *information)
{
    return RigRequest(file, IRP_MJ_DEVICE_CONTROL, code, in, in_length, out, out_length, 0,
                      information);
}

NTSTATUS kmrig_rig_internal_ioctl(PFILE_OBJECT file, ULONG code, void *in, ULONG in_length,
                                  void *out, ULONG out_length, ULONG_PTR *information)
{
    return RigRequest(file, IRP_MJ_INTERNAL_DEVICE_CONTROL, code, in, in_length, out, out_length, 0,
                      information);
}

NTSTATUS kmrig_rig_read(PFILE_OBJECT file, void *buffer, ULONG length, int64_t offset,
                        ULONG_PTR *information)
{
    return RigRequest(file, IRP_MJ_READ, 0, NULL, 0, buffer, length, offset, information);
}

NTSTATUS kmrig_rig_write(PFILE_OBJECT file, const void *buffer, ULONG length, int64_t offset,
                         ULONG_PTR *information)
{
    return RigRequest(file, IRP_MJ_WRITE, 0, (void *)buffer, length, NULL, 0, offset, information);
}

/* ---- removal, stop ---- */

static NTSTATUS RigRemove(kmrig_rig *rig, PDEVICE_OBJECT pdo, BOOLEAN surprise, const char *what)
{
    struct kmrig_runtime *rt = RigEnter(rig, what);
    PDEVICE_NODE n = IopPnpNodeOf(pdo);
    if (!n)
        return STATUS_INVALID_PARAMETER;
    IopPnpAcquireEngine(rt);
    if (surprise)
        IopPnpMarkGone(rt, n);
    NTSTATUS s = IopPnpRemoveDevice(rt, n, surprise);
    IopPnpReleaseEngine(rt);
    return s;
}

NTSTATUS kmrig_rig_remove_device(kmrig_rig *rig, PDEVICE_OBJECT pdo)
{
    return RigRemove(rig, pdo, FALSE, "kmrig_rig_remove_device");
}

NTSTATUS kmrig_rig_surprise_remove(kmrig_rig *rig, PDEVICE_OBJECT pdo)
{
    return RigRemove(rig, pdo, TRUE, "kmrig_rig_surprise_remove");
}

NTSTATUS kmrig_rig_hardware_profile_change(kmrig_rig *rig)
{
    return IopPnpHardwareProfileChange(RigEnter(rig, "kmrig_rig_hardware_profile_change"));
}

NTSTATUS kmrig_rig_stop(kmrig_rig *rig)
{
    struct kmrig_runtime *rt = RigEnter(rig, "kmrig_rig_stop");
    NTSTATUS s = IopPnpRemoveAll(rt);
    IopPnpSettle(rt);
    IopPnpUnloadDrivers(rt);
    IopPnpFreeClaims(rt, NULL);
    rig->Stopped = TRUE;
    return s;
}

void kmrig_rig_run_for(kmrig_rig *rig, uint64_t ns)
{
    kmrig_runtime_run_for(RigEnter(rig, "kmrig_rig_run_for"), ns);
}
