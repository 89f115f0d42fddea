"""What I2CDevice and SPIDevice share: typed register access, bit fields,
argument checks and bus error messages. A subclass sets ``name``,
``_reg_max``, ``_regw`` (hex digits of a register), calls ``_buffers()``
and provides ``_xfer(op, buf, reg)``: op 0 reads into ``buf``, op 1 writes
``buf``, from register ``reg`` on (``reg`` < 0: no register)."""

from micropython import const
from pyb_lib._check import check, err

# MicroPython's errno values (py/mperrno.h), the same as Linux.
_EIO = const(5)
_EBUSY = const(16)
_ETIMEDOUT = const(110)


def bus_number(bus, kind, name=None):
    """1 or 2 for bus 1, 2, 'X' or 'Y'. Another int or str: 0 if ``name`` is
    None, else ValueError prefixed by ``name``. TypeError for other types."""
    if type(bus) is not int and type(bus) is not str:
        raise err(TypeError, name, "%s bus must be 1, 2, 'X' or 'Y', not %s",
                  kind, type(bus).__name__)
    num = 1 if bus == "X" or bus == 1 else 2 if bus == "Y" or bus == 2 else 0
    if not num and name is not None:
        raise err(ValueError, name, "%s bus %r doesn't exist; use 1, 2, 'X' or 'Y'", kind, bus)
    return num


class RegisterDevice:
    name = ""
    _reg_max = 0xFF
    _regw = 2
    _nack = "error 5"  # what EIO means on this bus

    def _buffers(self):
        # [0]: command byte (SPI); [1:2] and [1:3]: one and two data bytes.
        self._buf = bytearray(3)
        mv = memoryview(self._buf)
        self._d1 = mv[1:2]
        self._d2 = mv[1:3]
        return mv

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)

    def _fail(self, e, op, buf, reg):
        """OSError ``e`` raised again with the same errno and a message
        naming the device, what was done (op 0 read, 1 write, 2 exchange,
        3 scan) and the register or the byte count."""
        code = e.args[0] if e.args else 0
        text = ("timed out" if code == _ETIMEDOUT else "bus busy" if code == _EBUSY
                else self._nack if code == _EIO else "error %d" % code)
        if reg >= 0:
            what = "register 0x%0*X" % (self._regw, reg)
        else:
            what = "the bus" if buf is None else "%d bytes" % len(buf)
        verb = ("reading", "writing", "exchanging", "scanning")[op]
        raise OSError(code, "%s: %s %s %s" % (self.name, text, verb, what))

    def _value(self, value, lo, hi, reg):
        if type(value) is not int or not lo <= value <= hi:
            check(self.name, "value", value, lo, hi, " for register 0x%0*X" % (self._regw, reg))

    def _bits(self, shift, width):
        if type(shift) is not int or type(width) is not int or shift < 0 \
                or width < 1 or shift + width > 8:
            raise err(ValueError, self.name, "bits shift %r width %r do not fit in 8 bits",
                      shift, width)
        return (1 << width) - 1

    def _writable(self, buf):
        if isinstance(buf, str) or isinstance(buf, bytes) or isinstance(buf, int):
            raise err(TypeError, self.name, "need a writable buffer (bytearray, memoryview,"
                      " array), not %s", type(buf).__name__)
        if not len(buf):
            raise err(ValueError, self.name, "empty buffer")

    def _readable(self, data):
        if isinstance(data, bytes) or isinstance(data, bytearray) \
                or isinstance(data, memoryview):
            return
        if not isinstance(data, str) and not isinstance(data, int):
            try:
                memoryview(data)
                return
            except TypeError:
                pass
        raise err(TypeError, self.name, "data must be bytes-like, not %s", type(data).__name__)

    # --- registers ---------------------------------------------------------
    def read_register(self, reg, n):
        """``n`` bytes from ``reg`` on, as new bytes."""
        buf = bytearray(check(self.name, "byte count", n, 1))
        self.read_register_into(reg, buf)
        return bytes(buf)

    def read_register_into(self, reg, buf):
        """Read ``len(buf)`` bytes from ``reg`` on into ``buf``; allocates nothing."""
        check(self.name, "register", reg, 0, self._reg_max)
        self._writable(buf)
        self._xfer(0, buf, reg)

    def _xfer(self, op, buf, reg):
        raise NotImplementedError

    def write_register(self, reg, data):
        """Write ``data`` (bytes-like, or an int 0..255 for one byte) from ``reg`` on."""
        if isinstance(data, int):
            self.write_u8(reg, data)
            return
        check(self.name, "register", reg, 0, self._reg_max)
        self._readable(data)
        self._xfer(1, data, reg)

    def read_u8(self, reg):
        self.read_register_into(reg, self._d1)
        return self._buf[1]

    def write_u8(self, reg, value):
        check(self.name, "register", reg, 0, self._reg_max)
        self._value(value, 0, 0xFF, reg)
        self._buf[1] = value
        self._xfer(1, self._d1, reg)

    def read_u16(self, reg, little=False):
        """Two bytes from ``reg`` as an unsigned int, big endian unless ``little``."""
        self.read_register_into(reg, self._d2)
        b = self._buf
        if little:
            return b[1] | (b[2] << 8)
        return (b[1] << 8) | b[2]

    def read_s16(self, reg, little=False):
        v = self.read_u16(reg, little)
        return v - 0x10000 if v & 0x8000 else v

    def write_u16(self, reg, value, little=False):
        """Two bytes (-0x8000..0xFFFF), big endian unless ``little``."""
        check(self.name, "register", reg, 0, self._reg_max)
        b = self._buf
        self._value(value, -0x8000, 0xFFFF, reg)
        b[1] = (value >> (0 if little else 8)) & 0xFF
        b[2] = (value >> (8 if little else 0)) & 0xFF
        self._xfer(1, self._d2, reg)

    def read_bits(self, reg, shift, width):
        """Bits ``shift`` .. ``shift + width - 1`` of the 8-bit register ``reg``."""
        mask = self._bits(shift, width)
        return (self.read_u8(reg) >> shift) & mask

    def write_bits(self, reg, shift, width, value):
        """Read-modify-write of a bit field; the other bits keep their value."""
        mask = self._bits(shift, width)
        self._value(value, 0, mask, reg)
        old = self.read_u8(reg)
        self.write_u8(reg, (old & ~(mask << shift)) | (value << shift))
