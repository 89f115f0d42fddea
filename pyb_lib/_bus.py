"""What I2CDevice and SPIDevice share: typed register access, bit fields and
argument checks. A subclass sets ``name``, ``_reg_max``, ``_regw`` (hex
digits of a register), calls ``_buffers()`` and provides
``read_register_into(reg, buf)`` and ``_write(reg, data)``."""


def bus_number(bus, kind):
    """1 or 2 for bus 1, 2, 'X' or 'Y'; 0 for another int or str; TypeError otherwise."""
    if isinstance(bus, bool) or not (isinstance(bus, int) or isinstance(bus, str)):
        raise TypeError("%s bus must be 1, 2, 'X' or 'Y', not %s" % (kind, type(bus).__name__))
    if bus == "X" or bus == 1:
        return 1
    if bus == "Y" or bus == 2:
        return 2
    return 0


class RegisterDevice:
    name = ""
    _reg_max = 0xFF
    _regw = 2

    def _buffers(self):
        # [0]: command byte (SPI); [1:2] and [1:3]: one and two data bytes.
        self._buf = bytearray(3)
        mv = memoryview(self._buf)
        self._d1 = mv[1:2]
        self._d2 = mv[1:3]
        return mv

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)

    def _err(self, exc, text, *args):
        return exc("%s: %s" % (self.name, text % args))

    def _check_reg(self, reg):
        if not isinstance(reg, int):
            raise self._err(TypeError, "register must be an int, not %s", type(reg).__name__)
        if not 0 <= reg <= self._reg_max:
            raise self._err(ValueError, "register %d outside 0..0x%X", reg, self._reg_max)

    def _value(self, value, lo, hi, reg):
        if not isinstance(value, int):
            raise self._err(TypeError, "value must be an int, not %s", type(value).__name__)
        if not lo <= value <= hi:
            raise self._err(ValueError, "value %d outside %d..%d for register 0x%0*X",
                            value, lo, hi, self._regw, reg)

    def _bits(self, shift, width):
        if not isinstance(shift, int) or not isinstance(width, int) or shift < 0 \
                or width < 1 or shift + width > 8:
            raise self._err(ValueError, "bits shift %r width %r do not fit in 8 bits",
                            shift, width)
        return (1 << width) - 1

    def _writable(self, buf):
        if isinstance(buf, str) or isinstance(buf, bytes) or isinstance(buf, int):
            raise self._err(TypeError, "need a writable buffer (bytearray, memoryview, array),"
                            " not %s", type(buf).__name__)
        if len(buf) == 0:
            raise self._err(ValueError, "empty buffer")

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
        raise self._err(TypeError, "data must be bytes-like, not %s", type(data).__name__)

    # --- registers ---------------------------------------------------------
    def read_register(self, reg, n):
        """``n`` bytes from ``reg`` on, as new bytes."""
        if not isinstance(n, int) or n < 1:
            raise self._err(ValueError, "byte count must be an int >= 1, not %r", n)
        buf = bytearray(n)
        self.read_register_into(reg, buf)
        return bytes(buf)

    def read_register_into(self, reg, buf):
        raise NotImplementedError

    def _write(self, reg, data):
        raise NotImplementedError

    def write_register(self, reg, data):
        """Write ``data`` (bytes-like, or an int 0..255 for one byte) from ``reg`` on."""
        self._check_reg(reg)
        if isinstance(data, int):
            self.write_u8(reg, data)
            return
        self._readable(data)
        self._write(reg, data)

    def read_u8(self, reg):
        self.read_register_into(reg, self._d1)
        return self._buf[1]

    def write_u8(self, reg, value):
        self._check_reg(reg)
        self._value(value, 0, 0xFF, reg)
        self._buf[1] = value
        self._write(reg, self._d1)

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
        self._check_reg(reg)
        self._value(value, -0x8000, 0xFFFF, reg)
        b = self._buf
        b[1] = (value >> (0 if little else 8)) & 0xFF
        b[2] = (value >> (8 if little else 0)) & 0xFF
        self._write(reg, self._d2)

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
