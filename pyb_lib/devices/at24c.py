"""I2C EEPROMs with 16-bit word addresses: AT24C32/64/128/256/512, 24LC256.

    >>> from pyb_lib.devices.at24c import AT24C
    >>> ee = AT24C(1)                       # 24LC256 at 0x50 (A2..A0 low), I2C(1) X9/X10
    >>> ee.write(0x3FF0, b'calibration v2')  # split at the 64-byte pages for you
    >>> ee.read(0x3FF0, 14)
    bytearray(b'calibration v2')

From the Microchip 24AA256/24LC256 and Atmel AT24C256C/AT24C32 data sheets:
a page write holds at most one page and wraps to the start of the same page
when it crosses the page boundary, so :meth:`write` splits data at page
boundaries. After the stop condition the chip runs its internal write cycle
(tWC 5 ms max on the 24LC256, 10 ms on the AT24C32) and does not acknowledge
its address; the driver polls for that acknowledge (ACK polling) instead of
sleeping a fixed time, and gives up after ``write_timeout_ms``.
Sequential reads have no page limit.

=========  ======  =========
chip       size    page_size
=========  ======  =========
24C32      4096    32
24C64      8192    32
24C128     16384   64
24C256     32768   64
24C512     65536   128
=========  ======  =========
"""

from micropython import const
from pyb_lib._clock import elapsed_millis, millis, udelay
from pyb_lib.devices._memory import Memory
from pyb_lib.i2c import I2CDevice

_EIO = const(5)
_ETIMEDOUT = const(110)


def _power_of_two(n):
    return n > 0 and n & (n - 1) == 0


class AT24C(Memory):
    """An I2C EEPROM of ``size`` bytes with ``page_size``-byte write pages.

    ``address`` 0x50..0x57 (pins A2..A0); ``bus`` 1, 2, 'X' or 'Y', or pass
    ``i2c=`` an existing :class:`~pyb_lib.i2c.I2CDevice` (or a ``pyb.I2C``).
    """

    def __init__(self, bus=1, address=0x50, *, size=32768, page_size=64, i2c=None,
                 write_timeout_ms=20):
        name = "AT24C at 0x%02X" % address if isinstance(address, int) else "AT24C"
        for label, v in (("size", size), ("page_size", page_size)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError("%s: %s must be an int, not %s" % (name, label, type(v).__name__))
        if not (_power_of_two(size) and 4096 <= size <= 65536):
            raise ValueError("%s: size must be a power of two from 4096 (24C32) to 65536 "
                             "(24C512) bytes, not %d" % (name, size))
        if not (_power_of_two(page_size) and 8 <= page_size <= 256 and page_size <= size):
            raise ValueError("%s: page_size must be a power of two from 8 to 256, not %d"
                             % (name, page_size))
        if isinstance(i2c, I2CDevice):
            if i2c.addr_size != 16:
                raise ValueError("%s: the I2CDevice needs addr_size=16" % i2c.name)
            dev = i2c
        else:
            if isinstance(address, int) and not 0x50 <= address <= 0x57:
                raise ValueError("%s: 24Cxx EEPROMs answer at 0x50..0x57 (pins A2..A0)" % name)
            dev = I2CDevice(bus, address, addr_size=16, i2c=i2c)
        self.bus_device = dev
        self.name = dev.name
        self.size = size
        self.page_size = page_size
        self.write_timeout_ms = write_timeout_ms
        # Nothing there (or still in a write cycle after a reset mid-write):
        # wait one write cycle for the ACK, then say what is missing.
        start = millis()
        while not dev.probe():
            if elapsed_millis(start) > write_timeout_ms:
                raise OSError(_EIO, "%s: no ACK: no EEPROM answers at this address"
                              % self.name)
            udelay(50)

    def __repr__(self):
        return "<AT24C %s %d bytes>" % (self.name, self.size)

    def __len__(self):
        return self.size

    def _read_into(self, addr, buf, n):
        if n:
            self.bus_device.read_register_into(addr, buf)

    def _write_page(self, addr, data):
        """One page write, then ACK polling for its write cycle, at most
        ``write_timeout_ms`` (OSError ETIMEDOUT naming the device)."""
        self.bus_device.write_register(addr, data)
        self.wait_ready(addr)

    def wait_ready(self, addr=None):
        """ACK polling: wait until the chip acknowledges its address again."""
        dev = self.bus_device
        start = millis()
        while not dev.probe():
            if elapsed_millis(start) > self.write_timeout_ms:
                where = "" if addr is None else " (page write at 0x%04X)" % addr
                raise OSError(_ETIMEDOUT, "%s: EEPROM write cycle not finished after %d ms%s"
                              % (self.name, self.write_timeout_ms, where))
            udelay(50)
