"""Start and stop a virtual PyBoard for a benchmark (``pyb_sim.harness``)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.join(ROOT, "host") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "host"))

from pyb_sim.harness import HarnessError, start_vboard, stop_vboard  # noqa: E402


def start_board(flash, *args, who="bench"):
    """A virtual board on ``flash`` with the options ``args``; (process, port).
    Exits naming ``who`` when it does not start."""
    try:
        return start_vboard(flash, *args)
    except HarnessError as e:
        sys.exit("%s: %s" % (who, e))


def stop_board(proc):
    stop_vboard(proc)


def run_module(flash, name, source, *args, who="bench", timeout=600):
    """Write ``source`` to ``flash`` as module ``name``, start a virtual
    board on it with the options ``args`` and import the module there with
    ``mpremote exec``; the finished mpremote process (its output is the
    program's)."""
    with open(os.path.join(flash, name + ".py"), "w") as f:
        f.write(source)
    proc, port = start_board(flash, *args, who=who)
    try:
        return subprocess.run([os.path.join(os.path.dirname(sys.executable), "mpremote"),
                               "connect", port, "exec", "import " + name],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        stop_board(proc)
