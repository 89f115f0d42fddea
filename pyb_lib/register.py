"""Declarative register fields: a bit field of an 8-bit register as an attribute.

A driver lists its fields as class attributes and sets ``self.bus_device``
(an ``I2CDevice`` or ``SPIDevice``); reading the attribute reads the bits,
assigning it read-modify-writes them::

    from pyb_lib.register import Field

    class BME280:
        chip_id = Field(0xD0, 0, 8, readonly=True)
        osrs_t = Field(0xF4, 5, 3)
        mode = Field(0xF4, 0, 2)

        def __init__(self, dev):
            self.bus_device = dev

    sensor = BME280(I2CDevice(1, 0x76))
    sensor.osrs_t = 1      # only bits 7..5 of 0xF4 change

``extract`` and ``insert`` do the same shifts and masks on a byte already
read, to build a register value from several fields in one write.
"""


class Field:
    """Bits ``shift`` .. ``shift + width - 1`` of the 8-bit register ``register``."""

    def __init__(self, register, shift, width, *, signed=False, readonly=False):
        if not isinstance(register, int) or not isinstance(shift, int) \
                or not isinstance(width, int):
            raise TypeError("Field: register, shift and width must be ints")
        if register < 0 or shift < 0 or width < 1 or shift + width > 8:
            raise ValueError("Field(register 0x%02X, shift %d, width %d): the bits must lie"
                             " within one 8-bit register" % (register, shift, width))
        self.register = register
        self.shift = shift
        self.width = width
        self.signed = signed
        self.readonly = readonly
        self.mask = (1 << width) - 1
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __repr__(self):
        return "%s(register 0x%02X, shift %d, width %d)" % (
            self.name or "Field", self.register, self.shift, self.width)

    def _fits(self, value):
        if not isinstance(value, int):
            raise TypeError("%r: value must be an int, not %s" % (self, type(value).__name__))
        if self.signed:
            lo = -(1 << (self.width - 1))
            hi = (1 << (self.width - 1)) - 1
        else:
            lo = 0
            hi = self.mask
        if not lo <= value <= hi:
            raise ValueError("%r: value %d outside %d..%d" % (self, value, lo, hi))

    def extract(self, raw):
        """The field's value in the register byte ``raw`` (sign-extended if signed)."""
        v = (raw >> self.shift) & self.mask
        if self.signed and v >> (self.width - 1):
            v -= 1 << self.width
        return v

    def insert(self, raw, value):
        """``raw`` with the field's bits replaced by ``value``; ValueError if it doesn't fit."""
        self._fits(value)
        return (raw & ~(self.mask << self.shift) & 0xFF) | ((value & self.mask) << self.shift)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        v = obj.bus_device.read_bits(self.register, self.shift, self.width)
        if self.signed and v >> (self.width - 1):
            v -= 1 << self.width
        return v

    def __set__(self, obj, value):
        if self.readonly:
            raise AttributeError("%r is read-only" % self)
        self._fits(value)
        obj.bus_device.write_bits(self.register, self.shift, self.width, value & self.mask)
