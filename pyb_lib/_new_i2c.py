"""I2CDevice.__init__, run once per object through ``pyb_lib._check.make``
(see ``pyb_lib._new``)."""

from pyb_lib._bus import RegisterDevice
from pyb_lib._check import check, err
from pyb_lib._new import bus_number, hold, one_of


def make(self, pyb, bus, address, baudrate, addr_size, retries, timeout, i2c):
    """I2CDevice.__init__ (``pyb`` None: a board without it)."""
    n = bus_number(bus, "I2C")
    check("I2C(%s)" % (n or bus), 26, address, 0)  # "device address"
    self.name = name = "I2C(%s) device 0x%02X" % (n or bus, address)
    bus_number(bus, "I2C", name)
    if not 0x08 <= address <= 0x77:
        raise err(ValueError, name, 8)
    one_of(name, "addr_size", addr_size, (8, 16))
    check(name, "retries", retries, 0)
    if i2c is None:
        check(name, "baudrate", baudrate, 1, 400000)
        if pyb is None:
            raise err(TypeError, name, 9)
        c = "XY"[n - 1]
        hold(self, c + "9," + c + "10", "I2C(%d)" % n, "SCL,SDA")
        i2c = pyb.I2C(n, pyb.I2C.CONTROLLER, baudrate=baudrate)
        self._baud = baudrate
    else:
        self._baud = 0  # a bus passed in keeps the caller's settings
    RegisterDevice.__init__(self)
    self.bus = n
    self.address = address
    self.addr_size = addr_size
    self.retries = retries
    self.timeout = timeout
    self._regw = addr_size // 4
    # a machine.I2C / SoftI2C bus instead of a pyb.I2C
    self._m = hasattr(i2c, "readfrom_mem_into")
    return i2c  # I2CDevice.i2c


def scan(pyb, bus, baudrate):
    """pyb_lib.i2c.scan."""
    return pyb.I2C(bus_number(bus, "I2C", ""), pyb.I2C.CONTROLLER, baudrate=baudrate).scan()
