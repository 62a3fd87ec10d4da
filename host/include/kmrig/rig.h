/*
 * kmrig/rig.h - the harness API: a rig is a runtime on a target with drivers registered by
 * hardware ID, a root bus enumerated from the target's enumeration ROM (or a static description),
 * and helpers to open devices and send them requests. For tests, fixtures and the kmrig command.
 *
 *   kmrig_rig *rig;
 *   struct kmrig_rig_options o;
 *   kmrig_rig_options_init(&o);
 *   o.target = "sim";
 *   kmrig_rig_open(&o, &rig);                                  // runtime + target
 *   kmrig_rig_register_driver(rig, "*PNP0501", "serial", SerialDriverEntry);
 *   kmrig_rig_start(rig, NULL, 0);                             // ROM -> PDOs -> AddDevice -> START
 *   PFILE_OBJECT f;
 *   kmrig_rig_open_device(rig, "\\??\\COM1", &f);              // or kmrig_rig_open_interface
 *   kmrig_rig_write(f, "hi", 2, 0, &n);
 *   kmrig_rig_close_file(f);
 *   kmrig_rig_close(rig);                                      // remove all, unload, destroy
 *
 * Threads. kmrig_rig_open attaches the calling thread to the new runtime as a system thread at
 * PASSIVE_LEVEL (kmrig/runtime.h); every other call must come from that thread (or another thread
 * attached to the rig's runtime) at PASSIVE_LEVEL. A call from elsewhere is a harness misuse:
 * bugcheck KMRIG_BUGCHECK_HARNESS. The request helpers run the request on the calling thread,
 * which waits at PASSIVE_LEVEL (the runtime's clock and its other threads go on meanwhile).
 *
 * Status. Every call returns an NTSTATUS, as a driver author expects; nothing prints to stdout.
 *
 * Devices. A device is named by its physical device object (PDO). The rig keeps every device the
 * root bus or a bus driver enumerated until kmrig_rig_stop; a removed device keeps its PDO (state
 * KMRIG_DEVICE_REMOVED) until it vanishes from its bus. A device that is gone (surprise removal,
 * ejected, no longer reported by its bus) is forgotten once it had its IRP_MN_REMOVE_DEVICE: its
 * PDO pointer is stale from then on. After a surprise removal that REMOVE_DEVICE waits, as on NT,
 * until the last file object open on the device's stack is closed (see
 * kmrig_rig_surprise_remove); until then the device is listed as KMRIG_DEVICE_SURPRISE_REMOVED.
 */
#ifndef KMRIG_RIG_H
#define KMRIG_RIG_H

#include <ntddk.h>
#include <kmrig/runtime.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kmrig_rig kmrig_rig;

/* ---- opening a rig ---- */
struct kmrig_rig_options {
    const char *target;      /* "sim", "sim:waves=x.fst", "loop", NULL (no target) */
    unsigned processors;     /* 0: the runtime's default (1) */
    uint64_t time_budget_ns; /* simulated time after which the run fails; 0: none */
    enum kmrig_log_level log_level;
    const kmrig_config *config; /* optional: the whole runtime configuration (the fields above
                                   then override its target, processors, budget if nonzero) */
};

/* Fills o with the defaults: no target, one processor, no budget, log level WARN. */
void kmrig_rig_options_init(struct kmrig_rig_options *o);

/* Creates the runtime (kmrig_runtime_create) and attaches the calling thread. Returns
 * STATUS_SUCCESS, STATUS_INVALID_PARAMETER (bad options), STATUS_NO_SUCH_DEVICE (the target did
 * not open), STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS kmrig_rig_open(const struct kmrig_rig_options *o, kmrig_rig **out);

/* The rig's runtime instance. */
kmrig_runtime *kmrig_rig_runtime(kmrig_rig *rig);

struct kmrig_link;
/* The rig's link to its target (kmrig/link.h), or NULL when it has none. The rig owns it: never
 * close it, and never call its ops (they are the runtime's). It is for harness code that plays
 * the world outside the target through what the transport's own header offers, e.g. the far end
 * of uart0's cable on the sim target: kmrig_link_sim_model(kmrig_rig_link(rig)) (kmrig/link_sim.h).
 * Thread rule: that header's. For the sim model: pin-level calls only, from the rig's thread
 * (which holds the emulated processor between runtime calls) and only when the rig has one
 * processor; with more, other processors run the model at any time and no call on it is safe. */
struct kmrig_link *kmrig_rig_link(kmrig_rig *rig);

/* How many rigs' links dropped in this process so far (a board unplugged, a `kmrig serve`
 * connection lost: an access failed with KMRIG_LINK_EGONE or the transport reported the loss).
 * description (n bytes, may be NULL) gets the last lost target's description. A test harness
 * compares the count before and after a test: the suite runner (kmrig/suite.h) fails the test
 * during which it grew, whatever the driver made of its failed accesses. */
