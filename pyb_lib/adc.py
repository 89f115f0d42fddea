"""Analog inputs on the PyBoard v1.1: raw counts, calibrated volts,
oversampling, the core temperature and timed capture.

    from pyb_lib.adc import AnalogIn
    x1 = AnalogIn("X1")
    x1.read()        # 0..4095
    x1.volts()       # against the internal reference, not an assumed 3.3 V

Analog pins: X1-X8, X11, X12, X19-X22, Y11, Y12.
"""

import pyb
from micropython import const

_FULL = const(4095)
_INTERNAL = const(0x70000)  # ADC channels 16 (temperature), 17 (VREFINT), 18 (VBAT)
_PINS = "X1-X8, X11, X12, X19-X22, Y11, Y12"

_BYTES = (bytes, bytearray, str)  # built once: a tuple display allocates
_SEQ = (tuple, list)
_adcall = None  # one pyb.ADCAll for the internal channels, made on first use
_timers: dict = {}  # timer id -> pyb.Timer, reused so that capture allocates nothing
_multi: list = [None, None]  # the last (inputs, ADC tuple) of read_timed_multi


def _internal():
    global _adcall
    if _adcall is None:
        _adcall = pyb.ADCAll(12, _INTERNAL)
    return _adcall


def supply_volts():
    """VDDA, the ADC's full scale (V), measured against the internal reference."""
    return _internal().read_vref()


def temperature():
    """The STM32's core temperature (deg C, +-1.5 C typical; not the air's)."""
    return _internal().read_core_temp()


def _is_u16(buf):
    """True if ``buf`` is an array('H'); restores its first element."""
    old = buf[0]
    try:
        buf[0] = 0xFFFF
        ok = buf[0] == 0xFFFF
        if ok:
            try:
                buf[0] = 0x10000  # wraps to 0 in 'H' on MicroPython
                ok = buf[0] == 0
            except OverflowError:  # CPython refuses it for 'H'
                ok = True
    except (OverflowError, ValueError, TypeError):
        ok = False
    buf[0] = old
    return ok


def _check_buf(b, n):
    """Check ``b`` is an array('H') of ``n`` (> 0) elements; return n."""
    try:
        size = len(b)
    except TypeError:
        raise TypeError("buffers must be array('H'), not %s" % type(b).__name__)
    if n < 0:
        n = size
    if size != n:
        raise ValueError("buffers must be of equal length (%d and %d)" % (n, size))
    if size == 0:
        raise ValueError("buffers must not be empty")
    if isinstance(b, _BYTES) or not _is_u16(b):
        raise TypeError("buffers must be array('H'), not %s" % type(b).__name__)
    return n


def _check_bufs(bufs, count):
    if not isinstance(bufs, _SEQ) or len(bufs) != count:
        raise ValueError("need a tuple of %d buffers, one per input" % count)
    n = -1
    for b in bufs:
        n = _check_buf(b, n)


def _timer(timer_id, freq_hz):
    if not isinstance(freq_hz, int):
        raise TypeError("freq_hz must be an int, not %s" % type(freq_hz).__name__)
    if freq_hz < 1 or freq_hz > 1000000:
        raise ValueError("freq_hz %d out of range 1..1000000" % freq_hz)
    tim = _timers.get(timer_id)
    if tim is None:
        tim = pyb.Timer(timer_id)
        _timers[timer_id] = tim
    tim.init(freq=freq_hz)
    return tim


class AnalogIn:
    """A 12-bit analog input on a pin ('X1', pyb.Pin.board.X1, ...)."""

    def __init__(self, pin):
        try:
            self._adc = pyb.ADC(pin)
        except ValueError as e:
            raise ValueError("pin %s has no ADC (%s); analog pins: %s" % (pin, e, _PINS))
        self.pin = pin
        self._vdda = 3.3
        self.calibrate()

    def __repr__(self):
        return "<AnalogIn %s>" % (self.pin,)

    def calibrate(self):
        """Measure VDDA again against the internal reference; return it (V)."""
        self._vdda = supply_volts()
        return self._vdda

    @property
    def vdda(self):
        """The full-scale voltage (V) of the last calibration."""
        return self._vdda

    def read(self):
        """One conversion, 0..4095. Allocates nothing."""
        return self._adc.read()

    def read_mean(self, n=16):
        """The mean of ``n`` conversions (rounded, 0..4095). Allocates nothing."""
        if not isinstance(n, int) or n < 1 or n > 65536:
            raise ValueError("%r: n must be an int 1..65536, not %r" % (self, n))
        adc = self._adc
        total = 0
        for _ in range(n):
            total += adc.read()
        return (total + n // 2) // n

    def volts(self, n=1):
        """The input in volts: the mean of ``n`` conversions scaled by the
        calibrated VDDA (see calibrate())."""
        raw = self._adc.read() if n == 1 else self.read_mean(n)
        return raw * self._vdda / _FULL

    def to_volts(self, raw):
        """Convert a raw count (from read_timed, say) to volts."""
        return raw * self._vdda / _FULL

    def read_timed(self, buf, freq_hz, timer_id=6):
        """Fill the array('H') ``buf`` with conversions at ``freq_hz``, paced
        by pyb.Timer(timer_id); blocks len(buf) / freq_hz seconds. Allocates
        nothing once the timer has been made (first call)."""
        _check_buf(buf, -1)
        tim = _timer(timer_id, freq_hz)
        try:
            self._adc.read_timed(buf, tim)
        finally:
            tim.deinit()


def read_timed_multi(inputs, bufs, freq_hz, timer_id=6):
    """Sample every AnalogIn of the tuple ``inputs`` at each tick of
    pyb.Timer(timer_id) at ``freq_hz``, into the matching array('H') of
    ``bufs`` (same length each). Returns False if the firmware reports it
    could not keep up. Allocates nothing when called again with the same
    ``inputs`` tuple."""
    if not isinstance(inputs, tuple) or not inputs:
        raise TypeError("inputs must be a non-empty tuple of AnalogIn")
    _check_bufs(bufs, len(inputs))
    if _multi[0] is inputs:
        adcs = _multi[1]
    else:
        for a in inputs:
            if not isinstance(a, AnalogIn):
                raise TypeError("inputs must be AnalogIn, not %s" % type(a).__name__)
        adcs = tuple([a._adc for a in inputs])
        _multi[0] = inputs
        _multi[1] = adcs
    tim = _timer(timer_id, freq_hz)
    try:
        ok = pyb.ADC.read_timed_multi(adcs, bufs, tim)
    finally:
        tim.deinit()
    return ok
