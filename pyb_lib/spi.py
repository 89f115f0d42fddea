"""An SPI device on the PyBoard's SPI buses, selected by a chip-select pin.

    >>> from pyb_lib.spi import SPIDevice
    >>> dev = SPIDevice(1, "X5")       # SPI(1): X6 SCK, X7 MISO, X8 MOSI; CS on X5
    >>> hex(dev.read_u8(0xD0))         # BME280 in SPI mode: reads set bit 7
    '0x60'
    >>> buf = bytearray(4)
    >>> with dev:                      # CS low ... CS high, also on an exception
    ...     dev.write(b"\\x9f")
    ...     dev.readinto(buf)

CS is driven high (idle) as soon as the device is made. Transfers with a
caller's buffer allocate nothing. Bus errors are raised again as ``OSError``
with the same errno and a message naming the bus and the CS pin.
"""

import pyb
from micropython import const

MSB = const(0)
LSB = const(128)

_ETIMEDOUT = const(110)  # MicroPython's errno values (py/mperrno.h)
_EPERM = const(1)


def _writable(name, buf):
    if isinstance(buf, str) or isinstance(buf, bytes) or isinstance(buf, int):
        raise TypeError("%s: need a writable buffer (bytearray, memoryview, array), not %s"
                        % (name, type(buf).__name__))


def _readable(name, data):
    if isinstance(data, str) or isinstance(data, int):
        raise TypeError("%s: data must be bytes-like, not %s" % (name, type(data).__name__))
    if not (isinstance(data, bytes) or isinstance(data, bytearray)
            or isinstance(data, memoryview)):
        try:
            memoryview(data)
        except TypeError:
            raise TypeError("%s: data must be bytes-like, not %s"
                            % (name, type(data).__name__))


def _check_bits(name, shift, width):
    if not isinstance(shift, int) or not isinstance(width, int):
        raise TypeError("%s: shift and width must be ints" % name)
    if shift < 0 or width < 1 or shift + width > 8:
        raise ValueError("%s: bit field shift %d width %d does not fit in 8 bits"
                         % (name, shift, width))


