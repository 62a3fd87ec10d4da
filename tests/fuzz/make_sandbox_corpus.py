#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_sandbox (tests/fuzz/corpus/sandbox/) and its libFuzzer
dictionary (tests/fuzz/sandbox.dict). The input layout is described at the top of
fuzz_sandbox.c: four header bytes, then the name in UTF-16LE, then optionally U+FFFF and a
rename target. Seeds the fuzzer found (minimised) are kept in the corpus directory under names
starting with "found_"; this script leaves those alone and rewrites only its own seeds.

Run from anywhere: python3 tests/fuzz/make_sandbox_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus", "sandbox")

# byte 0
SUPERSEDE, OPEN, CREATE, OPEN_IF, OVERWRITE, OVERWRITE_IF = range(6)
RELATIVE, TREE, DIRFILE, NONDIR, DELETE_ON_CLOSE = 0x08, 0x10, 0x20, 0x40, 0x80
# byte 1
WRITE, RENAME, DELETE, REPLACE, RENAME_ROOT, BASE_SUB, READONLY, CASE_SENSITIVE = (
    1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80)
# byte 2
RAW, QC, SYSROOT, DOSDEV, DEVICE, GLOBAL, QC_NOSLASH = range(7)
# byte 3
RWD, APPEND, READ, ALL, ASYNC = 0, 1, 2, 3, 4


def u16(text):
    """UTF-16LE of a str; lone surrogates are written as given (\\ud800 etc.)."""
    out = b""
    for ch in text:
        c = ord(ch)
        if c >= 0x10000:
            c -= 0x10000
            out += struct.pack("<HH", 0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF))
        else:
            out += struct.pack("<H", c)
    return out


def seed(mode, ops, prefix, how, name, target=None, raw=None):
    data = bytes([mode, ops, prefix, how]) + (raw if raw is not None else u16(name))
    if target is not None:
        data += b"\xff\xff" + u16(target)
    return data


seeds = {}


def add(label, data):
    assert label not in seeds, label
    seeds[label] = data


# 1. The escape matrix of test_zw_create_file_cannot_escape_the_sandbox (tests/io/test_io_file.c),
#    with every disposition it loops over, and the tree of links and a FIFO it makes.
matrix = [
    ("dotdot", r"\??\C:\..\escape.txt"),
    ("sub_dotdot_dotdot", r"\??\C:\sub\..\..\escape.txt"),
    ("sub_dotdot", r"\??\C:\sub\..\escape.txt"),
    ("dot", r"\??\C:\.\escape.txt"),
    ("empty_component", "\\??\\C:\\sub\\\\escape.txt"),
    ("slash_etc", r"\??\C:\/etc/escape.txt"),
    ("slash_dotdot", r"\??\C:\sub/../../escape.txt"),
    ("stream", r"\??\C:\escape.txt:stream"),
    ("stream_data", r"\??\C:\escape.txt::$DATA"),
    ("star", r"\??\C:\esc*pe.txt"),
    ("outdir", r"\??\C:\outdir\escape.txt"),
    ("outdir_sentinel", r"\??\C:\outdir\sentinel.txt"),
    ("outfile", r"\??\C:\outfile"),
    ("sub_up", r"\??\C:\sub\up\escape.txt"),
    ("inlink", r"\??\C:\inlink\escape.txt"),
    ("fifo", r"\??\C:\fifo"),
    ("unc", r"\??\UNC\server\share\escape.txt"),
    ("unix_path", r"\??\/tmp/escape.txt"),
    ("drive_d", r"\??\D:\escape.txt"),
]
for label, name in matrix:
    for disp, dname in ((OPEN, "open"), (CREATE, "create"), (OPEN_IF, "openif"),
                        (OVERWRITE_IF, "overwriteif"), (SUPERSEDE, "supersede")):
        add(f"matrix_{label}_{dname}", seed(disp | TREE, WRITE, RAW, RWD, name))
