"""Analog outputs (DAC) on the PyBoard v1.1: raw values, volts and waveforms.

    from pyb_lib.dac import AnalogOut
    out = AnalogOut(1)                 # DAC1 on X5 (DAC2 on X6)
    out.write_volts(1.2)
    out.sine(1000, samples=100)        # 1 kHz sine, 0..3.3 V, in the background
    out.stop()

Waveforms are played by DMA from a buffer the object owns (made once, at
construction), paced by a timer, so the CPU is free while they play. They
are computed by ``pyb_lib._wave``, imported with the first waveform.
"""

from array import array

import pyb
from pyb_lib._check import check, give, make


class AnalogOut:
    """DAC channel 1 (X5) or 2 (X6) at 8 or 12 bits.

    ``vref`` is the output's full scale in volts (VDDA, 3.3 V on a PyBoard);
    ``max_samples`` the longest waveform; ``timer_id`` the timer that paces
    waveforms (default 7 for channel 1, 8 for channel 2: both channels can
    play different frequencies at once, and Timer 6, which the ADC's timed
    capture uses by default, stays free).
    """

    # Set by pyb_lib._new_dac (bare annotations compile to nothing on MicroPython).
    name: str
    channel: int
    bits: int
    full: int
    vref: float
    _n: int
    _wave: "bytearray | array"
    _hw: "pyb.DAC"

    def __init__(self, channel, bits=8, *, vref=3.3, max_samples=256, timer_id=None):
        self._timer = make("dac", "make", self, pyb, array, channel, bits, vref, max_samples,
                           timer_id)

    def __repr__(self):
        return "<AnalogOut %s, %d bits>" % (self.name, self.bits)

    # --- steady output --------------------------------------------------
    def write(self, raw):
        """Output ``raw`` (0..255 at 8 bits, 0..4095 at 12); stops a waveform."""
        self._hw.write(check(self.name, "raw value", raw, 0, self.full))
        if self._n:  # a waveform plays: stop its timer
            self._timer.deinit()
            self._n = 0

    def write_volts(self, volts):
        """Output ``volts`` (0..vref); ValueError outside, no clamping."""
        self.write(self.raw(check(self.name, "volts", volts, 0, self.vref, " V", True)))

    def raw(self, volts):
        """The raw value nearest ``volts`` (clamped to 0..full)."""
        r = int(volts * self.full / self.vref + 0.5)
        return 0 if r < 0 else (self.full if r > self.full else r)

    # --- waveforms ------------------------------------------------------
    def sine(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65):
        """Play a sine of ``freq_hz`` around ``offset_v``, peak ``amplitude_v``."""
        import pyb_lib._wave

        return pyb_lib._wave.play(self, 0, freq_hz, samples, amplitude_v, offset_v, 0)

    def triangle(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65):
        """Play a triangle from the low level (first sample) to the high
        level (sample samples/2) and back."""
        import pyb_lib._wave

        return pyb_lib._wave.play(self, 1, freq_hz, samples, amplitude_v, offset_v, 0)

    def square(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65, duty=0.5):
        """Play a square wave: high for the first ``duty`` of each period."""
        import pyb_lib._wave

        return pyb_lib._wave.play(self, 2, freq_hz, samples, amplitude_v, offset_v, duty)

    def play(self, samples, freq_hz):
        """Play the raw values ``samples`` (a sequence of ints) in a loop, the
        whole sequence ``freq_hz`` times a second."""
        import pyb_lib._wave

        return pyb_lib._wave.play(self, 3, freq_hz, samples, 0, 0, 0)

    def sample_rate(self):
        """Samples/s of the waveform playing (the timer's real rate), or 0."""
        return self._timer.freq() if self._n else 0

    def stop(self):
        """Stop a waveform; the output goes to 0 V."""
        self.write(0)

    def deinit(self):
        """Output 0 V, stop the DAC and let go of its pin (X5 or X6)."""
        self.write(0)
        self._hw.deinit()
        give("X%d" % (4 + self.channel), self.name)
