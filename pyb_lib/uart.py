"""UART ports on the PyBoard v1.1, with whole-line and whole-packet reads.

    from pyb_lib.uart import UARTPort
    port = UARTPort("XB", 115200)      # UART(1): TX = X9, RX = X10
    port.write_all(b"hello\\n")
    line = port.readline(100)          # a whole line (bytes) or None

Received bytes first land in the port's own buffer (``linebuf`` bytes), so
a line or packet that has only partly arrived stays there for the next
call: nothing is returned half-done and nothing is lost.
"""

import pyb
from pyb_lib._check import check, err, give, make


class UARTPort:
    """A UART by bus number (1..4, 6) or board name ('XA', 'XB', 'YA', 'YB').

    ``timeout`` (ms) is the default wait of readline/read_exactly/read_packet
    and the firmware's wait in ``readinto``; ``timeout_char`` (ms) is the
    firmware's wait between characters (0: its minimum, two character
    times); ``rxbuf`` is the firmware's receive buffer (bytes) and
    ``linebuf`` this port's buffer, the longest line or packet it can hold.
    """

    # Set by pyb_lib._new_uart (bare annotations compile to nothing on MicroPython).
    bus: int
    name: str
    timeout: int
    _pins: str
    _hw: "pyb.UART"
    _buf: bytearray
    _mv: memoryview
    _start: int
    _end: int
    _scanned: int
    _skip: bool

    def __init__(self, bus, baudrate=115200, *, bits=8, parity=None, stop=1, flow=0,
                 timeout=0, timeout_char=0, rxbuf=256, linebuf=256):
        make("uart", "make", self, pyb, bus, baudrate, bits, parity, stop, flow, timeout,
             timeout_char, rxbuf, linebuf)

    def __repr__(self):
        return "<UARTPort %s>" % self.name

    # --- buffer ---------------------------------------------------------
    def _pull(self):
        """Move what the firmware has received into the buffer; no waiting."""
        n = self._hw.any()
        if not n:
            return 0
        buf, s, end = self._buf, self._start, self._end
        if end == len(buf) and s:  # move the buffered bytes to the front
            end -= s
            for i in range(end):
                buf[i] = buf[s + i]
            self._scanned -= s
            self._start = 0
        n = min(n, len(buf) - end)
        if not n:
            return 0
        n = self._hw.readinto(self._mv[end:end + n], n) or 0
        self._end = end + n
        return n

    def _drop(self, n, take=False):
        """Remove ``n`` buffered bytes; return them as bytes if ``take``."""
        s = self._start
        data = bytes(self._mv[s:s + n]) if take else None
        self._start = s = s + n
        if s == self._end:
            self._start = self._end = self._scanned = 0
        elif self._scanned < s:
            self._scanned = s
        return data

    def _wait(self, t, timeout_ms):
        """Pull new bytes; False once ``timeout_ms`` has passed since ``t``."""
        if self._pull():
            return True
        if pyb.elapsed_millis(t) >= timeout_ms:
            return self._pull() > 0
        pyb.wfi()  # the next interrupt: a received byte or the 1 ms tick
        return True

    def _timeout(self, timeout_ms):
        if timeout_ms is None:
            return self.timeout
        return check(self.name, "timeout_ms", timeout_ms, 0)

    # --- reading --------------------------------------------------------
    def any(self):
        """Bytes waiting: in this port's buffer plus in the firmware's."""
        return self._end - self._start + self._hw.any()

    def clear(self):
        """Discard every byte received so far."""
        self._skip = False
        while True:
            self._start = self._end = self._scanned = 0
            if not self._hw.any():
                return
            self._pull()

    def read_until(self, delim, timeout_ms=None):
        """The bytes up to and including the byte ``delim`` (an int or a
        1-byte bytes), or None if it has not arrived within ``timeout_ms``
        (default: the port's timeout). Partial data stays buffered. A
        packet longer than ``linebuf`` raises ValueError and the rest of it,
        up to the next ``delim``, is skipped."""
        if not isinstance(delim, int):
            if not isinstance(delim, (bytes, bytearray)) or len(delim) != 1:
                raise err(TypeError, self.name, 22)
            delim = delim[0]
        timeout_ms = self._timeout(timeout_ms)
        t = pyb.millis()
        buf = self._buf
        while True:
            i = self._scanned  # _buf[_start:_scanned] holds no delimiter
            while i < self._end and buf[i] != delim:
                i += 1
            if i < self._end:  # found: take (or, skipping, drop) up to it
                self._scanned = self._start
                i += 1 - self._start
                if not self._skip:
                    return self._drop(i, True)
                self._drop(i)
                self._skip = False
                continue
            self._scanned = i
            if self._skip:
                self._drop(i - self._start)
            elif i - self._start == len(buf):
                self._drop(i - self._start)
                self._skip = True
                raise err(ValueError, self.name, 23, len(buf))
            if not self._wait(t, timeout_ms):
                return None

    def readline(self, timeout_ms=None):
        """A whole line (bytes ending in b"\\n") or None; see read_until."""
        return self.read_until(10, timeout_ms)

    def read_packet(self, size, timeout_ms=None):
        """Exactly ``size`` bytes, or None if they have not all arrived within
        ``timeout_ms``; what has arrived stays buffered for the next call."""
        check(self.name, "size", size, 1, len(self._buf), " (linebuf)")
        timeout_ms = self._timeout(timeout_ms)
        t = pyb.millis()
        while self._end - self._start < size:
            if not self._wait(t, timeout_ms):
                return None
        return self._drop(size, True)

    def read_exactly(self, n, timeout_ms=None):
        """Exactly ``n`` bytes, or OSError(ETIMEDOUT) naming the port and the
        counts wanted and got; the bytes got stay buffered."""
        data = self.read_packet(n, timeout_ms)
        if data is None:
            import pyb_lib._oserrors

            raise pyb_lib._oserrors.wanted(self.name, n, self._end - self._start,
                                           self._timeout(timeout_ms))
        return data

    def readinto(self, buf, nbytes=None):
        """Read up to ``nbytes`` (default len(buf)) into ``buf``; return the
        count (0 if nothing came within the port's timeout). Allocates
        nothing: safe with the heap locked."""
        size = len(buf)
        if nbytes is None:
            nbytes = size
        else:
            check(self.name, "nbytes", nbytes, 0, size, " (len(buf))")
        have = self._end - self._start
        if have:  # buffered bytes first; a short read, like any stream
            if have > nbytes:
                have = nbytes
            src, s = self._buf, self._start
            for i in range(have):
                buf[i] = src[s + i]
            self._drop(have)
            return have
        if not nbytes:
            return 0
        return self._hw.readinto(buf, nbytes) or 0

    # --- writing --------------------------------------------------------
    def write_all(self, buf):
        """Write every byte of ``buf``; return the count, or raise
        OSError(ETIMEDOUT) naming the port if the line stays blocked (CTS)."""
        if isinstance(buf, str):
            buf = buf.encode()
        size = len(buf)
        done = self._hw.write(buf) or 0
        if done < size:
            b = memoryview(buf)
            while done < size:
                n = self._hw.write(b[done:]) or 0
                if not n:  # ETIMEDOUT
                    import pyb_lib._oserrors

                    raise pyb_lib._oserrors.wrote(self.name, done, size)
                done += n
        return size

    def deinit(self):
        """Stop the UART and let go of its pins."""
        self._hw.deinit()
        give(self._pins, self.name)
        self._pins = ""
