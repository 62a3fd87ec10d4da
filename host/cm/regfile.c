/*
 * .reg files (kmrig/registry.h): a reader that checks the whole file into a list of operations
 * before touching the hive, and a writer that produces what regedit's export does, atomically.
 */
#define _GNU_SOURCE
#include <kmrig/registry.h>

#include "cm.h"
#include "rtlp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMP_MAX_KEY_NAME 255 /* WCHARs in one key name, as on NT */
#define CMP_MAX_VALUE_NAME 16383

/* ---- Paths ----------------------------------------------------------------------------------- */

static const struct {
    const char *Hkey;
    const char *Hive; /* below \Registry */
} CmpRootKeys[] = {
    {"HKEY_LOCAL_MACHINE", "MACHINE"},
    {"HKEY_USERS", "USER"},
    {"HKEY_CURRENT_USER", "USER\\.DEFAULT"},
    {"HKEY_CLASSES_ROOT", "MACHINE\\SOFTWARE\\Classes"},
    {"HKEY_CURRENT_CONFIG", "MACHINE\\SYSTEM\\CurrentControlSet\\Hardware Profiles\\Current"},
};

/* A growable WCHAR buffer. */
typedef struct {
    PWCH P;
    SIZE_T N, Cap;
    BOOLEAN Failed;
} CMP_WBUF;

static VOID CmpPut(CMP_WBUF *b, WCHAR c)
{
    if (b->N == b->Cap) {
        SIZE_T cap = b->Cap ? b->Cap * 2 : 256;
        PWCH p = realloc(b->P, cap * sizeof(WCHAR));
        if (!p) {
            b->Failed = TRUE;
            return;
        }
        b->P = p;
        b->Cap = cap;
    }
    b->P[b->N++] = c;
}

static VOID CmpPutA(CMP_WBUF *b, const char *s)
{
    while (*s)
        CmpPut(b, (WCHAR)(UCHAR)*s++);
}

static VOID CmpPutW(CMP_WBUF *b, PCWCH s, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        CmpPut(b, s[i]);
}

static BOOLEAN CmpPrefixA(PCWCH s, SIZE_T n, const char *a, SIZE_T *Used)
{
    SIZE_T i = 0;
    for (; a[i]; i++)
        if (i >= n || RtlpUpcaseChar(s[i]) != RtlpUpcaseChar((WCHAR)(UCHAR)a[i]))
            return FALSE;
    *Used = i;
    return TRUE;
}

/* Maps "HKEY_XXX\rest" (and, with AllowNt, "\Registry\rest") to the path below \Registry.
 * Components are checked: none empty, none longer than 255. Returns FALSE with a reason. */
static BOOLEAN CmpMapPath(PCWCH s, SIZE_T n, BOOLEAN AllowNt, CMP_WBUF *Out, const char **Why)
{
    while (n && s[n - 1] == L'\\')
        n--;
    SIZE_T used = 0, at = 0;
    if (AllowNt && n && s[0] == L'\\') {
        if (!CmpPrefixA(s, n, "\\Registry", &used) || (used < n && s[used] != L'\\')) {
            *Why = "path does not start with \\Registry";
            return FALSE;
        }
        at = used < n ? used + 1 : used;
    } else {
        SIZE_T i = 0;
        while (i < n && s[i] != L'\\')
            i++;
        size_t k;
        for (k = 0; k < RTL_NUMBER_OF(CmpRootKeys); k++)
            if (CmpPrefixA(s, i, CmpRootKeys[k].Hkey, &used) && used == i)
                break;
        if (k == RTL_NUMBER_OF(CmpRootKeys)) {
            *Why = "unknown root key (HKEY_LOCAL_MACHINE, HKEY_USERS, HKEY_CURRENT_USER, "
                   "HKEY_CLASSES_ROOT or HKEY_CURRENT_CONFIG)";
            return FALSE;
        }
        CmpPutA(Out, CmpRootKeys[k].Hive);
        at = i < n ? i + 1 : i;
        if (at < n)
            CmpPut(Out, L'\\');
    }
    SIZE_T comp = 0;
    for (SIZE_T i = at; i < n; i++) {
        if (s[i] == L'\\') {
            if (comp == 0) {
                *Why = "empty key name in path";
                return FALSE;
            }
            comp = 0;
        } else if (++comp > CMP_MAX_KEY_NAME) {
            *Why = "key name longer than 255 characters";
            return FALSE;
        }
        CmpPut(Out, s[i]);
    }
    return TRUE;
}