add("matrix_outdir_as_directory", seed(OPEN | TREE | DIRFILE, 0, RAW, READ, r"\??\C:\outdir"))

# 2. Names: dots, separators, lengths, reserved names, NULs, surrogates, other name spaces.
names = {
    "encoded_dots": r"%2e%2e\escape.txt",
    "encoded_dots_utf8": r"%c0%ae%c0%ae\escape.txt",
    "fullwidth_dots": "\uff0e\uff0e\\escape.txt",
    "two_dot_leader": "\u2025\\escape.txt",
    "three_dots": r"...\escape.txt",
    "dotdot_space": ".. \\escape.txt",
    "dotdot_dot": r"..." + "\\..\\escape.txt",
    "trailing_dots": "escape.txt...",
    "trailing_spaces": "escape.txt   ",
    "trailing_dot_dir": r"sub.\..\..\escape.txt",
    "dotdot_trailing_backslash": "..\\",
    "file_trailing_backslash": "file.txt\\",
    "double_backslash_start": "\\escape.txt",
    "fullwidth_backslash": "..\uff3c..\uff3cescape.txt",
    "division_slash": "..\u2215..\u2215escape.txt",
    "mixed_separators": r"sub\..//..\escape.txt",
    "con": "CON",
    "nul_dev": "NUL",
    "com1_txt": "COM1.txt",
    "lpt1_colon": "LPT1:",
    "aux_dir": r"AUX\escape.txt",
    "control_char": "esc\x01ape.txt",
    "tab": "esc\tape.txt",
    "del_char": "esc\x7fape.txt",
    "nul_inside": "escape\x00.txt",
    "nul_then_dotdot": "a\x00\\..\\..\\escape.txt",
    "nul_at_end": "escape.txt\x00",
    "lone_high_surrogate": "esc\ud800ape.txt",
    "lone_low_surrogate": "esc\udc00ape.txt",
    "reversed_surrogates": "esc\udc00\ud800ape.txt",
    "surrogate_at_end": "escape\ud83d",
    "valid_pair": "\U0001F600.txt",
    "bom_rtl": "\ufeff\u202eescape.txt",
    "ads_index": r"sub::$INDEX_ALLOCATION\escape.txt",
    "question": "esc?pe.txt",
    "pipe_lt_gt": "e|s<c>ape.txt",
    "quote": 'esc"ape.txt',
    "windows_dotdot": r"Windows\..\..\escape.txt",
}
for label, name in names.items():
    add(f"name_{label}_create", seed(CREATE | TREE, WRITE | DELETE, QC, RWD, name))
    add(f"name_{label}_sysroot", seed(OPEN_IF, WRITE, SYSROOT, RWD, name))

long_cases = {
    "component_255": "a" * 255,
    "component_256": "a" * 256,
    "path_max": "\\".join(["d" * 249] * 20),
    "path_huge": "\\".join(["e" * 200] * 150),
    "many_dotdot": "\\".join([".."] * 2000) + "\\escape.txt",
    "many_components": "\\".join(["x"] * 3000),
}
for label, name in long_cases.items():
    add(f"long_{label}", seed(OPEN_IF | TREE, WRITE, QC, RWD, name))
add("long_dirs_255", seed(CREATE | DIRFILE, 0, QC, ALL, "b" * 255))

