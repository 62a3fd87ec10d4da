/*
 * Security (Se): the requestor's token model (kmrig/security.h), subject contexts, privilege
 * checks and the well-known SIDs of SeExports.
 */
#include <kmrig/security.h>

#include "ob.h"
#include "se.h"
#include "vf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- SeExports: constant well-known data shared by every instance (like the Ob types) ------- */

#define SEP_SID1(name, auth, r0) static SID name = {SID_REVISION, 1, {{0, 0, 0, 0, 0, auth}}, {r0}}
#define SEP_SID2(name, r1)                                                                         \
    static struct {                                                                                \
        SID Sid;                                                                                   \
        ULONG More;                                                                                \
    } name = {{SID_REVISION, 2, {{0, 0, 0, 0, 0, 5}}, {SECURITY_BUILTIN_DOMAIN_RID}}, r1}

SEP_SID1(SepNullSid, 0, SECURITY_NULL_RID);
SEP_SID1(SepWorldSid, 1, SECURITY_WORLD_RID);
SEP_SID1(SepLocalSid, 2, SECURITY_LOCAL_RID);
SEP_SID1(SepCreatorOwnerSid, 3, SECURITY_CREATOR_OWNER_RID);
SEP_SID1(SepCreatorGroupSid, 3, SECURITY_CREATOR_GROUP_RID);
static struct {
    UCHAR Revision, Count;
    SID_IDENTIFIER_AUTHORITY Authority;
} SepNtAuthoritySid = {SID_REVISION, 0, {{0, 0, 0, 0, 0, 5}}};
SEP_SID1(SepDialupSid, 5, SECURITY_DIALUP_RID);
SEP_SID1(SepNetworkSid, 5, SECURITY_NETWORK_RID);
SEP_SID1(SepBatchSid, 5, SECURITY_BATCH_RID);
SEP_SID1(SepInteractiveSid, 5, SECURITY_INTERACTIVE_RID);
SEP_SID1(SepLocalSystemSid, 5, SECURITY_LOCAL_SYSTEM_RID);
SEP_SID1(SepAuthenticatedUsersSid, 5, SECURITY_AUTHENTICATED_USER_RID);
SEP_SID1(SepRestrictedSid, 5, SECURITY_RESTRICTED_CODE_RID);
SEP_SID1(SepAnonymousLogonSid, 5, SECURITY_ANONYMOUS_LOGON_RID);
SEP_SID1(SepLocalServiceSid, 5, SECURITY_LOCAL_SERVICE_RID);
SEP_SID1(SepNetworkServiceSid, 5, SECURITY_NETWORK_SERVICE_RID);
SEP_SID2(SepAliasAdminsSid, DOMAIN_ALIAS_RID_ADMINS);
SEP_SID2(SepAliasUsersSid, DOMAIN_ALIAS_RID_USERS);
SEP_SID2(SepAliasGuestsSid, DOMAIN_ALIAS_RID_GUESTS);
SEP_SID2(SepAliasPowerUsersSid, DOMAIN_ALIAS_RID_POWER_USERS);
SEP_SID2(SepAliasAccountOpsSid, DOMAIN_ALIAS_RID_ACCOUNT_OPS);
SEP_SID2(SepAliasSystemOpsSid, DOMAIN_ALIAS_RID_SYSTEM_OPS);
SEP_SID2(SepAliasPrintOpsSid, DOMAIN_ALIAS_RID_PRINT_OPS);
SEP_SID2(SepAliasBackupOpsSid, DOMAIN_ALIAS_RID_BACKUP_OPS);

#define SEP_LUID(p)                                                                                \
    {                                                                                              \
        (p), 0                                                                                     \
    }