unsigned kmrig_rig_links_lost(char *description, size_t n);

/* Stops the rig if it is not stopped (kmrig_rig_stop), destroys the runtime (its verifier
 * reports leaks: a leaked IRP or pool block bugchecks) and frees the rig. */
void kmrig_rig_close(kmrig_rig *rig);

/* ---- drivers ---- */
enum kmrig_driver_role {
    KMRIG_DRIVER_FUNCTION = 0,     /* the function driver (one per device) */
    KMRIG_DRIVER_UPPER_FILTER = 1, /* attached above the function driver */
    KMRIG_DRIVER_LOWER_FILTER = 2, /* attached between the PDO and the function driver */
};

/* Registers a driver for a hardware or compatible ID (matched case-insensitively; a device's
 * hardware IDs are tried first, in order, then its compatible IDs). service names the driver
 * object (\Driver\<service>) and its service key (...\CurrentControlSet\Services\<service>);
 * entry is its DriverEntry, called once, when the first device that needs it is found. Filters
 * attach in registration order. STATUS_OBJECT_NAME_COLLISION: a function driver is already
 * registered for that ID; STATUS_INVALID_PARAMETER: empty ID or service, NULL entry. */
NTSTATUS kmrig_rig_register_driver_ex(kmrig_rig *rig, const char *id, const char *service,
                                      PDRIVER_INITIALIZE entry, enum kmrig_driver_role role);
NTSTATUS kmrig_rig_register_driver(kmrig_rig *rig, const char *id, const char *service,
                                   PDRIVER_INITIALIZE entry);

/* kmrig_rig_register_driver_ex with a .reg file (kmrig/registry.h, docs/registry.md) for the
 * driver's service: the file is loaded now, confined to the service key
 * HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\<service> (sections must name it or a key
 * below it, such as its Parameters key), so its values are there when DriverEntry runs and reads
 * its RegistryPath. The PnP manager still sets Type, Start and ErrorControl at load. reg_path NULL
 * is kmrig_rig_register_driver_ex. A file that does not load is refused whole (nothing of it is
 * applied) and the driver is not registered; the log names the file, the line and what is wrong
 * (KMRIG_LOG_ERROR). Returns, besides kmrig_rig_register_driver_ex's statuses:
 * STATUS_INVALID_PARAMETER_5 (the file is refused: a syntax error, a section outside the service
 * key), STATUS_OBJECT_NAME_NOT_FOUND (no such file), STATUS_ACCESS_DENIED (not readable),
 * STATUS_UNSUCCESSFUL (another read error), STATUS_INSUFFICIENT_RESOURCES. When registration itself
 * fails after the file loaded (STATUS_OBJECT_NAME_COLLISION) the values stay under the service key.
 */
NTSTATUS kmrig_rig_register_driver_reg(kmrig_rig *rig, const char *id, const char *service,
                                       PDRIVER_INITIALIZE entry, enum kmrig_driver_role role,
                                       const char *reg_path);

/* ---- device descriptions (the root bus's source) ---- */
enum kmrig_resource_kind {
    KMRIG_RES_PORT = 1,      /* I/O ports: start = first port, length in bytes */
    KMRIG_RES_MEMORY = 2,    /* memory window: start = bus (= CPU physical) address */
    KMRIG_RES_INTERRUPT = 3, /* interrupt line of the target's interrupt unit */
    KMRIG_RES_DMA = 4,       /* system DMA channel */
};

struct kmrig_resource {
    enum kmrig_resource_kind kind;
    uint64_t start;   /* port / memory */
    uint32_t length;  /* port / memory */
    unsigned line;    /* interrupt */
    int latched;      /* interrupt: nonzero edge (Latched), zero level-sensitive */
    int shared;       /* interrupt: shareable */
    unsigned channel; /* DMA */
};

#define KMRIG_DEVICE_MAX_IDS 4
#define KMRIG_DEVICE_MAX_RESOURCES 8

struct kmrig_device_desc {
    const char *hardware_ids[KMRIG_DEVICE_MAX_IDS];   /* most specific first; [0] required */
    const char *compatible_ids[KMRIG_DEVICE_MAX_IDS]; /* optional */
    const char *instance;    /* instance ID; NULL: "0", "1", ... among equal hardware IDs */
    const char *description; /* DeviceDescription; NULL: the first hardware ID */
    unsigned resource_count;
    struct kmrig_resource resources[KMRIG_DEVICE_MAX_RESOURCES];
    int core;       /* from the ROM: part of the bridge (not a PnP child; listed, not started) */
    int bus_master; /* from the ROM: the device masters DMA */
};

