"""The serial link to the board and the ``Board`` object of the Python API.

``port`` is a device path (``/dev/ttyACM0``, ``COM3``), ``auto`` (the first
port with MicroPython's USB vendor id 0xF055) or any pyserial URL
(``loop://``, ``socket://host:port``, ``rfc2217://host:port``). When the
port goes away (board unplugged or reset) the link closes it and tries to
open it again with a growing delay (``backoff`` up to ``max_backoff``
seconds), then carries on; the decoder just sees a gap.
"""

import time
from collections import namedtuple

import serial

from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.ports import open_port


class Link:
    """A byte source that survives unplugging: ``read()`` returns the bytes
    available (possibly none) and reopens the port after it failed."""

    def __init__(self, port, baudrate=115200, timeout=0.05, backoff=0.1, max_backoff=2.0,
                 serial_port=None):
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.serial = serial_port
        self.reconnects = 0
        self.connected = serial_port is not None
        self._delay = backoff
        self._next_try = 0.0

    def open(self):
        if self.serial is None:
            self.serial = open_port(self.port, self.baudrate, self.timeout)
            self.connected = True
        return self

    def close(self):
        if self.serial is not None:
            try:
                self.serial.close()
            except (OSError, serial.SerialException):
                pass
            self.serial = None
        self.connected = False

    def _reopen(self):
        now = time.monotonic()
        if now < self._next_try:
            time.sleep(min(self._next_try - now, self.timeout))
            return False
        try:
            self.serial = open_port(self.port, self.baudrate, self.timeout)
        except (OSError, serial.SerialException):
            self._next_try = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self.max_backoff)
            return False
        self.connected = True
        self.reconnects += 1
        self._delay = self.backoff
        return True

    def read(self):
        if self.serial is None and not self._reopen():
            return b""
        s = self.serial
        try:
            n = s.in_waiting
            data = s.read(max(1, min(n, 1 << 16)))
            if n == 0 and data:
                data += s.read(s.in_waiting)
            return data
        except (OSError, serial.SerialException):
            self.close()  # unplugged: try again after the backoff delay
            self._next_try = time.monotonic() + self._delay
            return b""

    def write(self, data):
        self.open()
        self.serial.write(data)


class Reading(namedtuple("Reading", "stream seq time_us host_time values channels")):
    """One record: stream name, frame sequence number, board time (µs),
    host time (Unix s), the channel values and their names."""

    def as_dict(self):
        return dict(zip(self.channels, self.values, strict=True))


class Board:
    """``with pyb_bridge.connect(port) as board: for r in board.readings(): ...``

    ``script``: Python source to start on the board through the raw REPL
    (otherwise the board is expected to stream already, from main.py).
    """

    def __init__(self, port="auto", *, baudrate=115200, script=None, reconnect=True,
                 serial_port=None):
        self.link = Link(port, baudrate=baudrate, serial_port=serial_port)
        self.script = script
        self.reconnect = reconnect
        self.decoder = FrameDecoder()
        self.streams = Streams()
        self.stopped = False
        self.asked_to_stop = False  # a Ctrl-C was sent to stop the script

    def __enter__(self):
        if self.script is not None and self.link.serial is None:
            from pyb_bridge.raw_repl import start_script

            self.link.serial = start_script(self.link.port, self.script, self.link.baudrate)
            self.link.connected = True
        self.link.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.stopped = True
        self.link.close()

    def stop(self):
        """Make ``batches()``/``readings()`` end (from another thread)."""
        self.stopped = True

    @property
    def script_ended(self):
        """Whether the ``script`` this board was started with has ended (the
        raw REPL said so after its last output); False without a script."""
        return self.script is not None and self.decoder.script_ends > 0

    def poll(self):
        """Read what is there: (batches, new schemas, host time)."""
        was = self.link.reconnects
        data = self.link.read()
        frames = []
        if self.link.reconnects != was:
            # Give up the half frame from before the gap (frames behind it
            # are still found).
            frames = self.decoder.feed(b"", final=True)
        if not self.link.connected and not self.reconnect:
            self.stopped = True
        now = time.time()
        # Fed even with no data: a frame that never completes is given up
        # after a bounded time (FrameDecoder.max_wait_s).
        frames += self.decoder.feed(data)
        if not frames:
            return [], [], now
        batches, schemas = self.streams.feed(frames)
        return batches, schemas, now

    def batches(self, duration=None):
        """Yield (batch, host_time) until ``stop()`` or ``duration`` seconds."""
        end = None if duration is None else time.monotonic() + duration
        while not self.stopped and (end is None or time.monotonic() < end):
            batches, _, now = self.poll()
            for b in batches:
                yield b, now

    def readings(self, duration=None):
        """Yield a ``Reading`` per record."""
        for b, now in self.batches(duration):
            names = b.schema.names
            name = b.schema.name
            for row in zip(b.times, *b.columns, strict=False):
                yield Reading(name, b.seq, row[0], now, row[1:], names)

    def counters(self):
        c = self.decoder.counters()
        c["reconnects"] = self.link.reconnects
        c["held"] = self.streams.held  # frames that waited for their descriptor
        c["held_dropped"] = self.streams.held_dropped
        c["bad_descriptors"] = self.streams.bad_descriptors  # malformed or refused
        c["bad_frames"] = self.streams.bad_frames  # data that does not fit its schema
        return c
