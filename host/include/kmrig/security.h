/*
 * kmrig/security.h - the requestor's token model (harness-facing).
 *
 * SeCaptureSubjectContext, SeAccessCheck(UserMode), SeSinglePrivilegeCheck(UserMode) and
 * SeAssignSecurity see the instance's requestor token. By default it is LocalSystem:
 *   user S-1-5-18; groups BUILTIN\Administrators S-1-5-32-544 (owner), Everyone S-1-1-0,
 *   Authenticated Users S-1-5-11; default owner S-1-5-32-544, primary group S-1-5-18;
 *   privileges as a LocalSystem service holds them: SeTcb, SeLockMemory, SeSystemProfile,
 *   SeProfileSingleProcess, SeIncreaseBasePriority, SeCreatePagefile, SeCreatePermanent, SeDebug,
 *   SeAudit, SeChangeNotify, SeImpersonate, SeCreateGlobal, SeIncWorkingSet, SeTimeZone,
 *   SeCreateSymbolicLink and SeDelegateSessionUserImpersonate enabled; SeCreateToken,
 *   SeAssignPrimaryToken, SeIncreaseQuota, SeSecurity, SeTakeOwnership, SeLoadDriver,
 *   SeSystemtime, SeBackup, SeRestore, SeShutdown, SeSystemEnvironment, SeUndock and
 *   SeManageVolume held but disabled (as `whoami /priv` shows them).
 * A token captured before a change keeps what it had.
 *
 * Call from a thread attached to rt. Return 0 or a negative errno value (-EINVAL for a SID string
 * that does not parse, with a log line).
 */
#ifndef KMRIG_SECURITY_H
#define KMRIG_SECURITY_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The requestor becomes user_sid ("S-1-5-21-1-2-3-1001") with the given group SIDs (enabled)
 * plus Everyone (S-1-1-0), and no privileges (set them with kmrig_security_set_privileges). The
 * default owner and primary group are the user. At most 31 groups. */
int kmrig_security_set_user(kmrig_runtime *rt, const char *user_sid, const char *const *group_sids,
                            size_t group_count);

/* The requestor holds exactly these privileges (SE_*_PRIVILEGE values), all enabled. */
int kmrig_security_set_privileges(kmrig_runtime *rt, const uint32_t *privileges, size_t count);

/* Back to LocalSystem. */
void kmrig_security_reset(kmrig_runtime *rt);

#ifdef __cplusplus
}
#endif

#endif
