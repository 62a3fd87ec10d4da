/* Security descriptors, SIDs and ACLs: RtlCreateSecurityDescriptor, RtlValidSecurityDescriptor,
 * RtlLengthSecurityDescriptor, RtlSetDaclSecurityDescriptor, SeValidSecurityDescriptor,
 * SeAssignSecurity/SeDeassignSecurity, ObGetObjectSecurity/ObReleaseObjectSecurity, SeExports. */
#include "kmtest.h"

#include "se.h" /* the internal object-security API (white-box) */

#include <stdlib.h>
#include <string.h>

static GENERIC_MAPPING mapping = {0x1 | READ_CONTROL, 0x2 | READ_CONTROL, 0x4 | READ_CONTROL,
                                  0x7 | STANDARD_RIGHTS_REQUIRED};

static void test_rtl_create_security_descriptor(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SECURITY_DESCRIPTOR sd;
    kmtest_junk(&sd, sizeof sd);
    assert_int_equal(RtlCreateSecurityDescriptor(&sd, 2), STATUS_UNKNOWN_REVISION);
    assert_int_equal(RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION),
                     STATUS_SUCCESS);
    assert_int_equal(sd.Revision, 1);
    assert_int_equal(sd.Control, 0);
    assert_null(sd.Owner);
    assert_null(sd.Dacl);
    assert_true(RtlValidSecurityDescriptor(&sd));
    assert_int_equal(RtlLengthSecurityDescriptor(&sd), sizeof(SECURITY_DESCRIPTOR));
    sd.Revision = 3;
    assert_false(RtlValidSecurityDescriptor(&sd));
    kmrig_runtime_destroy(rt);
}

static void test_rtl_set_dacl_and_length(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SECURITY_DESCRIPTOR sd;
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    ULONG aclbuf[64];
    PACL acl = (PACL)aclbuf;
    assert_int_equal(RtlCreateAcl(acl, sizeof aclbuf, ACL_REVISION), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_READ, SeExports->SeWorldSid),
                     STATUS_SUCCESS);
    assert_int_equal(
        RtlAddAccessDeniedAce(acl, ACL_REVISION, GENERIC_WRITE, SeExports->SeAliasUsersSid),
        STATUS_SUCCESS);
    assert_int_equal(acl->AceCount, 2);
    assert_true(RtlValidAcl(acl));
    assert_int_equal(RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE), STATUS_SUCCESS);
    assert_true(sd.Control & SE_DACL_PRESENT);
    assert_false(sd.Control & SE_DACL_DEFAULTED);
    assert_ptr_equal(sd.Dacl, acl);
    assert_int_equal(RtlSetOwnerSecurityDescriptor(&sd, SeExports->SeLocalSystemSid, FALSE),
                     STATUS_SUCCESS);
    assert_int_equal(RtlLengthSecurityDescriptor(&sd),
                     sizeof(SECURITY_DESCRIPTOR) + 12 + acl->AclSize);
    assert_true(RtlValidSecurityDescriptor(&sd));
    /* A broken ACL makes the descriptor invalid. */
    acl->AceCount = 40;
    assert_false(RtlValidSecurityDescriptor(&sd));
    acl->AceCount = 2;
    assert_int_equal(RtlSetDaclSecurityDescriptor(&sd, FALSE, NULL, FALSE), STATUS_SUCCESS);
    assert_false(sd.Control & SE_DACL_PRESENT);
    /* Not on a self-relative descriptor, not on a bad revision. */
    sd.Control |= SE_SELF_RELATIVE;
    assert_int_equal(RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE),
                     STATUS_BAD_DESCRIPTOR_FORMAT);
    sd.Control &= ~SE_SELF_RELATIVE;
    sd.Revision = 0;
    assert_int_equal(RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE), STATUS_UNKNOWN_REVISION);
    /* A full ACL says so. */
    ULONG small[4];
    RtlCreateAcl((PACL)small, sizeof small, ACL_REVISION);
    assert_int_equal(RtlAddAccessAllowedAce((PACL)small, ACL_REVISION, 1, SeExports->SeWorldSid),
                     STATUS_ALLOTTED_SPACE_EXCEEDED);
    kmrig_runtime_destroy(rt);
}