full = {
    "unc_localhost": r"\??\UNC\localhost\C$\escape.txt",
    "unc_root": "\\??\\UNC\\",
    "device_mup": r"\Device\Mup\server\share\escape.txt",
    "device_null": r"\Device\Null",
    "device_volume": r"\Device\KmrigHostVolume",
    "device_volume_dotdot": r"\Device\KmrigHostVolume\..\escape.txt",
    "device_volume_x": r"\Device\KmrigHostVolumeX\escape.txt",
    "device_volume_slash": r"\Device\KmrigHostVolume/../escape.txt",
    "sysroot_up2": r"\SystemRoot\..\..\escape.txt",
    "sysroot_only": "\\SystemRoot",
    "sysroot_system32": r"\SystemRoot\System32\escape.txt",
    "sysroot_system32_sentinel": r"\SystemRoot\System32\sentinel.txt",
    "global_dotdot": r"\GLOBAL??\C:\..\escape.txt",
    "dosdevices_dotdot": r"\DosDevices\C:\..\escape.txt",
    "qc_volume": r"\??\C:",
    "qc_colon_name": r"\??\C:escape.txt",
    "qc_root": "\\??\\C:\\",
    "qc_lower": r"\??\c:\escape.txt",
    "qq_dotdot": r"\??\..\escape.txt",
    "root_dotdot": r"\..\tmp\escape.txt",
    "drive_relative": r"C:\escape.txt",
    "unix_absolute": "/tmp/escape.txt",
    "empty": "",
    "backslash": "\\",
    "qc_dot_slash": r"\??\C:\.\\",
    "qc_many_backslashes": "\\??\\C:\\\\\\\\",
    "windows_then_up": r"\??\C:\Windows\..\..\escape.txt",
    "proc_self": r"\??\C:\..\..\proc\self\root\tmp\escape.txt",
}
for label, name in full.items():
    add(f"full_{label}", seed(OPEN_IF | TREE, WRITE | RENAME, RAW, RWD, name, "escaped.txt"))
    add(f"full_{label}_dir", seed(OPEN_IF | TREE | DIRFILE, 0, RAW, ALL, name))
add("full_qc_root_supersede", seed(SUPERSEDE, 0, RAW, ALL, "\\??\\C:\\"))
add("full_qc_root_delete", seed(OPEN, DELETE, RAW, ALL, "\\??\\C:\\"))
add("full_qc_root_delete_on_close", seed(OPEN | DELETE_ON_CLOSE, 0, RAW, ALL, "\\??\\C:\\"))
add("full_odd_length", seed(CREATE, WRITE, RAW, RWD, None, raw=u16(r"\??\C:\escape.txt") + b"x"))

# 3. Links inside the sandbox (the prepared tree), every way of reaching them.
links = {
    "chain": r"chain1\escape.txt",
    "chain_itself": "chain1",
    "chain_sentinel": r"chain1\sentinel.txt",
    "relout": r"relout\sentinel.txt",
    "relout_create": r"relout\escape.txt",
    "relfile": "relfile",
    "dangling": "dangling",
    "sub_dangling": r"sub\dangling",
    "sub_up": r"sub\up\tmp\escape.txt",
    "sub_deep": r"sub\deep\sentinel.txt",
    "outdir_outsub": r"outdir\outsub\sentinel.txt",
    "outdir_sandbox": r"outdir\sandbox\escape.txt",
    "inlink_file": r"inlink\file.txt",
    "system32": r"Windows\System32\sentinel.txt",
    "sock": "sock",
    "fifo_trailing": "fifo\\",
    "ro": "ro.txt",
}
for label, name in links.items():
    for disp, dname in ((OPEN, "open"), (OPEN_IF, "openif"), (SUPERSEDE, "supersede"),
                        (OVERWRITE, "overwrite")):
        add(f"link_{label}_{dname}", seed(disp | TREE, WRITE | DELETE, QC, RWD, name))
    add(f"link_{label}_dir", seed(OPEN_IF | TREE | DIRFILE, 0, QC, ALL, name))
    add(f"link_{label}_relative_sub", seed(OPEN_IF | TREE | RELATIVE, WRITE | BASE_SUB, RAW, RWD,
                                          r"..\\" + name))
add("link_dangling_create_readonly", seed(CREATE | TREE, READONLY, QC, RWD, "dangling"))
add("link_dangling_delete_on_close", seed(OPEN_IF | TREE | DELETE_ON_CLOSE, 0, QC, ALL, "dangling"))

