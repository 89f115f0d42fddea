"""UART ports on the PyBoard v1.1, with whole-line and whole-packet reads.

    from pyb_lib.uart import UARTPort
    port = UARTPort("XB", 115200)      # UART(1): TX = X9, RX = X10
    port.write_all(b"hello\\n")
    line = port.readline(100)          # a whole line (bytes) or None

Received bytes first land in the port's own buffer (``linebuf`` bytes), so
a line or packet that has only partly arrived stays there for the next
call: nothing is returned half-done and nothing is lost.
"""

import errno

import pyb
from micropython import const

_BUSES = (1, 2, 3, 4, 6)
_NAMES = ("XA", "XB", "YA", "YB")
_NAME_BUS = (4, 1, 6, 3)
_VALID = "1, 2, 3, 4, 6, 'XA', 'XB', 'YA', 'YB'"
_NL = const(10)


def _int(what, value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    return value


def _bus_number(bus):
    if isinstance(bus, str):
        for i in range(len(_NAMES)):
            if _NAMES[i] == bus:
                return _NAME_BUS[i]
        raise ValueError("UART(%r) doesn't exist; valid buses: %s" % (bus, _VALID))
    if not isinstance(bus, int) or isinstance(bus, bool):
        raise TypeError("UART bus must be an int or a name (%s), not %s"
                        % (_VALID, type(bus).__name__))
    if bus not in _BUSES:
        raise ValueError("UART(%d) doesn't exist; valid buses: %s" % (bus, _VALID))
    return bus


class UARTPort:
    """A UART by bus number (1..4, 6) or board name ('XA', 'XB', 'YA', 'YB').

    ``timeout`` (ms) is the default wait of readline/read_exactly/read_packet
    and the firmware's wait in ``readinto``; ``timeout_char`` (ms) is the
    firmware's wait between characters (0: its minimum, two character
    times); ``rxbuf`` is the firmware's receive buffer (bytes) and
    ``linebuf`` this port's buffer, the longest line or packet it can hold.
    """

    def __init__(self, bus, baudrate=115200, *, bits=8, parity=None, stop=1, flow=0,
                 timeout=0, timeout_char=0, rxbuf=256, linebuf=256):
        self.bus = _bus_number(bus)
        self.name = "UART(%d)" % self.bus
        name = self.name
        _int("baudrate", baudrate)
        # 16x oversampling from APB2 (84 MHz) for UART1/6, APB1 (42 MHz) otherwise.
        fast = self.bus in (1, 6)
        low, high = (1300, 5250000) if fast else (650, 2625000)
        if not low <= baudrate <= high:
            raise ValueError("%s: baudrate %d out of range %d..%d" % (name, baudrate, low, high))
        _int("bits", bits)
        if parity is not None:
            _int("parity", parity)
            if parity not in (0, 1):
                raise ValueError("%s: parity must be None, 0 (even) or 1 (odd), not %d"
                                 % (name, parity))
            if bits not in (7, 8):
                raise ValueError("%s: with parity, bits must be 7 or 8, not %d" % (name, bits))
        elif bits not in (8, 9):
            raise ValueError("%s: without parity, bits must be 8 or 9, not %d" % (name, bits))
        if _int("stop", stop) not in (1, 2):
            raise ValueError("%s: stop must be 1 or 2, not %d" % (name, stop))
        if _int("flow", flow) & ~(pyb.UART.RTS | pyb.UART.CTS):
            raise ValueError("%s: flow must be 0, UART.RTS, UART.CTS or both, not %d"
                             % (name, flow))
        for what, value in (("timeout", timeout), ("timeout_char", timeout_char),
                            ("rxbuf", rxbuf)):
            if _int(what, value) < 0:
                raise ValueError("%s: %s must be >= 0, not %d" % (name, what, value))
        if _int("linebuf", linebuf) < 1:
            raise ValueError("%s: linebuf must be >= 1, not %d" % (name, linebuf))
        self.timeout = timeout
        self._uart = pyb.UART(self.bus, baudrate, bits, parity, stop, timeout=timeout,
                              flow=flow, timeout_char=timeout_char, read_buf_len=rxbuf)
        self._buf = bytearray(linebuf)
        self._mv = memoryview(self._buf)
        self._start = 0  # buffered bytes are _buf[_start:_end]
        self._end = 0
        self._scanned = 0  # _buf[_start:_scanned] holds no delimiter
        self._skip = False  # dropping the rest of a line that was too long

    def __repr__(self):
        return "<UARTPort %s>" % self.name

    # --- buffer ---------------------------------------------------------
    def _pull(self):
        """Move what the firmware has received into the buffer; no waiting."""
        avail = self._uart.any()
        if not avail:
            return 0
        if self._end == len(self._buf) and self._start:
            self._compact()
        room = len(self._buf) - self._end
        if avail > room:
            avail = room
        if not avail:
            return 0
        end = self._end
        got = self._uart.readinto(self._mv[end:end + avail], avail) or 0
        self._end = end + got
        return got

    def _compact(self):
        buf, s, n = self._buf, self._start, self._end - self._start
        for i in range(n):
            buf[i] = buf[s + i]
        self._scanned -= s
        self._start = 0
        self._end = n

    def _take(self, n):
        s = self._start
        data = bytes(self._mv[s:s + n])
        self._drop(n)
        return data

    def _drop(self, n):
        self._start += n
        if self._start == self._end:
            self._start = self._end = self._scanned = 0
        elif self._scanned < self._start:
            self._scanned = self._start

    def _find(self, delim):
        """Index (from _start) of the first ``delim`` byte buffered, or -1."""
        buf = self._buf
        for i in range(self._scanned, self._end):
            if buf[i] == delim:
                self._scanned = self._start
                return i - self._start
        self._scanned = self._end
        return -1

    def _wait(self, t0, timeout_ms):
        """Pull new bytes; False once ``timeout_ms`` has passed since ``t0``."""
        if self._pull():
            return True
        if pyb.elapsed_millis(t0) >= timeout_ms:
            return self._pull() > 0
        pyb.wfi()  # the next interrupt: a received byte or the 1 ms tick
        return True

    def _timeout(self, timeout_ms):
        if timeout_ms is None:
            return self.timeout
        if _int("timeout_ms", timeout_ms) < 0:
            raise ValueError("%s: timeout_ms must be >= 0, not %d" % (self.name, timeout_ms))
        return timeout_ms

    # --- reading --------------------------------------------------------
    def any(self):
        """Bytes waiting: in this port's buffer plus in the firmware's."""
        return self._end - self._start + self._uart.any()

    def clear(self):
        """Discard every byte received so far."""
        self._start = self._end = self._scanned = 0
        self._skip = False
        while self._uart.any():
            self._pull()
            self._start = self._end = self._scanned = 0

    def read_until(self, delim, timeout_ms=None):
        """The bytes up to and including the byte ``delim`` (an int or a
        1-byte bytes), or None if it has not arrived within ``timeout_ms``
        (default: the port's timeout). Partial data stays buffered. A
        packet longer than ``linebuf`` raises ValueError and the rest of it,
        up to the next ``delim``, is skipped."""
        if not isinstance(delim, int):
            if not isinstance(delim, (bytes, bytearray)) or len(delim) != 1:
                raise TypeError("%s: delimiter must be an int or 1 byte" % self.name)
            delim = delim[0]
        timeout_ms = self._timeout(timeout_ms)
        t0 = pyb.millis()
        while True:
            if self._skip:
                i = self._find(delim)
                if i < 0:
                    self._drop(self._end - self._start)
                else:
                    self._drop(i + 1)
                    self._skip = False
            if not self._skip:
                i = self._find(delim)
                if i >= 0:
                    return self._take(i + 1)
                if self._end - self._start == len(self._buf):
                    self._drop(len(self._buf))
                    self._skip = True
                    raise ValueError("%s: line longer than the %d-byte buffer (linebuf)"
                                     % (self.name, len(self._buf)))
            if not self._wait(t0, timeout_ms):
                return None

    def readline(self, timeout_ms=None):
        """A whole line (bytes ending in b"\\n") or None; see read_until."""
        return self.read_until(_NL, timeout_ms)

    def read_packet(self, size, timeout_ms=None):
        """Exactly ``size`` bytes, or None if they have not all arrived within
        ``timeout_ms``; what has arrived stays buffered for the next call."""
        self._check_size(size)
        timeout_ms = self._timeout(timeout_ms)
        t0 = pyb.millis()
        while self._end - self._start < size:
            if not self._wait(t0, timeout_ms):
                return None
        return self._take(size)

    def read_exactly(self, n, timeout_ms=None):
        """Exactly ``n`` bytes, or OSError(ETIMEDOUT) naming the port and the
        counts wanted and got; the bytes got stay buffered."""
        data = self.read_packet(n, timeout_ms)
        if data is None:
            raise OSError(errno.ETIMEDOUT, "%s: wanted %d bytes, got %d in %d ms" % (
                self.name, n, self._end - self._start, self._timeout(timeout_ms)))
        return data

    def _check_size(self, n):
        if _int("size", n) < 1 or n > len(self._buf):
            raise ValueError("%s: size %d out of range 1..%d (linebuf)"
                             % (self.name, n, len(self._buf)))

    def readinto(self, buf, nbytes=None):
        """Read up to ``nbytes`` (default len(buf)) into ``buf``; return the
        count (0 if nothing came within the port's timeout). Allocates
        nothing: safe with the heap locked."""
        size = len(buf)
        if nbytes is None:
            nbytes = size
        elif _int("nbytes", nbytes) < 0 or nbytes > size:
            raise ValueError("%s: nbytes %d out of range 0..%d (len(buf))"
                             % (self.name, nbytes, size))
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
        return self._uart.readinto(buf, nbytes) or 0

    # --- writing --------------------------------------------------------
    def write_all(self, buf):
        """Write every byte of ``buf``; return the count, or raise
        OSError(ETIMEDOUT) naming the port if the line stays blocked (CTS)."""
        if isinstance(buf, str):
            buf = buf.encode()
        total = len(buf)
        done = self._uart.write(buf) or 0
        if done < total:
            mv = memoryview(buf)
            while done < total:
                n = self._uart.write(mv[done:]) or 0
                if not n:
                    raise OSError(errno.ETIMEDOUT, "%s: wrote %d of %d bytes, then timed out"
                                  % (self.name, done, total))
                done += n
        return total

    def deinit(self):
        self._uart.deinit()
