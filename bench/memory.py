"""Heap held by each pyb_lib module after import, under the real MicroPython
interpreter (unix port) with the board's heap (``-X heapsize=100K``).

Each figure is measured in a fresh interpreter: ``gc.collect()`` and
``gc.mem_free()`` before and after the import, with interned names counted
per name (``qstr_adjusted``). The simulated ``pyb`` is
loaded first (its own cost is not counted: on a board ``pyb`` lives in
flash) and the interpreter gets that much more heap, so the device code
still has 100 KB. Modules are measured from .py source and from .mpy files
compiled by mpy-cross.

The same imports are measured on MicroPython's 32-bit WebAssembly build
(tests/run_micropython32.py; ``make node`` installs it), which has the
board's 4-byte words: what a PyBoard's heap holds. That build collects
garbage only between top-level calls, so each import is its own call and
the figure is read in the next one.

Writes the table to docs/performance.md (between the memory markers) and
the figures to bench/results.json (merged with what is there).

Run: ``make bench`` or ``.venv/bin/python bench/memory.py``; with
``--dry-run`` the table is printed and nothing is written.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from report import merge_results, write_block

from pyb_bridge.deploy import compile_all, local_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERIPHERALS = ["uart", "i2c", "spi", "adc", "dac"]
# Imported by the peripheral modules at first use only: what each adds then.
LATER = [("_oserrors", "the first bus error or UART timeout"),
         ("_errors", "the first other error a pyb_lib call raises"),
         ("_capture", "`read_timed`, `read_timed_multi`"),
         ("_wave", "`sine`, `triangle`, `square`, `play`")]
HEAP = 100 * 1024
BAR_PACKAGE = 1024
BAR_ALL = 24 * 1024
BAR_PACKAGE_32 = 512
BAR_ALL_32 = 12 * 1024


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    path = here if os.path.exists(here) else shutil.which(name)
    if not path:
        sys.exit("bench/memory.py: the '%s' command is missing" % name)
    return path


MICROPYTHON = tool("micropython")
MPY_CROSS = tool("mpy-cross")


def run_mp(code, heap, stdout=False):
    out = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % heap, "-c", code],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("micropython failed:\n%s%s" % (out.stdout, out.stderr))
    return out.stdout if stdout else int(out.stdout.strip().splitlines()[-1])


# Bytes of one entry of a qstr pool (py/qstr.c qstr_add): a pointer, a
# 2-byte hash (MICROPY_QSTR_BYTES_IN_HASH at the EXTRA_FEATURES level, which
# ports/stm32 and ports/webassembly both use) and a 1-byte length.
QSTR_ENTRY = {32: 4 + 2 + 1, 64: 8 + 2 + 1}


def qstr_adjusted(out, bits):
    """The heap figure printed last in ``out``, with the interned names
    counted per name: ``micropython.qstr_info()`` printed before and after
    the import gives the names added and the pool arrays allocated. A pool
    doubles when full, so whether an import happens to allocate the next
    one (4.5 KB on 32 bits at 640 names) depends on how many names were
    interned before it (here by the simulated pyb, which a board has in
    flash): each new name is counted at its share of a pool, ``QSTR_ENTRY``
    bytes, plus its text, whether or not a pool was allocated."""
    lines = out.strip().splitlines()
    info = []
    for line in lines:
        if line.startswith("qstr pool:"):
            fields = line.split(":", 1)[1].replace(",", " ").split()
            info.append(dict(kv.split("=") for kv in fields))
    if len(info) != 2:
        raise RuntimeError("expected two qstr_info() lines:\n%s" % out)
    a, b = ({k: int(v) for k, v in d.items()} for d in info)
    arrays = ((b["n_total_bytes"] - b["n_str_data_bytes"])
              - (a["n_total_bytes"] - a["n_str_data_bytes"]))
    return int(lines[-1]) - arrays + (b["n_qstr"] - a["n_qstr"]) * QSTR_ENTRY[bits]


def held(lib_path, sim_path, imports, heap):
    """Bytes held after importing ``imports`` (with the sim loaded first)."""
    code = (
        "import sys, gc, micropython\n"
        "sys.path[:0] = [%r, %r]\n"
        "import pyb_sim; pyb_sim.install()\n"
        "gc.collect(); micropython.qstr_info(); a = gc.mem_free()\n"
        "%s\n"
        "gc.collect(); b = gc.mem_free(); micropython.qstr_info(); print(a - b)\n"
    ) % (lib_path, sim_path, "\n".join("import " + m for m in imports))
    return qstr_adjusted(run_mp(code, heap, stdout=True), 64)


# One object of each peripheral, on pins that do not clash.
MAKE_ONE_OF_EACH = (
    "from pyb_lib.uart import UARTPort; from pyb_lib.i2c import I2CDevice; "
    "from pyb_lib.spi import SPIDevice; from pyb_lib.adc import AnalogIn; "
    "from pyb_lib.dac import AnalogOut; "
    "kept.extend((UARTPort(2), I2CDevice(1, 0x76), SPIDevice(2, 'Y5'), "
    "AnalogIn('X11'), AnalogOut(1)))")


def held32(node, sim_path, lib_path, imports, heap, then=""):
    """Bytes held after importing ``imports`` on the 32-bit build (the sim
    loaded first; both from .mpy: this build keeps docstrings of the source
    it compiles, MICROPY_ENABLE_DOC_STRING in ports/webassembly/mpconfigport.h,
    which the board's compiler and mpy-cross drop). ``then``: a statement
    run after the imports, whose objects stay held when kept in ``kept``."""
    import run_micropython32 as r32

    code = (
        "import sys, gc, micropython\n"
        "sys.path[:0] = ['/sim', '/lib']\n"
        "held = [0]\n"
        "kept = []\n"
        "def step(i):\n"
        "    if i == 0:\n"
        "        import pyb_sim\n"
        "        pyb_sim.install()\n"
        "    elif i == 1:\n"
        "        micropython.qstr_info()\n"
        "        held[0] = gc.mem_alloc()\n"
        "%s"
        "        %s\n"
        "    else:\n"
        "        a = gc.mem_alloc()\n"
        "        micropython.qstr_info()\n"
        "        print(a - held[0])\n"
        "    gc.collect()  # runs when this call returns\n"
        "STEPS = 3\n"
    ) % ("".join("        import %s\n" % m for m in imports), then or "pass")
    out = r32.run(node, heap, "-c", [code],
                  [(sim_path, "/sim"), (lib_path, "/lib")])
    if out.returncode != 0:
        raise RuntimeError("32-bit micropython failed:\n%s%s" % (out.stdout, out.stderr))
    return qstr_adjusted(out.stdout, 32)


def make_us(lib_path, sim_path, heap):
    """Microseconds per object made, from the five constructors made 20
    times each (then deinit), on the unix port: the host's speed, not the
    board's. Includes loading (from .py: compiling) the set-up modules."""
    code = (
        "import sys, gc, time\n"
        "sys.path[:0] = [%r, %r]\n"
        "import pyb_sim; pyb_sim.install()\n"
        "kept = []\n"
        "%s\n"
        "made = kept[:]\n"
        "for m in made: m.deinit()\n"
        "t = time.ticks_us()\n"
        "for i in range(20):\n"
        "    del kept[:]\n"
        "    %s\n"
        "    for m in kept: m.deinit()\n"
        "print(time.ticks_diff(time.ticks_us(), t) // 100)\n"
    ) % (lib_path, sim_path, MAKE_ONE_OF_EACH, MAKE_ONE_OF_EACH)
    return run_mp(code, heap)


def compile_tree(src, dst):
    """Compile the package folder ``src`` into ``dst``: the source name in
    each file is package/module.py."""
    for dirpath, _, files in os.walk(src):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), src)
                out = os.path.join(dst, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(out), exist_ok=True)
                name = os.path.basename(src) + "/" + rel.replace(os.sep, "/")
                subprocess.run([MPY_CROSS, "-s", name, "-o", out, os.path.join(dirpath, f)],
                               check=True)