/* Is Path (below \Registry) Root or below it? */
static BOOLEAN CmpPathWithin(PCWCH Path, SIZE_T n, PCWCH Root, SIZE_T r)
{
    if (!Root)
        return TRUE;
    if (n < r || !CmpNameEqual(Path, (USHORT)(r * 2), Root, (USHORT)(r * 2)))
        return FALSE;
    return n == r || r == 0 || Path[r] == L'\\';
}

/* ---- Decoding the file to UTF-16 ------------------------------------------------------------- */

typedef struct {
    const char *Name;
    char Error[320];
    ULONG ErrorLine;
} CMP_DIAG;

static BOOLEAN CmpFail(CMP_DIAG *d, ULONG Line, const char *Fmt, ...)
    __attribute__((format(printf, 3, 4)));
static BOOLEAN CmpFail(CMP_DIAG *d, ULONG Line, const char *Fmt, ...)
{
    va_list ap;
    va_start(ap, Fmt);
    vsnprintf(d->Error, sizeof d->Error, Fmt, ap);
    va_end(ap);
    d->ErrorLine = Line;
    return FALSE;
}

static BOOLEAN CmpDecode(const UCHAR *p, SIZE_T n, CMP_WBUF *Out, CMP_DIAG *d)
{
    ULONG line = 1;
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        if (n & 1)
            return CmpFail(d, 0, "UTF-16 file with an odd number of bytes");
        for (SIZE_T i = 2; i < n; i += 2)
            CmpPut(Out, (WCHAR)(p[i] | (p[i + 1] << 8)));
        return !Out->Failed || CmpFail(d, 0, "out of memory");
    }
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
        return CmpFail(d, 0, "big-endian UTF-16 is not a format regedit writes");
    SIZE_T i = (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) ? 3 : 0;
    while (i < n) {
        ULONG c = p[i], extra = 0, min = 0;
        if (c == '\n')
            line++;
        if (c < 0x80) {
            extra = 0;
        } else if ((c & 0xE0) == 0xC0) {
            c &= 0x1F, extra = 1, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            c &= 0x0F, extra = 2, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            c &= 0x07, extra = 3, min = 0x10000;
        } else {
            return CmpFail(d, line, "invalid UTF-8 byte 0x%02x", p[i]);
        }
        if (extra && i + extra >= n)
            return CmpFail(d, line, "truncated UTF-8 sequence");
        for (ULONG k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return CmpFail(d, line, "invalid UTF-8 sequence");
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return CmpFail(d, line, "invalid UTF-8 sequence");
        if (c >= 0x10000) {
            c -= 0x10000;
            CmpPut(Out, (WCHAR)(0xD800 + (c >> 10)));
            CmpPut(Out, (WCHAR)(0xDC00 + (c & 0x3FF)));
        } else {
            CmpPut(Out, (WCHAR)c);
        }
        i += extra + 1;
    }
    return !Out->Failed || CmpFail(d, 0, "out of memory");
}

/* ---- Parsing --------------------------------------------------------------------------------- */

typedef enum { CmpOpKey, CmpOpDeleteKey, CmpOpValue, CmpOpDeleteValue } CMP_OP_KIND;

typedef struct {
    CMP_OP_KIND Kind;
    ULONG Line;
    PWCH Path; /* keys: below \Registry */
    SIZE_T PathLength;
    PWCH Name; /* values */
    USHORT NameLength;
    ULONG Type;
    PUCHAR Data;
    ULONG DataLength;
} CMP_OP;

typedef struct {
    CMP_OP *Ops;
    SIZE_T Count, Cap;
} CMP_OPS;

static VOID CmpFreeOps(CMP_OPS *o)
{
    for (SIZE_T i = 0; i < o->Count; i++) {
        free(o->Ops[i].Path);
        free(o->Ops[i].Name);
        free(o->Ops[i].Data);
    }
    free(o->Ops);
}

static CMP_OP *CmpAddOp(CMP_OPS *o)
{
    if (o->Count == o->Cap) {
        SIZE_T cap = o->Cap ? o->Cap * 2 : 32;
        CMP_OP *p = realloc(o->Ops, cap * sizeof *p);
        if (!p)
            return NULL;
        o->Ops = p;
        o->Cap = cap;
    }
    CMP_OP *op = &o->Ops[o->Count++];
    memset(op, 0, sizeof *op);
    return op;
}

