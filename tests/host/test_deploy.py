"""``pyb-bridge deploy`` against the virtual PyBoard: copies, skips what is
there, .mpy, and the errors (no port, busy port, silent board, full flash)."""

import io
import os
import shutil
import time

import pytest
import serial
from vboard_support import (
    ROOT,
    fast_board,  # noqa: F401 - the module's `board` fixture
    mpremote,
    needs_vboard,
    start_vboard,
    stop_vboard,
)

from pyb_bridge.cli.deploy import TerminalProgress
from pyb_bridge.deploy import DEST, deploy, local_files
from pyb_bridge.errors import BoardError, DeployError, PortError

pytestmark = needs_vboard

# Seconds for the virtual board to answer: a soft reset starts a fresh
# interpreter, which takes longer on a loaded 2-core CI machine than the
# 5 s that suit a real board.
ANSWER = 20


@pytest.fixture
def src(tmp_path):
    """A copy of pyb_lib that the tests may change."""
    dst = tmp_path / "src" / "pyb_lib"
    shutil.copytree(os.path.join(ROOT, "pyb_lib"), dst,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return str(dst)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def board_files(flash):
    """{relative path: bytes} under the board's /flash/lib/pyb_lib."""
    base = os.path.join(flash, "lib", "pyb_lib")
    out = {}
    for dirpath, _, files in os.walk(base):
        for f in files:
            full = os.path.join(dirpath, f)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, base)] = fh.read()
    return out


def source_files(src, ext=".py"):
    out = {}
    for rel, path in local_files(src):
        with open(path, "rb") as f:
            out[rel[:-3] + ext] = f.read()
    return out


def test_copy_then_skip_then_only_the_changed_file(board, src):
    port, flash = board
    shutil.rmtree(os.path.join(flash, "lib"), ignore_errors=True)
    want = source_files(src)
    log = io.StringIO()
    s = deploy(port, source=src, timeout=ANSWER, progress=TerminalProgress(log))
    assert len(s.copied) == len(want) and s.skipped == [] and s.removed == []
    assert s.bytes_copied == s.bytes_total == sum(len(v) for v in want.values())
    assert board_files(flash) == want  # every file whole, no .tmp left
    lines = log.getvalue().splitlines()  # not a terminal: a line per file
    assert "copied  %s/uart.py (%d bytes)" % (DEST, len(want["uart.py"])) in lines
    assert len(lines) == len(want)

    s = deploy(port, source=src, timeout=ANSWER)
    assert s.copied == [] and len(s.skipped) == len(want) and s.bytes_copied == 0

    with open(os.path.join(src, "devices", "bme280.py"), "ab") as f:
        f.write(b"# changed\n")
    s = deploy(port, source=src, timeout=ANSWER)
    assert s.copied == [DEST + "/devices/bme280.py"]
    assert len(s.skipped) == len(want) - 1
    assert s.bytes_copied == len(want["devices/bme280.py"]) + 10
    assert mpremote(port, "fs", "cat", ":" + DEST + "/devices/bme280.py").endswith("# changed\n")
    assert board_files(flash) == source_files(src)


