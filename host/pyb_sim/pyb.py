"""Simulated ``pyb`` module of PyBoard v1.1 firmware.

The API, constants and argument errors follow the firmware (its ``pyb.pyi``
in micropython-stm32-pybv11-stubs and ports/stm32/*.c); the hardware behind
it is the simulated board in :mod:`pyb_sim.board`. ``pyb_sim.install()``
makes this module importable as ``pyb``.
"""

import errno

from pyb_sim import pins
from pyb_sim.board import NS_PER_MS, NS_PER_S, NS_PER_US
from pyb_sim.clock import RTC  # noqa: F401 - pyb.RTC, on the board clock

board = None  # set by pyb_sim.install(); the simulated Board

_TICKS_MASK = 0x3FFFFFFF  # pyb.millis()/micros() are 30-bit small ints


def _bind(b):
    global board
    board = b


# --- time ----------------------------------------------------------------
def delay(ms):
    """Wait ``ms`` milliseconds (virtual time)."""
    if pins.int_arg(ms) > 0:
        board.advance(ms * NS_PER_MS)


def udelay(us):
    """Wait ``us`` microseconds (virtual time)."""
    if pins.int_arg(us) > 0:
        board.advance(us * NS_PER_US)


def millis():
    return (board.read_time() // NS_PER_MS) & _TICKS_MASK


def micros():
    return (board.read_time() // NS_PER_US) & _TICKS_MASK


def elapsed_millis(start):
    return (millis() - start) & _TICKS_MASK


def elapsed_micros(start):
    return (micros() - start) & _TICKS_MASK


def wfi():
    """Wait for the next interrupt: the next scheduled event, or the next
    SysTick, which interrupts every millisecond (docs/library/pyb.rst: "this
    function will block for at most 1ms"; ports/stm32/systick.c)."""
    nxt = (board.now // NS_PER_MS + 1) * NS_PER_MS
    for t in board.timers.values():
        if t._due is not None and t._due < nxt:
            nxt = t._due
    for e in board.events:
        if e.due < nxt:
            nxt = e.due
    board.advance_to(nxt)


def disable_irq():
    state = board.irq_enabled
    board.irq_enabled = False
    return state


def enable_irq(state=True):
    board.irq_enabled = state
    if state:
        # interrupts that came while they were off are taken now, once each
        # (the Cortex-M keeps one pending bit per interrupt while PRIMASK is
        # set: ports/stm32/irq.h disable_irq/enable_irq)
        board.take_pending()


def freq():
    return (168000000, 168000000, 42000000, 84000000)


def unique_id():
    return b"\x32\x00\x33\x00\x0d\x51\x34\x37\x33\x38\x33\x35"


def _shared(cls, base, id):
    """The one object of peripheral ``base`` ``id``, as the firmware has one
    static object per bus, timer or DAC channel (ports/stm32/pyb_spi.c,
    pyb_i2c.c, uart.c, timer.c, dac.c: ``make_new`` returns it). A new
    object has ``_new`` set until its ``__init__`` has run once. The
    simulated ``machine`` classes built on these (machine.SPI, SoftSPI, ...)
    get an object of their own each time (``base`` None)."""
    key = None if base is None or cls is not base else (base, id)
    obj = board.peripherals.get(key) if key else None
    if obj is None:
        obj = object.__new__(cls)
        obj._new = True
        if key:
            board.peripherals[key] = obj
    return obj


def _first(obj):
    """True the first time it is called for a shared object."""
    if obj._new:
        obj._new = False
        return True
    return False


def _is_8bit(buf):
    """True if the elements of ``buf`` hold 8 bits (bytearray, array 'B')."""
    if isinstance(buf, (bytearray, bytes)):
        return True
    try:
        old = buf[0]
        buf[0] = 0x100
        eight = buf[0] != 0x100
        buf[0] = old
        return eight
    except (ValueError, OverflowError):
        return True


def _fill(buf, data, n):
    for i in range(n):
        buf[i] = data[i]


def _as_bytes(data):
    if isinstance(data, int):
        return bytes((data & 0xFF,))
    if isinstance(data, str):
        return data.encode()
    return bytes(data)


# --- Pin -----------------------------------------------------------------
class Pin:
    """A GPIO pin by board name ('X1'), CPU name ('A0') or Pin object."""

    IN = 0
    OUT = 1
    OUT_PP = 1
    OUT_OD = 17
    OPEN_DRAIN = 17
    AF_PP = 2
    ALT = 2
    AF_OD = 18
    ALT_OPEN_DRAIN = 18
    ANALOG = 3
    PULL_NONE = 0
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 269549568
    IRQ_FALLING = 270598144

    _MODES = (0, 1, 2, 3, 17, 18)


    def __init__(self, id, mode=-1, pull=-1, *, value=None, alt=-1):
        self._cpu = pins.cpu_name(id)
        if mode != -1:
            self.init(mode, 0 if pull == -1 else pull, value=value, alt=alt)

    def init(self, mode=0, pull=0, *, value=None, alt=-1):
        if mode not in Pin._MODES:
            raise ValueError("invalid pin mode: %d" % mode)
        if pull not in (0, 1, 2):
            raise ValueError("invalid pin pull: %d" % pull)
        cpu = self._cpu
        board.pin_modes[cpu] = (mode, pull, alt)
        board.own((cpu,), "GPIO")
        if value is not None:
            self.value(value)
        elif mode in (Pin.OUT_PP, Pin.OUT_OD) and cpu not in board.pin_levels:
            board._drive(cpu, 0)
        elif mode == Pin.IN and cpu not in board.pin_levels:
            board.pin_levels[cpu] = 1 if pull == Pin.PULL_UP else 0

    def value(self, v=None):
        cpu = self._cpu
        if v is None:
            return board.pin_levels.get(cpu, 0)
        board.hw_enter()  # the firmware's pin write (pin.c pin_call) does not allocate
        try:
            mode = board.pin_modes.get(cpu, (Pin.IN,))[0]
            if mode in (Pin.OUT_PP, Pin.OUT_OD) and board.pin_owner.get(cpu) == "GPIO":
                board._drive(cpu, 1 if v else 0)
        finally:
            board.hw_exit()
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def high(self):
        self.value(1)

    def low(self):
        self.value(0)

    def name(self):
        return self._cpu

    def names(self):
        return [self._cpu] + pins.board_names(self._cpu)

    def mode(self):
        return board.pin_modes.get(self._cpu, (Pin.IN, 0, -1))[0]

    def pull(self):
        return board.pin_modes.get(self._cpu, (Pin.IN, 0, -1))[1]

    def af(self):
        return board.pin_modes.get(self._cpu, (Pin.IN, 0, -1))[2]

    def port(self):
        return "ABCD".index(self._cpu[0])

    def pin(self):
        return int(self._cpu[1:])

    def __repr__(self):
        return "Pin(Pin.cpu.%s)" % self._cpu

    def gpio(self):
        return 0x40020000 + 0x400 * self.port()

    def af_list(self):
        return []

    def irq(self, handler=None, trigger=0x10310000, hard=False):
        """Call ``handler(pin)`` on the edges in ``trigger`` (IRQ_RISING,
        IRQ_FALLING); hard=True runs it as an interrupt (heap locked)."""
        irq = _PinIrq(self, handler, trigger, hard)
        board.extints[pins.exti_line(self._cpu)] = irq
        return irq

    @staticmethod
    def debug(state=None):
        return False if state is None else None

    @staticmethod
    def dict(dict=None):
        return {} if dict is None else None

    @staticmethod
    def mapper(fun=None):
        return None


class _PinIrq:
    def __init__(self, pin, fn, trigger, hard):
        self._pin = pin
        self._cb = fn
        self._trig = trigger
        self._hard = hard

    def _edge(self, level):
        if self._cb is None:
            return
        if self._trig & (0x100000 if level else 0x200000):
            if not board.irq_enabled:
                board.hold_irq(self)  # taken by enable_irq
            else:
                self._call()

    def _call(self):
        if self._cb is not None:
            # ports/stm32/extint.c Handle_EXTI_Irq: a soft handler is
            # scheduled; a hard one that raises is printed and disabled
            if not self._hard:
                board.run_soft(self._cb, self._pin)
                return
            try:
                board.run_irq(self._cb, self._pin)
            except Exception as e:  # noqa: BLE001 - reported, as the firmware does
                self._cb = None
                board.irq_failed("uncaught exception in ExtInt interrupt handler line %u"
                                 % pins.exti_line(self._pin._cpu), e)

    def trigger(self, trigger=None):
        if trigger is None:
            return self._trig
        self._trig = trigger
        return None


class _PinNames:
    """``Pin.board.X1`` / ``Pin.cpu.A0``: Pin objects made on first use."""

    def __init__(self, table):
        self._table = table

    def __getattr__(self, name):
        if name not in self._table:
            raise AttributeError(name)
        return Pin(name)


for _k, _v in pins.AF_CONSTS.items():
    setattr(Pin, _k, _v)
Pin.board = _PinNames(pins.BOARD_PINS)
Pin.cpu = _PinNames(pins._CPU_PINS)


class ExtInt:
    """External interrupt on a pin; the callback runs with the heap locked."""

    IRQ_RISING = 269549568
    IRQ_FALLING = 270598144
    IRQ_RISING_FALLING = 271646720
    EVT_RISING = 269615104
    EVT_FALLING = 270663680
    EVT_RISING_FALLING = 271712256

    def __init__(self, pin, mode, pull, callback):
        cpu = pins.cpu_name(pin)
        if mode not in (ExtInt.IRQ_RISING, ExtInt.IRQ_FALLING, ExtInt.IRQ_RISING_FALLING,
                        ExtInt.EVT_RISING, ExtInt.EVT_FALLING, ExtInt.EVT_RISING_FALLING):
            raise ValueError("invalid ExtInt Mode: %d" % mode)
        line = pins.exti_line(cpu)
        if line in board.extints and board.extints[line]._cb is not None:
            raise ValueError("ExtInt vector %d is already in use" % line)
        if callback is not None and not callable(callback):
            raise ValueError("callback must be None or a callable object")
        Pin(cpu, Pin.IN, pull)
        self._cpu = cpu
        self._line = line
        self._mode = mode
        self._cb = callback
        self._enabled = True
        board.extints[line] = self

    def line(self):
        return self._line

    def enable(self):
        self._enabled = True

    def disable(self):
        self._enabled = False

    def swint(self):
        if self._cb is not None:
            board.run_irq(self._cb, self._line)

    def _edge(self, level):
        if not self._enabled or self._cb is None:
            return
        rising = self._mode in (ExtInt.IRQ_RISING, ExtInt.IRQ_RISING_FALLING)
        falling = self._mode in (ExtInt.IRQ_FALLING, ExtInt.IRQ_RISING_FALLING)
        if (level and rising) or (not level and falling):
            if not board.irq_enabled:
                board.hold_irq(self)  # taken by enable_irq
                return
            self._call()

    def _call(self):
        if self._cb is not None:
            try:
                board.run_irq(self._cb, self._line)
            except Exception as e:
                # ports/stm32/extint.c extint_callback_handler: disabled, printed.
                self._cb = None
                self._enabled = False
                board.irq_failed("uncaught exception in ExtInt interrupt handler line %u"
                                 % self._line, e)


# --- LED, Switch ---------------------------------------------------------
class LED:
    """LED(1) red, (2) green, (3) yellow, (4) blue."""

    def __init__(self, id):
        if not isinstance(id, int) or not 1 <= id <= 4:
            raise ValueError("LED(%s) doesn't exist" % (id,))
        self._id = id

    def on(self):
        board.leds[self._id - 1] = 255

    def off(self):
        board.leds[self._id - 1] = 0

    def toggle(self):
        i = self._id - 1
        board.leds[i] = 0 if board.leds[i] else 255

    def intensity(self, value=None):
        i = self._id - 1
        if value is None:
            return board.leds[i]
        if self._id < 3:
            board.leds[i] = 255 if value > 0 else 0
        else:
            board.leds[i] = max(0, min(255, value))
        return None


class Switch:
    """The USR button: value() is True while pressed."""

    def __init__(self):
        pass

    def value(self):
        return board.switch_pressed

    def __call__(self):
        return board.switch_pressed

    def callback(self, fun):
        if fun is not None and not callable(fun):
            raise ValueError("callback must be None or a callable object")
        board.switch_callback = fun


# --- Timer ---------------------------------------------------------------
class TimerChannel:
    def __init__(self, timer, channel, mode, pin, pulse_width_percent):
        self._timer = timer
        self._channel = channel
        self._mode = mode
        self._pin = pin
        self._percent = pulse_width_percent or 0
        self._cb = None

    def pulse_width_percent(self, value=None):
        if value is None:
            return self._percent
        self._percent = value
        return None

    def callback(self, fun):
        self._cb = fun


class Timer:
    """Hardware timer; callbacks run at the timer rate on the virtual clock."""

    UP = 0
    DOWN = 16
    CENTER = 32
    PWM = 0
    PWM_INVERTED = 1
    OC_TIMING = 2
    OC_ACTIVE = 3
    OC_INACTIVE = 4
    OC_TOGGLE = 5
    OC_FORCED_ACTIVE = 6
    OC_FORCED_INACTIVE = 7
    IC = 8
    ENC_A = 9
    ENC_B = 10
    ENC_AB = 11
    HIGH = 0
    LOW = 2
    RISING = 0
    FALLING = 2
    BOTH = 10
    BRK_OFF = 0
    BRK_LOW = 1
    BRK_HIGH = 2

    def __new__(cls, id, **kwargs):
        if not isinstance(id, int) or not 1 <= id <= 14:
            raise ValueError("Timer(%s) doesn't exist" % (id,))
        return _shared(cls, Timer, id)

    def __init__(self, id, **kwargs):
        if _first(self):
            self._id = id
            self._cb = None
            self._due = None
            self._psc = 1
            self._per = 1
            self._k = 0
            self._start = 0
            self._hard = True
            self.fired = 0
        if kwargs:
            self.init(**kwargs)

    def source_freq(self):
        # APB2 timers run from 168 MHz, APB1 timers from 84 MHz.
        return 168000000 if self._id in (1, 8, 9, 10, 11) else 84000000

    def _max_count(self):
        return 0xFFFFFFFF if self._id in (2, 5) else 0xFFFF

    def init(self, *, freq=None, prescaler=None, period=None, mode=0, div=1,
             callback=None, deadtime=0, brk=0, hard=True):
        board.hw_enter()  # the firmware does not allocate here
        try:
            # hard=False: the callback is scheduled (micropython.schedule)
            # and runs later in the main program, heap unlocked (timer.c
            # pyb_timer_init_helper, shared/runtime/mpirq.c mp_irq_dispatch)
            self._hard = hard
            self._init(freq, prescaler, period, mode, callback)
        finally:
            board.hw_exit()

    def _init(self, freq, prescaler, period, mode, callback):
        src = self.source_freq()
        if freq is not None:
            if freq <= 0:
                raise ValueError("must have positive freq")
            ticks = int(src / freq)
            if ticks < 1:
                ticks = 1
            psc = 1
            while ticks > self._max_count():
                psc <<= 1
                ticks >>= 1
            if psc > 0x10000:
                raise ValueError("freq too small")
            self._psc, self._per = psc, ticks
        elif prescaler is not None and period is not None:
            if period > self._max_count():
                raise ValueError("period too large")
            self._psc, self._per = prescaler + 1, period + 1
        else:
            raise TypeError("must specify either freq, period, or prescaler and period")
        if mode not in (Timer.UP, Timer.DOWN, Timer.CENTER):
            raise ValueError("invalid mode (%d)" % mode)
        board.catch_up()
        self._start = board.now
        self._k = 0
        self._due = self._due_at(1)
        board.timers[self._id] = self
        self.callback(callback)

    def _due_at(self, k):
        return self._start + (k * self._psc * self._per * NS_PER_S) // self.source_freq()

    def _fire(self):
        self._k += 1
        self.fired += 1
        self._due = self._due_at(self._k + 1)
        if self._cb is not None and not board.irq_enabled:
            board.hold_irq(self)  # taken by enable_irq
        else:
            self._call()

    def _call(self):
        cb = self._cb
        if cb is not None and not self._hard:
            board.run_soft(cb, self)
        elif cb is not None:
            try:
                board.run_irq(cb, self)
            except Exception as e:
                # ports/stm32/timer.c timer_handle_irq_channel: mp_irq_dispatch
                # prints the exception, the callback is disabled, the main
                # program carries on.
                self._cb = None
                board.irq_failed("Uncaught exception in IRQ callback handler", e)

    def callback(self, fun):
        if fun is not None and not callable(fun):
            raise ValueError("callback must be None or a callable object")
        self._cb = fun
        board.irq_changed()

    def deinit(self):
        self._cb = None
        self._due = None
        if board.timers.get(self._id) is self:
            del board.timers[self._id]

    def freq(self, value=None):
        if value is None:
            return self.source_freq() // (self._psc * self._per)
        cb = self._cb
        self.init(freq=value, callback=cb)
        return None

    def prescaler(self, value=None):
        if value is None:
            return self._psc - 1
        self._psc = value + 1
        return None

    def period(self, value=None):
        if value is None:
            return self._per - 1
        self._per = value + 1
        return None

    def counter(self, value=None):
        if value is None:
            elapsed = board.now - self._start
            ticks = elapsed * self.source_freq() // (self._psc * NS_PER_S)
            return ticks % self._per
        return None

    def channel(self, channel, mode=None, pin=None, *, pulse_width_percent=None, **kw):
        if not 1 <= channel <= 4:
            raise ValueError("invalid channel (%d)" % channel)
        return TimerChannel(self, channel, mode, pin, pulse_width_percent)

    def _period_ns(self):
        return self._psc * self._per * NS_PER_S / self.source_freq()


def _sample_period_ns(timer):
    if isinstance(timer, Timer):
        if timer._due is None:
            raise ValueError("Timer is not initialised")
        return timer._period_ns()
    if isinstance(timer, (int, float)) and timer > 0:
        return NS_PER_S / timer
    raise ValueError("need a Timer object")


# --- ADC -----------------------------------------------------------------
class ADC:
    """12-bit ADC on a pin with an analog input, or an internal channel."""

    CONV_NS = 643  # one 12-bit conversion: 27 ADC clocks at 42 MHz

    def __init__(self, pin):
        if isinstance(pin, int):
            if not 0 <= pin <= 18:
                raise ValueError("not a valid ADC Channel: %d" % pin)
            self._channel = pin
            self._cpu = None
            for cpu, ch in pins.ADC_CHANNELS.items():
                if ch == pin:
                    self._cpu = cpu
            return
        cpu = pins.cpu_name(pin)
        if cpu not in pins.ADC_CHANNELS:
            raise ValueError("Pin(%s) doesn't have ADC capabilities" % cpu)
        self._cpu = cpu
        self._channel = pins.ADC_CHANNELS[cpu]
        board.own((cpu,), "ADC")  # adc.c: the pin becomes an analog input

    def _raw(self):
        ch = self._channel
        if ch == pins.ADC_CHANNEL_VREFINT:
            return int(1.21 * 4095 / board.vdda + 0.5)
        if ch == pins.ADC_CHANNEL_TEMP:
            return int((0.76 + (board.core_temp - 25) * 0.0025) * 4095 / board.vdda + 0.5)
        if ch == pins.ADC_CHANNEL_VBAT:
            return int(board.vbat / 2 * 4095 / board.vdda + 0.5)
        if self._cpu is None:
            return 0
        return board.adc_raw(self._cpu)

    def read(self):
        """One 12-bit conversion (0..4095). Safe in an interrupt handler.
        The firmware turns the ADC on for it and off after it (adc.c
        adc_read_channel: HAL_ADC_Start .. HAL_ADC_Stop)."""
        value = board.adc_raw_fixed(self._cpu)
        if value < 0:
            board.hw_enter()
            try:
                value = self._raw()
                board.keep_fixed(self._cpu, value)
            finally:
                board.hw_exit()
        board.adc_on = False
        return value

    def read_timed(self, buf, timer):
        """Fill ``buf`` with samples taken at the rate of ``timer`` (Timer or Hz)."""
        board.check_alloc()
        board.hw_enter()  # the firmware does not allocate here
        try:
            ADC._timed((self,), (buf,), timer)
        finally:
            board.hw_exit()

    @staticmethod
    def read_timed_multi(adcs, bufs, timer):
        """Sample several ADCs together at the timer rate into matching buffers."""
        board.check_alloc()
        board.hw_enter()  # the firmware does not allocate here
        try:
            return ADC._timed(adcs, bufs, timer)
        finally:
            board.hw_exit()

    @staticmethod
    def _timed(adcs, bufs, timer):
        board.adc_on = False  # HAL_ADC_Stop at the end (adc.c)
        if len(adcs) < 1:
            raise ValueError("need at least 1 ADC")
        if len(adcs) != len(bufs):
            raise ValueError("length of ADC and buffer lists differ")
        n = len(bufs[0])
        eight = _is_8bit(bufs[0]) if n else False
        for b in bufs:
            if len(b) != n or (n and _is_8bit(b) != eight):
                raise ValueError("size and type of buffers must match")
        period = _sample_period_ns(timer)
        # ports/stm32/adc.c adc_read_timed(_multi): wait for the timer's
        # update flag (or go on at once when it is already set: late), clear
        # it, then convert each ADC in turn. A conversion takes 15 + 12 ADC
        # clocks at 42 MHz (PCLK2 / 2; RM0090 13.5): CONV_NS. Sample k starts
        # at the first tick after the previous one, or right after the
        # previous conversions if a tick came while they ran. The call is taken
        # to start on a tick (sample 0 at once).
        start = board.now
        on_time = True
        t = start
        for i in range(n):
            if i:
                k = int((t - start) // period) + 1  # the next tick after t
                tick = start + int(k * period)
                end = t + len(adcs) * ADC.CONV_NS
                if tick <= end:
                    on_time = False
                    t = end
                else:
                    t = tick
            board.advance_to(t)
            for j in range(len(adcs)):
                v = adcs[j]._raw()
                bufs[j][i] = v >> 4 if eight else v
                board.advance(ADC.CONV_NS)
        # The call returns at the tick after the last sample, as before.
        board.advance_to(max(t + len(adcs) * ADC.CONV_NS, start + int(n * period)))
        return on_time


class ADCAll:
    """All ADC channels, with the internal temperature, VBAT and VREF."""

    _VREFIN_CAL = int(1.21 * 4095 / 3.3 + 0.5)  # factory value at VDDA = 3.3 V

    def __init__(self, resolution, mask=0xFFFFFFFF):
        if resolution not in (6, 8, 10, 12):
            raise ValueError("resolution %d not supported" % resolution)
        self._bits = resolution
        self._refcor = 1.0

    def _scaled(self, raw12):
        return raw12 >> (12 - self._bits)

    def read_channel(self, channel):
        if not 0 <= channel <= 18:
            raise ValueError("not a valid ADC Channel: %d" % channel)
        return self._scaled(ADC(channel)._raw())

    def read_core_temp(self):
        raw = ADC(pins.ADC_CHANNEL_TEMP)._raw()
        return (raw * 3.3 / 4095 * self._refcor - 0.76) / 0.0025 + 25

    def read_core_vbat(self):
        raw = ADC(pins.ADC_CHANNEL_VBAT)._raw()
        return raw * 2 * 3.3 / 4095 * self._refcor

    def read_core_vref(self):
        """Factory-calibrated internal reference (V); updates the correction."""
        raw = ADC(pins.ADC_CHANNEL_VREFINT)._raw()
        self._refcor = ADCAll._VREFIN_CAL / raw
        return ADCAll._VREFIN_CAL * 3.3 / 4095

    def read_vref(self):
        """The supply VDDA (V) measured against the internal reference."""
        self.read_core_vref()
        return 3.3 * self._refcor


# --- DAC -----------------------------------------------------------------
class DAC:
    """DAC channel 1 (X5) or 2 (X6), 8 or 12 bits."""

    NORMAL = 0
    CIRCULAR = 256

    def __new__(cls, port, *args, **kwargs):
        if isinstance(port, int):
            if port not in (1, 2):
                raise ValueError("DAC(%d) doesn't exist" % port)
            ch = port
        else:
            cpu = pins.cpu_name(port)
            if cpu not in pins.DAC_PINS:
                raise ValueError("Pin(%s) doesn't have DAC capabilities" % cpu)
            ch = pins.DAC_PINS[cpu]
        return _shared(cls, DAC, ch)

    def __init__(self, port, bits=8, *, buffering=None):
        if _first(self):
            self._ch = self._channel(port)
        self.init(bits, buffering=buffering)

    @staticmethod
    def _channel(port):
        return port if isinstance(port, int) else pins.DAC_PINS[pins.cpu_name(port)]

    def init(self, bits=8, *, buffering=None):
        if bits not in (8, 12):
            raise ValueError("unsupported bits")
        self._bits = bits
        trace = board.dacs[self._ch]
        # ports/stm32/dac.c: None keeps the legacy defaults (single writes
        # unbuffered, waveforms buffered); True/False set both.
        trace.buffered_single = bool(buffering)
        trace.buffered_wave = buffering is None or bool(buffering)
        board.pin_modes["A4" if self._ch == 1 else "A5"] = (Pin.ANALOG, 0, -1)
        board.own(("A4" if self._ch == 1 else "A5",), "DAC")

    def deinit(self):
        board.dacs[self._ch].stop(board.now)

    def write(self, value):
        """Output a raw value (0..255 or 0..4095). Safe in an interrupt handler."""
        board.hw_enter()
        try:
            board.dacs[self._ch].write(board.now, value & (0xFFF if self._bits == 12 else 0xFF),
                                       self._bits)
        finally:
            board.hw_exit()

    def write_timed(self, data, freq, *, mode=0):
        """Play ``data`` by DMA at ``freq`` (Hz or Timer), once or in a loop."""
        if isinstance(freq, Timer):
            if freq._id not in (2, 4, 5, 6, 7, 8):
                raise ValueError("Timer does not support DAC triggering")
        period = _sample_period_ns(freq)
        if mode not in (DAC.NORMAL, DAC.CIRCULAR):
            raise ValueError("invalid mode")
        if len(data) == 0:
            return
        board.dacs[self._ch].play(board.now, data, int(period), mode == DAC.CIRCULAR, self._bits)

    def triangle(self, freq):
        self._wave(freq, [i * 4095 // 1024 for i in range(1024)] +
                   [4095 - i * 4095 // 1024 for i in range(1024)])

    def noise(self, freq):
        x = 0xACE1
        vals = []
        for _ in range(1024):
            x = ((x >> 1) ^ (-(x & 1) & 0xB400)) & 0xFFFF
            vals.append(x & 0xFFF)
        self._wave(freq, vals)

    def _wave(self, freq, vals):
        bits = self._bits
        if bits == 8:
            vals = [v >> 4 for v in vals]
        board.dacs[self._ch].play(board.now, vals, int(NS_PER_S / freq), True, bits)


# --- I2C -----------------------------------------------------------------
class I2C:
    """I2C bus 1 ('X': X9 SCL, X10 SDA) or 2 ('Y': Y9 SCL, Y10 SDA)."""

    CONTROLLER = 0
    MASTER = 0
    PERIPHERAL = 1
    SLAVE = 1

    def __new__(cls, *args, **kwargs):
        if cls is not I2C:
            return _shared(cls, None, 0)
        return _shared(cls, I2C, pins.i2c_bus_id(args[0] if args else kwargs.get("bus")))

    def __init__(self, bus, mode=None, *, addr=0x12, baudrate=400000, gencall=False, dma=False):
        if _first(self):
            self._bus = pins.i2c_bus_id(bus)
            self._mode = None
            self._baud = baudrate
        if mode is not None:
            self.init(mode, addr=addr, baudrate=baudrate, gencall=gencall, dma=dma)

    def init(self, mode, *, addr=0x12, baudrate=400000, gencall=False, dma=False):
        board.hw_enter()  # the firmware does not allocate here
        try:
            if mode not in (I2C.CONTROLLER, I2C.PERIPHERAL):
                raise ValueError("invalid mode")
            if baudrate > 400000:
                raise ValueError("unsupported I2C baudrate: %u" % baudrate)
            self._mode = mode
            self._baud = baudrate
            board.own(pins.I2C_PINS[self._bus], "I2C%d" % self._bus)  # SCL, SDA
        finally:
            board.hw_exit()

    def deinit(self):
        self._mode = None

    def __repr__(self):
        if self._mode is None:
            return "I2C(%d)" % self._bus
        return "I2C(%d, I2C.CONTROLLER, baudrate=%d)" % (self._bus, self._baud)

    def _controller(self):
        if self._mode != I2C.CONTROLLER:
            raise TypeError("I2C must be a controller")

    def _device(self, addr, nbytes):
        board.advance((nbytes + 1) * 9 * NS_PER_S // self._baud)
        faults = board.i2c_faults.get(addr, 0)
        if faults:
            board.i2c_faults[addr] = faults - 1
            raise OSError(errno.EIO)
        dev = board.i2c_devices[self._bus].get(addr)
        if dev is None or not dev.i2c_ack() or not board.owns(pins.I2C_PINS[self._bus],
                                                               "I2C%d" % self._bus):
            raise OSError(errno.EIO)
        return dev

    def scan(self):
        self._controller()
        found = []
        wired = board.owns(pins.I2C_PINS[self._bus], "I2C%d" % self._bus)
        for addr in range(0x08, 0x78):
            dev = board.i2c_devices[self._bus].get(addr)
            if wired and dev is not None and dev.i2c_ack():
                found.append(addr)
        board.advance(0x70 * 9 * NS_PER_S // self._baud)
        return found

    def is_ready(self, addr):
        self._controller()
        # pyb_i2c.c: up to 10 calls of HAL_I2C_IsDeviceReady(addr, 10 trials);
        # each trial is a START, the address byte and a STOP on the bus.
        trial = 10 * NS_PER_S // self._baud
        for _ in range(100):
            board.advance(trial)
            dev = board.i2c_devices[self._bus].get(addr)
            if dev is not None and dev.i2c_ack():
                return True
        return False

    def send(self, send, addr=0x00, *, timeout=5000):
        self._controller()
        board.hw_enter()  # the firmware sends from the caller's buffer
        try:
            data = _as_bytes(send)
            self._device(addr, len(data)).i2c_write(data)
        finally:
            board.hw_exit()

    def recv(self, recv, addr=0x00, *, timeout=5000):
        self._controller()
        if isinstance(recv, int):
            # through the buffer path: one simulated operation, which an
            # interrupt callback does not cut in two (pyb_sim.preempt)
            board.check_alloc()
            return bytes(self.recv(bytearray(recv), addr, timeout=timeout))
        board.hw_enter()
        try:
            n = len(recv)
            _fill(recv, self._device(addr, n).i2c_read(n), n)
        finally:
            board.hw_exit()
        return recv

    @staticmethod
    def _memaddr(memaddr, addr_size):
        if addr_size == 8:
            return bytes((memaddr & 0xFF,))
        return bytes(((memaddr >> 8) & 0xFF, memaddr & 0xFF))

    def mem_read(self, data, addr, memaddr, *, timeout=5000, addr_size=8):
        self._controller()
        if isinstance(data, int):
            board.check_alloc()  # then one operation, as recv
            return bytes(self.mem_read(bytearray(data), addr, memaddr, timeout=timeout,
                                       addr_size=addr_size))
        board.hw_enter()
        try:
            n = len(data)
            dev = self._device(addr, n + addr_size // 8)
            dev.i2c_write(I2C._memaddr(memaddr, addr_size))
            _fill(data, dev.i2c_read(n), n)
        finally:
            board.hw_exit()
        return data

    def mem_write(self, data, addr, memaddr, *, timeout=5000, addr_size=8):
        self._controller()
        board.hw_enter()
        try:
            payload = _as_bytes(data)
            dev = self._device(addr, len(payload) + addr_size // 8)
            dev.i2c_write(I2C._memaddr(memaddr, addr_size) + payload)
        finally:
            board.hw_exit()


# --- SPI -----------------------------------------------------------------
class SPI:
    """SPI bus 1 ('X': X5 NSS, X6 SCK, X7 MISO, X8 MOSI) or 2 ('Y': Y5..Y8)."""

    CONTROLLER = 260
    MASTER = 260
    PERIPHERAL = 0
    SLAVE = 0
    MSB = 0
    LSB = 128

    def __new__(cls, *args, **kwargs):
        if cls is not SPI:
            return _shared(cls, None, 0)
        return _shared(cls, SPI, pins.spi_bus_id(args[0] if args else kwargs.get("bus")))

    def __init__(self, bus, mode=None, baudrate=328125, *, prescaler=None, polarity=1, phase=0,
                 dir=0, bits=8, nss=0, firstbit=0, ti=False, crc=None):
        if _first(self):
            self._bus = pins.spi_bus_id(bus)
            self._mode = None
            self._baud = baudrate
        if mode is not None:
            self.init(mode, baudrate, prescaler=prescaler, polarity=polarity, phase=phase,
                      bits=bits, firstbit=firstbit, ti=ti, crc=crc)

    def init(self, mode, baudrate=328125, *, prescaler=None, polarity=1, phase=0, dir=0,
             bits=8, nss=0, firstbit=0, ti=False, crc=None):
        board.hw_enter()  # the firmware does not allocate here
        try:
            self._init(mode, baudrate, prescaler, polarity, phase, bits, firstbit)
        finally:
            board.hw_exit()

    def _init(self, mode, baudrate, prescaler, polarity, phase, bits, firstbit):
        if mode not in (SPI.CONTROLLER, SPI.PERIPHERAL):
            raise ValueError("invalid mode")
        if polarity not in (0, 1) or phase not in (0, 1):
            raise ValueError("invalid polarity or phase")
        if bits not in (8, 16):
            raise ValueError("invalid bits")
        if firstbit not in (SPI.MSB, SPI.LSB):
            raise ValueError("invalid firstbit")
        # SPI1 runs from APB2 (84 MHz), SPI2 from APB1 (42 MHz); the
        # firmware picks the power-of-two prescaler (2..256) that does not
        # exceed the requested rate.
        src = 84000000 if self._bus == 1 else 42000000
        if prescaler is None:
            prescaler = 2
            while prescaler < 256 and src // prescaler > baudrate:
                prescaler *= 2
        self._baud = src // prescaler
        self._mode = mode
        if self._bus in pins.SPI_PINS:  # spi.c spi_init: SCK, MISO, MOSI
            board.own(pins.SPI_PINS[self._bus][1:], "SPI%d" % self._bus)
        self._polarity = polarity
        self._phase = phase
        self._bits = bits
        self._firstbit = firstbit

    def deinit(self):
        self._mode = None

    def __repr__(self):
        if self._mode is None:
            return "SPI(%d)" % self._bus
        return "SPI(%d, SPI.CONTROLLER, baudrate=%d, polarity=%d, phase=%d)" % (
            self._bus, self._baud, self._polarity, self._phase)

    def _exchange(self, out):
        if self._mode is None:
            raise OSError(errno.EPERM)
        board.advance(len(out) * 8 * NS_PER_S // self._baud)
        result = None
        if self._bus in pins.SPI_PINS and not board.owns(pins.SPI_PINS[self._bus][1:],
                                                         "SPI%d" % self._bus):
            return (b"\xff" if self._polarity else b"\x00") * len(out)  # pins taken
        for cpu, model in board.spi_devices.get(self._bus, ()):
            if board.pin_levels.get(cpu, 1) == 0:
                got = model.spi_transfer(
                    out, (self._polarity, self._phase, self._firstbit, self._baud))
                if result is None:
                    result = bytearray(got)
                else:  # two devices selected at once fight on MISO
                    for i in range(len(result)):
                        result[i] &= got[i]
        if result is None:
            # Nothing drives MISO: the firmware pulls the bus pins down for
            # polarity 0 and up for polarity 1 (ports/stm32/spi.c spi_init).
            return (b"\xff" if self._polarity else b"\x00") * len(out)
        return result

    def send(self, send, *, timeout=5000):
        board.hw_enter()
        try:
            self._exchange(_as_bytes(send))
        finally:
            board.hw_exit()

    def recv(self, recv, *, timeout=5000):
        if isinstance(recv, int):
            board.check_alloc()  # then one operation (I2C.recv)
            return bytes(self.recv(bytearray(recv)))
        board.hw_enter()
        try:
            n = len(recv)
            _fill(recv, self._exchange(bytes(n)), n)
        finally:
            board.hw_exit()
        return recv

    def send_recv(self, send, recv=None, *, timeout=5000):
        if isinstance(send, int):
            board.check_alloc()  # then one operation (I2C.recv)
            return bytes(self.recv(bytearray(send)))
        if recv is None:
            board.check_alloc()
            return bytes(self.send_recv(send, bytearray(len(send))))
        if len(recv) != len(send):
            raise ValueError("recv must be same length as send")
        board.hw_enter()
        try:
            n = len(send)
            _fill(recv, self._exchange(bytes(send)), n)
        finally:
            board.hw_exit()
        return recv

    # machine.SPI-style methods, which pyb.SPI also has
    def write(self, buf):
        self.send(buf)

    def read(self, nbytes, write=0x00):
        board.check_alloc()  # then one operation (I2C.recv)
        buf = bytearray(nbytes)
        self.readinto(buf, write)
        return bytes(buf)

    def readinto(self, buf, write=0x00):
        board.hw_enter()
        try:
            n = len(buf)
            _fill(buf, self._exchange(bytes((write,)) * n), n)
        finally:
            board.hw_exit()

    def write_readinto(self, write_buf, read_buf):
        self.send_recv(write_buf, read_buf)


# --- UART ----------------------------------------------------------------
class UART:
    """UART 1..4, 6 or by name 'XA' (4), 'XB' (1), 'YA' (6), 'YB' (3)."""

    RTS = 256
    CTS = 512
    IRQ_RX = 32
    IRQ_RXIDLE = 16

    def __new__(cls, *args, **kwargs):
        if cls is not UART:
            return _shared(cls, None, 0)
        return _shared(cls, UART, pins.uart_bus_id(args[0] if args else kwargs.get("bus")))

    def __init__(self, bus, baudrate=None, bits=8, parity=None, stop=1, *, timeout=0, flow=0,
                 timeout_char=0, rxbuf=None, read_buf_len=64):
        if _first(self):
            self._bus = pins.uart_bus_id(bus)
            self._line = board.uart_line(self._bus)
            self._init = False
        if baudrate is not None:
            self.init(baudrate, bits, parity, stop, timeout=timeout, flow=flow,
                      timeout_char=timeout_char, rxbuf=rxbuf, read_buf_len=read_buf_len)

    def init(self, baudrate, bits=8, parity=None, stop=1, *, timeout=0, flow=0,
             timeout_char=0, rxbuf=None, read_buf_len=64):
        if not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError("set baudrate %s is not within 5%% of desired value" % (baudrate,))
        if baudrate > 10500000:
            raise ValueError("set baudrate %d is not within 5%% of desired value" % baudrate)
        if parity not in (None, 0, 1):
            raise ValueError("invalid parity")
        if (bits, parity is None) not in ((8, True), (7, False), (8, False), (9, True)):
            raise ValueError("unsupported combination of bits and parity")
        if stop not in (1, 2):
            raise ValueError("invalid stop bits")
        if flow & ~(UART.RTS | UART.CTS):
            raise ValueError("invalid flow")
        if timeout < 0 or timeout_char < 0:
            raise ValueError("invalid timeout")
        line = self._line
        line.baudrate = baudrate
        frame_bits = 1 + bits + (0 if parity is None else 1) + stop
        line.char_ns = frame_bits * NS_PER_S // baudrate
        line.rxbuf = rxbuf if rxbuf is not None else read_buf_len
        line.rx = bytearray()
        self._timeout = timeout
        # The firmware makes timeout_char at least two character times.
        min_char = (2 * frame_bits * 1000 + baudrate - 1) // baudrate
        self._timeout_char = max(timeout_char, min_char)
        self._init = True
        board.own(pins.UART_PINS[self._bus], "UART%d" % self._bus)  # uart.c: TX, RX

    def deinit(self):
        self._init = False

    def __repr__(self):
        return "UART(%d, baudrate=%d)" % (self._bus, self._line.baudrate)

    def _ready(self):
        if not self._init:
            raise OSError(errno.EPERM)
        return self._line

    def any(self):
        line = self._ready()
        line.settle(board.now)
        return len(line.rx)

    def _wait_for(self, want, stop_at_newline):
        """Wait (virtual time) until ``want`` bytes or a newline are buffered."""
        line = self._ready()
        deadline = board.now + self._timeout * NS_PER_MS
        seen = -1
        while True:
            line.settle(board.now)
            have = len(line.rx)
            if have >= want or (stop_at_newline and b"\n" in line.rx):
                return
            if have != seen:
                if seen >= 0:
                    deadline = board.now + self._timeout_char * NS_PER_MS
                seen = have
            nxt = line.next_arrival()
            if nxt is None or nxt > deadline:
                board.advance_to(deadline)
                line.settle(board.now)
                return
            board.advance_to(nxt)

    def _take(self, n):
        line = self._line
        data = bytes(line.rx[:n])
        line.rx = line.rx[n:]
        return data

    def read(self, nbytes=None):
        board.check_alloc()
        self._wait_for(nbytes if nbytes is not None else 1 << 30, False)
        n = len(self._line.rx) if nbytes is None else min(nbytes, len(self._line.rx))
        if n == 0:
            return None
        return self._take(n)

    def readinto(self, buf, nbytes=None):
        board.hw_enter()
        try:
            want = len(buf) if nbytes is None else min(nbytes, len(buf))
            self._wait_for(want, False)
            rx = self._line.rx
            n = min(want, len(rx))
            _fill(buf, rx, n)
            self._line.rx = rx[n:]
        finally:
            board.hw_exit()
        return n if n else None

    def readline(self):
        board.check_alloc()
        self._wait_for(1 << 30, True)
        rx = self._line.rx
        if not rx:
            return None
        i = rx.find(b"\n")
        return self._take(len(rx) if i < 0 else i + 1)

    def readchar(self):
        self._wait_for(1, False)
        rx = self._line.rx
        if not rx:
            return -1
        c = rx[0]
        self._line.rx = rx[1:]
        return c

    def write(self, buf):
        line = self._ready()
        board.hw_enter()
        try:
            data = _as_bytes(buf)
            n = len(data)
            start = board.now
            if board.owns(pins.UART_PINS[self._bus], "UART%d" % self._bus):
                line.tx.extend(data)
                if line.loopback and n:
                    line.feed(data, start + line.char_ns)
            else:
                n = 0  # its TX pin drives another peripheral: nothing goes out
            board.advance(len(data) * line.char_ns)
            if line.model is not None and n:
                line.model.uart_receive(data, line, board)
            n = len(data)
        finally:
            board.hw_exit()
        return n

    def writechar(self, char):
        self.write(bytes((char & 0xFF,)))

    def sendbreak(self):
        self._ready()

    def flush(self):
        self._ready()

    def txdone(self):
        return True

    def irq(self, handler=None, trigger=0, hard=False):
        return None


# --- USB_VCP -------------------------------------------------------------
_USB_ALWAYS_WAIT_NS = 500 * NS_PER_MS  # usbd_cdc_interface.c usbd_cdc_tx_always


def _usb_wait(ns):
    """Let up to ``ns`` of board time pass, in the firmware's 1 ms SysTick
    wake-ups, until the USB transmit buffer has room; that room (0: none)."""
    usb = board.usb
    end = board.now + ns
    while board.now < end:
        board.advance_to(min(board.now + NS_PER_MS, end))
        k = usb.room()
        if k:
            return k
    return 0


class USB_VCP:
    """The USB virtual COM port; the host side is ``board.usb``."""

    RTS = 1
    CTS = 2
    IRQ_RX = 1

    def __init__(self, id=0):
        if id != 0:
            raise ValueError("USB_VCP(%d) doesn't exist" % id)

    def init(self, *, flow=-1):
        """``flow=USB_VCP.CTS``: ``write`` takes only what fits in the
        transmit buffer, at once (usb.c pyb_usb_vcp_init)."""
        if flow != -1:
            board.usb.flow = flow

    def setinterrupt(self, chr):
        board.usb.interrupt_char = chr

    def isconnected(self):
        return board.usb.connected

    def any(self):
        return len(board.usb.to_board) > 0

    def read(self, nbytes=None):
        buf = board.usb.to_board
        if not buf:
            return None
        n = len(buf) if nbytes is None else min(nbytes, len(buf))
        data = bytes(buf[:n])
        board.usb.to_board = buf[n:]
        return data

    def readinto(self, b, nbytes=None):
        buf = board.usb.to_board
        if not buf:
            return None
        n = min(len(b) if nbytes is None else nbytes, len(buf))
        _fill(b, buf, n)
        board.usb.to_board = buf[n:]
        return n

    def readline(self):
        buf = board.usb.to_board
        if not buf:
            return None
        i = buf.find(b"\n")
        return self.read(len(buf) if i < 0 else i + 1)

    def readlines(self):
        lines = []
        while board.usb.to_board:
            lines.append(self.readline())
        return lines

    def write(self, buf, *args):
        """As the firmware's stream write (usb.c pyb_usb_vcp_write,
        usbd_cdc_interface.c usbd_cdc_tx_flow): ``write(buf[, max_len])`` or
        ``write(buf, off, max_len)``.

        Without CTS flow (the default on the REPL's port) every byte goes
        into the 1 KB transmit buffer and the count of all is returned: with
        the buffer full, each byte waits up to 500 ms for the host and then
        overwrites the oldest unsent byte; with no host (DTR low) it
        overwrites at once (``usbd_cdc_tx_always``). With
        ``init(flow=USB_VCP.CTS)`` only what fits goes, at once, and the
        count is returned, None when nothing fitted (``usbd_cdc_tx``,
        timeout 0; EAGAIN)."""
        board.hw_enter()
        try:
            data = _as_bytes(buf)
            if args:
                off = 0 if len(args) == 1 else min(args[0], len(data))
                data = data[off:off + args[-1]]
            usb = board.usb
            n = len(data)
            if usb.flow & USB_VCP.CTS:
                k = min(n, usb.room())
                usb.put(data[:k], False)
                return k if k or not n else None
            i = 0
            while i < n:
                k = usb.room()
                if not k and usb.connected:
                    k = _usb_wait(_USB_ALWAYS_WAIT_NS)
                if not k:  # no host, or no room after the wait: overwrite
                    k = n - i if not usb.connected else 1
                    usb.put(data[i:i + k], True)
                else:
                    k = min(k, n - i)
                    usb.put(data[i:i + k], False)
                i += k
            return n
        finally:
            board.hw_exit()

    def send(self, data, *, timeout=5000):
        """As usbd_cdc_tx: each byte waits up to ``timeout`` ms while the
        host has the port closed or the buffer is full; returns the count
        sent, fewer when a byte timed out. Never overwrites."""
        board.hw_enter()
        try:
            data = _as_bytes(data)
            usb = board.usb
            i = 0
            n = len(data)
            while i < n:
                k = usb.room() or _usb_wait(timeout * NS_PER_MS)
                if not k:
                    return i
                k = min(k, n - i)
                usb.put(data[i:i + k], False)
                i += k
            return n
        finally:
            board.hw_exit()

    def recv(self, data, *, timeout=5000):
        if isinstance(data, int):
            return self.read(data) or b""
        return self.readinto(data) or 0

    def irq(self, handler=None, trigger=1, hard=False):
        return None

    def close(self):
        pass
