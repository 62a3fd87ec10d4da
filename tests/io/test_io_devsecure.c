/* IoCreateDeviceSecure (wdmsec.h): the device's descriptor grants and denies what its SDDL string
 * says, checked with SeAccessCheck(UserMode) for the requestor models of kmrig/security.h
 * (LocalSystem, an administrator, a user, a restricted caller); bad strings are
 * STATUS_INVALID_PARAMETER and create nothing; the class GUID is kept and its registry overrides
 * apply. */
#include "io_test.h"

#include <kmrig/security.h>
#include <wdmsec.h>

enum who { SYSTEM, ADMIN, USER, RESTRICTED, WHO_COUNT };

static void become(kmrig_runtime *rt, enum who w)
{
    static const char *const admin[] = {"S-1-5-32-544", "S-1-5-11"};
    static const char *const user[] = {"S-1-5-32-545", "S-1-5-11"};
    static const char *const restricted[] = {"S-1-5-12"};
    switch (w) {
    case SYSTEM:
        kmrig_security_reset(rt);
        break;
    case ADMIN:
        assert_int_equal(kmrig_security_set_user(rt, "S-1-5-21-1-2-3-500", admin, 2), 0);
        break;
    case USER:
        assert_int_equal(kmrig_security_set_user(rt, "S-1-5-21-1-2-3-1001", user, 2), 0);
        break;
    default:
        assert_int_equal(kmrig_security_set_user(rt, "S-1-5-21-1-2-3-1002", restricted, 1), 0);
        break;
    }
}

/* Does the device's descriptor grant `want` (file rights) to the current requestor? */
static BOOLEAN grants(PDEVICE_OBJECT d, ACCESS_MASK want, KPROCESSOR_MODE mode)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    BOOLEAN allocated = FALSE;
    assert_int_equal(ObGetObjectSecurity(d, &sd, &allocated), STATUS_SUCCESS);
    assert_non_null(sd);
    SECURITY_SUBJECT_CONTEXT ctx;
    SeCaptureSubjectContext(&ctx);
    ACCESS_MASK granted = 0;
    NTSTATUS st = STATUS_PENDING;
    PPRIVILEGE_SET privs = NULL;
    BOOLEAN ok = SeAccessCheck(sd, &ctx, FALSE, want, 0, &privs, IoGetFileObjectGenericMapping(),
                               mode, &granted, &st);
    SeReleaseSubjectContext(&ctx);
    ObReleaseObjectSecurity(sd, allocated);
    if (ok) {
        assert_int_equal(st, STATUS_SUCCESS);
        assert_int_equal(granted, want);
    } else {
        assert_int_equal(st, STATUS_ACCESS_DENIED);
    }
    return ok;
}

#define RD FILE_GENERIC_READ
#define WR FILE_GENERIC_WRITE
#define EX FILE_EXECUTE

/* For each documented constant: what read, write, execute and WRITE_DAC each caller gets. The
 * owner is LocalSystem, which therefore always holds WRITE_DAC (the owner's implicit right). */
static const struct {
    const UNICODE_STRING *Sddl;
    ACCESS_MASK Allowed[WHO_COUNT];
} cases[] = {
    {&SDDL_DEVOBJ_KERNEL_ONLY, {WRITE_DAC, 0, 0, 0}},
    {&SDDL_DEVOBJ_SYS_ALL, {RD | WR | EX | WRITE_DAC, 0, 0, 0}},
    {&SDDL_DEVOBJ_SYS_ALL_ADM_ALL, {RD | WR | EX | WRITE_DAC, RD | WR | EX | WRITE_DAC, 0, 0}},
    {&SDDL_DEVOBJ_SYS_ALL_ADM_RX, {RD | WR | EX | WRITE_DAC, RD | EX, 0, 0}},
    {&SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R, {RD | WR | EX | WRITE_DAC, RD | WR | EX, RD, RD}},
    {&SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_R_RES_R, {RD | WR | EX | WRITE_DAC, RD | WR | EX, RD, RD}},
    {&SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RW_RES_R,
     {RD | WR | EX | WRITE_DAC, RD | WR | EX, RD | WR, RD | WR}},
    {&SDDL_DEVOBJ_SYS_ALL_ADM_RWX_WORLD_RWX_RES_RWX,
     {RD | WR | EX | WRITE_DAC, RD | WR | EX, RD | WR | EX, RD | WR | EX}},
};

