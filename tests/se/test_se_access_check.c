/* SeAccessCheck against the requestor model, SeSinglePrivilegeCheck and the harness's
 * kmrig/security.h. */
#include "kmtest.h"

#include <kmrig/security.h>
#include <errno.h>
#include <string.h>

#define R 0x1
#define W 0x2
#define X 0x4
static GENERIC_MAPPING mapping = {R | READ_CONTROL, W | READ_CONTROL, X | READ_CONTROL,
                                  R | W | X | STANDARD_RIGHTS_REQUIRED};

static const char *const user_groups[] = {"S-1-5-32-545", "S-1-5-11"};
#define USER "S-1-5-21-1-2-3-1001"

typedef struct {
    SECURITY_DESCRIPTOR Sd;
    ULONG Acl[128];
} DESC;

static ULONG user_sid_buf[SECURITY_MAX_SID_SIZE / sizeof(ULONG)];

static PSID user_sid(void)
{
    PISID s = (PISID)user_sid_buf;
    SID_IDENTIFIER_AUTHORITY nt = {SECURITY_NT_AUTHORITY};
    RtlInitializeSid(s, &nt, 5);
    static const ULONG rids[5] = {21, 1, 2, 3, 1001};
    for (ULONG i = 0; i < 5; i++)
        *RtlSubAuthoritySid(s, i) = rids[i];
    return s;
}

static void desc_init(DESC *d, BOOLEAN withDacl)
{
    RtlCreateSecurityDescriptor(&d->Sd, SECURITY_DESCRIPTOR_REVISION);
    RtlCreateAcl((PACL)d->Acl, sizeof d->Acl, ACL_REVISION);
    if (withDacl)
        RtlSetDaclSecurityDescriptor(&d->Sd, TRUE, (PACL)d->Acl, FALSE);
    RtlSetOwnerSecurityDescriptor(&d->Sd, SeExports->SeLocalSystemSid, FALSE);
}

static BOOLEAN check(DESC *d, ACCESS_MASK want, KPROCESSOR_MODE mode, ACCESS_MASK *granted,
                     NTSTATUS *st)
{
    SECURITY_SUBJECT_CONTEXT ctx;
    SeCaptureSubjectContext(&ctx);
    PPRIVILEGE_SET privs = (PVOID)1;
    BOOLEAN ok = SeAccessCheck(&d->Sd, &ctx, FALSE, want, 0, &privs, &mapping, mode, granted, st);
    assert_null(privs);
    SeReleaseSubjectContext(&ctx);
    return ok;
}

static void test_se_access_check_dacl_rules(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    assert_int_equal(kmrig_security_set_user(rt, USER, user_groups, 2), 0);
    DESC d;
    ACCESS_MASK g;
    NTSTATUS st;

    /* No DACL: full access. */
    desc_init(&d, FALSE);
    assert_true(check(&d, GENERIC_ALL, UserMode, &g, &st));
    assert_int_equal(st, STATUS_SUCCESS);
    assert_int_equal(g, mapping.GenericAll);

    /* Empty DACL: no access. */
    desc_init(&d, TRUE);
    assert_false(check(&d, R, UserMode, &g, &st));
    assert_int_equal(st, STATUS_ACCESS_DENIED);
    assert_int_equal(g, 0);
    assert_false(check(&d, MAXIMUM_ALLOWED, UserMode, &g, &st));

    /* Allow to Users (a group of the user), generic read mapped. */
    RtlAddAccessAllowedAce((PACL)d.Acl, ACL_REVISION, GENERIC_READ, SeExports->SeAliasUsersSid);
    assert_true(check(&d, GENERIC_READ, UserMode, &g, &st));
    assert_int_equal(g, R | READ_CONTROL);
    assert_false(check(&d, R | W, UserMode, &g, &st));
    assert_int_equal(st, STATUS_ACCESS_DENIED);
    assert_true(check(&d, MAXIMUM_ALLOWED, UserMode, &g, &st));
    assert_int_equal(g, R | READ_CONTROL);

    /* A deny ACE before an allow wins; after it, the allow already granted. */
    desc_init(&d, TRUE);
    RtlAddAccessDeniedAce((PACL)d.Acl, ACL_REVISION, W, user_sid());
    RtlAddAccessAllowedAce((PACL)d.Acl, ACL_REVISION, R | W, SeExports->SeWorldSid);
    assert_false(check(&d, W, UserMode, &g, &st));
    assert_true(check(&d, R, UserMode, &g, &st));
    assert_true(check(&d, MAXIMUM_ALLOWED, UserMode, &g, &st));
    assert_int_equal(g, R);
    desc_init(&d, TRUE);
    RtlAddAccessAllowedAce((PACL)d.Acl, ACL_REVISION, R | W, SeExports->SeWorldSid);
    RtlAddAccessDeniedAce((PACL)d.Acl, ACL_REVISION, W, user_sid());
    assert_true(check(&d, W, UserMode, &g, &st));

    /* ACEs for SIDs the user does not have, and inherit-only ACEs, do not count. */
    desc_init(&d, TRUE);
    RtlAddAccessAllowedAce((PACL)d.Acl, ACL_REVISION, R, SeExports->SeAliasAdminsSid);
    RtlAddAccessAllowedAceEx((PACL)d.Acl, ACL_REVISION, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE, R,
                             SeExports->SeWorldSid);
    assert_false(check(&d, R, UserMode, &g, &st));

    /* Owner rights: the owner may read and write the DACL. */
    desc_init(&d, TRUE);
    RtlSetOwnerSecurityDescriptor(&d.Sd, user_sid(), FALSE);
    assert_true(check(&d, READ_CONTROL | WRITE_DAC, UserMode, &g, &st));
    assert_false(check(&d, R, UserMode, &g, &st));

    /* KernelMode: no check at all. */
    desc_init(&d, TRUE);
    assert_true(check(&d, R | W, KernelMode, &g, &st));
    assert_int_equal(g, R | W);
    kmrig_runtime_destroy(rt);
}

