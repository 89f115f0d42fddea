"""SPIDevice.__init__, run once per object through ``pyb_lib._check.make``
(see ``pyb_lib._new``)."""

from pyb_lib._bus import RegisterDevice
from pyb_lib._check import check, err
from pyb_lib._new import bus_number, hold, one_of, take
from pyb_lib.spi import LSB, MSB


def make(self, pyb, bus, cs, baudrate, polarity, phase, firstbit, read_flag, write_flag,
         spi, owner):
    """SPIDevice.__init__ (``pyb`` None: a board without it)."""
    pin = cs if isinstance(cs, str) else cs.names()[-1] if hasattr(cs, "names") else cs
    n = bus_number(bus, "SPI", "SPI(%r) CS %s" % (bus, pin))
    self.name = name = "SPI(%d) CS %s" % (n, pin)
    one_of(name, "polarity", polarity, (0, 1))
    one_of(name, "phase", phase, (0, 1))
    one_of(name, "firstbit", firstbit, (MSB, LSB))
    check(name, "read_flag", read_flag, 0, 0xFF)
    check(name, "write_flag", write_flag, 0, 0xFF)
    if spi is None or pyb is None and isinstance(cs, str):
        if pyb is None:
            raise err(TypeError, name, 10)
        check(name, "baudrate", baudrate, 1)
        spi = pyb.SPI(n)  # the bus's one object; set up when the device takes it
        self._mode = (baudrate, polarity, phase, firstbit)
    else:
        self._mode = None  # a bus passed in keeps the caller's settings
    # The pins it holds (pyb_lib._check.held): CS as ``owner``, the bus's
    # SCK, MISO, MOSI as SPI(n) when pyb_lib set the bus up.
    self.owner = owner = owner or "SPI(%d) device" % n
    self._cpin = pin if isinstance(pin, str) else ""
    take(self._cpin, owner, "chip select")
    if self._mode:
        c = "XY"[n - 1]
        hold(self, c + "6," + c + "7," + c + "8", "SPI(%d)" % n, "SCK,MISO,MOSI")
    try:
        if isinstance(cs, str):
            cs = pyb.Pin(cs, pyb.Pin.OUT_PP, value=1)
        else:
            cs.init(cs.OUT, value=1)
    except ValueError as e:
        self.deinit()
        raise err(ValueError, name, "%s", e)
    RegisterDevice.__init__(self)
    self.bus = n
    self.spi = spi
    self.cs = cs
    self.read_flag = read_flag
    self.write_flag = write_flag
    self._active = False
