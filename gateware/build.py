#!/usr/bin/env python3
"""Build one iCE40 board's bitstream and check its timing (docs/boards.md).

    gateware/build.py BOARD OUT_DIR [--clock NAME=MHZ]... [--seed N]

BOARD is a board file, or a directory holding board.json (device, package, top, pcf, sources, the board's SoC description and
every clock domain with the frequency it must reach). The flow:

  1. rtl/gen_soc.py --user BOARD_DIR/<soc>  -> OUT_DIR/gen: the board's SoC top and ROM
  2. yosys synth_ice40 (through rtl/yosys-retry.sh)           -> OUT_DIR/<board>.json
  3. nextpnr-ice40 --seed N, one constraint per clock (--pre-pack OUT_DIR/clocks.py),
     --timing-allow-fail so that the reports are written either way
  4. OUT_DIR/<board>-utilisation.txt and OUT_DIR/<board>-timing.txt from nextpnr's report and
     its "Max frequency for clock" lines, one line per clock domain
  5. icepack -> OUT_DIR/<board>.bin, only when every clock is met

Exit status: 0 built and timing met; 3 a clock domain is not met (the reports say which, no
.bin is left); 2 bad board file or arguments; 1 a tool failed. --clock overrides a domain's
frequency (the impossible-clock test uses it). The nextpnr seed is the board file's "seed"
(default 1), or --seed. Standard library only.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RTL = os.path.join(ROOT, "rtl")

# RTL every board reads besides its own sources (board SoC tops come from gen_soc.py --user;
# the reference tops kmrig_soc.v / kmrig_soc_bridge.v are not read: they include the reference
# map, which a board's generated map replaces)
COMMON = [
    "kmrig_wb_interconnect.v", "kmrig_enum_rom.v", "kmrig_sysid.v", "kmrig_timer.v",
    "kmrig_intc.v", "kmrig_uart16550.v",
    "bridge/kmrig_bridge.v", "bridge/kmrig_bridge_rx.v", "bridge/kmrig_bridge_exec.v",
    "bridge/kmrig_bridge_tx.v", "bridge/kmrig_bridge_irq.v", "bridge/kmrig_bridge_dma.v",
    "bridge/kmrig_bridge_ram4.v",
    "phy/kmrig_phy_uart.v", "phy/kmrig_phy_ft245.v", "phy/kmrig_phy_afifo.v",
    "phy/kmrig_phy_rst_sync.v", "phy/kmrig_phy_spi.v",
]

DEVICES = {"up5k": 5280, "hx8k": 7680, "hx1k": 1280, "lp8k": 7680, "hx4k": 3520}

EXIT_TOOL, EXIT_USAGE, EXIT_TIMING = 1, 2, 3


class BuildError(Exception):
    def __init__(self, msg, code=EXIT_TOOL):
        super().__init__(msg)
        self.code = code


def log(msg):
    print("gateware: " + msg, flush=True)


def run(cmd, logfile, cwd=None):
    start = time.monotonic()
    with open(logfile, "w", encoding="utf-8") as f:
        res = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd, check=False)
    took = time.monotonic() - start
    if res.returncode != 0:
        with open(logfile, encoding="utf-8", errors="replace") as f:
            tail = f.read().splitlines()[-25:]
        raise BuildError("%s failed (exit %d, %.0f s); last lines of %s:\n  %s"
                         % (os.path.basename(cmd[0]) if cmd[0] != "sh" else cmd[2], res.returncode,
                            took, logfile, "\n  ".join(tail)))
    return took


def load_board(path, overrides):
    try:
        with open(path, encoding="utf-8") as f:
            b = json.load(f)
    except (OSError, ValueError) as e:
        raise BuildError("%s: %s" % (path, e), EXIT_USAGE) from e
    for k in ("board", "device", "package", "top", "pcf", "sources", "clocks"):
        if k not in b:
            raise BuildError("%s: %r is required" % (path, k), EXIT_USAGE)
    if b["device"] not in DEVICES:
        raise BuildError("%s: unknown device %r (one of %s)"
                         % (path, b["device"], ", ".join(sorted(DEVICES))), EXIT_USAGE)
    if not b["clocks"]:
        raise BuildError("%s: no clocks: every clock domain must be stated" % path, EXIT_USAGE)
    names = set()
    for c in b["clocks"]:
        for k in ("name", "net", "mhz"):
            if k not in c:
                raise BuildError("%s: a clock needs %r" % (path, k), EXIT_USAGE)
        if c["name"] in names:
            raise BuildError("%s: clock %r twice" % (path, c["name"]), EXIT_USAGE)
        names.add(c["name"])
        if not isinstance(c["mhz"], (int, float)) or c["mhz"] <= 0:
            raise BuildError("%s: clock %s: mhz must be a positive number" % (path, c["name"]),
                             EXIT_USAGE)
    for name, mhz in overrides.items():
        hit = [c for c in b["clocks"] if c["name"] == name]
        if not hit:
            raise BuildError("--clock %s: the board has no such clock (%s)"
                             % (name, ", ".join(sorted(names))), EXIT_USAGE)
        hit[0]["mhz"] = mhz
    return b


def check_soc_clock(board, board_dir):
    """The board SoC's clock_hz (sysid CLOCK_HZ, HELLO_RSP clock_hz) is the system clock."""
    if "soc" not in board:
        return None
    with open(os.path.join(board_dir, board["soc"]), encoding="utf-8") as f:
        soc = json.load(f)
    hz = soc.get("soc", {}).get("clock_hz")
    sysclk = [c for c in board["clocks"] if c.get("soc_clock")]
    if len(sysclk) != 1:
        raise BuildError("board.json: exactly one clock must be marked soc_clock", EXIT_USAGE)
    if hz is None or abs(hz - sysclk[0]["mhz"] * 1e6) > 0.5 and not sysclk[0].get("overridden"):
        raise BuildError("board.json clock %s is %.3f MHz but %s says clock_hz %s"
                         % (sysclk[0]["name"], sysclk[0]["mhz"], board["soc"], hz), EXIT_USAGE)
    return hz