static SE_EXPORTS SepExports = {
    .SeCreateTokenPrivilege = SEP_LUID(SE_CREATE_TOKEN_PRIVILEGE),
    .SeAssignPrimaryTokenPrivilege = SEP_LUID(SE_ASSIGNPRIMARYTOKEN_PRIVILEGE),
    .SeLockMemoryPrivilege = SEP_LUID(SE_LOCK_MEMORY_PRIVILEGE),
    .SeIncreaseQuotaPrivilege = SEP_LUID(SE_INCREASE_QUOTA_PRIVILEGE),
    .SeUnsolicitedInputPrivilege = SEP_LUID(6),
    .SeTcbPrivilege = SEP_LUID(SE_TCB_PRIVILEGE),
    .SeSecurityPrivilege = SEP_LUID(SE_SECURITY_PRIVILEGE),
    .SeTakeOwnershipPrivilege = SEP_LUID(SE_TAKE_OWNERSHIP_PRIVILEGE),
    .SeLoadDriverPrivilege = SEP_LUID(SE_LOAD_DRIVER_PRIVILEGE),
    .SeCreatePagefilePrivilege = SEP_LUID(SE_CREATE_PAGEFILE_PRIVILEGE),
    .SeIncreaseBasePriorityPrivilege = SEP_LUID(SE_INC_BASE_PRIORITY_PRIVILEGE),
    .SeSystemProfilePrivilege = SEP_LUID(SE_SYSTEM_PROFILE_PRIVILEGE),
    .SeSystemtimePrivilege = SEP_LUID(SE_SYSTEMTIME_PRIVILEGE),
    .SeProfileSingleProcessPrivilege = SEP_LUID(SE_PROF_SINGLE_PROCESS_PRIVILEGE),
    .SeCreatePermanentPrivilege = SEP_LUID(SE_CREATE_PERMANENT_PRIVILEGE),
    .SeBackupPrivilege = SEP_LUID(SE_BACKUP_PRIVILEGE),
    .SeRestorePrivilege = SEP_LUID(SE_RESTORE_PRIVILEGE),
    .SeShutdownPrivilege = SEP_LUID(SE_SHUTDOWN_PRIVILEGE),
    .SeDebugPrivilege = SEP_LUID(SE_DEBUG_PRIVILEGE),
    .SeAuditPrivilege = SEP_LUID(SE_AUDIT_PRIVILEGE),
    .SeSystemEnvironmentPrivilege = SEP_LUID(SE_SYSTEM_ENVIRONMENT_PRIVILEGE),
    .SeChangeNotifyPrivilege = SEP_LUID(SE_CHANGE_NOTIFY_PRIVILEGE),
    .SeRemoteShutdownPrivilege = SEP_LUID(SE_REMOTE_SHUTDOWN_PRIVILEGE),
    .SeNullSid = &SepNullSid,
    .SeWorldSid = &SepWorldSid,
    .SeLocalSid = &SepLocalSid,
    .SeCreatorOwnerSid = &SepCreatorOwnerSid,
    .SeCreatorGroupSid = &SepCreatorGroupSid,
    .SeNtAuthoritySid = &SepNtAuthoritySid,
    .SeDialupSid = &SepDialupSid,
    .SeNetworkSid = &SepNetworkSid,
    .SeBatchSid = &SepBatchSid,
    .SeInteractiveSid = &SepInteractiveSid,
    .SeLocalSystemSid = &SepLocalSystemSid,
    .SeAliasAdminsSid = &SepAliasAdminsSid,
    .SeAliasUsersSid = &SepAliasUsersSid,
    .SeAliasGuestsSid = &SepAliasGuestsSid,
    .SeAliasPowerUsersSid = &SepAliasPowerUsersSid,
    .SeAliasAccountOpsSid = &SepAliasAccountOpsSid,
    .SeAliasSystemOpsSid = &SepAliasSystemOpsSid,
    .SeAliasPrintOpsSid = &SepAliasPrintOpsSid,
    .SeAliasBackupOpsSid = &SepAliasBackupOpsSid,
    .SeAuthenticatedUsersSid = &SepAuthenticatedUsersSid,
    .SeRestrictedSid = &SepRestrictedSid,
    .SeAnonymousLogonSid = &SepAnonymousLogonSid,
    .SeUndockPrivilege = SEP_LUID(SE_UNDOCK_PRIVILEGE),
    .SeSyncAgentPrivilege = SEP_LUID(SE_SYNC_AGENT_PRIVILEGE),
    .SeEnableDelegationPrivilege = SEP_LUID(SE_ENABLE_DELEGATION_PRIVILEGE),
    .SeLocalServiceSid = &SepLocalServiceSid,
    .SeNetworkServiceSid = &SepNetworkServiceSid,
    .SeManageVolumePrivilege = SEP_LUID(SE_MANAGE_VOLUME_PRIVILEGE),
    .SeImpersonatePrivilege = SEP_LUID(SE_IMPERSONATE_PRIVILEGE),
    .SeCreateGlobalPrivilege = SEP_LUID(SE_CREATE_GLOBAL_PRIVILEGE),
    .SeTrustedCredManAccessPrivilege = SEP_LUID(SE_TRUSTED_CREDMAN_ACCESS_PRIVILEGE),
    .SeRelabelPrivilege = SEP_LUID(SE_RELABEL_PRIVILEGE),
    .SeIncWorkingSetPrivilege = SEP_LUID(SE_INC_WORKING_SET_PRIVILEGE),
    .SeTimeZonePrivilege = SEP_LUID(SE_TIME_ZONE_PRIVILEGE),
    .SeCreateSymbolicLinkPrivilege = SEP_LUID(SE_CREATE_SYMBOLIC_LINK_PRIVILEGE),
};
PSE_EXPORTS SeExports = &SepExports;