static BOOLEAN CmpIsSpace(WCHAR c)
{
    return c == L' ' || c == L'\t';
}

static int CmpHexDigit(WCHAR c)
{
    if (c >= L'0' && c <= L'9')
        return c - L'0';
    if (c >= L'a' && c <= L'f')
        return c - L'a' + 10;
    if (c >= L'A' && c <= L'F')
        return c - L'A' + 10;
    return -1;
}

/* A quoted string starting at s[*i] == '"': unescapes \\ \" \n \r \0 into Out; *i ends after the
 * closing quote. */
static BOOLEAN CmpQuoted(PCWCH s, SIZE_T n, SIZE_T *i, CMP_WBUF *Out, CMP_DIAG *d, ULONG line)
{
    SIZE_T k = *i + 1;
    for (; k < n && s[k] != L'"'; k++) {
        WCHAR c = s[k];
        if (c == L'\\' && k + 1 < n) {
            WCHAR e = s[++k];
            c = e == L'n' ? L'\n' : e == L'r' ? L'\r' : e == L'0' ? L'\0' : e;
        }
        CmpPut(Out, c);
    }
    if (k >= n)
        return CmpFail(d, line, "missing closing quote");
    *i = k + 1;
    return TRUE;
}

/* Only blanks or a ; comment may follow. */
static BOOLEAN CmpRestIsEmpty(PCWCH s, SIZE_T n, SIZE_T i)
{
    while (i < n && CmpIsSpace(s[i]))
        i++;
    return i == n || s[i] == L';';
}

static char *CmpShow(PCWCH s, SIZE_T n, char *buf, size_t size)
{
    SIZE_T len = RtlpUtf16ToUtf8(buf, size - 1, s, n > 40 ? 40 : n, NULL);
    buf[len < size - 1 ? len : size - 1] = 0;
    return buf;
}

static BOOLEAN CmpParseValue(PCWCH s, SIZE_T n, ULONG line, CMP_OP *op, CMP_DIAG *d)
{
    CMP_WBUF name = {0}, data = {0};
    SIZE_T i = 0;
    char show[64];
    BOOLEAN ok = FALSE;
    if (s[0] == L'@') {
        i = 1;
    } else if (!CmpQuoted(s, n, &i, &name, d, line)) {
        goto out;
    }
    if (name.N > CMP_MAX_VALUE_NAME) {
        CmpFail(d, line, "value name longer than 16383 characters");
        goto out;
    }
    while (i < n && CmpIsSpace(s[i]))
        i++;
    if (i >= n || s[i] != L'=') {
        CmpFail(d, line, "expected '=' after the value name");
        goto out;
    }
    i++;
    while (i < n && CmpIsSpace(s[i]))
        i++;
    SIZE_T used;
    if (i < n && s[i] == L'-') {
        if (!CmpRestIsEmpty(s, n, i + 1)) {
            CmpFail(d, line, "unexpected text after '-'");
            goto out;
        }
        op->Kind = CmpOpDeleteValue;
    } else if (i < n && s[i] == L'"') {
        if (!CmpQuoted(s, n, &i, &data, d, line))
            goto out;
        if (!CmpRestIsEmpty(s, n, i)) {
            CmpFail(d, line, "unexpected text after the string: '%s'",
                    CmpShow(s + i, n - i, show, sizeof show));
            goto out;
        }
        CmpPut(&data, UNICODE_NULL);
        op->Kind = CmpOpValue;
        op->Type = REG_SZ;
        op->DataLength = (ULONG)(data.N * sizeof(WCHAR));
        op->Data = (PUCHAR)data.P;
        data.P = NULL;
    } else if (CmpPrefixA(s + i, n - i, "dword:", &used)) {
        i += used;
        ULONG v = 0, digits = 0;
        int h;
        while (i < n && (h = CmpHexDigit(s[i])) >= 0) {
            v = (v << 4) | (ULONG)h;
            i++;
            digits++;
        }
        if (digits == 0 || digits > 8 || !CmpRestIsEmpty(s, n, i)) {
            CmpFail(d, line, "bad dword: expected 1 to 8 hex digits");
            goto out;
        }
        op->Kind = CmpOpValue;
        op->Type = REG_DWORD;
        op->Data = malloc(sizeof v);
        if (!op->Data) {
            CmpFail(d, line, "out of memory");
            goto out;
        }
        memcpy(op->Data, &v, sizeof v);
        op->DataLength = sizeof v;
    } else if (CmpPrefixA(s + i, n - i, "hex", &used)) {
        i += used;
        ULONG type = REG_BINARY;
        if (i < n && s[i] == L'(') {
            ULONG digits = 0;
            int h;
            type = 0;
            i++;
            while (i < n && (h = CmpHexDigit(s[i])) >= 0) {
                type = (type << 4) | (ULONG)h;
                i++;
                digits++;
            }
            if (digits == 0 || digits > 8 || i >= n || s[i] != L')') {
                CmpFail(d, line, "bad hex(type): expected 1 to 8 hex digits and ')'");
                goto out;
            }
            i++;
        }
        if (i >= n || s[i] != L':') {
            CmpFail(d, line, "expected ':' after hex");
            goto out;
        }
        i++;
        PUCHAR bytes = malloc(n / 2 + 1);
        ULONG count = 0;
        if (!bytes) {
            CmpFail(d, line, "out of memory");
            goto out;
        }
        for (;;) {
            while (i < n && CmpIsSpace(s[i]))
                i++;
            if (i >= n || s[i] == L';')
                break;
            int h1 = CmpHexDigit(s[i]), h2 = i + 1 < n ? CmpHexDigit(s[i + 1]) : -1;
            if (h1 < 0) {
                free(bytes);
                CmpFail(d, line, "bad hex byte '%s'",
                        CmpShow(s + i, min(n - i, 2), show, sizeof show));
                goto out;
            }
            bytes[count++] = (UCHAR)(h2 >= 0 ? (h1 << 4) | h2 : h1);
            i += h2 >= 0 ? 2 : 1;
            while (i < n && CmpIsSpace(s[i]))
                i++;
            if (i < n && s[i] == L',') {
                i++;
                continue;
            }
            if (i < n && s[i] != L';') {
                free(bytes);
                CmpFail(d, line, "expected ',' between hex bytes, found '%s'",
                        CmpShow(s + i, 1, show, sizeof show));
                goto out;
            }
        }
        op->Kind = CmpOpValue;
        op->Type = type;
        op->Data = bytes;
        op->DataLength = count;
    } else {
        CmpFail(d, line, "unknown value type: '%s'", CmpShow(s + i, n - i, show, sizeof show));
        goto out;
    }
    if (name.Failed || data.Failed) {
        CmpFail(d, line, "out of memory");
        goto out;
    }
    op->Name = name.P;
    op->NameLength = (USHORT)(name.N * sizeof(WCHAR));
    name.P = NULL;
    op->Line = line;
    ok = TRUE;
out:
    free(name.P);
    free(data.P);
    return ok;
}