def main():
    dry = "--dry-run" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="pyb_lib_mem_")
    try:
        sim = os.path.join(tmp, "sim")
        compile_tree(os.path.join(ROOT, "host", "pyb_sim"), os.path.join(sim, "pyb_sim"))
        mpy = os.path.join(tmp, "mpy")
        # as ``pyb-bridge deploy --mpy`` compiles it
        compile_all(local_files(os.path.join(ROOT, "pyb_lib")), os.path.join(mpy, "pyb_lib"))
        sim_cost = run_mp(
            "import sys, gc\nsys.path.insert(0, %r)\ngc.collect(); a = gc.mem_free()\n"
            "import pyb_sim; pyb_sim.install()\ngc.collect(); print(a - gc.mem_free())" % sim,
            1024 * 1024)
        heap = HEAP + sim_cost
        modules = [m for m in PERIPHERALS
                   if os.path.exists(os.path.join(ROOT, "pyb_lib", m + ".py"))]
        rows = []
        for label, path in (("py", ROOT), ("mpy", mpy)):
            row = {"pyb_lib": held(path, sim, ["pyb_lib"], heap)}
            for m in modules:
                row[m] = held(path, sim, ["pyb_lib." + m], heap)
            five = ["pyb_lib." + m for m in modules]
            row["all"] = held(path, sim, five, heap)
            for m, _ in LATER:
                row[m] = held(path, sim, five + ["pyb_lib." + m], heap) - row["all"]
            rows.append((label, row))
        make_py_us = make_us(ROOT, sim, heap)
        make_mpy_us = make_us(mpy, sim, heap)
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        import run_micropython32 as r32

        node = r32.node_command()
        heap32 = HEAP + r32.sim_footprint(node, sim)
        row32 = {"pyb_lib": held32(node, sim, mpy, ["pyb_lib"], heap32)}
        for m in modules:
            row32[m] = held32(node, sim, mpy, ["pyb_lib." + m], heap32)
        five = ["pyb_lib." + m for m in modules]
        row32["all"] = held32(node, sim, mpy, five, heap32)
        for m, _ in LATER:
            row32[m] = held32(node, sim, mpy, five + ["pyb_lib." + m], heap32) - row32["all"]
        row32["made"] = held32(node, sim, mpy, five, heap32, MAKE_ONE_OF_EACH) - row32["all"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    py = dict(rows)["py"]
    mp = dict(rows)["mpy"]
    names = ["pyb_lib"] + modules + ["all"]
    lines = [
        "Heap held after import (bytes), MicroPython unix port (64-bit), "
        "`-X heapsize=100K` for the device code; measured by `make bench` "
        "(`bench/memory.py`). Bytecode and strings take the same bytes on both; "
        "objects take half on the board. Each name the import interns counts as its "
        "text plus its entry in a qstr pool (7 bytes on 32 bits, 11 on 64), whether "
        "or not the import happens to be the one that allocates the next, doubled, "
        "pool (that depends on the names interned before it, here by the simulated "
        "`pyb`, which a board keeps in flash).",
        "",
        "The 32-bit column is MicroPython's WebAssembly build (4-byte words, "
        "as on the board), from .mpy: that build keeps the docstrings of source "
        "it compiles, which the board's own compiler drops, so .mpy gives what "
        "a PyBoard holds from either.",
        "",
        "Error messages, timed capture and waveforms are imported at their first "
        "use (the rows starting with 'then': what each adds to the five modules "
        "then), so a program that never uses them never holds them. The "
        "constructors' checks and set-up (`pyb_lib._new_uart`, ...) are in the heap "
        "only while an object is being made: the last row is what stays after "
        "making one object of each.",
        "",
        "| import | from .py | from .mpy | 32-bit, from .mpy |",
        "|---|---:|---:|---:|",
    ]
    for n in names:
        label = {"pyb_lib": "`import pyb_lib`",
                 "all": "all five peripheral modules"}.get(n, "`pyb_lib.%s`" % n)
        lines.append("| %s | %d | %d | %d |" % (label, py[n], mp[n], row32[n]))
    for m, when in LATER:
        lines.append("| then `pyb_lib.%s`, imported at %s | %d | %d | %d |"
                     % (m, when, py[m], mp[m], row32[m]))
    lines.append("| then one object of each made (`UARTPort(2)`, `I2CDevice(1, 0x76)`, "
                 "`SPIDevice(2, 'Y5')`, `AnalogIn('X11')`, `AnalogOut(1)`): the objects with "
                 "their buffers, and the names their set-up interned | | | %d |" % row32["made"])
    lines += [
        "",
        "Making an object loads its set-up module and drops it again: %d us per "
        "object from .py (compiled each time), %d us from .mpy, on the unix port at "
        "the PC's speed (each of the five constructors 20 times, `bench/memory.py`). "
        "A board runs Python about 50 times slower." % (make_py_us, make_mpy_us),
    ]
    ok_pkg = py["pyb_lib"] <= BAR_PACKAGE
    ok_all = py["all"] <= BAR_ALL and len(modules) == len(PERIPHERALS)
    ok_pkg32 = row32["pyb_lib"] <= BAR_PACKAGE_32
    ok_all32 = row32["all"] <= BAR_ALL_32 and len(modules) == len(PERIPHERALS)
    lines += [
        "",
        "32-bit bars: `import pyb_lib` alone <= %d bytes: %s; all five peripheral "
        "modules <= %d bytes: %s." % (BAR_PACKAGE_32, "met" if ok_pkg32 else "NOT met",
                                      BAR_ALL_32, "met" if ok_all32 else "NOT met"),
        "",
        "Bars: `import pyb_lib` alone <= %d bytes: %s; all five peripheral modules "
        "<= %d bytes: %s." % (BAR_PACKAGE, "met" if ok_pkg else "NOT met",
                               BAR_ALL, "met" if ok_all else "NOT met"),
    ]
    table = "\n".join(lines)
    print(table)

    results = {
        "import_pyb_lib_bytes": {"value": py["pyb_lib"], "unit": "bytes"},
        "import_all_peripherals_bytes": {"value": py["all"], "unit": "bytes"},
        "import_all_peripherals_mpy_bytes": {"value": mp["all"], "unit": "bytes"},
        "import_pyb_lib_32bit_bytes": {"value": row32["pyb_lib"], "unit": "bytes"},
        "import_all_peripherals_32bit_bytes": {"value": row32["all"], "unit": "bytes"},
        "make_one_of_each_32bit_bytes": {"value": row32["made"], "unit": "bytes"},
        "host_make_object_py_us": {"value": make_py_us, "unit": "us"},
        "host_make_object_mpy_us": {"value": make_mpy_us, "unit": "us"},
    }
    for m, _ in LATER:
        results["import%s_later_32bit_bytes" % m] = {"value": row32[m], "unit": "bytes"}
    for m in modules:
        results["import_%s_bytes" % m] = {"value": py[m], "unit": "bytes"}
    if not dry:
        merge_results(results)
        write_block("memory", "Memory", table)
    return 0 if ok_pkg and ok_all and ok_pkg32 and ok_all32 else 1


if __name__ == "__main__":
    sys.exit(main())
