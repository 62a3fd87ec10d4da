/*
 * info.c - `kmrig info`: the target, its link and profile, and the devices of its enumeration
 * ROM with the resources the PnP manager gives them (docs/cli.md, "kmrig info").
 *
 * Every non-core device is started through the rig with a probe function driver that does
 * nothing but pass its IRPs down, so the raw and translated resource lists shown are exactly
 * what IRP_MN_START_DEVICE hands a real driver on this target.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <kmrig/link.h>
#include <kmrig/rig.h>

#include <stdlib.h>
#include <string.h>

static const char info_help[] =
    "usage: kmrig info [--target URI]\n"
    "\n"
    "Opens the target and shows what is on it: the link (transport, description, clock,\n"
    "interrupt lines, SoC identification), the link profile, and every entry of its\n"
    "enumeration ROM. Each device that is not part of the bridge is started the Plug and Play\n"
    "way with a probe driver, and its raw and translated resources (ports, memory windows,\n"
    "interrupt lines with their vector and IRQL, DMA channels) are listed as a driver's\n"
    "IRP_MN_START_DEVICE gets them.\n"
    "\n"
    "  --target URI   sim (default; or $KMRIG_TARGET), sim:profile=ft245, loop, ...\n"
    "\n"
    "exit status: 0 shown, 2 usage error, 4 the ROM could not be read, 77 the target did not "
    "open\n";

typedef struct {
    PDEVICE_OBJECT Lower;
} INFO_EXT;

static NTSTATUS NTAPI InfoPnp(PDEVICE_OBJECT d, PIRP irp)
{
    INFO_EXT *x = d->DeviceExtension;
    PIO_STACK_LOCATION sl = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS s;
    switch (sl->MinorFunction) {
    case IRP_MN_START_DEVICE:
        s = IoForwardIrpSynchronously(x->Lower, irp) ? irp->IoStatus.Status : STATUS_UNSUCCESSFUL;
        irp->IoStatus.Status = s;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        return s;
    case IRP_MN_REMOVE_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(irp);
        s = IoCallDriver(x->Lower, irp);
        IoDetachDevice(x->Lower);
        IoDeleteDevice(d);
        return s;
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
        irp->IoStatus.Status = STATUS_SUCCESS;
        break;
    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(x->Lower, irp);
}

static NTSTATUS NTAPI InfoPower(PDEVICE_OBJECT d, PIRP irp)
{
    INFO_EXT *x = d->DeviceExtension;
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(x->Lower, irp);
}

static NTSTATUS NTAPI InfoAddDevice(PDRIVER_OBJECT drv, PDEVICE_OBJECT pdo)
{
    PDEVICE_OBJECT d;
    NTSTATUS s = IoCreateDevice(drv, sizeof(INFO_EXT), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE, &d);
    if (!NT_SUCCESS(s))
        return s;
    INFO_EXT *x = d->DeviceExtension;
    x->Lower = IoAttachDeviceToDeviceStack(d, pdo);
    if (!x->Lower) {
        IoDeleteDevice(d);
        return STATUS_NO_SUCH_DEVICE;
    }
    d->Flags |= x->Lower->Flags & DO_POWER_PAGABLE;
    d->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

static VOID NTAPI InfoUnload(PDRIVER_OBJECT drv) {}

static NTSTATUS NTAPI InfoDriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING path)
{
    drv->DriverUnload = InfoUnload;
    drv->MajorFunction[IRP_MJ_PNP] = InfoPnp;
    drv->MajorFunction[IRP_MJ_POWER] = InfoPower;
    drv->DriverExtension->AddDevice = InfoAddDevice;
    return STATUS_SUCCESS;
}

/* A short name for a ROM entry: its device class from the hardware ID and its instance
 * ("uart0", "timer1"), as docs/rtl.md names the reference SoC's blocks. */
static void info_short_name(const struct kmrig_device_desc *d, char *out, size_t n)
{
    static const struct {
        const char *id, *name;
    } known[] = {
        {"*PNP0501", "uart"},        {"KMRIG\\TIMER", "timer"}, {"KMRIG\\SGDMA", "dma"},
        {"KMRIG\\SYSDMA", "sysdma"}, {"KMRIG\\SYSID", "sysid"}, {"KMRIG\\INTC", "intc"},
    };
    const char *id = d->hardware_ids[0] ? d->hardware_ids[0] : "?";
    const char *name = NULL;
    char lower[32];
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcasecmp(id, known[i].id))
            name = known[i].name;
    if (!name) {
        const char *tail = strrchr(id, '\\');
        tail = tail ? tail + 1 : id;
        size_t k = 0;
        for (; tail[k] && k + 1 < sizeof lower; k++)
            lower[k] = (char)((tail[k] >= 'A' && tail[k] <= 'Z') ? tail[k] + 32 : tail[k]);
        lower[k] = 0;
        name = lower;
    }
    snprintf(out, n, "%s%s", name, d->instance ? d->instance : "");
}