/* Parses Text into Ops. Root (below \Registry, may be NULL) confines the sections. */
static int CmpParse(PCWCH s, SIZE_T n, PCWCH Root, SIZE_T RootLength, CMP_OPS *Ops, CMP_DIAG *d)
{
    SIZE_T i = 0;
    ULONG line = 0;
    BOOLEAN header = FALSE, inKey = FALSE;
    CMP_WBUF logical = {0};
    int rc = -EINVAL;
    char show[64];
    if (n && s[0] == 0xFEFF)
        i = 1;
    while (i < n) {
        /* One physical line [i, e); its end-of-line is \n, \r\n or \r. */
        line++;
        ULONG firstLine = line;
        logical.N = 0;
        for (;;) {
            SIZE_T e = i;
            while (e < n && s[e] != L'\n' && s[e] != L'\r')
                e++;
            SIZE_T next = e;
            if (next < n && s[next] == L'\r')
                next++;
            if (next < n && s[next] == L'\n' && (next == e || s[e] == L'\r'))
                next++;
            SIZE_T b = i;
            if (logical.N)
                while (b < e && CmpIsSpace(s[b]))
                    b++;
            SIZE_T t = e;
            while (t > b && (CmpIsSpace(s[t - 1]) || s[t - 1] == UNICODE_NULL))
                t--;
            CmpPutW(&logical, s + b, t - b);
            i = next;
            /* A hex value continues on the next line when this one ends with '\'. */
            BOOLEAN cont = logical.N && logical.P[logical.N - 1] == L'\\' && i < n;
            if (cont) {
                SIZE_T k = 0;
                while (k < logical.N && CmpIsSpace(logical.P[k]))
                    k++;
                cont = k < logical.N && (logical.P[k] == L'"' || logical.P[k] == L'@');
                for (SIZE_T q = k; cont && q < logical.N; q++)
                    if (logical.P[q] == L'=') {
                        SIZE_T v = q + 1, u;
                        while (v < logical.N && CmpIsSpace(logical.P[v]))
                            v++;
                        cont = CmpPrefixA(logical.P + v, logical.N - v, "hex", &u);
                        break;
                    }
            }
            if (!cont)
                break;
            logical.N--; /* drop the '\' */
            line++;
        }
        if (logical.Failed) {
            CmpFail(d, firstLine, "out of memory");
            rc = -ENOMEM;
            goto out;
        }
        PCWCH l = logical.P;
        SIZE_T ln = logical.N, k = 0;
        while (k < ln && CmpIsSpace(l[k]))
            k++;
        l += k;
        ln -= k;
        if (!header) {
            if (ln == 0)
                continue;
            SIZE_T used;
            if ((CmpPrefixA(l, ln, "Windows Registry Editor Version 5.00", &used) ||
                 CmpPrefixA(l, ln, "REGEDIT4", &used)) &&
                used == ln) {
                header = TRUE;
                continue;
            }
            CmpFail(d, firstLine,
                    "not a .reg file: the first line must be \"Windows Registry Editor Version "
                    "5.00\" or \"REGEDIT4\"");
            goto out;
        }
        if (ln == 0 || l[0] == L';' || l[0] == L'#')
            continue;
        if (l[0] == L'[') {
            SIZE_T close = ln;
            while (close > 0 && l[close - 1] != L']')
                close--;
            if (close == 0) {
                CmpFail(d, firstLine, "missing ']' in key section");
                goto out;
            }
            close--;
            if (!CmpRestIsEmpty(l, ln, close + 1)) {
                CmpFail(d, firstLine, "unexpected text after ']'");
                goto out;
            }
            BOOLEAN del = close > 1 && l[1] == L'-';
            PCWCH p = l + (del ? 2 : 1);
            SIZE_T pn = close - (del ? 2 : 1);
            CMP_WBUF path = {0};
            const char *why = NULL;
            if (!CmpMapPath(p, pn, FALSE, &path, &why)) {
                free(path.P);
                CmpFail(d, firstLine, "%s: [%s]", why, CmpShow(p, pn, show, sizeof show));
                goto out;
            }
            if (!CmpPathWithin(path.P, path.N, Root, RootLength)) {
                free(path.P);
                CmpFail(d, firstLine, "key [%s] is outside the root this file may change",
                        CmpShow(p, pn, show, sizeof show));
                rc = -EPERM;
                goto out;
            }
            /* The hive roots themselves cannot be deleted. */
            BOOLEAN hiveRoot = TRUE;
            for (SIZE_T q = 0; q < path.N; q++)
                if (path.P[q] == L'\\')
                    hiveRoot = FALSE;
            if (del && hiveRoot) {
                free(path.P);
                CmpFail(d, firstLine, "a root key cannot be deleted");
                goto out;
            }
            CMP_OP *op = CmpAddOp(Ops);
            if (!op || path.Failed) {
                free(path.P);
                CmpFail(d, firstLine, "out of memory");
                rc = -ENOMEM;
                goto out;
            }
            op->Kind = del ? CmpOpDeleteKey : CmpOpKey;
            op->Line = firstLine;
            op->Path = path.P;
            op->PathLength = path.N;
            inKey = !del; /* values after [-KEY] are ignored, as regedit does */
            continue;
        }
        if (l[0] == L'"' || l[0] == L'@') {
            CMP_OP tmp;
            memset(&tmp, 0, sizeof tmp);
            if (!CmpParseValue(l, ln, firstLine, &tmp, d))
                goto out;
            if (Ops->Count == 0) {
                free(tmp.Name);
                free(tmp.Data);
                CmpFail(d, firstLine, "value before any [key] section");
                goto out;
            }
            if (!inKey) {
                free(tmp.Name);
                free(tmp.Data);
                continue;
            }
            CMP_OP *op = CmpAddOp(Ops);
            if (!op) {
                free(tmp.Name);
                free(tmp.Data);
                CmpFail(d, firstLine, "out of memory");
                rc = -ENOMEM;
                goto out;
            }
            *op = tmp;
            continue;
        }
        CmpFail(d, firstLine, "unexpected text: '%s'", CmpShow(l, ln, show, sizeof show));
        goto out;
    }
    if (!header) {
        CmpFail(d, 1, "empty file: no \"Windows Registry Editor Version 5.00\" header");
        goto out;
    }
    rc = 0;
out:
    free(logical.P);
    return rc;
}

