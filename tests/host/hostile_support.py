"""A hostile (or unlucky) board on a pseudo-terminal, for end-to-end tests of
the real ``pyb-bridge log``: the test writes the bytes such a board sends,
once the logger has opened the port, and waits on conditions.

The pty's master is in packet mode: when the logger's pyserial opens the
port it empties its input (tcflush), and the master reads a
TIOCPKT_FLUSHREAD packet; only then are the board's bytes written, so none
are lost to that flush, without guessing a delay."""

import os
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
import tty
from fcntl import ioctl

from pyb_sim.capture import Capture, stream_class

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def stream(channels, port, now, *, name="s", stream_id=1, period_us=1000, **kw):
    """A board Stream on ``port`` whose clock reads ``now[0]``."""
    return stream_class()(channels, port, name=name, stream_id=stream_id, period_us=period_us,
                          clock=lambda: now[0], **kw)


def frames_of(data):
    """Split well-formed stream bytes into frames (a list of bytes)."""
    out = []
    i = 0
    while i < len(data):
        length = struct.unpack_from("<H", data, i + 6)[0]
        out.append(bytes(data[i:i + 20 + length]))
        i += 20 + length
    return out


def record(channels, rows, **kw):
    """The frames a board sends for ``rows`` on a new Stream, one row every
    ``period_us`` of its clock (1 ms for records with their own time)."""
    port = Capture()
    now = [0]
    s = stream(channels, port, now, **kw)
    step = s.period_us or 1000
    with s:
        for r in rows:
            now[0] += step
            s.add(*r)
    return frames_of(bytes(port.data))


class PtyBoard:
    """A pseudo-terminal at ``link`` whose other end the test writes."""

    def __init__(self, link):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.link = link
        os.symlink(os.ttyname(slave), link)
        os.close(slave)
        ioctl(self.master, termios.TIOCPKT, struct.pack("i", 1))

    def wait_opened(self, timeout=30):
        """Wait until the logger has opened the port and emptied its input."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                pkt = os.read(self.master, 4096)
            except OSError:  # nobody holds the port open yet
                time.sleep(0.01)
                continue
            if pkt and pkt[0] & termios.TIOCPKT_FLUSHREAD:
                return
        raise AssertionError("the logger did not open %s" % self.link)

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.master, view[:4096])
            view = view[n:]

    def close(self):
        os.close(self.master)
        os.remove(self.link)


class LogRun:
    """``pyb-bridge log --port LINK --out OUT ARGS`` as its own process."""

    def __init__(self, tmp_path, out="log.db", args=()):
        self.board = PtyBoard(str(tmp_path / "ttyPYB"))
        self.out = str(tmp_path / out)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(ROOT, "host"), ROOT, os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyb_bridge.cli", "log", "--port", self.board.link,
             "--out", self.out, "--quiet", "--flush-interval", "0.1", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.stdout = self.stderr = None
        self.lines = []  # stderr lines so far
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_line(self, pred, timeout=60):
        """Wait for a stderr line for which ``pred(line)`` holds; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ln in self.lines:
                    if pred(ln):
                        return ln
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(left, 0.1))
        self.stop()
        raise AssertionError("no such line; log said:\n%s\n%s" % (self.stdout, self.stderr))

    def send(self, data):
        self.board.wait_opened()
        self.board.write(data)

    def wait_for(self, condition, timeout=60):
        """Wait until ``condition(db)`` holds on the SQLite log (read-only)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.out):
                try:
                    db = sqlite3.connect("file:%s?mode=ro" % self.out, uri=True)
                    try:
                        if condition(db):
                            return
                    finally:
                        db.close()
                except sqlite3.OperationalError:  # a table not made yet
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError("condition not met; log said:\n%s\n%s" % (self.stdout,
                                                                      self.stderr))

    def stop(self):
        """SIGTERM (as Ctrl-C would): the logger writes what it has and ends."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.stdout = self.proc.stdout.read()
        self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        self.stderr = "\n".join(self.lines)
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.board.close()
        return self.proc.returncode

    def counters(self):
        db = sqlite3.connect(self.out)
        try:
            return dict(db.execute('SELECT name, value FROM "_counters"'))
        finally:
            db.close()


def run_in_thread(fn):
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t