/* Reads the target's enumeration ROM (docs/rtl.md) through the HAL at PASSIVE_LEVEL into descs
 * (up to max entries; *count gets the number of entries, which may exceed max). Core entries are
 * included with .core set. STATUS_NO_SUCH_DEVICE: no target; STATUS_DEVICE_CONFIGURATION_ERROR:
 * no ROM or a bad one (magic, layout, checksum). The strings point into the rig. */
NTSTATUS kmrig_rig_read_rom(kmrig_rig *rig, struct kmrig_device_desc *descs, size_t max,
                            size_t *count);

/* Where kmrig_rom_parse keeps the strings a description points to (one per entry). */
struct kmrig_rom_strings {
    char hardware_id[17];
    char instance[4];
};

/* Parses ROM words (docs/rtl.md, layout 1) without a target: up to max entries into descs, their
 * strings into strings[]; *count gets the number of entries. Interrupts are level-sensitive and
 * exclusive (the ROM has no bit for either). STATUS_DEVICE_CONFIGURATION_ERROR for a bad ROM
 * (magic, layout, entry size, count beyond the words, checksum, a line beyond the interrupt
 * unit, a hardware ID that is empty or not printable ASCII). For tools and the fuzzer. */
NTSTATUS kmrig_rom_parse(const uint32_t *words, size_t nwords, struct kmrig_device_desc *descs,
                         struct kmrig_rom_strings *strings, size_t max, size_t *count);

/* ---- start, list, find ---- */

/* Enumerates the root bus from descs (count entries; copied) or, with descs NULL, from the
 * target's enumeration ROM (core entries skipped), and for each device: a PDO, the Enum key,
 * the drivers its IDs match (DriverEntry once per driver, AddDevice for each filter and the
 * function driver), IRP_MN_QUERY_RESOURCE_REQUIREMENTS / FILTER_RESOURCE_REQUIREMENTS, then
 * IRP_MN_START_DEVICE with the raw and translated resources, then the children of bus drivers
 * (IRP_MN_QUERY_DEVICE_RELATIONS), recursively. A device whose driver is missing or fails stays
 * listed with its state and status; the others go on. Returns STATUS_SUCCESS when the
 * enumeration ran (check each device's state), STATUS_INVALID_DEVICE_STATE if started already,
 * or the ROM's error. */
NTSTATUS kmrig_rig_start(kmrig_rig *rig, const struct kmrig_device_desc *descs, size_t count);

enum kmrig_device_state {
    KMRIG_DEVICE_ENUMERATED = 0, /* PDO created, no driver yet (none registered) */
    KMRIG_DEVICE_DRIVERS_ADDED,  /* AddDevice done, not started */
    KMRIG_DEVICE_STARTED,
    KMRIG_DEVICE_STOPPED, /* IRP_MN_STOP_DEVICE (resource rebalance) */
    KMRIG_DEVICE_FAILED,  /* a driver failed (status in .status) */
    KMRIG_DEVICE_SURPRISE_REMOVED,
    KMRIG_DEVICE_REMOVED,
};

struct kmrig_device_info {
    PDEVICE_OBJECT pdo;
    const WCHAR *instance_path; /* "KMRIG\SGDMA\0", NUL-terminated */
    const WCHAR *hardware_ids;  /* REG_MULTI_SZ */
    const WCHAR *service;       /* function driver's service name, or NULL */
    enum kmrig_device_state state;
    NTSTATUS status;       /* why it failed (KMRIG_DEVICE_FAILED), else STATUS_SUCCESS */
    PCM_RESOURCE_LIST raw; /* what START_DEVICE got (NULL if not started) */
    PCM_RESOURCE_LIST translated;
    PDEVICE_OBJECT parent;                /* the parent's PDO; NULL on the root bus */
    const struct kmrig_device_desc *desc; /* root-bus devices: their description, else NULL */
};

/* The index-th device (enumeration order, parents before children). STATUS_NO_MORE_ENTRIES past
 * the end. The pointers stay valid until the device is forgotten (surprise removal, gone from its
 * bus, ejected) or the rig stops. */
NTSTATUS kmrig_rig_device(kmrig_rig *rig, size_t index, struct kmrig_device_info *info);
/* The device with this hardware ID (the first of that ID) or this instance path (ASCII, case-
 * insensitive); NULL if none. */
PDEVICE_OBJECT kmrig_rig_find(kmrig_rig *rig, const char *hardware_id_or_instance_path);
NTSTATUS kmrig_rig_device_info(kmrig_rig *rig, PDEVICE_OBJECT pdo, struct kmrig_device_info *info);

/* Waits until the PnP manager's queued work (IoInvalidateDeviceRelations/State,
 * IoRequestDeviceEject, IoReportDetectedDevice starts, asynchronous notifications) is done. */
void kmrig_rig_settle(kmrig_rig *rig);