# 4. Relative opens (RootDirectory = the root, or "sub").
relative = {
    "dotdot": (0, r"..\escape.txt"),
    "leading_backslash": (0, r"\escape.txt"),
    "empty_root": (0, ""),
    "empty_sub": (BASE_SUB, ""),
    "sub_dotdot_dotdot": (0, r"sub\..\..\escape.txt"),
    "base_sub_up": (BASE_SUB, r"up\escape.txt"),
    "base_sub_dangling": (BASE_SUB, "dangling"),
    "base_sub_deep": (BASE_SUB, r"deep\sentinel.txt"),
    "base_sub_dotdot": (BASE_SUB, r"..\..\escape.txt"),
    "full_name_with_root": (0, r"\??\C:\escape.txt"),
    "file": (BASE_SUB, "file.txt"),
}
for label, (ops, name) in relative.items():
    add(f"relative_{label}", seed(OPEN_IF | TREE | RELATIVE, ops | WRITE, RAW, RWD, name))
    add(f"relative_{label}_notree", seed(OPEN_IF | RELATIVE, ops | WRITE, RAW, RWD, name))
    add(f"relative_{label}_rename", seed(OPEN_IF | TREE | RELATIVE, ops | RENAME | RENAME_ROOT,
                                         RAW, RWD, name, r"..\escaped.txt"))

# 5. Rename targets that try to leave (file.txt and the directory sub are moved).
targets = {
    "qc_dotdot": r"\??\C:\..\escaped.txt",
    "dotdot": "..",
    "dotdot_name": r"..\escaped.txt",
    "simple": "escaped.txt",
    "slash": "../escaped.txt",
    "sysroot_system32": r"\SystemRoot\System32\escaped.txt",
    "sysroot_up": r"\SystemRoot\..\..\escaped.txt",
    "device_volume_dotdot": r"\Device\KmrigHostVolume\..\escaped.txt",
    "device_volume": r"\Device\KmrigHostVolume",
    "device_null": r"\Device\Null",
    "qc_sub_up": r"\??\C:\sub\up\escaped.txt",
    "qc_relout": r"\??\C:\relout\escaped.txt",
    "qc_outdir": r"\??\C:\outdir\escaped.txt",
    "qc_dangling": r"\??\C:\dangling",
    "qc_sub_dangling": r"\??\C:\sub\dangling",
    "qc_chain": r"\??\C:\chain1\escaped.txt",
    "qc_volume": r"\??\C:",
    "qc_root": "\\??\\C:\\",
    "unc": r"\??\UNC\server\share\escaped.txt",
    "nul": "escaped\x00.txt",
    "surrogate": "escaped\ud800.txt",
    "long": "r" * 300,
    "trailing_backslash": "escaped\\",
    "stream": "file.txt:stream",
    "outfile": "outfile",
    "relfile": "relfile",
    "fifo": "fifo",
    "into_itself": r"\??\C:\sub\sub2",
}
for label, target in targets.items():
    add(f"rename_file_{label}", seed(OPEN | TREE, RENAME, QC, RWD, "file.txt", target))
    add(f"rename_file_{label}_replace", seed(OPEN | TREE, RENAME | REPLACE | WRITE, QC, ALL,
                                             "file.txt", target))
    add(f"rename_dir_{label}", seed(OPEN | TREE | DIRFILE, RENAME | REPLACE, QC, ALL, "sub",
                                    target))
    add(f"rename_rooted_{label}", seed(OPEN | TREE, RENAME | RENAME_ROOT | REPLACE, QC, ALL,
                                       "file.txt", target))
    add(f"rename_rooted_sub_{label}", seed(OPEN | TREE, RENAME | RENAME_ROOT | BASE_SUB, QC,
                                           ALL, "file.txt", target))
