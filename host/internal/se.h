/*
 * se.h - security internals: the token model and object security descriptors.
 *
 * A token (Ob type ObpTokenType, body SEP_TOKEN) is a snapshot of the instance's requestor model
 * (SEP_STATE.Requestor) taken by SeCaptureSubjectContext. The model starts as LocalSystem and the
 * harness changes it through kmrig/security.h.
 */
#ifndef KMRIG_INTERNAL_SE_H
#define KMRIG_INTERNAL_SE_H

#include "rt.h"

#include <pthread.h>

#define SEP_MAX_GROUPS 32
#define SEP_MAX_PRIVILEGES 40
#define SEP_SID_BYTES 68 /* SECURITY_MAX_SID_SIZE */

typedef struct _SEP_SID_ENTRY {
    ULONG Sid[SEP_SID_BYTES / sizeof(ULONG)]; /* a SID, ULONG-aligned */
    ULONG Attributes;                         /* SE_GROUP_* */
} SEP_SID_ENTRY;

typedef struct _SEP_TOKEN {
    SEP_SID_ENTRY User;
    ULONG GroupCount;
    SEP_SID_ENTRY Groups[SEP_MAX_GROUPS];
    ULONG PrivilegeCount;
    LUID_AND_ATTRIBUTES Privileges[SEP_MAX_PRIVILEGES];
    SEP_SID_ENTRY Owner;        /* default owner of objects the token creates */
    SEP_SID_ENTRY PrimaryGroup; /* default group */
    BOOLEAN System;             /* the LocalSystem model */
} SEP_TOKEN, *PSEP_TOKEN;

typedef struct _SEP_OBJECT_SD {
    PVOID Object;
    PSECURITY_DESCRIPTOR Descriptor; /* self-relative, malloc'd */
    ULONG Length;
} SEP_OBJECT_SD;

typedef struct _SEP_STATE {
    pthread_mutex_t Lock;
    SEP_TOKEN Requestor;
    SEP_OBJECT_SD *Objects;
    ULONG ObjectCount, ObjectCapacity;
} SEP_STATE;

/* Fills Token with the LocalSystem model. */
VOID SepInitSystemToken(PSEP_TOKEN Token);
/* The token of a subject context (client token, else primary), or NULL. */
PSEP_TOKEN SepSubjectToken(PSECURITY_SUBJECT_CONTEXT Context);
/* Is Sid the token's user or one of its enabled groups (deny-only groups too when ForDeny)? */
BOOLEAN SepTokenHasSid(PSEP_TOKEN Token, PSID Sid, BOOLEAN ForDeny);
BOOLEAN SepTokenHasPrivilege(PSEP_TOKEN Token, ULONG Privilege);

/* ---- Object security (for Io, Ob and Cm objects that have a descriptor) ----
 * Stores a self-relative copy of Descriptor (absolute or self-relative) for Object; replaces an
 * earlier one. ObGetObjectSecurity answers from it; objects without one have no security. */
NTSTATUS SepSetObjectSecurity(struct kmrig_runtime *rt, PVOID Object,
                              PSECURITY_DESCRIPTOR Descriptor);
/* Forgets Object's descriptor (call from the object's delete procedure). */
VOID SepDeleteObjectSecurity(struct kmrig_runtime *rt, PVOID Object);

/* Self-relative copy of a valid descriptor in malloc'd memory (Length set), or NULL. */
PSECURITY_DESCRIPTOR SepMakeSelfRelative(PSECURITY_DESCRIPTOR Descriptor, ULONG *Length,
                                         PVOID (*Allocate)(SIZE_T Bytes, PVOID Ctx), PVOID Ctx);
/* Owner/group/DACL/SACL of an absolute or self-relative descriptor. */
VOID SepQueryDescriptor(PSECURITY_DESCRIPTOR Descriptor, PSID *Owner, PSID *Group, PACL *Sacl,
                        PACL *Dacl);

#endif
