/*
 * SIDs, ACLs and security descriptors (absolute and self-relative), SeAssignSecurity,
 * SeDeassignSecurity, SeValidSecurityDescriptor and SeAccessCheck with real DACL evaluation.
 */
#include "se.h"
#include "rtlp.h"
#include "vf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP_POOL_TAG ((ULONG)'S' | ((ULONG)'e' << 8) | ((ULONG)'S' << 16) | ((ULONG)'d' << 24))
#define SEP_ROUND4(x) (((x) + 3u) & ~3u)

/* ---- SIDs ------------------------------------------------------------------------------------ */

BOOLEAN NTAPI RtlValidSid(PSID Sid)
{
    PISID s = Sid;
    return s && s->Revision == SID_REVISION && s->SubAuthorityCount <= SID_MAX_SUB_AUTHORITIES;
}

ULONG NTAPI RtlLengthRequiredSid(ULONG SubAuthorityCount)
{
    return (ULONG)(FIELD_OFFSET(SID, SubAuthority) + SubAuthorityCount * sizeof(ULONG));
}

ULONG NTAPI RtlLengthSid(PSID Sid)
{
    return RtlLengthRequiredSid(((PISID)Sid)->SubAuthorityCount);
}

BOOLEAN NTAPI RtlEqualSid(PSID Sid1, PSID Sid2)
{
    PISID a = Sid1, b = Sid2;
    if (a->Revision != b->Revision || a->SubAuthorityCount != b->SubAuthorityCount)
        return FALSE;
    return memcmp(a, b, RtlLengthSid(a)) == 0;
}

NTSTATUS NTAPI RtlCopySid(ULONG DestinationSidLength, PSID DestinationSid, PSID SourceSid)
{
    ULONG n = RtlLengthSid(SourceSid);
    if (DestinationSidLength < n)
        return STATUS_BUFFER_TOO_SMALL;
    memmove(DestinationSid, SourceSid, n);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlInitializeSid(PSID Sid, PSID_IDENTIFIER_AUTHORITY IdentifierAuthority,
                                UCHAR SubAuthorityCount)
{
    PISID s = Sid;
    if (SubAuthorityCount > SID_MAX_SUB_AUTHORITIES)
        return STATUS_INVALID_PARAMETER;
    s->Revision = SID_REVISION;
    s->SubAuthorityCount = SubAuthorityCount;
    s->IdentifierAuthority = *IdentifierAuthority;
    return STATUS_SUCCESS;
}

PULONG NTAPI RtlSubAuthoritySid(PSID Sid, ULONG SubAuthority)
{
    return &((PISID)Sid)->SubAuthority[SubAuthority];
}

NTSTATUS NTAPI RtlConvertSidToUnicodeString(PUNICODE_STRING UnicodeString, PSID Sid,
                                            BOOLEAN AllocateDestinationString)
{
    if (!RtlValidSid(Sid))
        return STATUS_INVALID_SID;
    PISID s = Sid;
    char text[256];
    ULONGLONG auth = 0;
    for (int i = 0; i < 6; i++)
        auth = (auth << 8) | s->IdentifierAuthority.Value[i];
    int n = auth >= (1ull << 32) ? snprintf(text, sizeof text, "S-1-0x%llX", auth)
                                 : snprintf(text, sizeof text, "S-1-%llu", auth);
    for (ULONG i = 0; i < s->SubAuthorityCount; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "-%u", s->SubAuthority[i]);
    USHORT bytes = (USHORT)(n * sizeof(WCHAR));
    if (AllocateDestinationString) {
        UnicodeString->Buffer = RtlpAllocateStringMemory(bytes + sizeof(WCHAR));
        if (!UnicodeString->Buffer)
            return STATUS_NO_MEMORY;
        UnicodeString->MaximumLength = bytes + sizeof(WCHAR);
    } else if (UnicodeString->MaximumLength < bytes) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (int i = 0; i < n; i++)
        UnicodeString->Buffer[i] = (WCHAR)text[i];
    if (UnicodeString->MaximumLength > bytes)
        UnicodeString->Buffer[n] = UNICODE_NULL;
    UnicodeString->Length = bytes;
    return STATUS_SUCCESS;
}

/* ---- ACLs ------------------------------------------------------------------------------------ */

NTSTATUS NTAPI RtlCreateAcl(PACL Acl, ULONG AclLength, ULONG AclRevision)
{
    if (AclLength < sizeof(ACL))
        return STATUS_BUFFER_TOO_SMALL;
    if (AclRevision < MIN_ACL_REVISION || AclRevision > MAX_ACL_REVISION || AclLength > MAXUSHORT)
        return STATUS_INVALID_PARAMETER;
    memset(Acl, 0, sizeof(ACL));
    Acl->AclRevision = (UCHAR)AclRevision;
    Acl->AclSize = (USHORT)(AclLength & ~3u);
    return STATUS_SUCCESS;
}

/* The ACE types kmrig evaluates carry a mask and a SID right after the header. */
static BOOLEAN SepAceHasSid(UCHAR Type)
{
    return Type == ACCESS_ALLOWED_ACE_TYPE || Type == ACCESS_DENIED_ACE_TYPE ||
           Type == SYSTEM_AUDIT_ACE_TYPE || Type == SYSTEM_ALARM_ACE_TYPE ||
           Type == SYSTEM_MANDATORY_LABEL_ACE_TYPE;
}

/* Checks the ACL's header and every ACE within AclSize (and within Limit bytes, when nonzero). */
static BOOLEAN SepValidAcl(PACL Acl, ULONG Limit)
{
    if (Acl->AclRevision < MIN_ACL_REVISION || Acl->AclRevision > MAX_ACL_REVISION)
        return FALSE;
    if (Acl->AclSize < sizeof(ACL) || (Acl->AclSize & 3) || (Limit && Acl->AclSize > Limit))
        return FALSE;
    ULONG at = sizeof(ACL);
    for (ULONG i = 0; i < Acl->AceCount; i++) {
        if (at + sizeof(ACE_HEADER) > Acl->AclSize)
            return FALSE;
        PACE_HEADER h = (PACE_HEADER)((PUCHAR)Acl + at);
        if (h->AceSize < sizeof(ACE_HEADER) || (h->AceSize & 3) || at + h->AceSize > Acl->AclSize)
            return FALSE;
        if (SepAceHasSid(h->AceType)) {
            PISID sid = (PISID)((PUCHAR)h + FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart));
            if (h->AceSize < FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + sizeof(ULONG) * 2 ||
                !RtlValidSid(sid) ||
                FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthSid(sid) > h->AceSize)
                return FALSE;
        }
        at += h->AceSize;
    }
    return TRUE;
}

