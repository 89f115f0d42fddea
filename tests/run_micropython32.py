"""Run the device-side tests (tests/device/test_*.py) under MicroPython's
32-bit WebAssembly build and print a closing
``MicroPython 32-bit: N passed, N failed`` line.

That interpreter has what the 64-bit unix port hides: the board's 31-bit
small ints (``0x3FFFFFFF + 1`` allocates a long int) and its 4-byte words
(objects take the bytes they take on a PyBoard). It is the npm package
``@micropython/micropython-webassembly-pyscript``, pinned in
tests/wasm/package.json and installed by ``make`` into tests/wasm/node_modules;
it runs under Node.js (tests/wasm/run.mjs). The device code and the tests
are copied into the interpreter's in-memory file system: nothing on the host
is visible to them.

The heap is ``--heapsize`` (default 100K) plus what the simulated pyb holds,
as in tests/run_micropython.py. This build collects garbage only between
top-level calls (ports/webassembly/main.c), and grows its heap instead of
collecting inside one: each test runs as its own call, so the garbage of one
test is gone before the next, but the heap limit within a test is the unix
port's job (its heap is fixed, and 64-bit objects make it the stricter one).

This build has no native emitter (``@micropython.native`` is a SyntaxError
in it): pyb_lib is copied without those decorators, so the same code runs
here as bytecode, with the same results (pyb_lib/_native.py).

Exits non-zero when a test fails, when no test ran, or when Node.js, the
npm package or mpy-cross is missing: the run never skips.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run_micropython import ROOT, compile_tree, parse_size, tally, tool  # noqa: E402

from pyb_bridge.deploy import without_native  # noqa: E402

WASM = os.path.join(HERE, "wasm")
RUN = os.path.join(WASM, "run.mjs")
PACKAGE = os.path.join(WASM, "node_modules", "@micropython", "micropython-webassembly-pyscript")
LABEL = "MicroPython 32-bit"


def node_command():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        sys.exit("%s: Node.js is missing (make node installs it)" % LABEL)
    if not os.path.isdir(PACKAGE):
        sys.exit("%s: the npm package is missing from tests/wasm/node_modules"
                 " (make node installs it)" % LABEL)
    return node


def bytecode_copy(src, dst):
    """Copy the package ``src`` to ``dst`` with its ``@micropython.native``
    lines removed (``pyb_bridge.deploy.without_native``): the functions
    compile to bytecode instead. Returns how many modules changed."""
    changed = 0
    for dirpath, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            with open(os.path.join(dirpath, f)) as fh:
                text = fh.read()
            kept = without_native(text)
            changed += kept != text
            out = os.path.join(dst, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "w") as fh:
                fh.write(kept)
    return changed


def run(node, heap, script, args, dirs, timeout=600):
    cmd = [node, RUN, str(heap), script] + list(args)
    for host, board in dirs:
        cmd += ["--dir", "%s:%s" % (host, board)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def sim_footprint(node, build):
    # Measured across top-level calls: this build collects only between them.
    code = (
        "import sys, gc\n"
        "sys.path.insert(0, '/build')\n"
        "held = [0]\n"
        "def step(i):\n"
        "    if i == 0:\n"
        "        held[0] = gc.mem_alloc()\n"
        "        import pyb_sim\n"
        "        pyb_sim.install()\n"
        "    else:\n"
        "        print(gc.mem_alloc() - held[0])\n"
        "    gc.collect()  # runs when this call returns\n"
        "STEPS = 2\n"
    )
    out = run(node, 1024 * 1024, "-c", [code], [(build, "/build")], timeout=120)
    if out.returncode:
        sys.exit("%s: the simulation does not load:\n%s%s" % (LABEL, out.stdout, out.stderr))
    return int(out.stdout.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heapsize", type=parse_size, default=parse_size("100K"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = ap.parse_args()

    node = node_command()
    mpy_cross = tool("mpy-cross")
    build = os.path.join(ROOT, "build", "mp32", str(os.getpid()))
    shutil.rmtree(build, ignore_errors=True)
    compile_tree(mpy_cross, os.path.join(ROOT, "host", "pyb_sim"), os.path.join(build, "pyb_sim"))
    tests_dir = os.path.join(ROOT, "tests", "device")
    compile_tree(mpy_cross, tests_dir, build)

    modules = args.modules or sorted(
        f[:-3] for f in os.listdir(tests_dir) if f.startswith("test_") and f.endswith(".py"))
    sim = sim_footprint(node, build)
    heap = args.heapsize + sim
    print("%s: heap %d bytes for the device code + %d bytes held by the simulated pyb"
          % (LABEL, args.heapsize, sim))

    lib = build + "-pyb_lib"
    shutil.rmtree(lib, ignore_errors=True)
    if not bytecode_copy(os.path.join(ROOT, "pyb_lib"), lib):
        sys.exit("%s: no @micropython.native line found in pyb_lib" % LABEL)
    dirs = [(build, "/build"), (lib, "/root/pyb_lib"),
            (tests_dir, "/root/tests/device")]
    def run_module(mod):
        return run(node, heap, os.path.join(HERE, "mp_main.py"), ["/root", "/build", mod], dirs)

    ok = tally(LABEL, modules, run_module, args.verbose)
    shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(lib, ignore_errors=True)
    return ok

if __name__ == "__main__":
    sys.exit(main())