static void info_wide(const WCHAR *w, char *out, size_t n)
{
    size_t k = 0;
    for (; w && w[k] && k + 1 < n; k++)
        out[k] = w[k] < 0x80 ? (char)w[k] : '?';
    out[k] = 0;
}

static const char *info_state(enum kmrig_device_state s)
{
    switch (s) {
    case KMRIG_DEVICE_ENUMERATED:
        return "enumerated (no driver)";
    case KMRIG_DEVICE_DRIVERS_ADDED:
        return "added, not started";
    case KMRIG_DEVICE_STARTED:
        return "started";
    case KMRIG_DEVICE_STOPPED:
        return "stopped";
    case KMRIG_DEVICE_FAILED:
        return "failed";
    case KMRIG_DEVICE_SURPRISE_REMOVED:
        return "surprise-removed";
    case KMRIG_DEVICE_REMOVED:
        return "removed";
    }
    return "?";
}

static void info_desc_resources(const struct kmrig_device_desc *d)
{
    for (unsigned i = 0; i < d->resource_count; i++) {
        const struct kmrig_resource *r = &d->resources[i];
        printf("      %-11s ", i == 0 ? "ROM" : "");
        switch (r->kind) {
        case KMRIG_RES_PORT:
            printf("port      0x%llX-0x%llX (%u bytes)\n", (unsigned long long)r->start,
                   (unsigned long long)(r->start + r->length - 1), r->length);
            break;
        case KMRIG_RES_MEMORY:
            printf("memory    0x%llX-0x%llX (%u bytes)\n", (unsigned long long)r->start,
                   (unsigned long long)(r->start + r->length - 1), r->length);
            break;
        case KMRIG_RES_INTERRUPT:
            printf("interrupt line %u, %s, %s\n", r->line, r->latched ? "edge" : "level",
                   r->shared ? "shared" : "exclusive");
            break;
        case KMRIG_RES_DMA:
            printf("dma       channel %u\n", r->channel);
            break;
        }
    }
}

static void info_cm_list(const char *label, PCM_RESOURCE_LIST l)
{
    if (!l || l->Count == 0) {
        printf("      %-11s (none)\n", label);
        return;
    }
    PCM_PARTIAL_RESOURCE_LIST p = &l->List[0].PartialResourceList;
    for (ULONG i = 0; i < p->Count; i++) {
        PCM_PARTIAL_RESOURCE_DESCRIPTOR d = &p->PartialDescriptors[i];
        printf("      %-11s ", i == 0 ? label : "");
        switch (d->Type) {
        case CmResourceTypePort:
            printf("port      0x%llX-0x%llX (%lu bytes)\n",
                   (unsigned long long)d->u.Port.Start.QuadPart,
                   (unsigned long long)(d->u.Port.Start.QuadPart + d->u.Port.Length - 1),
                   (unsigned long)d->u.Port.Length);
            break;
        case CmResourceTypeMemory:
            printf("memory    0x%llX-0x%llX (%lu bytes)\n",
                   (unsigned long long)d->u.Memory.Start.QuadPart,
                   (unsigned long long)(d->u.Memory.Start.QuadPart + d->u.Memory.Length - 1),
                   (unsigned long)d->u.Memory.Length);
            break;
        case CmResourceTypeInterrupt:
            printf("interrupt level %lu, vector 0x%lX, affinity 0x%llX, %s, %s\n",
                   (unsigned long)d->u.Interrupt.Level, (unsigned long)d->u.Interrupt.Vector,
                   (unsigned long long)d->u.Interrupt.Affinity,
                   (d->Flags & CM_RESOURCE_INTERRUPT_LATCHED) ? "latched" : "level-sensitive",
                   d->ShareDisposition == CmResourceShareShared ? "shared" : "exclusive");
            break;
        case CmResourceTypeDma:
            printf("dma       channel %lu, port %lu\n", (unsigned long)d->u.Dma.Channel,
                   (unsigned long)d->u.Dma.Port);
            break;
        default:
            printf("type %u\n", (unsigned)d->Type);
            break;
        }
    }
}

static void info_link(kmrig_rig *rig, const char *uri)
{
    struct kmrig_link *link = kmrig_rig_link(rig);
    printf("target      %s\n", uri);
    if (!link)
        return;
    const struct kmrig_link_info *li = kmrig_link_get_info(link);
    const char *name = kmrig_link_name(link);
    const char *summary = "";
    const struct kmrig_link_ops *ops[32];
    size_t n = kmrig_link_transports(ops, 32);
    for (size_t i = 0; i < n && i < 32; i++)
        if (!strcmp(ops[i]->name, name))
            summary = ops[i]->summary ? ops[i]->summary : "";
    printf("link        %s: %s\n", name, summary);
    printf("device      %s\n", li->description);
    printf("profile     %s\n", kmrig_link_profile_name(link));
    printf("clock       %llu Hz, %s\n", (unsigned long long)li->clock_hz,
           li->virtual_time ? "virtual time (the target's clock is the time base)" : "wall time");
    printf("irq lines   %u\n", li->irq_lines);
    /* the interrupt unit as the device has it (a board: IRQ_QUERY), before anything connects:
     * is a peripheral asserting its line? */
    struct kmrig_irq_state st;
    if (kmrig_link_irq_query(link, &st) == KMRIG_LINK_OK)
        printf("irq state   inputs high 0x%X, pending 0x%X, masked 0x%X, edge 0x%X\n", st.raw,
               st.pending, st.mask, st.mode);
    printf("soc         id 0x%08X, version 0x%08X\n", li->soc_id, li->soc_version);
}