static void test_se_valid_security_descriptor_self_relative(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SECURITY_DESCRIPTOR sd;
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    ULONG aclbuf[16];
    RtlCreateAcl((PACL)aclbuf, sizeof aclbuf, ACL_REVISION);
    RtlAddAccessAllowedAce((PACL)aclbuf, ACL_REVISION, 0x1, SeExports->SeWorldSid);
    RtlSetDaclSecurityDescriptor(&sd, TRUE, (PACL)aclbuf, FALSE);
    RtlSetOwnerSecurityDescriptor(&sd, SeExports->SeAliasAdminsSid, FALSE);
    UCHAR rel[256];
    ULONG len = 4;
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(&sd, rel, &len), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(len, 20 + 16 + ((PACL)aclbuf)->AclSize);
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(&sd, rel, &len), STATUS_SUCCESS);
    assert_true(SeValidSecurityDescriptor(len, rel));
    assert_true(RtlValidSecurityDescriptor(rel));
    assert_int_equal(RtlLengthSecurityDescriptor(rel), RtlLengthSecurityDescriptor(&sd));
    /* Truncated, or an offset out of bounds, or not self-relative: invalid. */
    assert_false(SeValidSecurityDescriptor(len - 4, rel));
    assert_false(SeValidSecurityDescriptor(10, rel));
    assert_false(SeValidSecurityDescriptor(len, &sd));
    PISECURITY_DESCRIPTOR_RELATIVE r = (PVOID)rel;
    r->Dacl = 250;
    assert_false(SeValidSecurityDescriptor(len, rel));
    kmrig_runtime_destroy(rt);
}

static void test_se_assign_security_inherits_and_defaults(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    SECURITY_SUBJECT_CONTEXT ctx;
    SeCaptureSubjectContext(&ctx);
    /* No parent, no explicit: the creator's default DACL, owner Administrators for SYSTEM. */
    PSECURITY_DESCRIPTOR sd = NULL;
    assert_int_equal(SeAssignSecurity(NULL, NULL, &sd, FALSE, &ctx, &mapping, PagedPool),
                     STATUS_SUCCESS);
    assert_non_null(sd);
    assert_true(((PISECURITY_DESCRIPTOR)sd)->Control & SE_SELF_RELATIVE);
    assert_true(SeValidSecurityDescriptor(RtlLengthSecurityDescriptor(sd), sd));
    PSID owner;
    BOOLEAN defaulted, present;
    assert_int_equal(RtlGetOwnerSecurityDescriptor(sd, &owner, &defaulted), STATUS_SUCCESS);
    assert_true(RtlEqualSid(owner, SeExports->SeAliasAdminsSid));
    PACL dacl;
    RtlGetDaclSecurityDescriptor(sd, &present, &dacl, &defaulted);
    assert_true(present);
    assert_int_equal(dacl->AceCount, 2);
    PACCESS_ALLOWED_ACE ace;
    RtlGetAce(dacl, 0, (PVOID *)&ace);
    assert_int_equal(ace->Mask, mapping.GenericAll); /* generic rights mapped */
    SECURITY_DESCRIPTOR *parentAbs = malloc(sizeof *parentAbs);
    RtlCreateSecurityDescriptor(parentAbs, SECURITY_DESCRIPTOR_REVISION);
    ULONG aclbuf[64];
    PACL pacl = (PACL)aclbuf;
    RtlCreateAcl(pacl, sizeof aclbuf, ACL_REVISION);
    RtlAddAccessAllowedAceEx(pacl, ACL_REVISION, OBJECT_INHERIT_ACE, GENERIC_READ,
                             SeExports->SeWorldSid);
    RtlAddAccessAllowedAceEx(pacl, ACL_REVISION, CONTAINER_INHERIT_ACE, GENERIC_ALL,
                             SeExports->SeAliasAdminsSid);
    RtlAddAccessDeniedAce(pacl, ACL_REVISION, GENERIC_WRITE, SeExports->SeAliasGuestsSid);
    RtlSetDaclSecurityDescriptor(parentAbs, TRUE, pacl, FALSE);
    PSECURITY_DESCRIPTOR child = NULL, dir = NULL;
    /* An object child inherits the OBJECT_INHERIT ACE only, mapped, flagged INHERITED_ACE. */
    assert_int_equal(SeAssignSecurity(parentAbs, NULL, &child, FALSE, &ctx, &mapping, PagedPool),
                     STATUS_SUCCESS);
    RtlGetDaclSecurityDescriptor(child, &present, &dacl, &defaulted);
    assert_int_equal(dacl->AceCount, 1);
    RtlGetAce(dacl, 0, (PVOID *)&ace);
    assert_int_equal(ace->Mask, mapping.GenericRead);
    assert_int_equal(ace->Header.AceFlags, INHERITED_ACE);
    /* A container child: the container ACE effective and inheritable, the object ACE
     * inherit-only. */
    assert_int_equal(SeAssignSecurity(parentAbs, NULL, &dir, TRUE, &ctx, &mapping, PagedPool),
                     STATUS_SUCCESS);
    RtlGetDaclSecurityDescriptor(dir, &present, &dacl, &defaulted);
    assert_int_equal(dacl->AceCount, 2);
    RtlGetAce(dacl, 0, (PVOID *)&ace);
    assert_true(ace->Header.AceFlags & INHERIT_ONLY_ACE);
    /* An explicit DACL wins over inheritance. */
    PSECURITY_DESCRIPTOR ex = NULL;
    SECURITY_DESCRIPTOR explicitSd;
    RtlCreateSecurityDescriptor(&explicitSd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&explicitSd, TRUE, NULL, FALSE); /* NULL DACL */
    assert_int_equal(
        SeAssignSecurity(parentAbs, &explicitSd, &ex, FALSE, &ctx, &mapping, PagedPool),
        STATUS_SUCCESS);
    RtlGetDaclSecurityDescriptor(ex, &present, &dacl, &defaulted);
    assert_null(dacl);
    assert_int_equal(SeDeassignSecurity(&sd), STATUS_SUCCESS);
    assert_null(sd);
    SeDeassignSecurity(&child);
    SeDeassignSecurity(&dir);
    SeDeassignSecurity(&ex);
    /* Bad input. */
    explicitSd.Revision = 9;
    assert_int_equal(SeAssignSecurity(NULL, &explicitSd, &ex, FALSE, &ctx, &mapping, PagedPool),
                     STATUS_INVALID_SECURITY_DESCR);
    assert_int_equal(SeAssignSecurity(NULL, NULL, &ex, FALSE, NULL, &mapping, PagedPool),
                     STATUS_INVALID_OWNER);
    SeReleaseSubjectContext(&ctx);
    free(parentAbs);
    kmrig_runtime_destroy(rt);
}

