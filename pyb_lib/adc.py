"""Analog inputs on the PyBoard v1.1: raw counts, calibrated volts,
oversampling, the core temperature and timed capture.

    from pyb_lib.adc import AnalogIn
    x1 = AnalogIn("X1")
    x1.read()        # 0..4095
    x1.volts()       # against the internal reference, not an assumed 3.3 V

Analog pins: X1-X8, X11, X12, X19-X22, Y11, Y12.
"""

import pyb
from pyb_lib._check import check, give, take

_timers: dict = {}  # timer id -> pyb.Timer, reused so that capture allocates nothing
# [0]: one pyb.ADCAll for the internal channels, made on first use;
# [1], [2]: the last inputs tuple of read_timed_multi and its pyb.ADC tuple.
_multi: list = [None, None, None]


def _internal():
    if _multi[0] is None:  # channels 16 (temperature), 17 (VREFINT), 18 (VBAT)
        _multi[0] = pyb.ADCAll(12, 0x70000)
    return _multi[0]


def supply_volts():
    """VDDA, the ADC's full scale (V), measured against the internal reference."""
    return _internal().read_vref()


def temperature():
    """The STM32's core temperature (deg C, +-1.5 C typical; not the air's)."""
    return _internal().read_core_temp()


def _capture(bufs, count, timer_id, freq_hz):
    """Check the capture buffers: ``bufs`` is one array('H') (``count`` 0)
    or a tuple of ``count`` of them, all of one length > 0; then start
    pyb.Timer(timer_id) at ``freq_hz`` and return it. Allocates nothing
    once that timer exists."""
    if count and (not (isinstance(bufs, tuple) or isinstance(bufs, list))
                  or len(bufs) != count):
        raise ValueError("need a tuple of %d buffers, one per input" % count)
    n = -1
    for i in range(count or 1):
        b = bufs[i] if count else bufs
        x = not (isinstance(b, bytes) or isinstance(b, bytearray) or isinstance(b, str))
        try:
            size = len(b)
        except TypeError:
            x = False
        if x:
            if n >= 0 and size != n:
                raise ValueError("buffers must be of equal length (%d and %d)" % (n, size))
            if not size:
                raise ValueError("buffers must not be empty")
            n = size
            # An array('H') keeps 0xFFFF and wraps 0x10000 to 0 (CPython: OverflowError).
            v = b[0]
            try:
                b[0] = 0xFFFF
                x = b[0] == 0xFFFF
                if x:
                    try:
                        b[0] = 0x10000
                        x = b[0] == 0
                    except OverflowError:
                        pass
            except (OverflowError, ValueError, TypeError):
                x = False
            b[0] = v
        if not x:
            raise TypeError("buffers must be array('H'), not %s" % type(b).__name__)
    check("", "freq_hz", freq_hz, 1, 1000000)
    timer = _timers.get(timer_id)
    if timer is None:
        timer = _timers[timer_id] = pyb.Timer(timer_id)
    timer.init(freq=freq_hz)
    return timer


class AnalogIn:
    """A 12-bit analog input on a pin ('X1', pyb.Pin.board.X1, ...)."""

    def __init__(self, pin):
        # the board name the pin is held under (pyb_lib._check.take)
        name = pin if isinstance(pin, str) else pin.names()[-1] if hasattr(pin, "names") else ""
        if name:
            take(name, "AnalogIn(%s)" % name, "analog input")
        try:
            self._hw = pyb.ADC(pin)
        except ValueError as e:
            give(name, "AnalogIn(%s)" % name)
            raise ValueError("pin %s has no ADC (%s); analog pins: "
                             "X1-X8, X11, X12, X19-X22, Y11, Y12" % (pin, e))
        self.pin = pin
        self._name = name
        self.calibrate()

    def deinit(self):
        """Let go of the pin, so that another pyb_lib object may take it."""
        give(self._name, "AnalogIn(%s)" % self._name)
        self._name = ""

    def __repr__(self):
        return "<AnalogIn %s>" % (self.pin,)

    def calibrate(self):
        """Measure VDDA again against the internal reference; return it (V).
        The attribute ``vdda`` keeps it: the full scale of the conversions."""
        self.vdda = supply_volts()
        return self.vdda

    def read(self):
        """One conversion, 0..4095. Allocates nothing."""
        return self._hw.read()

    def read_mean(self, n=16):
        """The mean of ``n`` conversions (rounded, 0..4095). Allocates nothing."""
        if type(n) is not int or not 1 <= n <= 65536:
            check(self, "n", n, 1, 65536)
        adc = self._hw  # (a bound method would allocate)
        v = 0
        for _ in range(n):
            v += adc.read()
        return (v + n // 2) // n

    def volts(self, n=1):
        """The input in volts: the mean of ``n`` conversions scaled by the
        calibrated VDDA (see calibrate())."""
        return self.to_volts(self._hw.read() if n == 1 else self.read_mean(n))

    def to_volts(self, raw):
        """Convert a raw count (from read_timed, say) to volts."""
        return raw * self.vdda / 4095

    def read_timed(self, buf, freq_hz, timer_id=6):
        """Fill the array('H') ``buf`` with conversions at ``freq_hz``, paced
        by pyb.Timer(timer_id); blocks len(buf) / freq_hz seconds. Allocates
        nothing once the timer has been made (first call)."""
        timer = _capture(buf, 0, timer_id, freq_hz)
        try:
            self._hw.read_timed(buf, timer)
        finally:
            timer.deinit()


def read_timed_multi(inputs, bufs, freq_hz, timer_id=6):
    """Sample every AnalogIn of the tuple ``inputs`` at each tick of
    pyb.Timer(timer_id) at ``freq_hz``, into the matching array('H') of
    ``bufs`` (same length each). Returns False if the firmware reports it
    could not keep up. Allocates nothing when called again with the same
    ``inputs`` tuple."""
    if not isinstance(inputs, tuple) or not inputs:
        raise TypeError("inputs must be a non-empty tuple of AnalogIn")
    if _multi[1] is not inputs:
        v = []
        for a in inputs:
            if not isinstance(a, AnalogIn):
                raise TypeError("inputs must be AnalogIn, not %s" % type(a).__name__)
            v.append(a._hw)
        _multi[1] = inputs
        _multi[2] = tuple(v)
    timer = _capture(bufs, len(inputs), timer_id, freq_hz)
    try:
        return pyb.ADC.read_timed_multi(_multi[2], bufs, timer)
    finally:
        timer.deinit()