/* ---- Applying -------------------------------------------------------------------------------- */

/* Walks (creating) Path below \Registry. Keys created under a volatile key are volatile: the
 * file cannot make a non-volatile key there (documented in docs/registry.md). */
static PCM_KEY_NODE CmpWalkCreate(PCM_KEY_NODE Root, PCWCH Path, SIZE_T n, LARGE_INTEGER Now)
{
    PCM_KEY_NODE node = Root;
    SIZE_T i = 0;
    while (i < n && node) {
        SIZE_T s = i;
        while (i < n && Path[i] != L'\\')
            i++;
        USHORT len = (USHORT)((i - s) * sizeof(WCHAR));
        PCM_KEY_NODE child = CmpFindChild(node, Path + s, len);
        if (!child) {
            if (!NT_SUCCESS(CmpCreateChildNode(node, Path + s, len, node->Volatile, &child)))
                return NULL;
            CmpTouch(node, Now);
            CmpTouch(child, Now);
        }
        node = child;
        if (i < n)
            i++;
    }
    return node;
}

static int CmpApply(struct kmrig_runtime *rt, CMP_OPS *Ops, CMP_DIAG *d)
{
    LARGE_INTEGER now;
    KeQuerySystemTime(&now);
    int rc = 0;
    pthread_mutex_lock(&rt->Cm->Lock);
    PCM_KEY_NODE current = NULL;
    for (SIZE_T i = 0; i < Ops->Count && rc == 0; i++) {
        CMP_OP *op = &Ops->Ops[i];
        switch (op->Kind) {
        case CmpOpKey:
            current = CmpWalkCreate(rt->Cm->Root, op->Path, op->PathLength, now);
            if (!current) {
                CmpFail(d, op->Line, "out of memory creating the key");
                rc = -ENOMEM;
            }
            break;
        case CmpOpDeleteKey: {
            PCM_KEY_NODE node =
                CmpLookupNode(rt->Cm->Root, op->Path, (USHORT)(op->PathLength * sizeof(WCHAR)));
            if (node) {
                PCM_KEY_NODE parent = node->Parent;
                CmpDeleteTree(node);
                if (parent)
                    CmpTouch(parent, now);
            }
            current = NULL;
            break;
        }
        case CmpOpValue:
            if (current && !NT_SUCCESS(CmpSetValue(current, op->Name, op->NameLength, op->Type,
                                                   op->Data, op->DataLength))) {
                CmpFail(d, op->Line, "out of memory setting the value");
                rc = -ENOMEM;
            } else if (current) {
                CmpTouch(current, now);
            }
            break;
        case CmpOpDeleteValue:
            if (current && CmpDeleteValue(current, op->Name, op->NameLength))
                CmpTouch(current, now);
            break;
        }
    }
    pthread_mutex_unlock(&rt->Cm->Lock);
    return rc;
}

