"""What I2CDevice and SPIDevice share: typed register access, bit fields
and argument checks (bus errors get their message from
``pyb_lib._oserrors.bus``). A subclass sets ``name`` and
``_regw`` (hex digits of a register address: 2 or 4), calls
``RegisterDevice.__init__`` and provides ``_xfer(mode, buf, reg)``: mode 0
reads into ``buf``, mode 1 writes ``buf``, from register ``reg`` on
(``reg`` < 0: no register)."""

from pyb_lib._check import check, err, give


class RegisterDevice:
    name = ""
    _regw = 2
    _nack = ""  # what EIO means on this bus, if it means more than "error 5"
    # Board pins held (pyb_lib._new.take): the chip select ``_cpin`` as
    # ``owner`` (SPI), the bus pins ``_bpins`` as ``_bown`` ('I2C(1)').
    _cpin = _bpins = owner = _bown = ""

    def __init__(self):
        # [0]: command byte (SPI); [1], [1:3]: one and two data bytes. _mv[k]
        # is the view of k data bytes (_mv[0]: the command byte).
        self._buf = bytearray(3)
        mv = memoryview(self._buf)
        self._mv = (mv[0:1], mv[1:2], mv[1:3])

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)

    def _reg(self, reg, value=0, low=0, high=0):
        """Check the register number and the ``value`` (``low..high``) for it."""
        if type(reg) is not int or type(value) is not int or reg < 0 \
                or reg >> (self._regw << 2) or not low <= value <= high:
            import pyb_lib._errors

            pyb_lib._errors.register(self, reg, value, low, high)

    def _bits(self, shift, width):
        if type(shift) is not int or type(width) is not int or shift < 0 \
                or width < 1 or shift + width > 8:
            raise err(ValueError, self.name, 4, shift, width)
        return (1 << width) - 1

    def _data(self, buf, write):
        """Check a buffer to ``write`` from (bytes-like) or to read into
        (writable, not empty)."""
        t = isinstance(buf, str) or isinstance(buf, int)
        if write:
            if not t and not (isinstance(buf, bytes) or isinstance(buf, bytearray)
                              or isinstance(buf, memoryview)):
                try:
                    memoryview(buf)
                except TypeError:
                    t = True
            if t:
                raise err(TypeError, self.name, 5, type(buf).__name__)
            return
        if t or isinstance(buf, bytes):
            raise err(TypeError, self.name, 6, type(buf).__name__)
        if not len(buf):
            raise err(ValueError, self.name, 7)

    def deinit(self):
        """Let go of the pins this device holds (an SPI device's CS; the bus
        pins once no device uses the bus), so that another object may take them."""
        give(self._cpin, self.owner)
        give(self._bpins, self._bown)
        self._cpin = self._bpins = ""

    def write(self, buf):
        """Send ``buf`` to the device (no register address; SPI: inside ``with dev:``)."""
        self._data(buf, True)
        self._xfer(1, buf, -1)  # type: ignore[attr-defined]

    # --- registers ---------------------------------------------------------
    def read_register(self, reg, n):
        """``n`` bytes from ``reg`` on, as new bytes."""
        buf = bytearray(check(self.name, "byte count", n, 1))
        self.read_register_into(reg, buf)
        return bytes(buf)

    def read_register_into(self, reg, buf):
        """Read ``len(buf)`` bytes from ``reg`` on into ``buf``; allocates nothing."""
        self._reg(reg)
        self._data(buf, False)
        self._xfer(0, buf, reg)  # type: ignore[attr-defined]

    def write_register(self, reg, data):
        """Write ``data`` (bytes-like, or an int 0..255 for one byte) from ``reg`` on."""
        if isinstance(data, int):
            self.write_u8(reg, data)
            return
        self._reg(reg)
        self._data(data, True)
        self._xfer(1, data, reg)  # type: ignore[attr-defined]

    def read_u8(self, reg):
        self.read_register_into(reg, self._mv[1])
        return self._buf[1]

    def write_u8(self, reg, value):
        self._reg(reg, value, 0, 0xFF)
        self._buf[1] = value
        self._xfer(1, self._mv[1], reg)  # type: ignore[attr-defined]

    def read_u16(self, reg, little=False):
        """Two bytes from ``reg`` as an unsigned int, big endian unless ``little``."""
        self.read_register_into(reg, self._mv[2])
        b = self._buf
        if little:
            return b[1] | (b[2] << 8)
        return (b[1] << 8) | b[2]

    def read_s16(self, reg, little=False):
        v = self.read_u16(reg, little)
        return v - 0x10000 if v & 0x8000 else v

    def write_u16(self, reg, value, little=False):
        """Two bytes (-0x8000..0xFFFF), big endian unless ``little``."""
        self._reg(reg, value, -0x8000, 0xFFFF)
        b = self._buf
        b[1] = (value >> (0 if little else 8)) & 0xFF
        b[2] = (value >> (8 if little else 0)) & 0xFF
        self._xfer(1, self._mv[2], reg)  # type: ignore[attr-defined]

    def read_bits(self, reg, shift, width):
        """Bits ``shift`` .. ``shift + width - 1`` of the 8-bit register ``reg``."""
        mask = self._bits(shift, width)
        return (self.read_u8(reg) >> shift) & mask

    def write_bits(self, reg, shift, width, value):
        """Read-modify-write of a bit field; the other bits keep their value."""
        mask = self._bits(shift, width)
        self._reg(reg, value, 0, mask)
        v = self.read_u8(reg)
        self.write_u8(reg, (v & ~(mask << shift)) | (value << shift))
