"""An I2C device on the PyBoard's I2C buses: registers, typed reads, bit fields.

    >>> from pyb_lib.i2c import I2CDevice
    >>> bme = I2CDevice(1, 0x76)          # I2C(1) on X9 (SCL) / X10 (SDA)
    >>> hex(bme.read_u8(0xD0))
    '0x60'

Every bus error is raised again as ``OSError`` with the same errno and a
message that names the bus, the device and the register, for example
``I2C(1) device 0x76: no ACK reading register 0xD0``. Transient errors (EIO,
ETIMEDOUT) are retried ``retries`` times first. Reads into a caller's buffer
(``read_register_into``, ``readinto``) and the one-byte helpers allocate
nothing.
"""

import pyb
from micropython import const
from pyb_lib._bus import RegisterDevice, bus_number

# MicroPython's errno values (py/mperrno.h), the same as Linux.
_EIO = const(5)
_EBUSY = const(16)
_ETIMEDOUT = const(110)

_READ_REG = const(0)
_WRITE_REG = const(1)
_READ = const(2)
_WRITE = const(3)


def _error_text(err):
    if err == _EIO:
        return "no ACK"
    if err == _ETIMEDOUT:
        return "timed out"
    if err == _EBUSY:
        return "bus busy"
    return "error %d" % err


def scan(bus, *, baudrate=400000):
    """Addresses of the devices that answer on I2C bus 1, 2, 'X' or 'Y'."""
    num = bus_number(bus, "I2C")
    if not num:
        raise ValueError("I2C bus %r doesn't exist; use 1, 2, 'X' or 'Y'" % (bus,))
    return pyb.I2C(num, pyb.I2C.CONTROLLER, baudrate=baudrate).scan()


class I2CDevice(RegisterDevice):
    """One device at a 7-bit ``address`` on I2C bus 1 ('X') or 2 ('Y')."""

    def __init__(self, bus, address, *, baudrate=400000, addr_size=8, retries=2,
                 timeout=5000, i2c=None):
        num = bus_number(bus, "I2C")
        label = "I2C(%s)" % (num or bus)
        if not isinstance(address, int) or isinstance(address, bool):
            raise TypeError("%s: device address must be an int, not %s"
                            % (label, type(address).__name__))
        self.name = "%s device 0x%02X" % (label, address)
        if not num:
            raise self._err(ValueError, "I2C bus %r doesn't exist; use 1, 2, 'X' or 'Y'", bus)
        if not 0x08 <= address <= 0x77:
            raise self._err(ValueError, "address outside 0x08..0x77")
        if addr_size != 8 and addr_size != 16:
            raise self._err(ValueError, "addr_size must be 8 or 16, not %r", addr_size)
        if not isinstance(retries, int) or retries < 0:
            raise self._err(ValueError, "retries must be an int >= 0")
        if i2c is None:
            if not isinstance(baudrate, int) or not 0 < baudrate <= 400000:
                raise self._err(ValueError, "baudrate must be 1..400000 Hz, not %r", baudrate)
            i2c = pyb.I2C(num, pyb.I2C.CONTROLLER, baudrate=baudrate)
        self.bus = num
        self.address = address
        self.addr_size = addr_size
        self.retries = retries
        self.timeout = timeout
        self.i2c = i2c
        self._reg_max = 0xFF if addr_size == 8 else 0xFFFF
        self._regw = addr_size // 4
        self._buffers()

    def scan(self):
        """Addresses of all devices that answer on this device's bus."""
        try:
            return self.i2c.scan()
        except OSError as e:
            err = e.args[0] if e.args else 0
        raise OSError(err, "I2C(%d): %s scanning the bus" % (self.bus, _error_text(err)))

    def probe(self):
        """True if the device acknowledges its address."""
        try:
            return bool(self.i2c.is_ready(self.address))
        except OSError:
            return False

    def _xfer(self, op, buf, reg):
        """One transfer with the bounded retry; errors raised again with a name."""
        tries = self.retries
        i2c = self.i2c
        while True:
            try:
                if op == _READ_REG:
                    i2c.mem_read(buf, self.address, reg, timeout=self.timeout,
                                 addr_size=self.addr_size)
                elif op == _WRITE_REG:
                    i2c.mem_write(buf, self.address, reg, timeout=self.timeout,
                                  addr_size=self.addr_size)
                elif op == _READ:
                    i2c.recv(buf, self.address, timeout=self.timeout)
                else:
                    i2c.send(buf, self.address, timeout=self.timeout)
                return
            except OSError as e:
                err = e.args[0] if e.args else 0
            if tries and (err == _EIO or err == _ETIMEDOUT):
                tries -= 1
                continue
            break
        verb = "reading" if op == _READ_REG or op == _READ else "writing"
        if op == _READ_REG or op == _WRITE_REG:
            what = "register 0x%0*X" % (self._regw, reg)
        else:
            what = "%d bytes" % len(buf)
        raise OSError(err, "%s: %s %s %s" % (self.name, _error_text(err), verb, what))

    def read_register_into(self, reg, buf):
        """Read ``len(buf)`` bytes from ``reg`` on into ``buf``; allocates nothing."""
        self._check_reg(reg)
        self._writable(buf)
        self._xfer(_READ_REG, buf, reg)

    def _write(self, reg, data):
        self._xfer(_WRITE_REG, data, reg)

    def write(self, buf):
        """Send ``buf`` to the device (no register address)."""
        self._readable(buf)
        self._xfer(_WRITE, buf, 0)

    def readinto(self, buf):
        """Receive ``len(buf)`` bytes into ``buf`` (no register address); no allocation."""
        self._writable(buf)
        self._xfer(_READ, buf, 0)