BOOLEAN NTAPI RtlValidAcl(PACL Acl)
{
    return Acl && SepValidAcl(Acl, 0);
}

/* The first free byte after the ACL's ACEs. */
static PUCHAR SepAclEnd(PACL Acl)
{
    PUCHAR p = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < Acl->AceCount; i++)
        p += ((PACE_HEADER)p)->AceSize;
    return p;
}

static NTSTATUS SepAddAce(PACL Acl, ULONG Revision, UCHAR Type, ULONG Flags, ACCESS_MASK Mask,
                          PSID Sid)
{
    if (!RtlValidSid(Sid))
        return STATUS_INVALID_SID;
    if (!RtlValidAcl(Acl))
        return STATUS_INVALID_ACL;
    if (Revision < MIN_ACL_REVISION || Revision > MAX_ACL_REVISION)
        return STATUS_REVISION_MISMATCH;
    if (Flags & ~(VALID_INHERIT_FLAGS | SUCCESSFUL_ACCESS_ACE_FLAG | FAILED_ACCESS_ACE_FLAG))
        return STATUS_INVALID_PARAMETER;
    PUCHAR end = SepAclEnd(Acl);
    ULONG size = FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthSid(Sid);
    if ((ULONG)(end - (PUCHAR)Acl) + size > Acl->AclSize)
        return STATUS_ALLOTTED_SPACE_EXCEEDED;
    PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)end;
    ace->Header.AceType = Type;
    ace->Header.AceFlags = (UCHAR)Flags;
    ace->Header.AceSize = (USHORT)size;
    ace->Mask = Mask;
    memcpy(&ace->SidStart, Sid, RtlLengthSid(Sid));
    Acl->AceCount++;
    if (Revision > Acl->AclRevision)
        Acl->AclRevision = (UCHAR)Revision;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAddAccessAllowedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid)
{
    return SepAddAce(Acl, AceRevision, ACCESS_ALLOWED_ACE_TYPE, 0, AccessMask, Sid);
}

NTSTATUS NTAPI RtlAddAccessAllowedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
                                        ACCESS_MASK AccessMask, PSID Sid)
{
    return SepAddAce(Acl, AceRevision, ACCESS_ALLOWED_ACE_TYPE, AceFlags, AccessMask, Sid);
}

