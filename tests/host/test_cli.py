"""The command layer: what every command shares (start-up cost, a missing
extra, Ctrl-C), checked through the real ``pyb-bridge`` entry point."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from vboard_support import env

HEAVY = ("matplotlib", "numpy", "pyarrow", "flask")
CLI = [sys.executable, "-m", "pyb_bridge.cli"]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["ports"], ["log", "--help"],
                                  ["deploy", "--help"]])
def test_light_commands_import_no_heavy_package(argv):
    """``python -X importtime`` lists every module a run imports."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "pyb_bridge.cli", *argv],
                       capture_output=True, text=True, env=env(), timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    imported = set(re.findall(r"\|\s+([\w.]+)$", r.stderr, re.M))
    assert "pyb_bridge.cli" in imported  # the listing is what it claims to be
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


# a command run with one package of its extra unavailable (an import of it fails)
WITHOUT = """
import sys
sys.modules[%r] = None
from pyb_bridge.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("package,argv,extra", [
    ("matplotlib", ["plot", "log.sqlite"], "plot"),
    ("flask", ["serve", "--db", "log.sqlite"], "serve"),
    ("pyb_sim.vboard", ["vboard"], "sim"),
    ("matplotlib", ["demo"], "plot"),
])
def test_a_missing_extra_is_one_line_and_status_2(tmp_path, package, argv, extra):
    (tmp_path / "log.sqlite").write_bytes(b"")
    r = subprocess.run([sys.executable, "-c", WITHOUT % package, *argv], capture_output=True,
                       text=True, env=env(), timeout=60, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.endswith("pip install 'pyb-bridge[%s]'\n" % extra), r.stderr


def test_ctrl_c_while_log_waits_for_the_board_exits_130_and_leaves_no_file(tmp_path):
    """A port with nothing behind it: ``log --script`` waits for the raw REPL;
    a Ctrl-C (SIGINT) then ends it with one line, status 130, and the output
    file it had made is gone."""
    master, slave = os.openpty()
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    out = tmp_path / "run.sqlite"
    # the board's 5 s to answer made long, so that a slow machine's Ctrl-C
    # still comes while log waits
    # still, and with Python's own Ctrl-C handler, which it does not install
    # when started with SIGINT ignored (as a background job of a script is)
    patient = ("import signal, sys, pyb_bridge.raw_repl as r\n"
               "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
               "r.open_board.__defaults__ = (600,)\n"
               "from pyb_bridge.cli import main\n"
               "sys.exit(main(sys.argv[1:]))\n")
    try:
        p = subprocess.Popen([sys.executable, "-c", patient, "log", "--port", os.ttyname(slave),
                              "--script", str(script), "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        # it is waiting for the raw REPL once it has written Ctrl-C / Ctrl-A to the port
        seen = b""
        while b"\x01" not in seen:
            seen += os.read(master, 100)
        p.send_signal(signal.SIGINT)
        # a byte now and then: mpremote gives up after 10 s without one, which
        # a loaded machine could let pass before the Ctrl-C is handled
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            os.write(master, b".")
            time.sleep(0.2)
        _, err = p.communicate(timeout=30)
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 130, err
    assert err.strip().splitlines() == ["pyb-bridge log: interrupted before logging started "
                                        "(nothing logged)"]
    assert not out.exists()
