"""Ctrl-C at the awkward moments: while the board reboots, just as a block
ends, and many at once while a program writes to USB_VCP. Each time the
board must come back to the raw REPL and run the next command, and its
interpreter must never die of a KeyboardInterrupt that landed in the
virtual board's own code (the unix port raises it at whatever instruction
runs when SIGINT comes)."""

import random
import time

import pytest
import serial
from vboard_support import needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"


@pytest.fixture
def board(tmp_path):
    proc, port = start_vboard(tmp_path, "--fast")
    ser = serial.Serial(port, 115200, timeout=0.05)
    yield ser
    ser.close()
    assert stop_vboard(proc) == 0
    log = proc.stderr.read().decode()
    assert "interpreter exited" not in log, log


_rest = {}


def until(ser, pattern, timeout=20):
    """Bytes up to and with ``pattern``; what came after waits for the next call."""
    data = _rest.pop(ser, b"")
    deadline = time.monotonic() + timeout
    while pattern not in data:
        assert time.monotonic() < deadline, "waited for %r, got %r" % (pattern, data[-300:])
        data += ser.read(max(1, ser.in_waiting))
    end = data.index(pattern) + len(pattern)
    _rest[ser] = data[end:]
    return data[:end]


def raw_exec(ser, src):
    """Run ``src`` in the raw REPL; return (output, traceback)."""
    ser.write(src.encode() + b"\x04")
    until(ser, b"OK")
    data = until(ser, b"\x04>")
    out, tb = data[:-2].split(b"\x04", 1)
    return out, tb


def enter_raw(ser):
    """As mpremote does: interrupt whatever runs, then Ctrl-A."""
    ser.write(b"\r\x03\r\x01")
    until(ser, RAW_PROMPT)
    # what the board said before is behind us once this block's output came
    assert raw_exec(ser, "print('in', 'sync')") == (b"in sync\r\n", b"")


def test_ctrl_c_while_the_board_reboots(board):
    """mpremote's opening (Ctrl-C, Ctrl-A) sent at once after a soft reset,
    at varying moments of the new interpreter's boot."""
    rnd = random.Random(1)
    enter_raw(board)
    for i in range(20):
        board.write(b"\x04")  # soft reset in the raw REPL
        time.sleep(rnd.choice((0, 0.0005, 0.002, 0.01, 0.05)))
        board.write(b"\r\x03\r\x01")
        until(board, RAW_PROMPT)
        out, tb = raw_exec(board, "print(%d * 3)" % i)
        assert (out, tb) == (b"%d\r\n" % (i * 3), b""), (i, out, tb)


def test_ctrl_c_as_a_block_ends(board):
    """A Ctrl-C sent right behind a short block lands before, during or
    after it; the next block always runs."""
    rnd = random.Random(2)
    enter_raw(board)
    for i in range(40):
        board.write(b"x = %d\x04" % i)
        time.sleep(rnd.choice((0, 0.0002, 0.001, 0.003)))
        board.write(b"\x03")
        until(board, b"\x04>")
        # the Ctrl-C either interrupted the block or found the REPL
        out, tb = raw_exec(board, "print('alive', %d)" % i)
        assert (out, tb) == (b"alive %d\r\n" % i, b""), (i, out, tb)


def test_many_ctrl_c_while_writing_to_usb_vcp(board):
    """Ctrl-C pressed again and again while a loop writes to USB_VCP: the
    program stops with KeyboardInterrupt, no message of the board is cut in
    half (the bytes that arrive are whole lines), and the board answers."""
    enter_raw(board)
    board.write(b"import pyb\nv = pyb.USB_VCP()\nwhile True:\n"
                b"    v.write(b'0123456789abcdef' * 8 + b'\\n')\n\x04")
    until(board, b"OK")
    data = b""
    while data.count(b"\n") <= 10:  # the loop is writing
        data += until(board, b"\n")
    for _ in range(10):
        board.write(b"\x03")
        time.sleep(0.003)
    data += until(board, b"\x04>")
    out, tb = data[:-2].split(b"\x04", 1)
    assert b"KeyboardInterrupt" in tb, tb
    line = b"0123456789abcdef" * 8 + b"\n"
    assert len(out) > 10 * len(line)
    # whole lines, except perhaps a last one that the Ctrl-C cut short
    lines = out.split(b"\n")
    assert all(x + b"\n" == line for x in lines[:-1]), lines[:3]
    assert line.startswith(lines[-1])
    out, tb = raw_exec(board, "print('still here')")
    assert (out, tb) == (b"still here\r\n", b"")