NTSTATUS NTAPI RtlAddAccessDeniedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid)
{
    return SepAddAce(Acl, AceRevision, ACCESS_DENIED_ACE_TYPE, 0, AccessMask, Sid);
}

NTSTATUS NTAPI RtlAddAccessDeniedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
                                       ACCESS_MASK AccessMask, PSID Sid)
{
    return SepAddAce(Acl, AceRevision, ACCESS_DENIED_ACE_TYPE, AceFlags, AccessMask, Sid);
}

NTSTATUS NTAPI RtlGetAce(PACL Acl, ULONG AceIndex, PVOID *Ace)
{
    if (!RtlValidAcl(Acl) || AceIndex >= Acl->AceCount)
        return STATUS_INVALID_PARAMETER;
    PUCHAR p = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < AceIndex; i++)
        p += ((PACE_HEADER)p)->AceSize;
    *Ace = p;
    return STATUS_SUCCESS;
}

VOID NTAPI RtlMapGenericMask(PACCESS_MASK AccessMask, const GENERIC_MAPPING *GenericMapping)
{
    ACCESS_MASK m = *AccessMask;
    if (m & GENERIC_READ)
        m |= GenericMapping->GenericRead;
    if (m & GENERIC_WRITE)
        m |= GenericMapping->GenericWrite;
    if (m & GENERIC_EXECUTE)
        m |= GenericMapping->GenericExecute;
    if (m & GENERIC_ALL)
        m |= GenericMapping->GenericAll;
    *AccessMask = m & ~(ACCESS_MASK)(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL);
}

/* ---- Security descriptors -------------------------------------------------------------------- */

VOID SepQueryDescriptor(PSECURITY_DESCRIPTOR Descriptor, PSID *Owner, PSID *Group, PACL *Sacl,
                        PACL *Dacl)
{
    PISECURITY_DESCRIPTOR sd = Descriptor;
    if (sd->Control & SE_SELF_RELATIVE) {
        PISECURITY_DESCRIPTOR_RELATIVE r = Descriptor;
        *Owner = r->Owner ? (PUCHAR)r + r->Owner : NULL;
        *Group = r->Group ? (PUCHAR)r + r->Group : NULL;
        *Sacl = (r->Control & SE_SACL_PRESENT) && r->Sacl ? (PACL)((PUCHAR)r + r->Sacl) : NULL;
        *Dacl = (r->Control & SE_DACL_PRESENT) && r->Dacl ? (PACL)((PUCHAR)r + r->Dacl) : NULL;
    } else {
        *Owner = sd->Owner;
        *Group = sd->Group;
        *Sacl = (sd->Control & SE_SACL_PRESENT) ? sd->Sacl : NULL;
        *Dacl = (sd->Control & SE_DACL_PRESENT) ? sd->Dacl : NULL;
    }
}

NTSTATUS NTAPI RtlCreateSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Revision)
{
    if (Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    memset(sd, 0, sizeof *sd);
    sd->Revision = SECURITY_DESCRIPTOR_REVISION;
    return STATUS_SUCCESS;
}

BOOLEAN NTAPI RtlValidSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (!sd || sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return FALSE;
    PSID owner, group;
    PACL sacl, dacl;
    SepQueryDescriptor(sd, &owner, &group, &sacl, &dacl);
    if (owner && !RtlValidSid(owner))
        return FALSE;
    if (group && !RtlValidSid(group))
        return FALSE;
    if (dacl && !RtlValidAcl(dacl))
        return FALSE;
    if (sacl && !RtlValidAcl(sacl))
        return FALSE;
    return TRUE;
}

/* The size of the self-relative form this descriptor needs; as the WDK's it counts the absolute
 * header (an upper bound for the self-relative one) plus each part rounded to a ULONG. */
ULONG NTAPI RtlLengthSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor)
{
    PSID owner, group;
    PACL sacl, dacl;
    SepQueryDescriptor(SecurityDescriptor, &owner, &group, &sacl, &dacl);
    ULONG n = sizeof(SECURITY_DESCRIPTOR);
    if (owner)
        n += SEP_ROUND4(RtlLengthSid(owner));
    if (group)
        n += SEP_ROUND4(RtlLengthSid(group));
    if (dacl)
        n += SEP_ROUND4(dacl->AclSize);
    if (sacl)
        n += SEP_ROUND4(sacl->AclSize);
    return n;
}

