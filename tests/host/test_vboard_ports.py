"""Virtual boards among the ports: ``pyb-bridge ports`` and ``--port auto``
list them (marked virtual), a second board refuses a --link in use, and the
reset button (``pyb-bridge vboard --reset LINK``, SIGHUP) restarts a board
whatever it runs."""

import os
import signal
import subprocess
import sys
import time

import pytest
import serial
from vboard_support import env, mpremote, needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard
BANNER_TAIL = b'Type "help()" for more information.\r\n>>> '


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """Boards started here register in a folder of this test only."""
    d = tmp_path / "registry"
    monkeypatch.setenv("PYB_VBOARD_DIR", str(d))
    return d


def bridge(*args):
    return subprocess.run([sys.executable, "-c", "import sys; from pyb_bridge.cli import main; "
                           "sys.exit(main())", *args], capture_output=True, timeout=60, env=env())


def test_ports_and_auto_list_the_virtual_board(tmp_path, registry):
    link = tmp_path / "pyboard"
    proc, port = start_vboard(tmp_path / "flash", "--fast", "--link", str(link))
    try:
        out = bridge("ports")
        assert out.returncode == 0
        line = [ln for ln in out.stdout.decode().splitlines() if ln.startswith(str(link))]
        assert len(line) == 1 and line[0].endswith("<- PyBoard (virtual)"), out.stdout
        assert port in line[0]
        from pyb_bridge import ports as plink

        assert str(link) in plink.find_pyboards()
        # --port auto reaches it
        out = bridge("deploy", "--port", "auto", "--dest", "/flash/lib/x")
        assert out.returncode == 0, out.stderr
        assert (tmp_path / "flash" / "lib" / "x").is_dir()
    finally:
        assert stop_vboard(proc) == 0
    assert bridge("ports").stdout.decode().find("virtual") < 0
    assert os.listdir(registry) == []


def test_a_second_board_refuses_a_link_in_use(tmp_path, registry):
    link = tmp_path / "pyboard"
    proc, port = start_vboard(tmp_path / "a", "--fast", "--link", str(link))
    try:
        second = subprocess.run([sys.executable, "-m", "pyb_sim.vboard", "--fast", "--flash",
                                 str(tmp_path / "b"), "--link", str(link)],
                                capture_output=True, timeout=60, env=env())
        err = second.stderr.decode().strip()
        assert second.returncode == 1 and len(err.splitlines()) == 1, err
        assert err == ("vboard: --link %s is in use by the virtual board of process %d (%s): "
                       "stop it or choose another path" % (link, proc.pid, port))
        assert os.readlink(link) == port
        assert mpremote(str(link), "exec", "print(6 * 7)").strip() == "42"
    finally:
        assert stop_vboard(proc) == 0
    assert not os.path.lexists(link)


def test_a_link_left_by_a_board_that_is_gone_is_taken(tmp_path, registry):
    link = tmp_path / "pyboard"
    os.symlink("/dev/pts/nothing-here", link)
    proc, port = start_vboard(tmp_path / "flash", "--fast", "--link", str(link))
    try:
        assert os.readlink(link) == port
    finally:
        assert stop_vboard(proc) == 0


def wait_for(ser, pattern, timeout=20):
    got = b""
    deadline = time.monotonic() + timeout
    while pattern not in got:
        assert time.monotonic() < deadline, got
        got += ser.read(ser.in_waiting or 1)
    return got


def test_the_reset_button_stops_a_script_that_turned_ctrl_c_off(tmp_path, registry):
    link = tmp_path / "pyboard"
    proc, port = start_vboard(tmp_path / "flash", "--fast", "--link", str(link))
    try:
        with serial.Serial(port, timeout=0.2) as ser:
            for press in ("cli", "sighup"):
                ser.write(b"\r")
                wait_for(ser, b">>> ")
                ser.write(b"import pyb\r")
                wait_for(ser, b">>> ")
                ser.write(b"n = 0\r")
                wait_for(ser, b">>> ")
                # one block: Ctrl-C off, then a loop that never ends
                ser.write(b"pyb.USB_VCP().setinterrupt(-1); print('spinning'); "
                          b"exec('while True: pass')\r")
                wait_for(ser, b"spinning\r\n")
                ser.write(b"\x03")  # data now, not an interrupt
                if press == "cli":
                    out = bridge("vboard", "--reset", str(link))
                    assert out.returncode == 0, out.stderr
                else:
                    os.kill(proc.pid, signal.SIGHUP)
                got = wait_for(ser, BANNER_TAIL)
                assert b"PYBv1.1 with STM32F405RG" in got and b"KeyboardInterrupt" not in got
                ser.write(b"'n' in globals(), 6 * 7\r")
                wait_for(ser, b"(False, 42)\r\n>>> ")
    finally:
        assert stop_vboard(proc) == 0


def test_reset_of_a_link_with_no_board(tmp_path, registry):
    out = bridge("vboard", "--reset", str(tmp_path / "nothing"))
    assert out.returncode == 1
    assert out.stderr.decode().strip() == (
        "vboard: no virtual board runs on %s (pyb-bridge ports lists them)"
        % (tmp_path / "nothing"))