/* ---- The token model ------------------------------------------------------------------------- */

static VOID SepSetEntry(SEP_SID_ENTRY *e, PSID Sid, ULONG Attributes)
{
    memset(e, 0, sizeof *e);
    memcpy(e->Sid, Sid, RtlLengthSid(Sid));
    e->Attributes = Attributes;
}

#define SEP_GROUP_DEFAULT (SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED)

VOID SepInitSystemToken(PSEP_TOKEN Token)
{
    static const struct {
        ULONG Privilege;
        BOOLEAN Enabled;
    } privileges[] = {
        {SE_CREATE_TOKEN_PRIVILEGE, FALSE},
        {SE_ASSIGNPRIMARYTOKEN_PRIVILEGE, FALSE},
        {SE_LOCK_MEMORY_PRIVILEGE, TRUE},
        {SE_INCREASE_QUOTA_PRIVILEGE, FALSE},
        {SE_TCB_PRIVILEGE, TRUE},
        {SE_SECURITY_PRIVILEGE, FALSE},
        {SE_TAKE_OWNERSHIP_PRIVILEGE, FALSE},
        {SE_LOAD_DRIVER_PRIVILEGE, FALSE},
        {SE_SYSTEM_PROFILE_PRIVILEGE, TRUE},
        {SE_SYSTEMTIME_PRIVILEGE, FALSE},
        {SE_PROF_SINGLE_PROCESS_PRIVILEGE, TRUE},
        {SE_INC_BASE_PRIORITY_PRIVILEGE, TRUE},
        {SE_CREATE_PAGEFILE_PRIVILEGE, TRUE},
        {SE_CREATE_PERMANENT_PRIVILEGE, TRUE},
        {SE_BACKUP_PRIVILEGE, FALSE},
        {SE_RESTORE_PRIVILEGE, FALSE},
        {SE_SHUTDOWN_PRIVILEGE, FALSE},
        {SE_DEBUG_PRIVILEGE, TRUE},
        {SE_AUDIT_PRIVILEGE, TRUE},
        {SE_SYSTEM_ENVIRONMENT_PRIVILEGE, FALSE},
        {SE_CHANGE_NOTIFY_PRIVILEGE, TRUE},
        {SE_UNDOCK_PRIVILEGE, FALSE},
        {SE_MANAGE_VOLUME_PRIVILEGE, FALSE},
        {SE_IMPERSONATE_PRIVILEGE, TRUE},
        {SE_CREATE_GLOBAL_PRIVILEGE, TRUE},
        {SE_INC_WORKING_SET_PRIVILEGE, TRUE},
        {SE_TIME_ZONE_PRIVILEGE, TRUE},
        {SE_CREATE_SYMBOLIC_LINK_PRIVILEGE, TRUE},
        {SE_DELEGATE_SESSION_USER_IMPERSONATE_PRIVILEGE, TRUE},
    };
    memset(Token, 0, sizeof *Token);
    Token->System = TRUE;
    SepSetEntry(&Token->User, &SepLocalSystemSid, 0);
    SepSetEntry(&Token->Groups[0], &SepAliasAdminsSid, SEP_GROUP_DEFAULT | SE_GROUP_OWNER);
    SepSetEntry(&Token->Groups[1], &SepWorldSid, SEP_GROUP_DEFAULT);
    SepSetEntry(&Token->Groups[2], &SepAuthenticatedUsersSid, SEP_GROUP_DEFAULT);
    Token->GroupCount = 3;
    SepSetEntry(&Token->Owner, &SepAliasAdminsSid, 0);
    SepSetEntry(&Token->PrimaryGroup, &SepLocalSystemSid, 0);
    for (size_t i = 0; i < RTL_NUMBER_OF(privileges); i++) {
        Token->Privileges[i].Luid.LowPart = privileges[i].Privilege;
        Token->Privileges[i].Attributes =
            privileges[i].Enabled ? SE_PRIVILEGE_ENABLED | SE_PRIVILEGE_ENABLED_BY_DEFAULT : 0;
    }
    Token->PrivilegeCount = RTL_NUMBER_OF(privileges);
}