/* ---- I/O on devices ---- */

/* Opens a device by NT name ("\Device\Serial0", "\??\COM1", an interface's symbolic link):
 * IRP_MJ_CREATE to the top of its stack. Close with kmrig_rig_close_file. */
NTSTATUS kmrig_rig_open_device(kmrig_rig *rig, const char *name, PFILE_OBJECT *file);
/* Opens the index-th enabled interface of a class (IoGetDeviceInterfaces order).
 * STATUS_OBJECT_NAME_NOT_FOUND when there is no such interface. */
NTSTATUS kmrig_rig_open_interface(kmrig_rig *rig, const GUID *interface_class, unsigned index,
                                  PFILE_OBJECT *file);
/* IRP_MJ_CLEANUP then IRP_MJ_CLOSE. */
void kmrig_rig_close_file(PFILE_OBJECT file);

/* Synchronous requests; *information (optional) gets IoStatus.Information. */
NTSTATUS kmrig_rig_ioctl(PFILE_OBJECT file, ULONG code, void *in, ULONG in_length, void *out,
                         ULONG out_length, ULONG_PTR *information);
NTSTATUS kmrig_rig_internal_ioctl(PFILE_OBJECT file, ULONG code, void *in, ULONG in_length,
                                  void *out, ULONG out_length, ULONG_PTR *information);
NTSTATUS kmrig_rig_read(PFILE_OBJECT file, void *buffer, ULONG length, int64_t offset,
                        ULONG_PTR *information);
NTSTATUS kmrig_rig_write(PFILE_OBJECT file, const void *buffer, ULONG length, int64_t offset,
                         ULONG_PTR *information);

/* ---- removal, stop ---- */

/* Orderly removal: target-device query-remove notifications, IRP_MN_QUERY_REMOVE_DEVICE (the
 * children first), then IRP_MN_REMOVE_DEVICE and remove-complete notifications.
 * STATUS_PLUGPLAY_QUERY_VETOED (a warning: NT_SUCCESS is false for none, check it) when a driver
 * or a notification callback refused: IRP_MN_CANCEL_REMOVE_DEVICE was sent and the device runs
 * on. STATUS_INVALID_DEVICE_STATE: already removed. */
NTSTATUS kmrig_rig_remove_device(kmrig_rig *rig, PDEVICE_OBJECT pdo);
/* The device is gone (a lost link, an unplug): IRP_MN_SURPRISE_REMOVAL to it and its children
 * (children first), their interfaces disabled, remove-complete notifications (their holders are
 * to close their files), then IRP_MN_REMOVE_DEVICE, as on NT: at once to a stack with no file
 * open, otherwise when the last file object open on any device of the stack is closed
 * (IRP_MJ_CLOSE), from the PnP worker (kmrig_rig_settle waits for it); a parent gets its REMOVE
 * after its children's. Returns when the SURPRISE_REMOVAL IRPs are done; meanwhile the device is
 * listed as KMRIG_DEVICE_SURPRISE_REMOVED, requests on its open files still go to its drivers
 * (which typically fail them with STATUS_DELETE_PENDING), and kmrig_rig_remove_device of it is
 * STATUS_INVALID_DEVICE_STATE (of an ancestor: STATUS_PLUGPLAY_QUERY_VETOED). kmrig_rig_stop or
 * kmrig_rig_close with files still open sends the REMOVE anyway and logs a warning naming the
 * device and the number of files left open. STATUS_INVALID_DEVICE_STATE: already removed or
 * surprise-removed. */
NTSTATUS kmrig_rig_surprise_remove(kmrig_rig *rig, PDEVICE_OBJECT pdo);
/* A hardware-profile change: query (callbacks may veto: STATUS_PLUGPLAY_QUERY_VETOED, then
 * cancelled), then complete. */
NTSTATUS kmrig_rig_hardware_profile_change(kmrig_rig *rig);

/* Removes every device (children first; query-remove, or surprise removal where a driver
 * vetoes), then unloads every driver (DriverUnload). The runtime stays up: a test may check
 * what the drivers did. A stack with files still open gets its IRP_MN_REMOVE_DEVICE too (a
 * surprise-removed one no longer waits) and a KMRIG_LOG_WARN line "pnp: <instance path>:
 * IRP_MN_REMOVE_DEVICE at shutdown with N file object(s) still open on its stack (handles
 * leaked)"; close those files before kmrig_rig_close. Returns STATUS_SUCCESS, or the first error
 * met. */
NTSTATUS kmrig_rig_stop(kmrig_rig *rig);

/* Advances the rig's time by ns (kmrig_runtime_run_for). */
void kmrig_rig_run_for(kmrig_rig *rig, uint64_t ns);

#ifdef __cplusplus
}
#endif

#endif