static void test_ob_get_object_security(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    HANDLE h;
    UNICODE_STRING n;
    OBJECT_ATTRIBUTES oa;
    RtlInitUnicodeString(&n, L"\\Registry\\Machine\\Software");
    InitializeObjectAttributes(&oa, &n, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenKey(&h, KEY_READ, &oa), STATUS_SUCCESS);
    PVOID key;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, *CmKeyObjectType, KernelMode, &key, NULL),
                     STATUS_SUCCESS);
    PSECURITY_DESCRIPTOR sd = (PVOID)1;
    BOOLEAN allocated = TRUE;
    /* No descriptor attached: NULL and FALSE. */
    assert_int_equal(ObGetObjectSecurity(key, &sd, &allocated), STATUS_SUCCESS);
    assert_null(sd);
    assert_false(allocated);
    ObReleaseObjectSecurity(sd, allocated);
    /* A component attaches one (the internal API Io uses for devices). */
    SECURITY_DESCRIPTOR abs;
    RtlCreateSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
    RtlSetOwnerSecurityDescriptor(&abs, SeExports->SeLocalSystemSid, FALSE);
    RtlSetDaclSecurityDescriptor(&abs, TRUE, NULL, FALSE);
    assert_int_equal(SepSetObjectSecurity(rt, key, &abs), STATUS_SUCCESS);
    assert_int_equal(ObGetObjectSecurity(key, &sd, &allocated), STATUS_SUCCESS);
    assert_non_null(sd);
    assert_true(allocated);
    assert_true(SeValidSecurityDescriptor(RtlLengthSecurityDescriptor(sd), sd));
    PSID owner;
    BOOLEAN defaulted;
    RtlGetOwnerSecurityDescriptor(sd, &owner, &defaulted);
    assert_true(RtlEqualSid(owner, SeExports->SeLocalSystemSid));
    ObReleaseObjectSecurity(sd, allocated); /* the pool verifier checks the tag */
    SepDeleteObjectSecurity(rt, key);
    assert_int_equal(ObGetObjectSecurity(key, &sd, &allocated), STATUS_SUCCESS);
    assert_null(sd);
    ObDereferenceObject(key);
    ZwClose(h);
    kmrig_runtime_destroy(rt);
}

static void test_se_exports_well_known_sids(void **state)
{
    kmrig_runtime *rt = kmtest_runtime(1);
    UNICODE_STRING s;
    assert_int_equal(RtlConvertSidToUnicodeString(&s, SeExports->SeLocalSystemSid, TRUE),
                     STATUS_SUCCESS);
    UNICODE_STRING want;
    RtlInitUnicodeString(&want, L"S-1-5-18");
    assert_true(RtlEqualUnicodeString(&s, &want, FALSE));
    RtlFreeUnicodeString(&s);
    assert_int_equal(RtlConvertSidToUnicodeString(&s, SeExports->SeAliasAdminsSid, TRUE),
                     STATUS_SUCCESS);
    RtlInitUnicodeString(&want, L"S-1-5-32-544");
    assert_true(RtlEqualUnicodeString(&s, &want, FALSE));
    RtlFreeUnicodeString(&s);
    assert_int_equal(RtlLengthSid(SeExports->SeWorldSid), 12);
    assert_true(RtlValidSid(SeExports->SeNtAuthoritySid));
    assert_int_equal(SeExports->SeLoadDriverPrivilege.LowPart, SE_LOAD_DRIVER_PRIVILEGE);
    kmrig_runtime_destroy(rt);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtl_create_security_descriptor),
        cmocka_unit_test(test_rtl_set_dacl_and_length),
        cmocka_unit_test(test_se_valid_security_descriptor_self_relative),
        cmocka_unit_test(test_se_assign_security_inherits_and_defaults),
        cmocka_unit_test(test_ob_get_object_security),
        cmocka_unit_test(test_se_exports_well_known_sids),
    };
    return kmtest_main(argc, argv, __FILE__, tests, sizeof tests / sizeof tests[0]);
}