BOOLEAN SepTokenHasSid(PSEP_TOKEN Token, PSID Sid, BOOLEAN ForDeny)
{
    if (RtlEqualSid(Token->User.Sid, Sid))
        return TRUE;
    for (ULONG i = 0; i < Token->GroupCount; i++) {
        ULONG a = Token->Groups[i].Attributes;
        BOOLEAN active = (a & SE_GROUP_ENABLED) || (ForDeny && (a & SE_GROUP_USE_FOR_DENY_ONLY));
        if (!ForDeny && (a & SE_GROUP_USE_FOR_DENY_ONLY))
            active = FALSE;
        if (active && RtlEqualSid(Token->Groups[i].Sid, Sid))
            return TRUE;
    }
    return FALSE;
}

BOOLEAN SepTokenHasPrivilege(PSEP_TOKEN Token, ULONG Privilege)
{
    for (ULONG i = 0; i < Token->PrivilegeCount; i++)
        if (Token->Privileges[i].Luid.LowPart == Privilege &&
            Token->Privileges[i].Luid.HighPart == 0)
            return (Token->Privileges[i].Attributes & SE_PRIVILEGE_ENABLED) != 0;
    return FALSE;
}

PSEP_TOKEN SepSubjectToken(PSECURITY_SUBJECT_CONTEXT Context)
{
    PVOID t = Context->ClientToken ? Context->ClientToken : Context->PrimaryToken;
    if (!t || !ObpIsObject(t) || OBJECT_TO_OBJECT_HEADER(t)->Type != &ObpTokenType)
        return NULL;
    return t;
}

NTSTATUS SepInitialize(struct kmrig_runtime *rt)
{
    SEP_STATE *se = calloc(1, sizeof *se);
    if (!se)
        return STATUS_INSUFFICIENT_RESOURCES;
    pthread_mutex_init(&se->Lock, NULL);
    SepInitSystemToken(&se->Requestor);
    rt->Se = se;
    return STATUS_SUCCESS;
}

VOID SepShutdown(struct kmrig_runtime *rt)
{
    SEP_STATE *se = rt->Se;
    for (ULONG i = 0; i < se->ObjectCount; i++)
        free(se->Objects[i].Descriptor);
    free(se->Objects);
    pthread_mutex_destroy(&se->Lock);
    free(se);
    rt->Se = NULL;
}

/* ---- Subject contexts ------------------------------------------------------------------------ */

VOID NTAPI SeCaptureSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    struct kmrig_runtime *rt = KiRuntime();
    memset(SubjectContext, 0, sizeof *SubjectContext);
    SubjectContext->ImpersonationLevel = SecurityAnonymous;
    PSEP_TOKEN t = ObpCreateObject(rt, &ObpTokenType, sizeof(SEP_TOKEN));
    if (!t)
        return; /* no token: access checks in UserMode fail closed */
    pthread_mutex_lock(&rt->Se->Lock);
    *t = rt->Se->Requestor;
    pthread_mutex_unlock(&rt->Se->Lock);
    SubjectContext->PrimaryToken = t;
}

/* Tokens are snapshots nobody changes: locking a subject context has nothing to exclude. */
VOID NTAPI SeLockSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
}

VOID NTAPI SeUnlockSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
}

VOID NTAPI SeReleaseSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (SubjectContext->PrimaryToken)
        ObfDereferenceObject(SubjectContext->PrimaryToken);
    if (SubjectContext->ClientToken)
        ObfDereferenceObject(SubjectContext->ClientToken);
    SubjectContext->PrimaryToken = SubjectContext->ClientToken = NULL;
}

/* ---- Privileges ------------------------------------------------------------------------------ */

BOOLEAN NTAPI SePrivilegeCheck(PPRIVILEGE_SET RequiredPrivileges,
                               PSECURITY_SUBJECT_CONTEXT SubjectSecurityContext,
                               KPROCESSOR_MODE AccessMode)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (AccessMode == KernelMode)
        return TRUE;
    PSEP_TOKEN t = SepSubjectToken(SubjectSecurityContext);
    if (!t)
        return FALSE;
    ULONG held = 0;
    for (ULONG i = 0; i < RequiredPrivileges->PrivilegeCount; i++) {
        LUID_AND_ATTRIBUTES *p = &RequiredPrivileges->Privilege[i];
        if (p->Luid.HighPart == 0 && SepTokenHasPrivilege(t, p->Luid.LowPart)) {
            p->Attributes |= SE_PRIVILEGE_USED_FOR_ACCESS;
            held++;
        }
    }
    if (RequiredPrivileges->Control & PRIVILEGE_SET_ALL_NECESSARY)
        return held == RequiredPrivileges->PrivilegeCount;
    return held > 0;
}