static BOOLEAN CmpMapUserPath(const char *Path, CMP_WBUF *Out, const char **Why)
{
    CMP_WBUF w = {0};
    CMP_DIAG d = {0};
    if (!CmpDecode((const UCHAR *)Path, strlen(Path), &w, &d)) {
        free(w.P);
        *Why = "path is not valid UTF-8";
        return FALSE;
    }
    BOOLEAN ok = CmpMapPath(w.P, w.N, TRUE, Out, Why);
    free(w.P);
    if (ok && Out->Failed) {
        *Why = "out of memory";
        return FALSE;
    }
    return ok;
}

static void CmpReport(struct kmrig_runtime *rt, CMP_DIAG *d)
{
    if (d->ErrorLine)
        KmLog(rt, KMRIG_LOG_ERROR, "%s:%u: %s", d->Name, d->ErrorLine, d->Error);
    else
        KmLog(rt, KMRIG_LOG_ERROR, "%s: %s", d->Name, d->Error);
}

int kmrig_registry_load_buffer(kmrig_runtime *rt, const void *data, size_t size, const char *name,
                               const char *root)
{
    CMP_DIAG d = {0};
    d.Name = name ? name : "(buffer)";
    CMP_WBUF text = {0}, rootPath = {0};
    CMP_OPS ops = {0};
    int rc = -EINVAL;
    const char *why = NULL;
    if (root && !CmpMapUserPath(root, &rootPath, &why)) {
        KmLog(rt, KMRIG_LOG_ERROR, "%s: bad root '%s': %s", d.Name, root, why);
        goto out;
    }
    if (!CmpDecode(data, size, &text, &d)) {
        CmpReport(rt, &d);
        goto out;
    }
    rc = CmpParse(text.P, text.N, root ? (rootPath.P ? rootPath.P : L"") : NULL, rootPath.N, &ops,
                  &d);
    if (rc == 0)
        rc = CmpApply(rt, &ops, &d);
    if (rc)
        CmpReport(rt, &d);
    else
        KmLog(rt, KMRIG_LOG_DEBUG, "%s: loaded %zu registry operations", d.Name, ops.Count);
out:
    CmpFreeOps(&ops);
    free(text.P);
    free(rootPath.P);
    return rc;
}