NTSTATUS NTAPI RtlSetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                            BOOLEAN DaclPresent, PACL Dacl, BOOLEAN DaclDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    if (sd->Control & SE_SELF_RELATIVE)
        return STATUS_BAD_DESCRIPTOR_FORMAT;
    if (!DaclPresent) {
        sd->Control &= ~SE_DACL_PRESENT;
        return STATUS_SUCCESS;
    }
    sd->Control |= SE_DACL_PRESENT;
    sd->Dacl = Dacl;
    if (DaclDefaulted)
        sd->Control |= SE_DACL_DEFAULTED;
    else
        sd->Control &= ~SE_DACL_DEFAULTED;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlGetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                            PBOOLEAN DaclPresent, PACL *Dacl,
                                            PBOOLEAN DaclDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    PSID o, g;
    PACL s;
    *DaclPresent = (sd->Control & SE_DACL_PRESENT) != 0;
    SepQueryDescriptor(sd, &o, &g, &s, Dacl);
    *DaclDefaulted = (sd->Control & SE_DACL_DEFAULTED) != 0;
    return STATUS_SUCCESS;
}

static NTSTATUS SepSetSid(PSECURITY_DESCRIPTOR Descriptor, PSID Sid, BOOLEAN Defaulted,
                          BOOLEAN IsOwner)
{
    PISECURITY_DESCRIPTOR sd = Descriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    if (sd->Control & SE_SELF_RELATIVE)
        return STATUS_BAD_DESCRIPTOR_FORMAT;
    USHORT flag = IsOwner ? SE_OWNER_DEFAULTED : SE_GROUP_DEFAULTED;
    if (IsOwner)
        sd->Owner = Sid;
    else
        sd->Group = Sid;
    sd->Control =
        (SECURITY_DESCRIPTOR_CONTROL)(Defaulted ? sd->Control | flag : sd->Control & ~flag);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlSetOwnerSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID Owner,
                                             BOOLEAN OwnerDefaulted)
{
    return SepSetSid(SecurityDescriptor, Owner, OwnerDefaulted, TRUE);
}

NTSTATUS NTAPI RtlSetGroupSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID Group,
                                             BOOLEAN GroupDefaulted)
{
    return SepSetSid(SecurityDescriptor, Group, GroupDefaulted, FALSE);
}

NTSTATUS NTAPI RtlGetOwnerSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID *Owner,
                                             PBOOLEAN OwnerDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    PSID g;
    PACL s, d;
    SepQueryDescriptor(sd, Owner, &g, &s, &d);
    *OwnerDefaulted = (sd->Control & SE_OWNER_DEFAULTED) != 0;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlGetGroupSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID *Group,
                                             PBOOLEAN GroupDefaulted)
{
    PISECURITY_DESCRIPTOR sd = SecurityDescriptor;
    if (sd->Revision != SECURITY_DESCRIPTOR_REVISION)
        return STATUS_UNKNOWN_REVISION;
    PSID o;
    PACL s, d;
    SepQueryDescriptor(sd, &o, Group, &s, &d);
    *GroupDefaulted = (sd->Control & SE_GROUP_DEFAULTED) != 0;
    return STATUS_SUCCESS;
}

/* Lays out a self-relative descriptor: header, owner, group, SACL, DACL. Buffer may be NULL to
 * only size it. */
static ULONG SepBuildSelfRelative(PUCHAR Buffer, SECURITY_DESCRIPTOR_CONTROL Control, PSID Owner,
                                  PSID Group, PACL Sacl, PACL Dacl)
{
    ULONG at = sizeof(SECURITY_DESCRIPTOR_RELATIVE);
    SECURITY_DESCRIPTOR_RELATIVE r = {SECURITY_DESCRIPTOR_REVISION,
                                      0,
                                      (SECURITY_DESCRIPTOR_CONTROL)(Control | SE_SELF_RELATIVE),
                                      0,
                                      0,
                                      0,
                                      0};
    struct {
        const VOID *Part;
        ULONG Size;
        ULONG *Offset;
    } parts[4] = {
        {Owner, Owner ? RtlLengthSid(Owner) : 0, &r.Owner},
        {Group, Group ? RtlLengthSid(Group) : 0, &r.Group},
        {Sacl, Sacl ? Sacl->AclSize : 0, &r.Sacl},
        {Dacl, Dacl ? Dacl->AclSize : 0, &r.Dacl},
    };
    for (int i = 0; i < 4; i++) {
        if (!parts[i].Part)
            continue;
        *parts[i].Offset = at;
        if (Buffer)
            memcpy(Buffer + at, parts[i].Part, parts[i].Size);
        at += SEP_ROUND4(parts[i].Size);
    }
    if (Buffer)
        memcpy(Buffer, &r, sizeof r);
    return at;
}