class SPIDevice:
    """A device on SPI bus 1 ('X') or 2 ('Y') with its chip select on pin ``cs``."""

    def __init__(self, bus, cs, *, baudrate=1000000, polarity=0, phase=0, firstbit=MSB,
                 read_flag=0x80, write_flag=0x00, spi=None):
        if isinstance(cs, str):
            cs_name = cs
        else:
            names = cs.names()
            cs_name = names[-1]
        if bus == "X" or bus == 1:
            num = 1
        elif bus == "Y" or bus == 2:
            num = 2
        else:
            num = 0
        self.name = "SPI(%s) CS %s" % (num or bus, cs_name)
        if isinstance(bus, bool) or not (isinstance(bus, int) or isinstance(bus, str)):
            raise TypeError("%s: SPI bus must be 1, 2, 'X' or 'Y', not %s"
                            % (self.name, type(bus).__name__))
        if not num:
            raise ValueError("%s: SPI bus %r doesn't exist; use 1, 2, 'X' or 'Y'"
                             % (self.name, bus))
        if polarity != 0 and polarity != 1:
            raise ValueError("%s: polarity must be 0 or 1, not %r" % (self.name, polarity))
        if phase != 0 and phase != 1:
            raise ValueError("%s: phase must be 0 or 1, not %r" % (self.name, phase))
        if firstbit != MSB and firstbit != LSB:
            raise ValueError("%s: firstbit must be MSB (0) or LSB (128), not %r"
                             % (self.name, firstbit))
        for flag in (read_flag, write_flag):
            if not isinstance(flag, int) or not 0 <= flag <= 0xFF:
                raise ValueError("%s: read_flag and write_flag must be 0..0xFF" % self.name)
        if spi is None:
            if not isinstance(baudrate, int) or baudrate <= 0:
                raise ValueError("%s: baudrate must be a positive int, not %r"
                                 % (self.name, baudrate))
            spi = pyb.SPI(num, pyb.SPI.CONTROLLER, baudrate=baudrate, polarity=polarity,
                          phase=phase, firstbit=firstbit)
        try:
            if isinstance(cs, str):
                cs = pyb.Pin(cs, pyb.Pin.OUT_PP, value=1)
            else:
                cs.init(pyb.Pin.OUT_PP, value=1)
        except ValueError as e:
            raise ValueError("%s: %s" % (self.name, e.args[0] if e.args else "bad CS pin"))
        self.bus = num
        self.spi = spi
        self.cs = cs
        self.read_flag = read_flag
        self.write_flag = write_flag
        self._active = False
        self._buf = bytearray(3)
        mv = memoryview(self._buf)
        self._cmd = mv[0:1]  # the register byte
        self._cmd_d1 = mv[0:2]  # register byte + one data byte
        self._d1 = mv[1:2]
        self._d2 = mv[1:3]

    def __repr__(self):
        return "<SPIDevice %s>" % self.name

    # --- transactions ------------------------------------------------------
    def __enter__(self):
        if self._active:
            raise RuntimeError("%s: already in a transaction" % self.name)
        self._active = True
        self.cs.value(0)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cs.value(1)
        self._active = False
        return False

    def _fail(self, err, what, reg):
        if err == _ETIMEDOUT:
            text = "timed out"
        elif err == _EPERM:
            text = "bus not initialised"
        else:
            text = "error %d" % err
        if reg >= 0:
            return OSError(err, "%s: %s %s register 0x%02X" % (self.name, text, what, reg))
        return OSError(err, "%s: %s %s" % (self.name, text, what))

    def _outside(self, what):
        return RuntimeError("%s: %s outside a transaction; use 'with dev:'" % (self.name, what))

    def _send(self, buf, reg):
        err = 0
        try:
            self.spi.send(buf)
        except OSError as e:
            err = e.args[0] if e.args else 0
        if err:
            raise self._fail(err, "writing", reg)

    def _recv(self, buf, write, reg):
        err = 0
        try:
            self.spi.readinto(buf, write)
        except OSError as e:
            err = e.args[0] if e.args else 0
        if err:
            raise self._fail(err, "reading", reg)

    # --- raw transfers (inside ``with dev:``) ------------------------------
    def write(self, buf):
        """Send ``buf``; what comes back is dropped."""
        if not self._active:
            raise self._outside("write")
        _readable(self.name, buf)
        self._send(buf, -1)

    def readinto(self, buf, write=0x00):
        """Fill ``buf`` while sending the byte ``write``; allocates nothing."""
        if not self._active:
            raise self._outside("readinto")
        _writable(self.name, buf)
        if not isinstance(write, int) or not 0 <= write <= 0xFF:
            raise ValueError("%s: write byte must be 0..255, not %r" % (self.name, write))
        self._recv(buf, write, -1)

    def write_readinto(self, out, into):
        """Send ``out`` and receive into ``into`` at once (same length; may be the same buffer)."""
        if not self._active:
            raise self._outside("write_readinto")
        _readable(self.name, out)
        _writable(self.name, into)
        if len(out) != len(into):
            raise ValueError("%s: write_readinto needs buffers of the same length, got %d and %d"
                             % (self.name, len(out), len(into)))
        err = 0
        try:
            self.spi.send_recv(out, into)
        except OSError as e:
            err = e.args[0] if e.args else 0
        if err:
            raise self._fail(err, "exchanging", -1)

    # --- registers: one transaction each -----------------------------------
    def _check_reg(self, reg):
        if not isinstance(reg, int):
            raise TypeError("%s: register must be an int, not %s"
                            % (self.name, type(reg).__name__))
        if not 0 <= reg <= 0xFF:
            raise ValueError("%s: register %d outside 0..0xFF" % (self.name, reg))

    def read_register_into(self, reg, buf):
        """Send ``reg | read_flag``, then read ``len(buf)`` bytes into ``buf``; no allocation."""
        self._check_reg(reg)
        _writable(self.name, buf)
        self._buf[0] = reg | self.read_flag
        with self:
            self._send(self._cmd, reg)
            self._recv(buf, 0, reg)

    def read_register(self, reg, n):
        if not isinstance(n, int) or n < 1:
            raise ValueError("%s: byte count must be an int >= 1, not %r" % (self.name, n))
        buf = bytearray(n)
        self.read_register_into(reg, buf)
        return bytes(buf)

    def write_register(self, reg, data):
        """Send ``(reg & ~read_flag) | write_flag``, then ``data`` (bytes-like or one byte)."""
        self._check_reg(reg)
        if isinstance(data, int):
            self.write_u8(reg, data)
            return
        _readable(self.name, data)
        self._buf[0] = (reg & ~self.read_flag & 0xFF) | self.write_flag
        with self:
            self._send(self._cmd, reg)
            self._send(data, reg)

    def read_u8(self, reg):
        self.read_register_into(reg, self._d1)
        return self._buf[1]

    def write_u8(self, reg, value):
        self._check_reg(reg)
        if not isinstance(value, int):
            raise TypeError("%s: value must be an int, not %s" % (self.name, type(value).__name__))
        if not 0 <= value <= 0xFF:
            raise ValueError("%s: value %d outside 0..255 for register 0x%02X"
                             % (self.name, value, reg))
        self._buf[0] = (reg & ~self.read_flag & 0xFF) | self.write_flag
        self._buf[1] = value
        with self:
            self._send(self._cmd_d1, reg)

    def read_u16(self, reg, little=False):
        self.read_register_into(reg, self._d2)
        b = self._buf
        if little:
            return b[1] | (b[2] << 8)
        return (b[1] << 8) | b[2]

    def read_s16(self, reg, little=False):
        v = self.read_u16(reg, little)
        return v - 0x10000 if v & 0x8000 else v

    def read_bits(self, reg, shift, width):
        _check_bits(self.name, shift, width)
        return (self.read_u8(reg) >> shift) & ((1 << width) - 1)

    def write_bits(self, reg, shift, width, value):
        """Read-modify-write of a bit field of the 8-bit register ``reg``."""
        _check_bits(self.name, shift, width)
        mask = (1 << width) - 1
        if not isinstance(value, int):
            raise TypeError("%s: value must be an int, not %s" % (self.name, type(value).__name__))
        if not 0 <= value <= mask:
            raise ValueError("%s: value %d does not fit in %d bits at shift %d of register 0x%02X"
                             % (self.name, value, width, shift, reg))
        old = self.read_u8(reg)
        self.write_u8(reg, (old & ~(mask << shift)) | (value << shift))