static void test_se_access_check_system_and_privileges(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    DESC d;
    ACCESS_MASK g;
    NTSTATUS st;
    desc_init(&d, TRUE);
    RtlAddAccessAllowedAce((PACL)d.Acl, ACL_REVISION, GENERIC_ALL, SeExports->SeLocalSystemSid);
    /* The default requestor is LocalSystem. */
    assert_true(check(&d, GENERIC_ALL, UserMode, &g, &st));
    assert_int_equal(g, mapping.GenericAll);
    /* ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege enabled: SYSTEM holds it disabled. */
    assert_false(check(&d, ACCESS_SYSTEM_SECURITY, UserMode, &g, &st));
    assert_int_equal(st, STATUS_PRIVILEGE_NOT_HELD);
    uint32_t privs[] = {SE_SECURITY_PRIVILEGE};
    assert_int_equal(kmrig_security_set_privileges(rt, privs, 1), 0);
    assert_true(check(&d, ACCESS_SYSTEM_SECURITY | R, UserMode, &g, &st));
    kmrig_runtime_destroy(rt);
}

static void test_se_single_privilege_check(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    LUID tcb = SeExports->SeTcbPrivilege, load = SeExports->SeLoadDriverPrivilege;
    /* SYSTEM: SeTcb enabled, SeLoadDriver held but disabled; KernelMode always succeeds. */
    assert_true(SeSinglePrivilegeCheck(tcb, UserMode));
    assert_false(SeSinglePrivilegeCheck(load, UserMode));
    assert_true(SeSinglePrivilegeCheck(load, KernelMode));
    /* An unprivileged user. */
    assert_int_equal(kmrig_security_set_user(rt, USER, user_groups, 2), 0);
    assert_false(SeSinglePrivilegeCheck(tcb, UserMode));
    uint32_t p[] = {SE_LOAD_DRIVER_PRIVILEGE};
    assert_int_equal(kmrig_security_set_privileges(rt, p, 1), 0);
    assert_true(SeSinglePrivilegeCheck(load, UserMode));
    /* A context captured earlier keeps its token. */
    SECURITY_SUBJECT_CONTEXT ctx;
    SeCaptureSubjectContext(&ctx);
    kmrig_security_reset(rt);
    PRIVILEGE_SET set = {1, PRIVILEGE_SET_ALL_NECESSARY, {{load, 0}}};
    assert_true(SePrivilegeCheck(&set, &ctx, UserMode));
    assert_true(set.Privilege[0].Attributes & SE_PRIVILEGE_USED_FOR_ACCESS);
    SeReleaseSubjectContext(&ctx);
    assert_false(SeSinglePrivilegeCheck(load, UserMode));
    /* Bad SIDs are refused. */
    assert_int_equal(kmrig_security_set_user(rt, "S-2-5", NULL, 0), -EINVAL);
    assert_int_equal(kmrig_security_set_user(rt, "S-1-5-x", NULL, 0), -EINVAL);
    const char *bad[] = {"nope"};
    assert_int_equal(kmrig_security_set_user(rt, USER, bad, 1), -EINVAL);
    kmrig_runtime_destroy(rt);
}

static void access_check_at_dispatch(void *arg)
{
    kmtest_runtime(1);
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    SeSinglePrivilegeCheck(SeExports->SeTcbPrivilege, UserMode);
}

static void test_se_routines_are_passive_only(void **state)
{
    assert_bugcheck(access_check_at_dispatch, NULL, DRIVER_VERIFIER_DETECTED_VIOLATION);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_se_access_check_dacl_rules),
        cmocka_unit_test(test_se_access_check_system_and_privileges),
        cmocka_unit_test(test_se_single_privilege_check),
        cmocka_unit_test(test_se_routines_are_passive_only),
    };
    return kmtest_main(argc, argv, __FILE__, tests, sizeof tests / sizeof tests[0]);
}
