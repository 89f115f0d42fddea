# Runs one device-side test module under the MicroPython unix port.
# Usage: micropython tests/mp_main.py ROOT BUILD MODULE (BUILD: the precompiled
# simulation and tests, made by tests/run_micropython.py)
# Prints "PASS name" / "FAIL name: error" per test and "RESULT passed failed".
import gc
import sys

root = sys.argv[1]
build = sys.argv[2]
module_name = sys.argv[3]
sys.path[:0] = [build, root, root + "/tests/device"]

import pyb_sim  # noqa: E402

pyb_sim.install()
module = __import__(module_name)
names = sorted(n for n in dir(module) if n.startswith("test_"))
passed = failed = 0
for name in names:
    pyb_sim.reset()
    gc.collect()
    try:
        getattr(module, name)()
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        failed += 1
        print("FAIL %s.%s: %s: %s" % (module_name, name, type(e).__name__, e))
        sys.print_exception(e)
    else:
        passed += 1
        print("PASS %s.%s" % (module_name, name))
print("RESULT %d %d" % (passed, failed))