NTSTATUS NTAPI RtlAbsoluteToSelfRelativeSD(PSECURITY_DESCRIPTOR AbsoluteSecurityDescriptor,
                                           PSECURITY_DESCRIPTOR SelfRelativeSecurityDescriptor,
                                           PULONG BufferLength)
{
    PISECURITY_DESCRIPTOR sd = AbsoluteSecurityDescriptor;
    if (sd->Control & SE_SELF_RELATIVE)
        return STATUS_BAD_DESCRIPTOR_FORMAT;
    PSID owner, group;
    PACL sacl, dacl;
    SepQueryDescriptor(sd, &owner, &group, &sacl, &dacl);
    ULONG need = SepBuildSelfRelative(NULL, sd->Control, owner, group, sacl, dacl);
    if (*BufferLength < need) {
        *BufferLength = need;
        return STATUS_BUFFER_TOO_SMALL;
    }
    SepBuildSelfRelative(SelfRelativeSecurityDescriptor, sd->Control, owner, group, sacl, dacl);
    *BufferLength = need;
    return STATUS_SUCCESS;
}

PSECURITY_DESCRIPTOR SepMakeSelfRelative(PSECURITY_DESCRIPTOR Descriptor, ULONG *Length,
                                         PVOID (*Allocate)(SIZE_T Bytes, PVOID Ctx), PVOID Ctx)
{
    PSID owner, group;
    PACL sacl, dacl;
    SepQueryDescriptor(Descriptor, &owner, &group, &sacl, &dacl);
    SECURITY_DESCRIPTOR_CONTROL control = ((PISECURITY_DESCRIPTOR)Descriptor)->Control;
    ULONG need = SepBuildSelfRelative(NULL, control, owner, group, sacl, dacl);
    PUCHAR p = Allocate(need, Ctx);
    if (!p)
        return NULL;
    SepBuildSelfRelative(p, control, owner, group, sacl, dacl);
    *Length = need;
    return p;
}

/* Self-relative descriptors from outside: every offset and part within Length. */
BOOLEAN NTAPI SeValidSecurityDescriptor(ULONG Length, PSECURITY_DESCRIPTOR SecurityDescriptor)
{
    PISECURITY_DESCRIPTOR_RELATIVE r = SecurityDescriptor;
    if (!r || Length < sizeof(SECURITY_DESCRIPTOR_RELATIVE))
        return FALSE;
    if (r->Revision != SECURITY_DESCRIPTOR_REVISION || !(r->Control & SE_SELF_RELATIVE))
        return FALSE;
    ULONG offsets[2] = {r->Owner, r->Group};
    for (int i = 0; i < 2; i++) {
        ULONG o = offsets[i];
        if (!o) {
            if (i == 0)
                return FALSE; /* an owner is required */
            continue;
        }
        if ((o & 3) || o < sizeof *r || o > Length - FIELD_OFFSET(SID, SubAuthority))
            return FALSE;
        PISID sid = (PISID)((PUCHAR)r + o);
        if (!RtlValidSid(sid) || o + RtlLengthSid(sid) > Length)
            return FALSE;
    }
    ULONG acls[2] = {(r->Control & SE_DACL_PRESENT) ? r->Dacl : 0,
                     (r->Control & SE_SACL_PRESENT) ? r->Sacl : 0};
    for (int i = 0; i < 2; i++) {
        ULONG o = acls[i];
        if (!o)
            continue;
        if ((o & 3) || o < sizeof *r || o > Length - sizeof(ACL))
            return FALSE;
        if (!SepValidAcl((PACL)((PUCHAR)r + o), Length - o))
            return FALSE;
    }
    return TRUE;
}

/* ---- SeAssignSecurity / SeDeassignSecurity --------------------------------------------------- */

typedef struct {
    PUCHAR Buffer;
    ULONG Size, Used;
} SEP_ACL_BUILDER;

/* Copies one ACE into the builder (or only counts it), with Flags and a generic-mapped Mask. */
static VOID SepEmitAce(SEP_ACL_BUILDER *b, PACE_HEADER Ace, UCHAR Flags, PGENERIC_MAPPING Mapping)
{
    if (b->Buffer) {
        PACE_HEADER out = (PACE_HEADER)(b->Buffer + b->Used);
        memcpy(out, Ace, Ace->AceSize);
        out->AceFlags = Flags;
        if (SepAceHasSid(Ace->AceType) && Mapping && !(Flags & INHERIT_ONLY_ACE))
            RtlMapGenericMask(&((PACCESS_ALLOWED_ACE)out)->Mask, Mapping);
        ((PACL)b->Buffer)->AceCount++;
    }
    b->Used += Ace->AceSize;
}

