"""Start and stop a virtual PyBoard (``pyb-bridge vboard``) for host tests."""

import os
import subprocess
import sys

import pytest

from pyb_sim.harness import board_env, stop_vboard  # noqa: F401 - for the tests
from pyb_sim.harness import start_vboard as harness_start

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MPREMOTE = os.path.join(BIN, "mpremote")

# The micropython and mpremote commands of the dev install and bubblewrap,
# the board's sandbox (tests/conftest.py stops the run with one line when
# one is missing).
needs_vboard = pytest.mark.needs("micropython", "mpremote", "bwrap")


def env():
    return board_env()


def start_vboard(flash, *args, module=False):
    """``pyb-bridge vboard --flash FLASH ARGS`` (``python -m pyb_sim.vboard``
    with ``module``); return (process, port)."""
    return harness_start(flash, *args, via_cli=not module)


@pytest.fixture(scope="module", name="board")
def fast_board(tmp_path_factory):
    """A virtual board with --fast for a test module: (port, flash folder)."""
    flash = tmp_path_factory.mktemp("flash")
    proc, port = start_vboard(flash, "--fast")
    yield port, str(flash)
    assert stop_vboard(proc) == 0


def interpreter_pid(proc):
    """The process id of the board's interpreter (inside its sandbox) under
    the supervisor ``proc``."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            parent[int(d)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)

    def under(pid):
        while pid > 1:
            if pid == proc.pid:
                return True
            pid = parent.get(pid, (0,))[0]
        return False

    # the innermost: bwrap's own processes carry the command line too
    found = [p for p in parent if b"vboard_agent" in parent[p][1] and under(p)
             and not any(parent[q][0] == p and b"vboard_agent" in parent[q][1] for q in parent)]
    assert len(found) == 1, found
    return found[0]


def mpremote(port, *args, timeout=30):
    """Run the real mpremote on ``port``; return its output with the board's \\r\\n as \\n."""
    proc = subprocess.run([MPREMOTE, "connect", port, *args], capture_output=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    return proc.stdout.decode().replace("\r\n", "\n")


def board_exec(port, code):
    """Run ``code`` on the board at ``port`` (mpremote exec); what it printed, stripped."""
    return mpremote(port, "exec", code).strip()