def test_mpy_replaces_py_and_imports(board, src):
    port, flash = board
    deploy(port, source=src, timeout=ANSWER)
    s = deploy(port, source=src, timeout=ANSWER, mpy=True)
    n = len(local_files(src))
    # the module with native code stays source: the board compiles it for its CPU
    assert len(s.copied) == n - 1 and len(s.removed) == n - 1
    files = board_files(flash)
    compiled = source_files(src, ".mpy")
    del compiled["_native.mpy"]
    assert sorted(files) == sorted(list(compiled) + ["_native.py"])
    assert files["_native.py"] == source_files(src)["_native.py"]
    assert all(v[:1] == b"M" for k, v in files.items() if k != "_native.py")  # the .mpy header
    assert s.bytes_total == sum(len(v) for v in files.values())
    assert s.bytes_copied == s.bytes_total - len(files["_native.py"])  # that one was there
    assert s.bytes_total < sum(len(v) for v in source_files(src).values()) / 2  # smaller
    # the board compiles _native.py when stream.mpy imports it: a record goes out
    out = mpremote(port, "exec", "import pyb_lib.stream as m\n"
                   "class Port:\n    def write(self, b):\n        return len(b)\n"
                   "s = m.Stream((('a', 'H', 'raw'),), Port())\n"
                   "s.start(); s.add(7); s.add_row([8]); s.flush()\n"
                   "print(m.__file__, s.records, s.frames)")
    assert out.split() == [DEST + "/stream.mpy", "2", "2"], out
    out = mpremote(port, "exec", "import pyb_lib.uart as u; print(u.__file__, u.UARTPort.__name__)")
    assert out.strip() == DEST + "/uart.mpy UARTPort"
    # the .mpy are there already
    assert deploy(port, source=src, timeout=ANSWER, mpy=True).copied == []

    bar = Terminal()
    # back to sources: the .mpy go
    s = deploy(port, source=src, timeout=ANSWER, progress=TerminalProgress(bar))
    assert len(s.copied) == n - 1 and len(s.removed) == n - 1
    shown = bar.getvalue()
    assert shown.startswith("\r[") and shown.endswith("\n")
    assert "] %d/%d files  %.1f/%.1f KB" % (n - 1, n - 1, s.bytes_copied / 1024,
                                            s.bytes_copied / 1024) \
        in shown.split("\r")[-1]
    assert board_files(flash) == source_files(src)
    out = mpremote(port, "exec", "import pyb_lib.uart as u; print(u.__file__)")
    assert out.strip() == DEST + "/uart.py"


def test_no_such_port():
    with pytest.raises(PortError, match="/dev/no-such-pyboard: no such serial port"):
        deploy("/dev/no-such-pyboard")


def test_busy_port(board):
    port, _ = board
    holder = serial.Serial(port, exclusive=True)
    try:
        with pytest.raises(PortError, match="the port is busy") as e:
            deploy(port)
        assert port in str(e.value)
    finally:
        holder.close()


def test_board_that_does_not_answer():
    master, slave = os.openpty()  # a serial port with nothing behind it
    try:
        name = os.ttyname(slave)
        t0 = time.monotonic()
        with pytest.raises(BoardError) as e:
            deploy(name, timeout=1.5)
        assert time.monotonic() - t0 < 60  # gives up, does not hang
        assert str(e.value).startswith("%s: the board does not answer" % name)
    finally:
        os.close(master)
        os.close(slave)


def test_full_flash(tmp_path, src):
    want = source_files(src)
    total = sum(len(v) for v in want.values())
    biggest = max(want, key=lambda k: len(want[k]))
    slack = len(want[biggest]) // 2
    flash = tmp_path / "small"
    proc, port = start_vboard(flash, "--fast", "--flash-size", str(total + slack))
    try:
        # more than fits: refused before anything is written
        with open(os.path.join(src, "padding.py"), "wb") as f:
            f.write(b"#" * (2 * slack) + b"\n")
        with pytest.raises(DeployError) as e:
            deploy(port, source=src, timeout=ANSWER)
        msg = str(e.value)
        assert msg.startswith("%s: the flash is full: %d bytes still to copy, " % (
            port, total + 2 * slack + 1)), msg
        assert "bytes free on /flash" in msg
        assert board_files(str(flash)) == {}
        os.remove(os.path.join(src, "padding.py"))

        assert len(deploy(port, source=src, timeout=ANSWER).copied) == len(want)  # fits
        # same size, new content: the check passes, but the .tmp copy does not fit
        path = os.path.join(src, biggest)
        with open(path, "rb") as f:
            new = f.read().replace(b"e", b"E", 1)
        with open(path, "wb") as f:
            f.write(new)
        with pytest.raises(DeployError) as e:
            deploy(port, source=src, timeout=ANSWER)
        msg = str(e.value)
        assert msg.startswith("%s: the flash is full writing %s/%s: %d bytes still to copy, "
                              % (port, DEST, biggest, len(new))), msg
        free = int(msg.split(", ")[1].split()[0])
        assert 0 <= free <= slack
        assert board_files(str(flash)) == want  # the old file whole, no .tmp
    finally:
        assert stop_vboard(proc) == 0
