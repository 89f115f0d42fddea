"""Start and stop a virtual PyBoard (``python -m pyb_sim.vboard``) for a benchmark."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_board(flash, *args, who="bench"):
    """A virtual board on ``flash`` with the options ``args``; (process, port).
    Exits naming ``who`` when it does not start."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyb_sim.vboard", "--flash", flash, *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host")))
    port = proc.stdout.readline().decode().strip()
    if not port.startswith("/dev/"):
        proc.kill()
        sys.exit("%s: the virtual board did not start" % who)
    return proc, port


def stop_board(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