int kmrig_cli_info(int argc, char **argv)
{
    const char *target = getenv("KMRIG_TARGET");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(info_help, stdout);
            return KMRIG_CLI_OK;
        } else if (!strcmp(argv[i], "--target") && i + 1 < argc) {
            target = argv[++i];
        } else if (!strncmp(argv[i], "--target=", 9)) {
            target = argv[i] + 9;
        } else {
            fprintf(stderr, "kmrig info: unknown argument '%s'\n%s", argv[i], info_help);
            return KMRIG_CLI_USAGE;
        }
    }
    if (!target || !*target)
        target = "sim";
    int rc = kmrig_cli_probe_target(target);
    if (rc != KMRIG_CLI_OK)
        return rc;

    struct kmrig_rig_options o;
    kmrig_rig_options_init(&o);
    o.target = target;
    o.time_budget_ns = 60ull * 1000000000ull;
    kmrig_rig *rig = NULL;
    NTSTATUS s = kmrig_rig_open(&o, &rig);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr, "kmrig info: the rig did not open on '%s' (status 0x%08X)\n", target,
                (unsigned)s);
        return KMRIG_CLI_NO_TARGET;
    }
    info_link(rig, target);

    struct kmrig_device_desc descs[32];
    size_t count = 0;
    s = kmrig_rig_read_rom(rig, descs, 32, &count);
    if (!NT_SUCCESS(s)) {
        fprintf(stderr,
                "kmrig info: the enumeration ROM could not be read (status 0x%08X): no ROM, or a "
                "bad one (magic, layout, checksum; docs/rtl.md)\n",
                (unsigned)s);
        kmrig_rig_close(rig);
        return KMRIG_CLI_ERROR;
    }
    if (count > 32)
        count = 32;
    unsigned core = 0;
    for (size_t i = 0; i < count; i++) {
        if (descs[i].core) {
            core++;
            continue;
        }
        /* the probe driver, once per hardware ID (timer0 and timer1 share one) */
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |=
                !descs[k].core && !strcasecmp(descs[k].hardware_ids[0], descs[i].hardware_ids[0]);
        if (seen)
            continue;
        s = kmrig_rig_register_driver(rig, descs[i].hardware_ids[0], "kmriginfo", InfoDriverEntry);
        if (!NT_SUCCESS(s))
            fprintf(stderr, "kmrig info: no probe driver for %s (status 0x%08X)\n",
                    descs[i].hardware_ids[0], (unsigned)s);
    }
    s = kmrig_rig_start(rig, NULL, 0);
    if (!NT_SUCCESS(s))
        fprintf(stderr, "kmrig info: the PnP start failed (status 0x%08X); listing the ROM only\n",
                (unsigned)s);

    printf("\nenumeration ROM: %zu entries, %zu devices, %u part of the bridge\n", count,
           count - core, core);
    for (size_t i = 0; i < count; i++) {
        const struct kmrig_device_desc *d = &descs[i];
        char name[48];
        info_short_name(d, name, sizeof name);
        printf("\n  %-8s %-14s", name, d->hardware_ids[0]);
        if (d->core) {
            printf(" part of the bridge (no PnP device)%s\n", d->bus_master ? ", DMA master" : "");
            info_desc_resources(d);
            continue;
        }
        /* the device the root bus made of this entry: its hardware ID and instance */
        struct kmrig_device_info di;
        int found = 0;
        for (size_t k = 0; NT_SUCCESS(s) && kmrig_rig_device(rig, k, &di) == STATUS_SUCCESS; k++)
            if (di.desc && di.desc->hardware_ids[0] && d->hardware_ids[0] &&
                !strcmp(di.desc->hardware_ids[0], d->hardware_ids[0]) &&
                ((!di.desc->instance && !d->instance) ||
                 (di.desc->instance && d->instance && !strcmp(di.desc->instance, d->instance)))) {
                found = 1;
                break;
            }
        if (!found) {
            printf(" not enumerated\n");
            info_desc_resources(d);
            continue;
        }
        char path[128];
        info_wide(di.instance_path, path, sizeof path);
        printf(" %s, %s", path, info_state(di.state));
        if (di.state == KMRIG_DEVICE_FAILED)
            printf(" (status 0x%08X)", (unsigned)di.status);
        printf("%s\n", d->bus_master ? ", DMA master" : "");
        if (di.raw || di.translated) {
            info_cm_list("raw", di.raw);
            info_cm_list("translated", di.translated);
        } else {
            info_desc_resources(d);
        }
    }
    kmrig_rig_close(rig);
    return KMRIG_CLI_OK;
}