/* The ACEs a child inherits from Parent (Windows' rules for object and container children). */
static VOID SepInherit(SEP_ACL_BUILDER *b, PACL Parent, BOOLEAN IsDirectory,
                       PGENERIC_MAPPING Mapping)
{
    PUCHAR p = (PUCHAR)Parent + sizeof(ACL);
    for (ULONG i = 0; i < Parent->AceCount; i++, p += ((PACE_HEADER)p)->AceSize) {
        PACE_HEADER ace = (PACE_HEADER)p;
        UCHAR f = ace->AceFlags;
        if (!IsDirectory) {
            if (f & OBJECT_INHERIT_ACE)
                SepEmitAce(b, ace, INHERITED_ACE, Mapping);
            continue;
        }
        if (f & CONTAINER_INHERIT_ACE) {
            UCHAR nf =
                (f & NO_PROPAGATE_INHERIT_ACE)
                    ? INHERITED_ACE
                    : (UCHAR)((f & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)) | INHERITED_ACE);
            SepEmitAce(b, ace, nf, Mapping);
        } else if ((f & OBJECT_INHERIT_ACE) && !(f & NO_PROPAGATE_INHERIT_ACE)) {
            SepEmitAce(b, ace, OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE, NULL);
        }
    }
}

/* The token's default DACL: GENERIC_ALL for LocalSystem and for the token's owner. */
static VOID SepDefaultDacl(SEP_ACL_BUILDER *b, PSEP_TOKEN Token, PGENERIC_MAPPING Mapping)
{
    static SID system = {SID_REVISION, 1, {SECURITY_NT_AUTHORITY}, {SECURITY_LOCAL_SYSTEM_RID}};
    struct {
        ACCESS_ALLOWED_ACE Ace;
        ULONG Rest[SID_MAX_SUB_AUTHORITIES];
    } a;
    PSID sids[2] = {&system, Token ? (PSID)Token->Owner.Sid : NULL};
    for (int i = 0; i < 2; i++) {
        if (!sids[i] || (i == 1 && RtlEqualSid(sids[1], &system)))
            continue;
        a.Ace.Header.AceType = ACCESS_ALLOWED_ACE_TYPE;
        a.Ace.Header.AceFlags = 0;
        a.Ace.Header.AceSize =
            (USHORT)(FIELD_OFFSET(ACCESS_ALLOWED_ACE, SidStart) + RtlLengthSid(sids[i]));
        a.Ace.Mask = GENERIC_ALL;
        memcpy(&a.Ace.SidStart, sids[i], RtlLengthSid(sids[i]));
        SepEmitAce(b, &a.Ace.Header, 0, Mapping);
    }
}

static PVOID SepPoolAllocate(SIZE_T Bytes, PVOID Ctx)
{
    PVOID p = ExAllocatePoolWithTag(*(POOL_TYPE *)Ctx, Bytes, SEP_POOL_TAG);
    if (p)
        memset(p, 0, Bytes);
    return p;
}

