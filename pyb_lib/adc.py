"""Analog inputs on the PyBoard v1.1: raw counts, calibrated volts,
oversampling, the core temperature and timed capture.

    from pyb_lib.adc import AnalogIn
    x1 = AnalogIn("X1")
    x1.read()        # 0..4095
    x1.volts()       # against the internal reference, not an assumed 3.3 V

Analog pins: X1-X8, X11, X12, X19-X22, Y11, Y12. Timed capture lives in
``pyb_lib._capture``, imported at its first use.
"""

import machine

import pyb
from pyb_lib._check import check, give, make

_all = None  # one pyb.ADCAll for the internal channels, made on first use


def _internal():
    global _all
    if _all is None:  # channels 16 (temperature), 17 (VREFINT), 18 (VBAT)
        _all = pyb.ADCAll(12, 0x70000)
    return _all


def supply_volts():
    """VDDA, the ADC's full scale (V), measured against the internal reference."""
    return _internal().read_vref()


def temperature():
    """The STM32's core temperature (deg C, +-1.5 C typical; not the air's)."""
    return _internal().read_core_temp()


class AnalogIn:
    """A 12-bit analog input on a pin ('X1', pyb.Pin.board.X1, ...)."""

    # Set by pyb_lib._new_adc (bare annotations compile to nothing on MicroPython).
    pin: "str | pyb.Pin"
    vdda: float
    _name: str
    _hw: "pyb.ADC"

    def __init__(self, pin):
        self._u16 = make("adc", "make", self, pyb, machine, pin)

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
        return self._u16() >> 4

    def read_mean(self, n=16):
        """The mean of ``n`` conversions (rounded, 0..4095). Allocates nothing."""
        if type(n) is not int or not 1 <= n <= 65536:
            check(self, "n", n, 1, 65536)
        u16 = self._u16
        v = 0
        for _ in range(n):
            v += u16() >> 4
        return (v + n // 2) // n

    def volts(self, n=1):
        """The input in volts: the mean of ``n`` conversions scaled by the
        calibrated VDDA (see calibrate())."""
        return self.to_volts(self._u16() >> 4 if n == 1 else self.read_mean(n))

    def to_volts(self, raw):
        """Convert a raw count (from read_timed, say) to volts."""
        return raw * self.vdda / 4095

    def read_timed(self, buf, freq_hz, timer_id=6):
        """Fill the array('H') ``buf`` with conversions at ``freq_hz``, paced
        by pyb.Timer(timer_id); blocks len(buf) / freq_hz seconds. Allocates
        nothing once the timer has been made (first call)."""
        import pyb_lib._capture

        pyb_lib._capture.read_timed(self._hw, buf, freq_hz, timer_id)


def read_timed_multi(inputs, bufs, freq_hz, timer_id=6):
    """Sample every AnalogIn of the tuple ``inputs`` at each tick of
    pyb.Timer(timer_id) at ``freq_hz``, into the matching array('H') of
    ``bufs`` (same length each). Returns False if the firmware reports it
    could not keep up. Allocates nothing when called again with the same
    ``inputs`` tuple."""
    import pyb_lib._capture

    return pyb_lib._capture.read_timed_multi(inputs, bufs, freq_hz, timer_id)
