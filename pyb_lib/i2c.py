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

# MicroPython's errno values (py/mperrno.h), the same as Linux.
_EIO = const(5)
_EBUSY = const(16)
_ETIMEDOUT = const(110)

_READ_REG = const(0)
_WRITE_REG = const(1)
_READ = const(2)
_WRITE = const(3)


def _bus_number(bus, kind):
    """1 or 2 for bus 1, 2, 'X' or 'Y'; else None (TypeError for other types)."""
    if isinstance(bus, str):
        if bus == "X":
            return 1
        if bus == "Y":
            return 2
        return None
    if not isinstance(bus, int) or isinstance(bus, bool):
        raise TypeError("%s bus must be 1, 2, 'X' or 'Y', not %s" % (kind, type(bus).__name__))
    return bus if bus == 1 or bus == 2 else None


def _check_bits(name, shift, width):
    """Validate a bit field of an 8-bit register."""
    if not isinstance(shift, int) or not isinstance(width, int):
        raise TypeError("%s: shift and width must be ints" % name)
    if shift < 0 or width < 1 or shift + width > 8:
        raise ValueError("%s: bit field shift %d width %d does not fit in 8 bits"
                         % (name, shift, width))


def _check_readinto(name, buf):
    if isinstance(buf, str) or isinstance(buf, bytes) or isinstance(buf, int):
        raise TypeError("%s: need a writable buffer (bytearray, memoryview, array), not %s"
                        % (name, type(buf).__name__))
    if len(buf) == 0:
        raise ValueError("%s: empty buffer" % name)


def _check_data(name, data):
    if isinstance(data, str):
        raise TypeError("%s: data must be bytes-like or an int, not str" % name)
    if not (isinstance(data, bytes) or isinstance(data, bytearray)
            or isinstance(data, memoryview)):
        try:
            memoryview(data)
        except TypeError:
            raise TypeError("%s: data must be bytes-like or an int, not %s"
                            % (name, type(data).__name__))


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
    num = _bus_number(bus, "I2C")
    if num is None:
        raise ValueError("I2C bus %r doesn't exist; use 1, 2, 'X' or 'Y'" % (bus,))
    return pyb.I2C(num, pyb.I2C.CONTROLLER, baudrate=baudrate).scan()