BOOLEAN NTAPI SeSinglePrivilegeCheck(LUID PrivilegeValue, KPROCESSOR_MODE PreviousMode)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (PreviousMode == KernelMode)
        return TRUE;
    SECURITY_SUBJECT_CONTEXT ctx;
    SeCaptureSubjectContext(&ctx);
    PRIVILEGE_SET set = {1, PRIVILEGE_SET_ALL_NECESSARY, {{PrivilegeValue, 0}}};
    BOOLEAN ok = SePrivilegeCheck(&set, &ctx, PreviousMode);
    SeReleaseSubjectContext(&ctx);
    return ok;
}

/* ---- Harness API ----------------------------------------------------------------------------- */

/* "S-1-<authority>-<sub>..." into Out (SEP_SID_BYTES). */
static BOOLEAN SepParseSid(const char *s, SEP_SID_ENTRY *Out)
{
    PISID sid = (PISID)Out->Sid;
    memset(Out, 0, sizeof *Out);
    if ((s[0] != 'S' && s[0] != 's') || s[1] != '-' || s[2] != '1' || s[3] != '-')
        return FALSE;
    char *end;
    errno = 0;
    unsigned long long auth = strtoull(s + 4, &end, 0);
    if (end == s + 4 || errno || auth >= (1ull << 48))
        return FALSE;
    sid->Revision = SID_REVISION;
    for (int i = 0; i < 6; i++)
        sid->IdentifierAuthority.Value[i] = (UCHAR)(auth >> (8 * (5 - i)));
    const char *p = end;
    while (*p) {
        if (*p != '-' || sid->SubAuthorityCount == SID_MAX_SUB_AUTHORITIES)
            return FALSE;
        errno = 0;
        unsigned long long v = strtoull(p + 1, &end, 10);
        if (end == p + 1 || errno || v > 0xFFFFFFFFull)
            return FALSE;
        sid->SubAuthority[sid->SubAuthorityCount++] = (ULONG)v;
        p = end;
    }
    return TRUE;
}

int kmrig_security_set_user(kmrig_runtime *rt, const char *user_sid, const char *const *group_sids,
                            size_t group_count)
{
    SEP_TOKEN t;
    memset(&t, 0, sizeof t);
    if (!user_sid || !SepParseSid(user_sid, &t.User)) {
        KmLog(rt, KMRIG_LOG_ERROR, "kmrig_security_set_user: bad user SID '%s'",
              user_sid ? user_sid : "(null)");
        return -EINVAL;
    }
    if (group_count > SEP_MAX_GROUPS - 1)
        return -EINVAL;
    for (size_t i = 0; i < group_count; i++) {
        if (!SepParseSid(group_sids[i], &t.Groups[i])) {
            KmLog(rt, KMRIG_LOG_ERROR, "kmrig_security_set_user: bad group SID '%s'",
                  group_sids[i]);
            return -EINVAL;
        }
        t.Groups[i].Attributes = SEP_GROUP_DEFAULT;
    }
    t.GroupCount = (ULONG)group_count;
    SepSetEntry(&t.Groups[t.GroupCount++], &SepWorldSid, SEP_GROUP_DEFAULT);
    t.Owner = t.User;
    t.PrimaryGroup = t.User;
    pthread_mutex_lock(&rt->Se->Lock);
    rt->Se->Requestor = t;
    pthread_mutex_unlock(&rt->Se->Lock);
    return 0;
}

int kmrig_security_set_privileges(kmrig_runtime *rt, const uint32_t *privileges, size_t count)
{
    if (count > SEP_MAX_PRIVILEGES || (count && !privileges))
        return -EINVAL;
    pthread_mutex_lock(&rt->Se->Lock);
    SEP_TOKEN *t = &rt->Se->Requestor;
    for (size_t i = 0; i < count; i++) {
        t->Privileges[i].Luid.LowPart = privileges[i];
        t->Privileges[i].Luid.HighPart = 0;
        t->Privileges[i].Attributes = SE_PRIVILEGE_ENABLED;
    }
    t->PrivilegeCount = (ULONG)count;
    pthread_mutex_unlock(&rt->Se->Lock);
    return 0;
}

void kmrig_security_reset(kmrig_runtime *rt)
{
    pthread_mutex_lock(&rt->Se->Lock);
    SepInitSystemToken(&rt->Se->Requestor);
    pthread_mutex_unlock(&rt->Se->Lock);
}
