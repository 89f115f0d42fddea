"""Start and stop a virtual PyBoard for a benchmark (``pyb_sim.harness``)."""

import os
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
