# Runs one device-side test module under MicroPython.
# Usage: micropython tests/mp_main.py ROOT BUILD MODULE (BUILD: the precompiled
# simulation and tests, made by tests/run_micropython.py)
# Prints "PASS name" / "FAIL name: error" per test and "RESULT passed failed".
#
# Under tests/wasm/run.mjs (MicroPython's WebAssembly build, which collects
# garbage only between top-level calls) the script only sets STEPS; run.mjs
# then calls step(0) .. step(STEPS - 1), one test per call, and the last
# step prints the RESULT line.
import gc
import sys

root = sys.argv[1]
build = sys.argv[2]
module_name = sys.argv[3]
sys.path[:0] = [build, root, root + "/tests/device"]

import pyb_sim  # noqa: E402

pyb_sim.install()
gc.collect()  # the test module and the pyb_lib source it compiles get a clean heap
module = __import__(module_name)
names = sorted(n for n in dir(module) if n.startswith("test_"))
counts = [0, 0]  # passed, failed


def step(i):
    name = names[i]
    pyb_sim.reset()
    gc.collect()
    try:
        getattr(module, name)()
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        counts[1] += 1
        print("FAIL %s.%s: %s: %s" % (module_name, name, type(e).__name__, e))
        sys.print_exception(e)
    else:
        counts[0] += 1
        print("PASS %s.%s" % (module_name, name))
    if i == len(names) - 1:
        print("RESULT %d %d" % (counts[0], counts[1]))


if "_STEPWISE" in globals():
    STEPS = len(names)
else:
    for i in range(len(names)):
        step(i)
    if not names:
        print("RESULT 0 0")