def parse_fmax(log_text):
    """nextpnr's final 'Max frequency for clock' line per clock: {net: (achieved, target)}."""
    out = {}
    pat = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([0-9.]+) MHz \((PASS|FAIL) at ([0-9.]+) MHz\)")
    for m in pat.finditer(log_text):
        net = m.group(1)
        # nextpnr names the net after what it went through: "CLK$SB_IO_IN_$glb_clk" is the
        # pin CLK through its input buffer and a global buffer
        for suffix in ("_$glb_clk", "$glb_clk", "$SB_IO_IN"):
            if net.endswith(suffix):
                net = net[: -len(suffix)]
        out[net] = (float(m.group(2)), float(m.group(4)))  # the last one (after routing) wins
    return out


def utilisation(report_path, device):
    try:
        with open(report_path, encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, ValueError):
        return None, []
    util = rep.get("utilization", {})
    lines = []
    for cell in sorted(util):
        used, avail = util[cell].get("used", 0), util[cell].get("available", 0)
        if used:
            lines.append("%-14s %6d / %6d  (%5.1f %%)" % (cell, used, avail,
                                                       100.0 * used / avail if avail else 0))
    lc = util.get("ICESTORM_LC", {}).get("used")
    return lc, lines


def build(board_path, out, overrides, seed):
    board_path = os.path.abspath(board_path)
    if os.path.isdir(board_path):
        board_path = os.path.join(board_path, "board.json")
    board_dir = os.path.dirname(board_path)
    board = load_board(board_path, overrides)
    if seed is None:
        seed = int(board.get("seed", 1))
    for c in board["clocks"]:
        c["overridden"] = c["name"] in overrides
    name = board["board"]
    os.makedirs(out, exist_ok=True)
    for stale in (name + ".bin", name + "-timing.txt", name + "-utilisation.txt"):
        if os.path.exists(os.path.join(out, stale)):
            os.remove(os.path.join(out, stale))
    for tool in ("yosys", "nextpnr-ice40", "icepack"):
        if shutil.which(tool) is None:
            raise BuildError("%s not found (scripts/setup-deps.sh installs it)" % tool)
    check_soc_clock(board, board_dir)

    gen = os.path.join(out, "gen")
    incs = ["-I" + os.path.join(RTL, "gen"), "-I" + os.path.join(RTL, "bridge")]
    sources = [os.path.join(RTL, s) for s in COMMON]
    sources.append(os.path.join(HERE, "common", "kmrig_board_core.v"))
    if "soc" in board:
        run([sys.executable, os.path.join(RTL, "gen_soc.py"), "--user",
             os.path.join(board_dir, board["soc"]), "--out", gen], os.path.join(out, "gen.log"))
        incs.insert(0, "-I" + gen)
        sources.append(os.path.join(gen, "kmrig_board_soc.v"))
    sources += [os.path.join(board_dir, s) for s in board["sources"]]

    netlist = os.path.join(out, name + ".json")
    chparams = "".join("chparam -set %s %s %s; " % (k, v, board["top"])
                       for k, v in board.get("params", {}).items())
    # the board file may choose the synthesis command ("synth": "synth_ice40 -abc9"); the
    # environment's KMRIG_SYNTH_ICE40 overrides it (for trying options by hand)
    synth = os.environ.get("KMRIG_SYNTH_ICE40") or board.get("synth", "synth_ice40")
    script = ("read_verilog -DKMRIG_BOARD %s %s; %s%s -top %s -json %s; tee -o %s stat"
              % (" ".join(incs), " ".join(sources), chparams, synth, board["top"], netlist,
                 os.path.join(out, name + "-yosys-stat.txt")))
    log("%s: yosys %s" % (name, synth))
    t = run(["sh", os.path.join(RTL, "yosys-retry.sh"), "yosys", "-q", "-p", script],
            os.path.join(out, "yosys.log"))
    log("%s: yosys done in %.0f s" % (name, t))

    clocks_py = os.path.join(out, "clocks.py")
    with open(clocks_py, "w", encoding="utf-8") as f:
        f.write("# generated by gateware/build.py from %s: one constraint per clock\n"
                % os.path.relpath(board_path, ROOT))
        for c in board["clocks"]:
            f.write("ctx.addClock(%r, %r)\n" % (c["net"], float(c["mhz"])))
    asc = os.path.join(out, name + ".asc")
    report = os.path.join(out, name + "-nextpnr-report.json")
    cmd = ["nextpnr-ice40", "--" + board["device"], "--package", board["package"],
           "--json", netlist, "--pcf", os.path.join(board_dir, board["pcf"]), "--asc", asc,
           "--pre-pack", clocks_py, "--seed", str(seed), "--timing-allow-fail",
           "--report", report]
    log("%s: nextpnr-ice40 --%s --package %s --seed %d" % (name, board["device"],
                                                         board["package"], seed))
    npr_log = os.path.join(out, "nextpnr.log")
    t = run(cmd, npr_log)
    log("%s: nextpnr done in %.0f s" % (name, t))

    with open(npr_log, encoding="utf-8", errors="replace") as f:
        fmax = parse_fmax(f.read())
    lc, util_lines = utilisation(report, board["device"])
    with open(os.path.join(out, name + "-utilisation.txt"), "w", encoding="utf-8") as f:
        f.write("%s (iCE40%s-%s), nextpnr-ice40 --seed %d\n"
                % (name, board["device"].upper(), board["package"].upper(), seed))
        f.write("\n".join(util_lines) + "\n")
    failed = []
    rows = []
    for c in board["clocks"]:
        got = fmax.get(c["net"])
        if got is None:
            failed.append(c["name"])
            rows.append("%-8s %-16s target %7.2f MHz  achieved    n/a    FAIL (no timing figure for "
                        "net %s: is it still a clock?)" % (c["name"], c["net"], c["mhz"], c["net"]))
            continue
        ok = got[0] >= c["mhz"]
        if not ok:
            failed.append(c["name"])
        rows.append("%-8s %-16s target %7.2f MHz  achieved %7.2f MHz  %s"
                    % (c["name"], c["net"], c["mhz"], got[0], "PASS" if ok else "FAIL"))
    with open(os.path.join(out, name + "-timing.txt"), "w", encoding="utf-8") as f:
        f.write("%s: per clock domain (nextpnr 'Max frequency for clock', after routing)\n" % name)
        f.write("\n".join(rows) + "\n")
    for r in rows:
        log("%s: %s" % (name, r))
    if lc is not None:
        log("%s: %d of %d logic cells (%.1f %%)" % (name, lc, DEVICES[board["device"]],
                                                  100.0 * lc / DEVICES[board["device"]]))
    if failed:
        raise BuildError("%s: timing not met for clock domain(s) %s (see %s); no bitstream written"
                         % (name, ", ".join(failed), os.path.join(out, name + "-timing.txt")),
                         EXIT_TIMING)
    run(["icepack", asc, os.path.join(out, name + ".bin")], os.path.join(out, "icepack.log"))
    log("%s: wrote %s" % (name, os.path.join(out, name + ".bin")))


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    overrides = {}
    seed = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--clock", "--seed"):
            if i + 1 >= len(argv):
                print("gateware: %s needs a value" % a, file=sys.stderr)
                return EXIT_USAGE
            v = argv[i + 1]
            args.remove(v)
            if a == "--seed":
                try:
                    seed = int(v)
                except ValueError:
                    print("gateware: --seed %r is not a number" % v, file=sys.stderr)
                    return EXIT_USAGE
            else:
                k, _, mhz = v.partition("=")
                try:
                    overrides[k] = float(mhz)
                except ValueError:
                    print("gateware: --clock wants NAME=MHZ, got %r" % v, file=sys.stderr)
                    return EXIT_USAGE
            i += 2
            continue
        i += 1
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return EXIT_USAGE
    try:
        build(args[0], args[1], overrides, seed)
    except BuildError as e:
        print("gateware: FAIL: %s" % e, file=sys.stderr)
        return e.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