static void test_io_create_device_secure_grants_what_the_sddl_says(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT drv = io_load(rt, L"Secure");
    for (unsigned i = 0; i < RTL_NUMBER_OF(cases); i++) {
        PDEVICE_OBJECT d = NULL;
        UNICODE_STRING name = io_us(L"\\Device\\Secure0");
        assert_int_equal(IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN,
                                              FILE_DEVICE_SECURE_OPEN, FALSE, cases[i].Sddl, NULL,
                                              &d),
                         STATUS_SUCCESS);
        assert_non_null(d);
        assert_int_equal(d->DeviceType, FILE_DEVICE_UNKNOWN);
        assert_int_equal(d->Characteristics, FILE_DEVICE_SECURE_OPEN);
        static const ACCESS_MASK asks[] = {RD, WR, EX, WRITE_DAC};
        for (enum who w = SYSTEM; w < WHO_COUNT; w++) {
            become(rt, w);
            for (unsigned k = 0; k < RTL_NUMBER_OF(asks); k++) {
                BOOLEAN want = (cases[i].Allowed[w] & asks[k]) == asks[k];
                if (grants(d, asks[k], UserMode) != want)
                    fail_msg("SDDL %u, caller %d, access 0x%x: expected %s", i, (int)w,
                             (unsigned)asks[k], want ? "granted" : "denied");
            }
            /* Kernel-mode callers are not checked. */
            assert_true(grants(d, RD | WR, KernelMode));
        }
        kmrig_security_reset(rt);
        IoDeleteDevice(d);
    }
    kmrig_runtime_destroy(rt);
}

static void test_io_create_device_secure_hex_rights_and_literal_sid(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT drv = io_load(rt, L"Secure");
    UNICODE_STRING sddl = io_us(L"D:P(A;;GA;;;SY)(A;;0x1;;;S-1-5-21-1-2-3-1001)");
    PDEVICE_OBJECT d = NULL;
    assert_int_equal(IoCreateDeviceSecure(drv, 0, NULL, FILE_DEVICE_UNKNOWN,
                                          FILE_AUTOGENERATED_DEVICE_NAME, FALSE, &sddl, NULL, &d),
                     STATUS_SUCCESS);
    assert_true(d->Flags & DO_DEVICE_HAS_NAME);
    become(rt, USER);
    assert_true(grants(d, FILE_READ_DATA, UserMode));
    assert_false(grants(d, FILE_READ_DATA | FILE_READ_ATTRIBUTES, UserMode));
    become(rt, ADMIN);
    assert_false(grants(d, FILE_READ_DATA, UserMode));
    kmrig_security_reset(rt);
    /* The descriptor goes with the device. */
    ObReferenceObject(d);
    IoDeleteDevice(d);
    PSECURITY_DESCRIPTOR sd = (PVOID)1;
    BOOLEAN allocated = TRUE;
    assert_int_equal(ObGetObjectSecurity(d, &sd, &allocated), STATUS_SUCCESS);
    assert_null(sd);
    ObDereferenceObject(d);
    kmrig_runtime_destroy(rt);
}

static void test_io_create_device_secure_rejects_bad_sddl(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT drv = io_load(rt, L"Secure");
    static const PCWSTR bad[] = {
        L"",
        L"D:",
        L"O:SYD:P(A;;GA;;;SY)", /* owner: outside the subset */
        L"D:P(D;;GA;;;SY)",     /* deny ACE */
        L"D:P(A;OI;GA;;;SY)",   /* ACE flags */
        L"D:P(A;;XX;;;SY)",     /* unknown right */
        L"D:P(A;;G;;;SY)",      /* half a right */
        L"D:P(A;;0xZ1;;;SY)",   /* bad hex */
        L"D:P(A;;GA;;;ZZ)",     /* unknown SID code */
        L"D:P(A;;GA;;;S-1-)",   /* bad SID */
        L"D:P(A;;GA;;;SY",      /* unterminated */
        L"D:P(A;;GA;;;SY)junk", /* trailing text */
        L"D:P(A;;GA;x;;SY)",    /* object GUID */
    };
    UNICODE_STRING name = io_us(L"\\Device\\Bad");
    for (unsigned i = 0; i < RTL_NUMBER_OF(bad); i++) {
        UNICODE_STRING sddl = io_us(bad[i]);
        PDEVICE_OBJECT d = (PVOID)1;
        if (IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &sddl, NULL, &d) !=
            STATUS_INVALID_PARAMETER)
            fail_msg("SDDL %u was accepted", i);
        assert_null(d);
        assert_null(drv->DeviceObject); /* nothing was created */
    }
    PDEVICE_OBJECT d = (PVOID)1;
    assert_int_equal(
        IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, NULL, NULL, &d),
        STATUS_INVALID_PARAMETER);
    /* No name and no FILE_AUTOGENERATED_DEVICE_NAME. */
    assert_int_equal(IoCreateDeviceSecure(drv, 0, NULL, FILE_DEVICE_UNKNOWN, 0, FALSE,
                                          &SDDL_DEVOBJ_SYS_ALL, NULL, &d),
                     STATUS_INVALID_PARAMETER);
    assert_null(drv->DeviceObject);
    /* IoCreateDevice's own errors come through: a name in use. */
    PDEVICE_OBJECT first;
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE,
                                          &SDDL_DEVOBJ_SYS_ALL, NULL, &first),
                     STATUS_SUCCESS);
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE,
                                          &SDDL_DEVOBJ_SYS_ALL, NULL, &d),
                     STATUS_OBJECT_NAME_COLLISION);
    IoDeleteDevice(first);
    kmrig_runtime_destroy(rt);
}

