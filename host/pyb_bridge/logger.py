"""One or several boards logged into one or several sinks (``pyb-bridge
log`` is this module's command, ``pyb_bridge.cli.log``).

Each board has its own ``Board`` (serial link, decoder, reconnection with
its own back-off) read by its own thread; the threads hand decoded batches
to the main thread through a queue, and only the main thread writes to the
sinks (SQLite stays single-writer). Every row is tagged with its board: the
USB serial number of the port when it has one, else the port name.

    with Logger(["/dev/ttyACM0"], [open_sink("run.sqlite")]) as lg:
        while ...:
            lg.step()
"""

import queue
import threading
import time

from pyb_bridge.link import Board
from pyb_bridge.ports import board_id, find_pyboards


def expand_ports(ports):
    """``--port`` values in order, ``auto`` replaced by every PyBoard found
    (an OSError when there is none), each port once."""
    out = []
    for p in ports or ["auto"]:
        for dev in (find_pyboards() if p == "auto" else [p]):
            if dev not in out:
                out.append(dev)
    return out


def board_names(ports):
    """A distinct tag per port (a board seen through two names gets ``#2``)."""
    names = []
    for p in ports:
        n = board_id(p)
        k, base = 1, n
        while n in names:
            k += 1
            n = "%s#%d" % (base, k)
        names.append(n)
    return names


STOP_TIMEOUT_S = 10.0  # for a --script to stop after its Ctrl-C (at a PyBoard's speed)
BACKLOG_BYTES = 2 << 20  # read, decoded and not yet written: 1.7 s of USB full speed


class _Backlog:
    """Bytes the readers decoded that the writer has not written yet. A
    reader waits while there are more than ``limit`` (it then reads nothing
    and the link holds the board back), so that a writer slower than the
    boards costs bounded memory."""

    def __init__(self, limit):
        self.limit = limit
        self.bytes = 0
        self.peak = 0
        self.holds = 0  # times a reader stopped reading for the writer
        self._cond = threading.Condition()

    def add(self, n, board):
        with self._cond:
            if self.bytes and self.bytes + n > self.limit and not board.stopped:
                self.holds += 1
            while self.bytes and self.bytes + n > self.limit and not board.stopped:
                self._cond.wait(0.1)
            self.bytes += n
            self.peak = max(self.peak, self.bytes)

    def done(self, n):
        with self._cond:
            self.bytes -= n
            self._cond.notify_all()


class _Text(list):
    """Lines of text a board sent between frames (handed to the writer)."""


TRACEBACK = "Traceback (most recent call last):"


class _Reader(threading.Thread):
    def __init__(self, board, name, out, backlog=None):
        super().__init__(name="pyb-bridge reader %s" % name, daemon=True)
        self.board = board
        self.tag = name
        self.out = out
        self.backlog = _Backlog(BACKLOG_BYTES) if backlog is None else backlog

    def _fed(self):
        dec = getattr(self.board, "decoder", None)
        return 0 if dec is None else dec.bytes

    def run(self):
        board = self.board
        read = 0
        try:
            while not board.stopped:
                before = self._fed()
                batches, schemas, now = board.poll()
                read += self._fed() - before
                dec = getattr(board, "decoder", None)
                lines = dec.take_text() if dec is not None else []
                if lines:  # the board's own words, between frames
                    self.out.put((self.tag, _Text(lines), None, now, 0))
                if batches or schemas:
                    self.backlog.add(read, board)
                    self.out.put((self.tag, batches, schemas, now, read))
                    read = 0
        except Exception as e:  # handed to the main thread, which raises it
            self.out.put((self.tag, e, None, None, 0))


