"""An SPI device on the PyBoard's SPI buses, selected by a chip-select pin.

    >>> from pyb_lib.spi import SPIDevice
    >>> dev = SPIDevice(1, "X5")       # SPI(1): X6 SCK, X7 MISO, X8 MOSI; CS on X5
    >>> hex(dev.read_u8(0xD0))         # BME280 in SPI mode: reads set bit 7
    '0x60'
    >>> buf = bytearray(4)
    >>> with dev:                      # CS low ... CS high, also on an exception
    ...     dev.write(b"\\x9f")
    ...     dev.readinto(buf)

The firmware has one ``pyb.SPI`` object per bus, and ``init`` reconfigures
the bus for everyone: like Adafruit's BusDevice, a device re-applies its own
mode and rate each time it takes the bus (``with dev:`` and every register
access), so devices of different modes share a bus. A bus passed as
``spi=`` is used as the caller set it up.

CS is driven high (idle) as soon as the device is made. Transfers with a
caller's buffer allocate nothing. ``spi=`` may also be a ``machine.SPI`` or
``machine.SoftSPI`` and ``cs`` a ``machine.Pin``: transfers use the methods
both kinds of bus have (``write``, ``readinto``, ``write_readinto``). Bus
errors are raised again as ``OSError`` with the same errno and a message
naming the bus and the CS pin.
"""

from micropython import const
from pyb_lib._bus import RegisterDevice
from pyb_lib._check import check, err, make

try:
    import pyb
except ImportError:  # not a PyBoard: pass spi= a machine.SPI, cs a machine.Pin
    pyb = None  # type: ignore[assignment]

MSB = const(0)
LSB = const(128)


class SPIDevice(RegisterDevice):
    """A device on SPI bus 1 ('X') or 2 ('Y') with its chip select on pin ``cs``."""

    # Set by pyb_lib._new_spi (bare annotations compile to nothing on MicroPython).
    bus: int
    spi: "pyb.SPI"
    cs: "pyb.Pin"
    read_flag: int
    write_flag: int
    _mode: "tuple | None"
    _active: bool

    def __init__(self, bus, cs, *, baudrate=1000000, polarity=0, phase=0, firstbit=MSB,
                 read_flag=0x80, write_flag=0x00, spi=None, owner=None):
        make("spi", "make", self, pyb, bus, cs, baudrate, polarity, phase, firstbit,
             read_flag, write_flag, spi, owner)

    # --- transactions ------------------------------------------------------
    def __enter__(self):
        if self._active:
            raise err(RuntimeError, self.name, 11)
        self._active = True
        m = self._mode
        if m is not None:
            # pyb.SPI(n) is one object per bus: another device may have set
            # another mode or rate since; re-apply ours before selecting.
            self.spi.init(pyb.SPI.CONTROLLER, baudrate=m[0], polarity=m[1], phase=m[2],
                          firstbit=m[3])
        self.cs.value(0)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.cs.value(1)
        self._active = False
        return False

    def _xfer(self, mode, buf, reg, arg=0):
        """One transfer, ``mode`` 0: fill ``buf`` sending the byte ``arg``; 1: send
        ``buf``; 2: send ``buf`` receiving into ``arg``. With ``reg`` >= 0
        a transaction of its own that first sends the register byte
        (``read_flag`` / ``write_flag`` applied). An OSError is raised
        again with the device's name."""
        spi = self.spi
        try:
            if reg < 0:
                if not self._active:
                    raise err(RuntimeError, self.name, 12 + mode)
                if mode == 1:
                    spi.write(buf)
                elif mode:
                    spi.write_readinto(buf, arg)
                else:
                    spi.readinto(buf, arg)
                return
            self._buf[0] = ((reg & ~self.read_flag & 0xFF) | self.write_flag if mode
                            else reg | self.read_flag)
            with self:
                spi.write(self._mv[0])
                if mode:
                    spi.write(buf)
                else:
                    spi.readinto(buf, 0)
        except OSError as e:
            import pyb_lib._oserrors

            pyb_lib._oserrors.bus(self, e, mode, buf, reg)

    # --- raw transfers (inside ``with dev:``) ------------------------------
    def readinto(self, buf, write=0x00):
        """Fill ``buf`` while sending the byte ``write``; allocates nothing."""
        self._data(buf, False)
        self._xfer(0, buf, -1, check(self.name, "write byte", write, 0, 0xFF))

    def write_readinto(self, out, into):
        """Send ``out`` while receiving into ``into`` (same length; may be the same buffer)."""
        self._data(out, True)
        self._data(into, False)
        if len(out) != len(into):
            raise err(ValueError, self.name, 15, len(out), len(into))
        self._xfer(2, out, -1, into)
