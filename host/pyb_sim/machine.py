"""Simulated ``machine`` module of the PyBoard v1.1 firmware (stm32 port).

Over the same simulated pyb.board as ``pyb``: a device model wired to I2C(1)
answers ``machine.I2C(1)`` as it answers ``pyb.I2C(1)``. Errors follow
ports/stm32/machine_i2c.c, i2c.c, machine_adc.c, spi.c and
extmod/machine_i2c.c, machine_spi.c, machine_timer.c. ``pyb_sim.install()``
makes it importable as ``machine``.
"""

import errno

from pyb_sim import pins, pyb
from pyb_sim.board import NS_PER_MS, NS_PER_S
from pyb_sim.clock import RTC  # noqa: F401 - machine.RTC is pyb.RTC on the stm32 port

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

freq = pyb.freq
unique_id = pyb.unique_id
disable_irq = pyb.disable_irq
enable_irq = pyb.enable_irq
idle = pyb.wfi


def soft_reset():
    """As the firmware: SystemExit, which ends the program with a soft reset."""
    raise SystemExit


def reset():
    pyb.board.reset()
    raise SystemExit


def reset_cause():
    return SOFT_RESET


class Signal:
    """A Pin with an active level: on() drives it active (low if ``invert``)."""

    def __init__(self, pin, *args, invert=False, **kw):
        self._pin = pin if isinstance(pin, pyb.Pin) else Pin(pin, *args, **kw)
        self._inv = 1 if invert else 0

    def value(self, x=None):
        if x is None:
            return self._pin.value() ^ self._inv
        self._pin.value((1 if x else 0) ^ self._inv)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


# machine.Pin is the firmware's pyb.Pin type (modmachine.c: pin_type)
Pin = pyb.Pin


# --- ADC -------------------------------------------------------------------
# In a module of its own: the stand-in of ``machine`` (pyb_sim.install) loads
# only it for machine.ADC, which pyb_lib.adc uses on every board.
from pyb_sim.machine_adc import ADC, ADC_ON_NS  # noqa: E402, F401


# --- I2C -------------------------------------------------------------------
def _bus_of(cpus, table):
    """The bus whose pins are ``cpus`` (a prefix of its pin tuple), else 0."""
    for n, p in table.items():
        if tuple(p[:len(cpus)]) == cpus:
            return n
    return 0