class Logger:
    """Boards on ``ports`` logged into ``sinks`` (a list).

    ``with Logger(ports, sinks) as lg: while ...: lg.step()``; on leaving,
    the readers stop, what they had is written and the counters are
    recorded (``record_counters``) in every sink."""

    def __init__(self, ports, sinks, *, baudrate=115200, script=None, backoff=None,
                 backlog_bytes=BACKLOG_BYTES):
        self.ports = list(ports)
        self.names = board_names(self.ports)
        self.sinks = list(sinks)
        self.boards = [Board(p, baudrate=baudrate, script=script) for p in self.ports]
        if backoff is not None:
            for b in self.boards:
                b.link.backoff, b.link.max_backoff = backoff
        self._queue = queue.Queue()
        self.backlog = _Backlog(backlog_bytes)
        self._readers = []
        self.rows = 0
        self.rows_by_board = dict.fromkeys(self.names, 0)
        self.undescribed = {}  # (board, stream id): frames whose descriptor never came
        self.text = []  # (board, host time, line) the board printed, not yet shown
        self.tracebacks = {}  # board -> the lines of the first traceback it printed
        self._in_tb = {}

    def __enter__(self):
        try:
            for b in self.boards:
                b.__enter__()  # opens the port (and starts --script) now: errors show here
        except BaseException:
            for b in self.boards:
                b.close()
            raise
        for s in self.sinks:
            if hasattr(s, "start_run"):  # SQLite: this run's row in _runs
                s.start_run(self.names)
        for b, name in zip(self.boards, self.names, strict=True):
            r = _Reader(b, name, self._queue, self.backlog)
            r.start()
            self._readers.append(r)
        return self

    def __exit__(self, *exc):
        self.close()

    def _board_text(self, name, lines, now):
        """Keep what the board printed: for the terminal (``take_text``),
        in each sink that keeps text (SQLite: ``_board_text``), and the
        first traceback of each board in ``tracebacks``."""
        for line in lines:
            self.text.append((name, now, line))
            tb = self._in_tb.get(name)
            if tb is None and line.startswith(TRACEBACK) and name not in self.tracebacks:
                self._in_tb[name] = tb = []
            if tb is not None:
                tb.append(line)
                if line != TRACEBACK and not line[:1].isspace():  # the exception's line
                    self.tracebacks[name] = tb
                    self._in_tb[name] = None
        for s in self.sinks:
            if hasattr(s, "write_text"):
                s.write_text(name, now, lines)

    def take_text(self):
        """The board text received since the last call: [(board, time, line)]."""
        out, self.text = self.text, []
        return out

    def _write(self, item):
        name, batches, schemas, now, nbytes = item
        if isinstance(batches, Exception):
            raise batches
        if isinstance(batches, _Text):
            self._board_text(name, batches, now)
            return
        try:
            for s in self.sinks:
                s.write_all(batches, now, schemas, board=name)
        finally:
            self.backlog.done(nbytes)
        n = sum(len(b.times) for b in batches)
        self.rows += n
        self.rows_by_board[name] += n

    def step(self, timeout=0.1):
        """Write what the readers decoded, waiting up to ``timeout`` s for
        it; flush the sinks on their interval when nothing came."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            now = time.time()
            for s in self.sinks:
                s.write_all((), now)
            return 0
        before = self.rows
        self._write(item)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._write(item)
        return self.rows - before

    def stop_scripts(self, timeout=STOP_TIMEOUT_S):
        """Ask every board whose ``script`` still runs to stop it (Ctrl-C,
        which a pyb_lib Stream takes between two frames), logging on until
        each has ended (its last frames and status come) or ``timeout`` s
        have passed; the names of the boards whose script still runs."""
        asked = [b for b in self.boards if b.script is not None and not b.script_ended]
        for b in asked:
            try:
                b.link.write(b"\x03")
                b.asked_to_stop = True
            except OSError:  # the port went away: nothing more to stop
                pass
        end = time.monotonic() + timeout
        while any(not b.script_ended for b in asked) and time.monotonic() < end:
            self.step(0.05)
        return [n for n, b in zip(self.names, self.boards, strict=True)
                if b.script is not None and not b.script_ended]

    def counters(self):
        """(totals over the boards, {board: counters})."""
        per = {n: b.counters() for n, b in zip(self.names, self.boards, strict=True)}
        total = {}
        for c in per.values():
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        return total, per

    def close(self):
        for b in self.boards:
            b.stop()
        for r in self._readers:
            r.join(timeout=5)
        self._readers = []
        try:
            while True:
                self._write(self._queue.get_nowait())
        except queue.Empty:
            pass
        finally:
            for b in self.boards:
                if getattr(b, "script_ended", False):
                    try:  # out of the raw REPL: the board's friendly REPL is back
                        b.link.write(b"\r\x02")
                    except OSError:
                        pass
                b.close()
        for name, b in zip(self.names, self.boards, strict=True):
            dec = getattr(b, "decoder", None)
            lines = dec.take_text(final=True) if dec is not None else []
            if lines:
                self._board_text(name, lines, time.time())
        # frames of a stream whose descriptor never came: not logged, counted
        self.undescribed = {}
        for name, b in zip(self.names, self.boards, strict=True):
            for stream, n in sorted(b.streams.drop_held().items()):
                self.undescribed[(name, stream)] = n
        total, per = self.counters()
        for s in self.sinks:
            s.record_counters(total, per)
