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
from pyb_lib._bus import RegisterDevice, bus_number

MSB = const(0)
LSB = const(128)

_ETIMEDOUT = const(110)  # MicroPython's errno value (py/mperrno.h)
_SEND = const(0)
_RECV = const(1)
_BOTH = const(2)


class SPIDevice(RegisterDevice):
    """A device on SPI bus 1 ('X') or 2 ('Y') with its chip select on pin ``cs``."""

    def __init__(self, bus, cs, *, baudrate=1000000, polarity=0, phase=0, firstbit=MSB,
                 read_flag=0x80, write_flag=0x00, spi=None):
        cs_name = cs if isinstance(cs, str) else cs.names()[-1]
        try:
            num = bus_number(bus, "SPI")
        except TypeError as e:
            raise TypeError("SPI(%r) CS %s: %s" % (bus, cs_name, e.args[0]))
        self.name = "SPI(%s) CS %s" % (num or bus, cs_name)
        if not num:
            raise self._err(ValueError, "SPI bus %r doesn't exist; use 1, 2, 'X' or 'Y'", bus)
        for what, v, a, b in (("polarity", polarity, 0, 1), ("phase", phase, 0, 1),
                              ("firstbit", firstbit, MSB, LSB)):
            if v != a and v != b:
                raise self._err(ValueError, "%s must be %d or %d, not %r", what, a, b, v)
        for v in (read_flag, write_flag):
            if not isinstance(v, int) or not 0 <= v <= 0xFF:
                raise self._err(ValueError, "read_flag and write_flag must be 0..0xFF")
        if spi is None:
            if not isinstance(baudrate, int) or baudrate <= 0:
                raise self._err(ValueError, "baudrate must be a positive int, not %r", baudrate)
            spi = pyb.SPI(num, pyb.SPI.CONTROLLER, baudrate=baudrate, polarity=polarity,
                          phase=phase, firstbit=firstbit)
        try:
            if isinstance(cs, str):
                cs = pyb.Pin(cs, pyb.Pin.OUT_PP, value=1)
            else:
                cs.init(pyb.Pin.OUT_PP, value=1)
        except ValueError as e:
            raise self._err(ValueError, "%s", e.args[0] if e.args else "bad CS pin")
        self.bus = num
        self.spi = spi
        self.cs = cs
        self.read_flag = read_flag
        self.write_flag = write_flag
        self._active = False
        self._cmd = self._buffers()[0:1]

    # --- transactions ------------------------------------------------------
    def __enter__(self):
        if self._active:
            raise self._err(RuntimeError, "already in a transaction")
        self._active = True
        self.cs.value(0)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cs.value(1)
        self._active = False
        return False

    def _io(self, op, buf, arg, reg):
        """One transfer; an OSError is raised again with the device's name."""
        err = 0
        try:
            if op == _SEND:
                self.spi.send(buf)
            elif op == _RECV:
                self.spi.readinto(buf, arg)
            else:
                self.spi.send_recv(buf, arg)
        except OSError as e:
            err = e.args[0] if e.args else -1
        if err:
            text = "timed out" if err == _ETIMEDOUT else "error %d" % err
            what = ("writing", "reading", "exchanging")[op]
            if reg >= 0:
                what += " register 0x%02X" % reg
            raise OSError(err, "%s: %s %s" % (self.name, text, what))

    def _inside(self, what):
        if not self._active:
            raise self._err(RuntimeError, "%s outside a transaction; use 'with dev:'", what)

    # --- raw transfers (inside ``with dev:``) ------------------------------
    def write(self, buf):
        """Send ``buf``; what comes back is dropped."""
        self._inside("write")
        self._readable(buf)
        self._io(_SEND, buf, 0, -1)

    def readinto(self, buf, write=0x00):
        """Fill ``buf`` while sending the byte ``write``; allocates nothing."""
        self._inside("readinto")
        self._writable(buf)
        if not isinstance(write, int) or not 0 <= write <= 0xFF:
            raise self._err(ValueError, "write byte must be 0..255, not %r", write)
        self._io(_RECV, buf, write, -1)

    def write_readinto(self, out, into):
        """Send ``out`` while receiving into ``into`` (same length; may be the same buffer)."""
        self._inside("write_readinto")
        self._readable(out)
        self._writable(into)
        if len(out) != len(into):
            raise self._err(ValueError, "write_readinto needs buffers of the same length,"
                            " got %d and %d", len(out), len(into))
        self._io(_BOTH, out, into, -1)

    # --- registers: one transaction each -----------------------------------
    def read_register_into(self, reg, buf):
        """Send ``reg | read_flag``, then read ``len(buf)`` bytes into ``buf``; no allocation."""
        self._check_reg(reg)
        self._writable(buf)
        self._buf[0] = reg | self.read_flag
        with self:
            self._io(_SEND, self._cmd, 0, reg)
            self._io(_RECV, buf, 0, reg)

    def _write(self, reg, data):
        self._buf[0] = (reg & ~self.read_flag & 0xFF) | self.write_flag
        with self:
            self._io(_SEND, self._cmd, 0, reg)
            self._io(_SEND, data, 0, reg)
