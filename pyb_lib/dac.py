"""Analog outputs (DAC) on the PyBoard v1.1: raw values, volts and waveforms.

    from pyb_lib.dac import AnalogOut
    out = AnalogOut(1)                 # DAC1 on X5 (DAC2 on X6)
    out.write_volts(1.2)
    out.sine(1000, samples=100)        # 1 kHz sine, 0..3.3 V, in the background
    out.stop()

Waveforms are played by DMA from a buffer the object owns (made once, at
construction), paced by a timer, so the CPU is free while they play.
"""

from array import array

import pyb
from micropython import const
from pyb_lib._check import check, err, one_of

_MAX_RATE = const(1000000)  # samples/s the DAC and its DMA sustain
_PI = 3.141592653589793


class AnalogOut:
    """DAC channel 1 (X5) or 2 (X6) at 8 or 12 bits.

    ``vref`` is the output's full scale in volts (VDDA, 3.3 V on a PyBoard);
    ``max_samples`` the longest waveform; ``timer_id`` the timer that paces
    waveforms (default 7 for channel 1, 8 for channel 2: both channels can
    play different frequencies at once, and Timer 6, which the ADC's timed
    capture uses by default, stays free).
    """

    def __init__(self, channel, bits=8, *, vref=3.3, max_samples=256, timer_id=None):
        if type(channel) is not int or channel not in (1, 2):
            raise (ValueError if type(channel) is int else TypeError)(
                "DAC(%r) doesn't exist; channels: 1 (X5), 2 (X6)" % (channel,))
        self.name = name = "DAC(%d)" % channel
        one_of(name, "bits", bits, (8, 12))
        if timer_id is None:
            timer_id = 6 + channel
        one_of(name, "timer_id", timer_id, (2, 4, 5, 6, 7, 8))  # timers that trigger the DAC
        check(name, "max_samples", max_samples, 2)
        self.channel = channel
        self.bits = bits
        self.full = 255 if bits == 8 else 4095
        self.vref = check(name, "vref", vref, 0, None, "", True)
        self._timer_id = timer_id
        self._tim = None
        self._n = 0
        self._wave = bytearray(max_samples) if bits == 8 else array("H", [0] * max_samples)
        self._view = memoryview(self._wave)
        self._dac = pyb.DAC(channel, bits=bits)

    def __repr__(self):
        return "<AnalogOut %s, %d bits>" % (self.name, self.bits)

    # --- steady output --------------------------------------------------
    def write(self, raw):
        """Output ``raw`` (0..255 at 8 bits, 0..4095 at 12); stops a waveform."""
        self._dac.write(check(self.name, "raw value", raw, 0, self.full))
        tim = self._tim
        if self._n and tim:  # a waveform plays: stop its timer
            tim.deinit()
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
        return self._shape(0, freq_hz, samples, amplitude_v, offset_v, 0)

    def triangle(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65):
        """Play a triangle from the low level (first sample) to the high
        level (sample samples/2) and back."""
        return self._shape(1, freq_hz, samples, amplitude_v, offset_v, 0)

    def square(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65, duty=0.5):
        """Play a square wave: high for the first ``duty`` of each period."""
        return self._shape(2, freq_hz, samples, amplitude_v, offset_v, duty)

    def _shape(self, kind, freq_hz, n, amplitude_v, offset_v, duty):
        """Fill the first ``n`` samples with a sine (kind 0), a triangle (1)
        or a square wave (2), then play them."""
        name = self.name
        check(name, "samples", n, 2, len(self._wave), " (max_samples)")
        check(name, "amplitude_v", amplitude_v, 0, None, "", True)
        check(name, "offset_v", offset_v, 0, None, "", True)
        check(name, "duty", duty, 0, 1, "", True)
        low, high = offset_v - amplitude_v, offset_v + amplitude_v
        if low < 0 or high > self.vref + 1e-9:
            raise err(ValueError, name, "offset_v %s +- amplitude_v %s leaves 0..%s V",
                      offset_v, amplitude_v, self.vref)
        cut = int(duty * n + 0.5)
        wave = self._wave
        for i in range(n):
            if kind == 0:
                # sin(x) to 1e-9: fold x (0..2 pi) to -pi/2..pi/2, Taylor series
                x = 2 * _PI * i / n
                if x > _PI:
                    x -= 2 * _PI
                if x > _PI / 2:
                    x = _PI - x
                elif x < -_PI / 2:
                    x = -_PI - x
                term = v = x
                for k in range(1, 12):
                    term = -term * x * x / ((2 * k) * (2 * k + 1))
                    v += term
                v = offset_v + amplitude_v * v
            elif kind == 1:
                v = low + (high - low) * (2 * i if 2 * i < n else 2 * (n - i)) / n
            else:
                v = high if i < cut else low
            wave[i] = self.raw(v)
        return self._play(n, freq_hz)

    def play(self, samples, freq_hz):
        """Play the raw values ``samples`` (a sequence of ints) in a loop, the
        whole sequence ``freq_hz`` times a second."""
        name = self.name
        try:
            n = len(samples)
        except TypeError:
            raise err(TypeError, name, "samples must be a sequence of ints")
        check(name, "samples", n, 2, len(self._wave), " (max_samples)")
        for v in samples:
            if type(v) is not int or not 0 <= v <= self.full:
                raise err(ValueError, name, "sample %r out of range 0..%d", v, self.full)
        wave = self._wave
        for i in range(n):
            wave[i] = samples[i]
        return self._play(n, freq_hz)

    def _play(self, n, freq_hz):
        check(self.name, "freq_hz", freq_hz, 0, None, "", True)
        rate = int(freq_hz * n + 0.5)
        if freq_hz <= 0 or not 1 <= rate <= _MAX_RATE:
            raise err(ValueError, self.name, "%s Hz x %d samples = %d samples/s,"
                      " out of range 1..%d", freq_hz, n, rate, _MAX_RATE)
        tim = self._tim
        if tim is None:
            tim = self._tim = pyb.Timer(self._timer_id)
        elif self._n:
            tim.deinit()
        tim.init(freq=rate)
        self._n = n
        self._dac.write_timed(self._view if n == len(self._wave) else self._view[:n],
                              tim, mode=pyb.DAC.CIRCULAR)
        return rate

    def sample_rate(self):
        """Samples/s of the waveform playing (the timer's real rate), or 0."""
        tim = self._tim
        return tim.freq() if self._n and tim else 0

    def stop(self):
        """Stop a waveform; the output goes to 0 V."""
        self.write(0)

    def deinit(self):
        self.write(0)
        self._dac.deinit()