class I2C:
    """Hardware I2C 1 ('X': X9/X10) or 2 ('Y': Y9/Y10); no ACK: OSError ENODEV."""

    def __init__(self, id, *, scl=None, sda=None, freq=400000, timeout=50000):
        self._bus = pins.i2c_bus_id(id)
        if scl is not None or sda is not None:
            raise ValueError("explicit choice of scl/sda is not implemented")
        self._soft = False
        self.init(freq=freq, timeout=timeout)

    def init(self, *, freq=400000, timeout=50000, **kw):
        self._freq = freq
        self._addr = -1  # SoftI2C primitives: -2 after start, then the address

    def deinit(self):
        pass

    def __repr__(self):
        scl, sda = pins.I2C_PINS.get(self._bus, ("?", "?"))
        return "I2C(%d, scl=%s, sda=%s, freq=%d)" % (self._bus, scl, sda, self._freq)

    def _dev(self, addr, nbytes):
        b = pyb.board
        b.advance((nbytes + 1) * 9 * NS_PER_S // self._freq)
        faults = b.i2c_faults.get(addr, 0)
        if faults:
            b.i2c_faults[addr] = faults - 1
            raise OSError(errno.ENODEV)
        dev = b.i2c_devices.get(self._bus, {}).get(addr)
        if dev is None or not dev.i2c_ack():
            raise OSError(errno.ENODEV)
        return dev

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            dev = pyb.board.i2c_devices.get(self._bus, {}).get(addr)
            if dev is not None and dev.i2c_ack():
                found.append(addr)
        pyb.board.advance(0x70 * 9 * NS_PER_S // self._freq)
        return found

    def writeto(self, addr, buf, stop=True):
        b = pyb.board
        b.hw_enter()  # extmod/machine_i2c.c writes from the caller's buffer
        try:
            self._dev(addr, len(buf)).i2c_write(bytes(buf))
        finally:
            b.hw_exit()
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = b"".join(bytes(v) for v in vector)
        return self.writeto(addr, data, stop)

    def readfrom_into(self, addr, buf, stop=True):
        b = pyb.board
        b.hw_enter()
        try:
            n = len(buf)
            pyb._fill(buf, self._dev(addr, n).i2c_read(n), n)
        finally:
            b.hw_exit()

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    @staticmethod
    def _ma(memaddr, addrsize):
        if addrsize not in (8, 16, 24, 32):
            raise ValueError("invalid addrsize")
        return bytes((memaddr >> s) & 0xFF for s in range(addrsize - 8, -8, -8))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        b = pyb.board
        b.hw_enter()
        try:
            n = len(buf)
            dev = self._dev(addr, n + addrsize // 8)
            dev.i2c_write(I2C._ma(memaddr, addrsize))
            pyb._fill(buf, dev.i2c_read(n), n)
        finally:
            b.hw_exit()

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        b = pyb.board
        b.hw_enter()
        try:
            self._dev(addr, len(buf) + addrsize // 8).i2c_write(
                I2C._ma(memaddr, addrsize) + bytes(buf))
        finally:
            b.hw_exit()

    # bus primitives: SoftI2C only (the stm32 hardware I2C has transfer only)
    def _prim(self):
        if not self._soft:
            raise OSError("I2C operation not supported")

    def start(self):
        self._prim()
        self._addr = -2

    def stop(self):
        self._prim()
        self._addr = -1

    def write(self, buf):
        """Bytes acknowledged; after start() the first byte is the address."""
        self._prim()
        acks = 0
        for i in range(len(buf)):
            if self._addr == -2:
                a = buf[i] >> 1
                dev = pyb.board.i2c_devices.get(self._bus, {}).get(a)
                if dev is None or not dev.i2c_ack():
                    return acks
                self._addr = a
            elif self._addr >= 0:
                self._dev(self._addr, 1).i2c_write(bytes((buf[i],)))
            else:
                return acks
            acks += 1
        return acks

    def readinto(self, buf, nack=True):
        self._prim()
        n = len(buf)
        if self._addr < 0:
            pyb._fill(buf, b"\xff" * n, n)
        else:
            pyb._fill(buf, self._dev(self._addr, n).i2c_read(n), n)


class SoftI2C(I2C):
    """Bit-banged I2C on any two pins; it reaches the devices of a hardware
    bus only when ``scl``/``sda`` are that bus's pins (X9/X10, Y9/Y10)."""

    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        self._bus = _bus_of((pins.cpu_name(scl), pins.cpu_name(sda)), pins.I2C_PINS)
        self._pins = (pins.cpu_name(scl), pins.cpu_name(sda))
        self._soft = True
        self.init(freq=freq, timeout=timeout)

    def __repr__(self):
        return "SoftI2C(scl=%s, sda=%s, freq=%d)" % (self._pins + (self._freq,))


# --- SPI -------------------------------------------------------------------
class SPI(pyb.SPI):
    """Hardware SPI 1 ('X') or 2 ('Y'), always a controller."""

    def __init__(self, id, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        if sck is not None or mosi is not None or miso is not None:
            raise ValueError("explicit choice of sck/mosi/miso is not implemented")
        pyb.SPI.__init__(self, id)
        self.init(baudrate, polarity=polarity, phase=phase, bits=bits, firstbit=firstbit)

    def init(self, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0, **kw):
        pyb.SPI.init(self, pyb.SPI.CONTROLLER, baudrate, polarity=polarity, phase=phase,
                     bits=bits, firstbit=firstbit)


class SoftSPI(SPI):
    """Bit-banged SPI on any pins; it reaches the devices of SPI 1 or 2 when
    ``sck``, ``miso``, ``mosi`` are that bus's pins."""

    def __init__(self, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        if sck is None or mosi is None or miso is None:
            raise TypeError("must specify all of sck/mosi/miso")
        cpus = (pins.cpu_name(sck), pins.cpu_name(miso), pins.cpu_name(mosi))
        self._bus = 0
        for n, p in pins.SPI_PINS.items():
            if tuple(p[1:]) == cpus:
                self._bus = n
        self._mode = None
        self._baud = baudrate
        self.init(baudrate, polarity=polarity, phase=phase, bits=bits, firstbit=firstbit)

    def init(self, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=0, **kw):
        SPI.init(self, baudrate, polarity=polarity, phase=phase, bits=bits, firstbit=firstbit)
        self._baud = baudrate  # no prescaler: the delay loop gives the rate


# --- UART ------------------------------------------------------------------
class UART(pyb.UART):
    """machine.UART: the firmware's ``pyb.UART`` type (modmachine.c)."""

    IRQ_RXIDLE = 16
    IRQ_RX = 32


# --- Timer -----------------------------------------------------------------
class Timer:
    """The soft timer (extmod/machine_timer.c): id -1 only, period in ms or freq."""

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        if id != -1:
            raise ValueError("Timer doesn't exist")
        self._due = None
        self._cb = None
        if kw:
            self.init(**kw)

    def init(self, *, mode=1, freq=-1, period=-1, tick_hz=1000, callback=None, hard=False):
        if freq > 0:
            ns = NS_PER_S / freq
        elif period >= 0:
            ns = period * NS_PER_S / tick_hz
        else:
            ns = NS_PER_MS
        self._ns = ns
        self._mode = mode
        self._cb = callback
        self._hard = hard
        pyb.board.catch_up()
        self._t0 = pyb.board.now
        self._k = 1
        self._due = self._t0 + int(ns)
        pyb.board.timers[self] = self
        pyb.board.irq_changed()

    def deinit(self):
        self._due = None
        pyb.board.timers.pop(self, None)

    def _fire(self):
        self._k += 1
        self._due = self._t0 + int(self._k * self._ns) if self._mode else None
        if self._cb is not None and not pyb.board.irq_enabled:
            pyb.board.hold_irq(self)  # taken by enable_irq
        else:
            self._call()

    def _call(self):
        cb = self._cb
        if cb is not None:
            if not self._hard:  # scheduled (extmod/machine_timer.c: hard=False by default)
                pyb.board.run_soft(cb, self)
                return
            try:
                pyb.board.run_irq(cb, self)
            except Exception as e:  # noqa: BLE001 - reported, as the firmware does
                # shared/runtime/softtimer.c soft_timer_handler: mp_irq_dispatch
                # prints it; the timer stops (made one-shot)
                self._due = None
                pyb.board.irq_failed("Uncaught exception in IRQ callback handler", e)
