"""An I2C device on the PyBoard's I2C buses: registers, typed reads, bit fields.

    >>> from pyb_lib.i2c import I2CDevice
    >>> bme = I2CDevice(1, 0x76)          # I2C(1) on X9 (SCL) / X10 (SDA)
    >>> hex(bme.read_u8(0xD0))
    '0x60'

Every bus error is raised again as ``OSError`` with the same errno and a
message that names the bus, the device and the register, for example
``I2C(1) device 0x76: no ACK reading register 0xD0``. Transient errors (EIO,
ENODEV, ETIMEDOUT) are retried ``retries`` times first. Reads into a caller's
buffer (``read_register_into``, ``readinto``) and the one-byte helpers
allocate nothing.

``i2c=`` may also be a ``machine.I2C`` or ``machine.SoftI2C`` (any
MicroPython board): the device then uses ``readfrom_mem_into``,
``writeto_mem``, ``readfrom_into`` and ``writeto``; a device that does not
acknowledge raises errno 19 (ENODEV) there, 5 (EIO) on ``pyb.I2C``.
"""

from pyb_lib._bus import RegisterDevice
from pyb_lib._check import make

try:
    import pyb
except ImportError:  # not a PyBoard: pass i2c= a machine.I2C
    pyb = None  # type: ignore[assignment]


def scan(bus, *, baudrate=400000):
    """Addresses of the devices that answer on I2C bus 1, 2, 'X' or 'Y'."""
    return make("i2c", "scan", pyb, bus, baudrate)


class I2CDevice(RegisterDevice):
    """One device at a 7-bit ``address`` on I2C bus 1 ('X') or 2 ('Y')."""

    _nack = "no ACK"
    # Set by pyb_lib._new_i2c (bare annotations compile to nothing on MicroPython).
    bus: int
    address: int
    addr_size: int
    retries: int
    timeout: int
    _baud: int
    _m: bool

    def __init__(self, bus, address, *, baudrate=400000, addr_size=8, retries=2,
                 timeout=5000, i2c=None):
        self.i2c = make("i2c", "make", self, pyb, bus, address, baudrate, addr_size, retries,
                        timeout, i2c)

    def scan(self):
        """Addresses of all devices that answer on this device's bus."""
        try:
            return self.i2c.scan()
        except OSError as e:
            import pyb_lib._oserrors

            pyb_lib._oserrors.bus(self, e, 3, None, -1)

    def probe(self):
        """True if the device acknowledges its address."""
        try:
            if self._m:  # an empty write, as machine.I2C.scan probes
                self.i2c.writeto(self.address, b"")
                return True
            return bool(self.i2c.is_ready(self.address))
        except OSError:
            return False

    def _xfer(self, mode, buf, reg):
        """One transfer (``mode`` 0 read, 1 write; ``reg`` < 0: no register
        address) with the bounded retry; errors raised again with a name."""
        n = self.retries
        i2c = self.i2c
        a = self.address
        if self._baud:
            # pyb.I2C(n) is one object per bus: re-apply this device's rate.
            i2c.init(0, baudrate=self._baud)  # 0: pyb.I2C.CONTROLLER
        while True:
            try:
                if self._m:
                    if reg < 0:
                        if mode:
                            i2c.writeto(a, buf)
                        else:
                            i2c.readfrom_into(a, buf)
                    elif mode:
                        i2c.writeto_mem(a, reg, buf, addrsize=self.addr_size)
                    else:
                        i2c.readfrom_mem_into(a, reg, buf, addrsize=self.addr_size)
                elif reg < 0:
                    if mode:
                        i2c.send(buf, a, timeout=self.timeout)
                    else:
                        i2c.recv(buf, a, timeout=self.timeout)
                elif mode:
                    i2c.mem_write(buf, a, reg, timeout=self.timeout, addr_size=self.addr_size)
                else:
                    i2c.mem_read(buf, a, reg, timeout=self.timeout, addr_size=self.addr_size)
                return
            except OSError as e:
                # retry EIO / ENODEV (no ACK) and ETIMEDOUT
                if not n or not e.args or e.args[0] not in (5, 19, 110):
                    import pyb_lib._oserrors

                    pyb_lib._oserrors.bus(self, e, mode, buf, reg)
            n -= 1

    def readinto(self, buf):
        """Receive ``len(buf)`` bytes into ``buf`` (no register address); no allocation."""
        self._data(buf, False)
        self._xfer(0, buf, -1)
