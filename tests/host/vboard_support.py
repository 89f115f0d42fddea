"""Start and stop a virtual PyBoard (``pyb-bridge vboard``) for host tests."""

import os
import select
import signal
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MPREMOTE = os.path.join(BIN, "mpremote")

# The micropython and mpremote commands of the dev install (tests/conftest.py
# stops the run with one line when either is missing).
needs_vboard = pytest.mark.needs("micropython", "mpremote")


def env():
    return dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host"))


def start_vboard(flash, *args, module=False):
    """``pyb-bridge vboard --flash FLASH ARGS`` (``python -m pyb_sim.vboard``
    with ``module``); return (process, port)."""
    if module:
        cmd = [sys.executable, "-m", "pyb_sim.vboard"]
    else:
        cmd = [sys.executable, "-c",
               "import sys; from pyb_bridge.cli import main; sys.exit(main())", "vboard"]
    proc = subprocess.Popen(cmd + ["--flash", str(flash), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    assert ready, "the virtual board did not start"
    port = proc.stdout.readline().decode().strip()
    assert port.startswith("/dev/"), port
    return proc, port


@pytest.fixture(scope="module", name="board")
def fast_board(tmp_path_factory):
    """A virtual board with --fast for a test module: (port, flash folder)."""
    flash = tmp_path_factory.mktemp("flash")
    proc, port = start_vboard(flash, "--fast")
    yield port, str(flash)
    assert stop_vboard(proc) == 0


def stop_vboard(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def mpremote(port, *args, timeout=30):
    """Run the real mpremote on ``port``; return its output with the board's \\r\\n as \\n."""
    proc = subprocess.run([MPREMOTE, "connect", port, *args], capture_output=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    return proc.stdout.decode().replace("\r\n", "\n")
