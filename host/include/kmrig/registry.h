/*
 * kmrig/registry.h - load and save an instance's registry as .reg text files (harness-facing).
 *
 * The format is the one regedit writes and reads ("Windows Registry Editor Version 5.00", or
 * "REGEDIT4"): [HKEY_...\path] sections, "name"=value lines (@ for the default value) with
 * "string", dword:XXXXXXXX, hex:..., hex(N):... (hex(2) REG_EXPAND_SZ, hex(7) REG_MULTI_SZ,
 * hex(b) REG_QWORD, hex(0) REG_NONE, any other type by its number), backslash line
 * continuations, ; comments, [-KEY] to delete a key with its subtree and "name"=- to delete a
 * value. Input may be UTF-16LE with a BOM (as regedit writes) or UTF-8/ASCII (with or without a
 * BOM).
 *
 * Root keys map onto the instance's hive:
 *   HKEY_LOCAL_MACHINE  \Registry\Machine          HKEY_USERS  \Registry\User
 *   HKEY_CURRENT_USER   \Registry\User\.Default    HKEY_CLASSES_ROOT
 * \Registry\Machine\Software\Classes HKEY_CURRENT_CONFIG
 * \Registry\Machine\System\CurrentControlSet\Hardware Profiles\Current
 *
 * Every function is called from a thread attached to rt at PASSIVE_LEVEL. They return 0 or a
 * negative errno value; the reason goes to the instance's log at KMRIG_LOG_ERROR, naming the
 * file, the line and what is wrong ("drv.reg:12: bad hex byte 'zz'").
 */
#ifndef KMRIG_REGISTRY_H
#define KMRIG_REGISTRY_H

#include <stddef.h>

#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the .reg file at path into the hive. root (NULL: anywhere) confines the file: every
 * section must name root or a key below it, given as an NT path ("\Registry\Machine\System\...")
 * or a regedit path ("HKEY_LOCAL_MACHINE\SYSTEM\..."). The whole file is checked first (syntax,
 * root, keys that cannot be created, such as a non-volatile key under a volatile one) and then
 * applied: a file with an error changes nothing. Errors: -ENOENT/-EACCES/... (open or read),
 * -EINVAL (syntax, with the message), -EPERM (a section outside root), -ENOMEM. */
int kmrig_registry_load(kmrig_runtime *rt, const char *path, const char *root);

/* The same for a file already in memory; name is what messages call it. */
int kmrig_registry_load_buffer(kmrig_runtime *rt, const void *data, size_t size, const char *name,
                               const char *root);

/* Saves the key at key_path (NT or regedit form, as for root above) and everything below it to
 * path, as regedit exports a key: UTF-16LE with a BOM, CRLF line ends, hex data wrapped at 80
 * columns. Volatile keys (and everything below them) are not saved. The file is written to a
 * temporary file in the same directory, flushed to disk and renamed over path, so path always
 * holds either the old or the whole new content. Errors: -ENOENT (no such key), errno of the
 * file operations. */
int kmrig_registry_save(kmrig_runtime *rt, const char *path, const char *key_path);

#ifdef __cplusplus
}
#endif

#endif