/* {a5dcbf10-6530-11d2-901f-00c04fb951ed} */
static const GUID TestClass = {
    0xa5dcbf10, 0x6530, 0x11d2, {0x90, 0x1f, 0x00, 0xc0, 0x4f, 0xb9, 0x51, 0xed}};

static void test_io_create_device_secure_class_guid_and_overrides(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    PDRIVER_OBJECT drv = io_load(rt, L"Secure");
    UNICODE_STRING name = io_us(L"\\Device\\Classy");
    PDEVICE_OBJECT d;
    /* No class key: the arguments hold and the GUID is kept. */
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE,
                                          &SDDL_DEVOBJ_SYS_ALL, &TestClass, &d),
                     STATUS_SUCCESS);
    assert_memory_equal(&d->DeviceObjectExtension->DeviceClassGuid, &TestClass, sizeof(GUID));
    assert_int_equal(d->DeviceType, FILE_DEVICE_UNKNOWN);
    IoDeleteDevice(d);
    /* The class's Properties key overrides type, characteristics, exclusivity and security. */
    static const WCHAR props[] = L"Class\\{a5dcbf10-6530-11d2-901f-00c04fb951ed}\\Properties";
    RtlCreateRegistryKey(RTL_REGISTRY_CONTROL, L"Class");
    assert_int_equal(RtlCreateRegistryKey(RTL_REGISTRY_CONTROL,
                                          L"Class\\{a5dcbf10-6530-11d2-901f-00c04fb951ed}"),
                     STATUS_SUCCESS);
    ULONG type = FILE_DEVICE_DISK, chars = FILE_REMOVABLE_MEDIA, excl = 1;
    assert_int_equal(RtlWriteRegistryValue(RTL_REGISTRY_CONTROL, props, L"DeviceType", REG_DWORD,
                                           &type, sizeof type),
                     STATUS_SUCCESS);
    RtlWriteRegistryValue(RTL_REGISTRY_CONTROL, props, L"DeviceCharacteristics", REG_DWORD, &chars,
                          sizeof chars);
    RtlWriteRegistryValue(RTL_REGISTRY_CONTROL, props, L"Exclusive", REG_DWORD, &excl, sizeof excl);
    /* Security: everyone may read (a self-relative descriptor, as SetupAPI stores it). */
    SECURITY_DESCRIPTOR abs;
    ULONG aclbuf[64];
    PACL acl = (PACL)aclbuf;
    RtlCreateSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
    RtlCreateAcl(acl, sizeof aclbuf, ACL_REVISION);
    RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_READ, SeExports->SeWorldSid);
    RtlSetDaclSecurityDescriptor(&abs, TRUE, acl, FALSE);
    RtlSetOwnerSecurityDescriptor(&abs, SeExports->SeLocalSystemSid, FALSE);
    UCHAR rel[512];
    ULONG rl = sizeof rel;
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(&abs, rel, &rl), STATUS_SUCCESS);
    assert_int_equal(
        RtlWriteRegistryValue(RTL_REGISTRY_CONTROL, props, L"Security", REG_BINARY, rel, rl),
        STATUS_SUCCESS);
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE,
                                          &SDDL_DEVOBJ_SYS_ALL, &TestClass, &d),
                     STATUS_SUCCESS);
    assert_int_equal(d->DeviceType, FILE_DEVICE_DISK);
    assert_int_equal(d->Characteristics, FILE_REMOVABLE_MEDIA);
    assert_true(d->Flags & DO_EXCLUSIVE);
    become(rt, USER);
    assert_true(grants(d, RD, UserMode)); /* the override's, not SYS_ALL's */
    assert_false(grants(d, WR, UserMode));
    kmrig_security_reset(rt);
    IoDeleteDevice(d);
    /* A Security value that is not a descriptor is ignored (with a log line): the SDDL holds. */
    UCHAR junk[8] = {1, 2, 3};
    RtlWriteRegistryValue(RTL_REGISTRY_CONTROL, props, L"Security", REG_BINARY, junk, sizeof junk);
    assert_int_equal(IoCreateDeviceSecure(drv, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE,
                                          &SDDL_DEVOBJ_SYS_ALL, &TestClass, &d),
                     STATUS_SUCCESS);
    become(rt, USER);
    assert_false(grants(d, RD, UserMode));
    kmrig_security_reset(rt);
    IoDeleteDevice(d);
    kmrig_runtime_destroy(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_create_device_secure_grants_what_the_sddl_says),
    cmocka_unit_test(test_io_create_device_secure_hex_rights_and_literal_sid),
    cmocka_unit_test(test_io_create_device_secure_rejects_bad_sddl),
    cmocka_unit_test(test_io_create_device_secure_class_guid_and_overrides),
};

KMTEST_MAIN(tests)