class I2CDevice:
    """One device at a 7-bit ``address`` on I2C bus 1 ('X') or 2 ('Y')."""

    def __init__(self, bus, address, *, baudrate=400000, addr_size=8, retries=2,
                 timeout=5000, i2c=None):
        num = _bus_number(bus, "I2C")
        label = "I2C(%s)" % (num if num is not None else bus)
        if not isinstance(address, int) or isinstance(address, bool):
            raise TypeError("%s: device address must be an int, not %s"
                            % (label, type(address).__name__))
        self.name = "%s device 0x%02X" % (label, address)
        if num is None:
            raise ValueError("%s: I2C bus %r doesn't exist; use 1, 2, 'X' or 'Y'"
                             % (self.name, bus))
        if not 0x08 <= address <= 0x77:
            raise ValueError("%s: address outside 0x08..0x77" % self.name)
        if addr_size != 8 and addr_size != 16:
            raise ValueError("%s: addr_size must be 8 or 16, not %r" % (self.name, addr_size))
        if not isinstance(retries, int) or retries < 0:
            raise ValueError("%s: retries must be an int >= 0" % self.name)
        if i2c is None:
            if not isinstance(baudrate, int) or not 0 < baudrate <= 400000:
                raise ValueError("%s: baudrate must be 1..400000 Hz, not %r"
                                 % (self.name, baudrate))
            i2c = pyb.I2C(num, pyb.I2C.CONTROLLER, baudrate=baudrate)
        self.bus = num
        self.address = address
        self.addr_size = addr_size
        self.retries = retries
        self.timeout = timeout
        self.i2c = i2c
        self._reg_max = 0xFF if addr_size == 8 else 0xFFFF
        self._buf = bytearray(2)
        self._mv2 = memoryview(self._buf)
        self._mv1 = self._mv2[:1]

    def __repr__(self):
        return "<I2CDevice %s>" % self.name

    # --- the bus -----------------------------------------------------------
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
        """One transfer with the bounded retry; errors re-raised with a name."""
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
        if op == _READ_REG or op == _WRITE_REG:
            what = "%s register 0x%0*X" % ("reading" if op == _READ_REG else "writing",
                                            self.addr_size // 4, reg)
        else:
            what = "%s %d bytes" % ("reading" if op == _READ else "writing", len(buf))
        raise OSError(err, "%s: %s %s" % (self.name, _error_text(err), what))

    def _check_reg(self, reg):
        if not isinstance(reg, int):
            raise TypeError("%s: register must be an int, not %s"
                            % (self.name, type(reg).__name__))
        if not 0 <= reg <= self._reg_max:
            raise ValueError("%s: register %d outside 0..0x%X (addr_size %d)"
                             % (self.name, reg, self._reg_max, self.addr_size))

    # --- registers ---------------------------------------------------------
    def read_register_into(self, reg, buf):
        """Read ``len(buf)`` bytes from ``reg`` on into ``buf``; allocates nothing."""
        self._check_reg(reg)
        _check_readinto(self.name, buf)
        self._xfer(_READ_REG, buf, reg)

    def read_register(self, reg, n):
        """Read ``n`` bytes from ``reg`` on; returns new bytes."""
        if not isinstance(n, int) or n < 1:
            raise ValueError("%s: byte count must be an int >= 1, not %r" % (self.name, n))
        buf = bytearray(n)
        self.read_register_into(reg, buf)
        return bytes(buf)

    def write_register(self, reg, data):
        """Write ``data`` (bytes-like, or an int 0..255 for one byte) from ``reg`` on."""
        self._check_reg(reg)
        if isinstance(data, int):
            self.write_u8(reg, data)
            return
        _check_data(self.name, data)
        self._xfer(_WRITE_REG, data, reg)

    def read_u8(self, reg):
        self.read_register_into(reg, self._mv1)
        return self._buf[0]

    def write_u8(self, reg, value):
        self._check_reg(reg)
        if not isinstance(value, int):
            raise TypeError("%s: value must be an int, not %s" % (self.name, type(value).__name__))
        if not 0 <= value <= 0xFF:
            raise ValueError("%s: value %d outside 0..255 for register 0x%0*X"
                             % (self.name, value, self.addr_size // 4, reg))
        self._buf[0] = value
        self._xfer(_WRITE_REG, self._mv1, reg)

    def read_u16(self, reg, little=False):
        """Two bytes from ``reg`` as an unsigned int, big endian unless ``little``."""
        self.read_register_into(reg, self._mv2)
        b = self._buf
        if little:
            return b[0] | (b[1] << 8)
        return (b[0] << 8) | b[1]

    def read_s16(self, reg, little=False):
        v = self.read_u16(reg, little)
        return v - 0x10000 if v & 0x8000 else v

    def write_u16(self, reg, value, little=False):
        self._check_reg(reg)
        if not isinstance(value, int):
            raise TypeError("%s: value must be an int, not %s" % (self.name, type(value).__name__))
        if not -0x8000 <= value <= 0xFFFF:
            raise ValueError("%s: value %d does not fit in 16 bits" % (self.name, value))
        value &= 0xFFFF
        b = self._buf
        if little:
            b[0] = value & 0xFF
            b[1] = value >> 8
        else:
            b[0] = value >> 8
            b[1] = value & 0xFF
        self._xfer(_WRITE_REG, self._mv2, reg)

    def read_bits(self, reg, shift, width):
        """Bits ``shift`` .. ``shift + width - 1`` of the 8-bit register ``reg``."""
        _check_bits(self.name, shift, width)
        return (self.read_u8(reg) >> shift) & ((1 << width) - 1)

    def write_bits(self, reg, shift, width, value):
        """Read-modify-write of a bit field of the 8-bit register ``reg``."""
        _check_bits(self.name, shift, width)
        mask = (1 << width) - 1
        if not isinstance(value, int):
            raise TypeError("%s: value must be an int, not %s" % (self.name, type(value).__name__))
        if not 0 <= value <= mask:
            raise ValueError("%s: value %d does not fit in %d bits at shift %d of register 0x%0*X"
                             % (self.name, value, width, shift, self.addr_size // 4, reg))
        old = self.read_u8(reg)
        self.write_u8(reg, (old & ~(mask << shift)) | (value << shift))

    # --- raw transfers -----------------------------------------------------
    def write(self, buf):
        """Send ``buf`` to the device (no register address)."""
        _check_data(self.name, buf)
        self._xfer(_WRITE, buf, 0)

    def readinto(self, buf):
        """Receive ``len(buf)`` bytes into ``buf`` (no register address); no allocation."""
        _check_readinto(self.name, buf)
        self._xfer(_READ, buf, 0)