NTSTATUS NTAPI SeAssignSecurity(PSECURITY_DESCRIPTOR ParentDescriptor,
                                PSECURITY_DESCRIPTOR ExplicitDescriptor,
                                PSECURITY_DESCRIPTOR *NewDescriptor, BOOLEAN IsDirectoryObject,
                                PSECURITY_SUBJECT_CONTEXT SubjectContext,
                                PGENERIC_MAPPING GenericMapping, POOL_TYPE PoolType)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (!NewDescriptor || !GenericMapping)
        return STATUS_INVALID_PARAMETER;
    if ((ParentDescriptor && !RtlValidSecurityDescriptor(ParentDescriptor)) ||
        (ExplicitDescriptor && !RtlValidSecurityDescriptor(ExplicitDescriptor)))
        return STATUS_INVALID_SECURITY_DESCR;
    PSEP_TOKEN token = SubjectContext ? SepSubjectToken(SubjectContext) : NULL;
    PSID owner = NULL, group = NULL, pOwner, pGroup;
    PACL explicitDacl = NULL, explicitSacl = NULL, parentDacl = NULL, pSacl;
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    BOOLEAN explicitDaclPresent = FALSE, explicitDaclDefaulted = FALSE;
    if (ExplicitDescriptor) {
        PISECURITY_DESCRIPTOR e = ExplicitDescriptor;
        SepQueryDescriptor(e, &owner, &group, &explicitSacl, &explicitDacl);
        explicitDaclPresent = (e->Control & SE_DACL_PRESENT) != 0;
        explicitDaclDefaulted = (e->Control & SE_DACL_DEFAULTED) != 0;
    }
    if (ParentDescriptor)
        SepQueryDescriptor(ParentDescriptor, &pOwner, &pGroup, &pSacl, &parentDacl);
    if (!owner) {
        if (!token)
            return STATUS_INVALID_OWNER;
        owner = token->Owner.Sid;
    }
    if (!group && token)
        group = token->PrimaryGroup.Sid;

    /* DACL: explicit (not defaulted), else inherited from the parent, else explicit defaulted,
     * else the token's default. */
    PACL inheritFrom = NULL;
    int source; /* 0 none (NULL DACL present), 1 explicit, 2 inherit, 3 default */
    if (explicitDaclPresent && !explicitDaclDefaulted) {
        source = explicitDacl ? 1 : 0;
    } else if (parentDacl) {
        inheritFrom = parentDacl;
        source = 2;
    } else if (explicitDaclPresent) {
        source = explicitDacl ? 1 : 0;
    } else {
        source = 3;
    }
    SEP_ACL_BUILDER b = {NULL, 0, sizeof(ACL)};
    if (source == 1) {
        b.Used = explicitDacl->AclSize;
    } else if (source == 2) {
        SepInherit(&b, inheritFrom, IsDirectoryObject, GenericMapping);
        if (b.Used == sizeof(ACL))
            source = 3; /* nothing to inherit: the creator's default DACL */
    }
    if (source == 3)
        SepDefaultDacl(&b, token, GenericMapping);
    PACL dacl = NULL;
    if (source != 0) {
        dacl = calloc(1, b.Used);
        if (!dacl)
            return STATUS_INSUFFICIENT_RESOURCES;
        if (source == 1) {
            memcpy(dacl, explicitDacl, explicitDacl->AclSize);
        } else {
            RtlCreateAcl(dacl, b.Used, ACL_REVISION);
            b.Buffer = (PUCHAR)dacl;
            b.Size = b.Used;
            b.Used = sizeof(ACL);
            if (source == 2)
                SepInherit(&b, inheritFrom, IsDirectoryObject, GenericMapping);
            else
                SepDefaultDacl(&b, token, GenericMapping);
        }
    }
    control |= SE_DACL_PRESENT;
    if (source == 2)
        control |= SE_DACL_AUTO_INHERITED;
    SECURITY_DESCRIPTOR abs;
    RtlCreateSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
    abs.Control = control | (explicitSacl ? SE_SACL_PRESENT : 0);
    abs.Owner = owner;
    abs.Group = group;
    abs.Dacl = dacl;
    abs.Sacl = explicitSacl;
    ULONG length;
    POOL_TYPE pool = PoolType;
    *NewDescriptor = SepMakeSelfRelative(&abs, &length, SepPoolAllocate, &pool);
    free(dacl);
    return *NewDescriptor ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS NTAPI SeDeassignSecurity(PSECURITY_DESCRIPTOR *SecurityDescriptor)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (SecurityDescriptor && *SecurityDescriptor) {
        ExFreePoolWithTag(*SecurityDescriptor, SEP_POOL_TAG);
        *SecurityDescriptor = NULL;
    }
    return STATUS_SUCCESS;
}

/* ---- SeAccessCheck --------------------------------------------------------------------------- */