int kmrig_registry_load(kmrig_runtime *rt, const char *path, const char *root)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        KmLog(rt, KMRIG_LOG_ERROR, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        unsigned char *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    int readError = ferror(f);
    fclose(f);
    if (!buf) {
        KmLog(rt, KMRIG_LOG_ERROR, "%s: out of memory reading the file", path);
        return -ENOMEM;
    }
    if (readError) {
        free(buf);
        KmLog(rt, KMRIG_LOG_ERROR, "%s: read error", path);
        return -EIO;
    }
    int rc = kmrig_registry_load_buffer(rt, buf, n, path, root);
    free(buf);
    return rc;
}

/* ---- Saving ---------------------------------------------------------------------------------- */

static VOID CmpPutHex(CMP_WBUF *b, ULONG v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int k = digits - 1; k >= 0; k--)
        CmpPut(b, (WCHAR)hex[(v >> (4 * k)) & 0xF]);
}

/* The regedit name of Node: HKEY_LOCAL_MACHINE\... or HKEY_USERS\...; FALSE for \Registry. */
static BOOLEAN CmpPutKeyPath(CMP_WBUF *b, PCM_KEY_NODE Node)
{
    PCM_KEY_NODE chain[512];
    int depth = 0;
    for (PCM_KEY_NODE n = Node; n && n->Parent && depth < 512; n = n->Parent)
        chain[depth++] = n;
    if (depth == 0)
        return FALSE;
    PCM_KEY_NODE hive = chain[depth - 1];
    static const WCHAR machine[] = L"MACHINE";
    CmpPutA(b, CmpNameEqual(hive->Name, hive->NameLength, machine, sizeof machine - 2)
                   ? "HKEY_LOCAL_MACHINE"
                   : "HKEY_USERS");
    for (int k = depth - 2; k >= 0; k--) {
        CmpPut(b, L'\\');
        CmpPutW(b, chain[k]->Name, chain[k]->NameLength / 2);
    }
    return TRUE;
}

static SIZE_T CmpPutQuoted(CMP_WBUF *b, PCWCH s, SIZE_T n)
{
    SIZE_T start = b->N;
    CmpPut(b, L'"');
    for (SIZE_T i = 0; i < n; i++) {
        if (s[i] == L'\\' || s[i] == L'"')
            CmpPut(b, L'\\');
        CmpPut(b, s[i]);
    }
    CmpPut(b, L'"');
    return b->N - start;
}

/* Can this REG_SZ be written as "text" and read back byte for byte? */
static BOOLEAN CmpPlainString(PCM_KEY_VALUE v)
{
    if (v->Type != REG_SZ || v->DataLength < 2 || (v->DataLength & 1))
        return FALSE;
    PCWCH w = (PCWCH)v->Data;
    SIZE_T n = v->DataLength / 2;
    if (w[n - 1] != UNICODE_NULL)
        return FALSE;
    for (SIZE_T i = 0; i + 1 < n; i++)
        if (w[i] < 0x20)
            return FALSE;
    return TRUE;
}