add("rename_new_file_then_delete", seed(CREATE | TREE, WRITE | RENAME | DELETE, QC, ALL, "new.txt",
                                        r"\??\C:\sub\moved.txt"))
add("rename_root", seed(OPEN, RENAME, RAW, ALL, "\\??\\C:\\", r"\??\C:\renamed"))
add("rename_async_append", seed(OPEN | TREE, RENAME | WRITE, QC, APPEND | ASYNC, "file.txt",
                                "escaped.txt"))

# 6. Options and dispositions around the open itself.
add("disposition_invalid_6", seed(6 | TREE, 0, QC, RWD, "file.txt"))
add("disposition_invalid_7", seed(7, 0, QC, RWD, "file.txt"))
add("dir_and_nondir", seed(OPEN_IF | DIRFILE | NONDIR, 0, QC, RWD, "both"))
add("dir_supersede", seed(SUPERSEDE | DIRFILE | TREE, 0, QC, ALL, "sub"))
add("nondir_on_dir", seed(OPEN | NONDIR | TREE, 0, QC, ALL, "sub"))
add("delete_on_close_readonly", seed(OPEN | DELETE_ON_CLOSE | TREE, 0, QC, ALL, "ro.txt"))
add("delete_on_close_no_delete_access", seed(OPEN | DELETE_ON_CLOSE | TREE, 0, QC, READ, "file.txt"))
add("delete_dir_not_empty", seed(OPEN | DIRFILE | TREE, DELETE, QC, ALL, "sub"))
add("overwrite_readonly", seed(OVERWRITE_IF | TREE, WRITE, QC, ALL, "ro.txt"))
add("create_readonly_then_write", seed(CREATE, WRITE | READONLY, QC, ALL, "ro-new.txt"))
add("append_only_write", seed(OPEN_IF, WRITE, QC, APPEND, "append.txt"))
add("async_write", seed(OPEN_IF, WRITE, QC, RWD | ASYNC, "async.txt"))
add("case_sensitive_lower_drive", seed(OPEN_IF, CASE_SENSITIVE, RAW, RWD, r"\??\c:\case.txt"))
add("short_header", bytes([OPEN_IF, 0, QC]))
add("header_only", bytes([OPEN_IF | TREE, WRITE, QC, RWD]))
add("qc_noslash_prefix", seed(OPEN_IF, WRITE, QC_NOSLASH, RWD, r"\escape.txt"))
add("qc_noslash_dotdot", seed(OPEN_IF, WRITE, QC_NOSLASH, RWD, r"..\escape.txt"))


def dictionary():
    words = ["..", ".", "\\", "/", ":", "\x00", "\\??\\C:\\", "\\??\\UNC\\", "\\SystemRoot",
             "\\Device\\KmrigHostVolume", "\\GLOBAL??\\", "\\DosDevices\\", "sub", "file.txt",
             "ro.txt", "fifo", "sock", "outdir", "outfile", "relout", "relfile", "dangling",
             "chain1", "inlink", "up", "deep", "Windows", "System32", "sentinel.txt", "::$DATA",
             "\ud800", "\udc00", "\uff0e", "CON", "NUL", "\uffff"]
    lines = []
    for w in words:
        b = u16(w)
        lines.append('"' + "".join(f"\\x{c:02x}" for c in b) + '"')
    return "\n".join(lines) + "\n"


def main():
    os.makedirs(CORPUS, exist_ok=True)
    for old in os.listdir(CORPUS):
        if not old.startswith("found_"):
            os.unlink(os.path.join(CORPUS, old))
    for label, data in seeds.items():
        with open(os.path.join(CORPUS, label), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "sandbox.dict"), "w") as f:
        f.write("# UTF-16LE words for fuzz_sandbox (written by make_sandbox_corpus.py)\n")
        f.write(dictionary())
    print(f"{len(seeds)} seeds in {CORPUS}")


if __name__ == "__main__":
    main()