BOOLEAN NTAPI SeAccessCheck(PSECURITY_DESCRIPTOR SecurityDescriptor,
                            PSECURITY_SUBJECT_CONTEXT SubjectSecurityContext,
                            BOOLEAN SubjectContextLocked, ACCESS_MASK DesiredAccess,
                            ACCESS_MASK PreviouslyGrantedAccess, PPRIVILEGE_SET *Privileges,
                            PGENERIC_MAPPING GenericMapping, KPROCESSOR_MODE AccessMode,
                            PACCESS_MASK GrantedAccess, PNTSTATUS AccessStatus)
{
    VF_IRQL_MAX(PASSIVE_LEVEL);
    if (Privileges)
        *Privileges = NULL;
    ACCESS_MASK desired = DesiredAccess;
    if (GenericMapping)
        RtlMapGenericMask(&desired, GenericMapping);
    BOOLEAN maximum = (desired & MAXIMUM_ALLOWED) != 0;
    desired &= ~(ACCESS_MASK)MAXIMUM_ALLOWED;
    ACCESS_MASK all = GenericMapping ? GenericMapping->GenericAll : 0;

    if (AccessMode == KernelMode) {
        *GrantedAccess = PreviouslyGrantedAccess | desired | (maximum ? all : 0);
        *AccessStatus = STATUS_SUCCESS;
        return TRUE;
    }
    if (!SecurityDescriptor || !RtlValidSecurityDescriptor(SecurityDescriptor) ||
        !SubjectSecurityContext || !SepSubjectToken(SubjectSecurityContext)) {
        *GrantedAccess = 0;
        if (SecurityDescriptor && !RtlValidSecurityDescriptor(SecurityDescriptor))
            *AccessStatus = STATUS_INVALID_SECURITY_DESCR;
        else
            *AccessStatus = STATUS_ACCESS_DENIED;
        return FALSE;
    }
    PSEP_TOKEN token = SepSubjectToken(SubjectSecurityContext);
    if (!maximum && desired == 0) {
        *GrantedAccess = PreviouslyGrantedAccess;
        *AccessStatus = PreviouslyGrantedAccess ? STATUS_SUCCESS : STATUS_ACCESS_DENIED;
        return PreviouslyGrantedAccess != 0;
    }

    ACCESS_MASK granted = PreviouslyGrantedAccess, denied = 0;
    /* ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege; WRITE_OWNER is granted by
     * SeTakeOwnershipPrivilege. */
    if (desired & ACCESS_SYSTEM_SECURITY) {
        if (!SepTokenHasPrivilege(token, SE_SECURITY_PRIVILEGE)) {
            *GrantedAccess = 0;
            *AccessStatus = STATUS_PRIVILEGE_NOT_HELD;
            return FALSE;
        }
        granted |= ACCESS_SYSTEM_SECURITY;
    }
    if ((desired & WRITE_OWNER) && SepTokenHasPrivilege(token, SE_TAKE_OWNERSHIP_PRIVILEGE))
        granted |= WRITE_OWNER;

    PSID owner, group;
    PACL sacl, dacl;
    SepQueryDescriptor(SecurityDescriptor, &owner, &group, &sacl, &dacl);
    BOOLEAN daclPresent =
        (((PISECURITY_DESCRIPTOR)SecurityDescriptor)->Control & SE_DACL_PRESENT) != 0;
    if (!daclPresent || !dacl) {
        /* No DACL: everyone gets everything. */
        granted |= desired | (maximum ? all | desired : 0);
        *GrantedAccess = granted;
        *AccessStatus = STATUS_SUCCESS;
        return TRUE;
    }
    /* The owner may always read and change the DACL. */
    if (owner && SepTokenHasSid(token, owner, FALSE))
        granted |= READ_CONTROL | WRITE_DAC;

    PUCHAR p = (PUCHAR)dacl + sizeof(ACL);
    for (ULONG i = 0; i < dacl->AceCount; i++, p += ((PACE_HEADER)p)->AceSize) {
        PACE_HEADER h = (PACE_HEADER)p;
        if (h->AceFlags & INHERIT_ONLY_ACE)
            continue;
        if (h->AceType != ACCESS_ALLOWED_ACE_TYPE && h->AceType != ACCESS_DENIED_ACE_TYPE)
            continue;
        PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)h;
        ACCESS_MASK mask = ace->Mask;
        if (GenericMapping)
            RtlMapGenericMask(&mask, GenericMapping);
        BOOLEAN deny = h->AceType == ACCESS_DENIED_ACE_TYPE;
        if (!SepTokenHasSid(token, (PSID)&ace->SidStart, deny))
            continue;
        if (deny) {
            denied |= mask & ~granted;
            if (!maximum && (denied & desired))
                break;
        } else {
            granted |= mask & ~denied;
            if (!maximum && (granted & desired) == desired)
                break;
        }
    }
    if (maximum && (granted & ~PreviouslyGrantedAccess) == 0 && desired == 0) {
        *GrantedAccess = 0;
        *AccessStatus = STATUS_ACCESS_DENIED;
        return FALSE;
    }
    if ((granted & desired) != desired) {
        *GrantedAccess = 0;
        *AccessStatus = STATUS_ACCESS_DENIED;
        return FALSE;
    }
    *GrantedAccess = maximum ? granted : (desired | PreviouslyGrantedAccess);
    *AccessStatus = STATUS_SUCCESS;
    return TRUE;
}

VOID NTAPI SeFreePrivileges(PPRIVILEGE_SET Privileges)
{
    if (Privileges)
        ExFreePoolWithTag(Privileges, SEP_POOL_TAG);
}