static VOID CmpPutValue(CMP_WBUF *b, PCM_KEY_VALUE v)
{
    SIZE_T lineLength;
    if (v->NameLength) {
        lineLength = CmpPutQuoted(b, v->Name, v->NameLength / 2);
    } else {
        CmpPut(b, L'@');
        lineLength = 1;
    }
    CmpPut(b, L'=');
    lineLength++;
    if (CmpPlainString(v)) {
        CmpPutQuoted(b, (PCWCH)v->Data, v->DataLength / 2 - 1);
    } else if (v->Type == REG_DWORD && v->DataLength == 4) {
        ULONG d;
        memcpy(&d, v->Data, 4);
        CmpPutA(b, "dword:");
        CmpPutHex(b, d, 8);
    } else {
        /* regedit's layout: "xx," groups, a "\" line break once a line reaches 77 columns and
         * a two-blank indent on the continuation lines. */
        SIZE_T before = b->N;
        if (v->Type == REG_BINARY) {
            CmpPutA(b, "hex:");
        } else {
            char t[16];
            snprintf(t, sizeof t, "hex(%x):", v->Type);
            CmpPutA(b, t);
        }
        lineLength += b->N - before;
        for (ULONG i = 0; i < v->DataLength; i++) {
            CmpPutHex(b, v->Data[i], 2);
            if (i + 1 == v->DataLength)
                break;
            CmpPut(b, L',');
            lineLength += 3;
            if (lineLength >= 77) {
                CmpPutA(b, "\\\r\n  ");
                lineLength = 2;
            }
        }
    }
    CmpPutA(b, "\r\n");
}

static VOID CmpPutTree(CMP_WBUF *b, PCM_KEY_NODE Node)
{
    if (Node->Volatile)
        return;
    if (Node->Parent) {
        CmpPut(b, L'[');
        CmpPutKeyPath(b, Node);
        CmpPutA(b, "]\r\n");
        for (ULONG i = 0; i < Node->ValueCount; i++)
            CmpPutValue(b, &Node->Values[i]);
        CmpPutA(b, "\r\n");
    }
    for (ULONG i = 0; i < Node->SubKeyCount; i++)
        CmpPutTree(b, Node->SubKeys[i]);
}

static int CmpWriteAll(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes Bytes to Path through a temporary file in the same directory, fsync and rename. */
static int CmpAtomicWrite(struct kmrig_runtime *rt, const char *Path, const void *Bytes,
                          size_t Size)
{
    size_t len = strlen(Path);
    char *tmp = malloc(len + 16);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, len + 16, "%s.tmpXXXXXX", Path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        KmLog(rt, KMRIG_LOG_ERROR, "%s: cannot create a temporary file: %s", Path, strerror(e));
        free(tmp);
        return -e;
    }
    int rc = CmpWriteAll(fd, Bytes, Size);
    if (!rc && fchmod(fd, 0644) < 0)
        rc = -errno;
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, Path) < 0)
        rc = -errno;
    if (rc) {
        KmLog(rt, KMRIG_LOG_ERROR, "%s: cannot write: %s", Path, strerror(-rc));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    /* Make the rename itself durable. */
    char *slash = strrchr(tmp, '/');
    const char *dir = ".";
    if (slash) {
        *slash = 0;
        dir = slash == tmp ? "/" : tmp;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(tmp);
    return 0;
}

int kmrig_registry_save(kmrig_runtime *rt, const char *path, const char *key_path)
{
    CMP_WBUF keyPath = {0}, text = {0};
    const char *why = NULL;
    int rc;
    if (!CmpMapUserPath(key_path ? key_path : "\\Registry", &keyPath, &why)) {
        KmLog(rt, KMRIG_LOG_ERROR, "%s: bad key path '%s': %s", path, key_path, why);
        free(keyPath.P);
        return -EINVAL;
    }
    CmpPut(&text, 0xFEFF);
    CmpPutA(&text, "Windows Registry Editor Version 5.00\r\n\r\n");
    pthread_mutex_lock(&rt->Cm->Lock);
    PCM_KEY_NODE node = CmpLookupNode(rt->Cm->Root, keyPath.P ? keyPath.P : L"",
                                      (USHORT)(keyPath.N * sizeof(WCHAR)));
    if (node)
        CmpPutTree(&text, node);
    pthread_mutex_unlock(&rt->Cm->Lock);
    free(keyPath.P);
    if (!node) {
        KmLog(rt, KMRIG_LOG_ERROR, "%s: no key '%s' to save", path, key_path);
        free(text.P);
        return -ENOENT;
    }
    if (text.Failed) {
        free(text.P);
        return -ENOMEM;
    }
    unsigned char *bytes = malloc(text.N * 2);
    if (!bytes) {
        free(text.P);
        return -ENOMEM;
    }
    for (SIZE_T i = 0; i < text.N; i++) {
        bytes[2 * i] = (unsigned char)(text.P[i] & 0xFF);
        bytes[2 * i + 1] = (unsigned char)(text.P[i] >> 8);
    }
    rc = CmpAtomicWrite(rt, path, bytes, text.N * 2);
    free(bytes);
    free(text.P);
    return rc;
}
