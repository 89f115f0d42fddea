"""The serial path: the MicroPython interpreter writes the stream to a
pseudo-terminal, the bridge reads it as a serial port, survives an unplug
(the pty closed) and a replug (a new one at the same path), and logs."""

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import tty

import serial
from pty_support import wait_open, watch_open

import pyb_bridge
from pyb_bridge import cli, logdb
from pyb_bridge.decoder import T_DATA, FrameDecoder
from pyb_bridge.link import Board
from pyb_lib.stream import Stream
from pyb_sim.capture import Capture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WRITER = """
import sys, time
sys.path.insert(0, %r)
from pyb_lib.stream import Stream
out = sys.stdout.buffer
sys.stdin.buffer.read(1)  # told to go once the host has the port open
k = 0
# Board time is k ms: the same rows whatever this machine's load.
s = Stream((("k", "i", ""), ("x", "H", "raw")), out, name="pty", period_us=1000,
           max_latency_ms=20, clock=lambda: k * 1000)
s.start()
n = %d
while n < 0 or k < n:
    s.add(k, k & 0xFFFF)
    k += 1
    if k %% 200 == 0:
        time.sleep_ms(5)
s.stop()
time.sleep(30)
"""


def micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


class FakeBoard:
    """A MicroPython process streaming into a fresh pty, reachable at ``link``.
    It starts writing once the host has opened the port (opening it drops
    what waits)."""

    def __init__(self, link):
        # The slave end stays open, as a device node stays while the board
        # is plugged in: writes to a pty nobody holds open are lost.
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        watch_open(self.master)
        self.slave_name = os.ttyname(self.slave)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(self.slave_name, link)
        self.proc = None
        self.unplugged = False
        self._go = None

    def start(self, n):
        self.proc = subprocess.Popen([micropython(), "-c", WRITER % (ROOT, n)],
                                     stdout=self.master, stdin=subprocess.PIPE)
        self._go = threading.Thread(target=self._go_once_open, daemon=True)
        self._go.start()
        return self

    def _go_once_open(self):
        if wait_open(self.master, timeout=60, cancelled=lambda: self.unplugged):
            self.proc.stdin.write(b"g")
            self.proc.stdin.flush()

    def unplug(self):
        self.unplugged = True
        if self._go:
            self._go.join()
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdin.close()
        os.close(self.master)
        os.close(self.slave)


def test_pty_stream_with_unplug_and_replug(tmp_path):
    assert micropython(), "the micropython interpreter is missing"
    link = str(tmp_path / "ttyPYB")
    got = []
    first = FakeBoard(link).start(-1)  # streams until unplugged
    board = Board(link)
    board.link.backoff = 0.05
    board.link.max_backoff = 0.2

    def run():
        for r in board.readings(duration=20):
            got.append(r)

    second = None
    with board:
        th = threading.Thread(target=run)
        th.start()
        try:
            t0 = time.monotonic()
            while len(got) < 2000 and time.monotonic() - t0 < 30:
                time.sleep(0.02)
            first.unplug()
            n_before = len(got)
            # plugged in again: it streams once the bridge has reopened the port
            second = FakeBoard(link).start(3000)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 30 and not (got and got[-1].values[0] == 2999):
                time.sleep(0.02)
        finally:
            board.stop()
            th.join()
            if second:
                second.unplug()
    assert n_before >= 2000
    ks = [r.values[0] for r in got]
    assert ks[:n_before] == list(range(n_before))  # first session, in order
    restart = ks.index(0, 1)
    assert ks[restart:] == list(range(3000))  # the second session, whole
    assert board.link.reconnects >= 1 and board.decoder.restarts == 1
    assert got[0].channels == ("k", "x") and got[5].as_dict() == {"k": 5, "x": 5}


def test_cli_logs_from_a_pty_into_each_format(tmp_path, capsys):
    assert micropython(), "the micropython interpreter is missing"
    link = str(tmp_path / "ttyPYB")
    for fmt, name in (("sqlite", "log.db"), ("csv", "log.csv"), ("jsonl", "log.jsonl")):
        fake = FakeBoard(link).start(1500)
        out = str(tmp_path / name)
        try:
            assert cli.main(["log", "--port", link, "--out", out, "--format", fmt,
                             "--duration", "1.5", "--quiet"]) == 0
        finally:
            fake.unplug()
        text = capsys.readouterr().out
        assert "1500 rows" in text, text
        if fmt == "sqlite":
            db = logdb.views(sqlite3.connect(out))
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*), sum(k) FROM pty").fetchone() == (
                1500, sum(range(1500)))
        else:
            with open(out) as f:
                assert sum(1 for _ in f) == 1500 + (fmt == "csv")


def test_api_over_a_pyserial_loop_url():
    s = serial.serial_for_url("loop://", timeout=0.05)
    stream = Stream((("v", "h", "mV"),), s, name="loop", period_us=500)
    with stream:
        for k in range(300):
            stream.add(k - 150)
    with pyb_bridge.connect("loop://", serial_port=s) as board:
        values = [r.values[0] for r in board.readings(duration=0.5)]
    assert values == [k - 150 for k in range(300)]


def test_ports_command(capsys):
    assert cli.main(["ports"]) == 0
    assert capsys.readouterr().out


def test_frames_whose_descriptor_never_came_are_counted_and_said(tmp_path, capsys):
    """A board whose stream was never described (the host opened the port
    after the descriptor and the board does not repeat it): its frames are
    held, and at the end counted in held_dropped and named in one line."""
    port = Capture()
    s = Stream((("x", "H", "raw"),), port, name="late", period_us=1000, frame_bytes=64,
               descriptor_every=1 << 30, descriptor_ms=1 << 19, clock=lambda: 0)
    s.start()
    described = len(port.data)
    for k in range(300):
        s.add(k)
    s.stop()
    frames = bytes(port.data[described:])  # the data frames only
    master, slave = os.openpty()
    tty.setraw(slave)
    link = str(tmp_path / "ttyPYB")
    os.symlink(os.ttyname(slave), link)
    os.close(slave)
    watch_open(master)

    def send():
        if wait_open(master, timeout=60):  # past pyserial's emptying of the input on open
            os.write(master, frames)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        assert cli.main(["log", "--port", link, "--out", str(tmp_path / "log.db"),
                         "--duration", "2", "--quiet"]) == 0
    finally:
        sender.join()
        os.close(master)
    out, err = capsys.readouterr()
    sent = sum(1 for f in FrameDecoder().feed(frames) if f.type == T_DATA)
    assert sent > 5
    assert "held_dropped %d," % sent in out and " 0 rows " in out, out
    assert ("%s: %d frames of stream 1 came without its descriptor" % (link, sent)) in err, err
