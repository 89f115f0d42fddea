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

_MAX_RATE = const(1000000)  # samples/s the DAC and its DMA sustain
_TIMERS = (2, 4, 5, 6, 7, 8)  # timers that can trigger the DAC


_PI = 3.141592653589793


def _sin(x):
    """sin(x) for 0 <= x < 2 pi, to 1e-9 (Taylor series after folding to
    -pi/2..pi/2); spares importing math for one function."""
    if x > _PI:
        x -= 2 * _PI
    if x > _PI / 2:
        x = _PI - x
    elif x < -_PI / 2:
        x = -_PI - x
    term = total = x
    x2 = x * x
    for k in range(1, 12):
        term = -term * x2 / ((2 * k) * (2 * k + 1))
        total += term
    return total


def _number(what, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError("%s must be a number, not %s" % (what, type(value).__name__))
    return value


class AnalogOut:
    """DAC channel 1 (X5) or 2 (X6) at 8 or 12 bits.

    ``vref`` is the output's full scale in volts (VDDA, 3.3 V on a PyBoard);
    ``max_samples`` the longest waveform; ``timer_id`` the timer that paces
    waveforms (default 7 for channel 1, 8 for channel 2: both channels can
    play different frequencies at once, and Timer 6, which the ADC's timed
    capture uses by default, stays free).
    """

    def __init__(self, channel, bits=8, *, vref=3.3, max_samples=256, timer_id=None):
        if not isinstance(channel, int) or isinstance(channel, bool):
            raise TypeError("DAC channel must be 1 (X5) or 2 (X6), not %s"
                            % type(channel).__name__)
        if channel not in (1, 2):
            raise ValueError("DAC(%d) doesn't exist; channels: 1 (X5), 2 (X6)" % channel)
        self.name = "DAC(%d)" % channel
        if bits not in (8, 12):
            raise ValueError("%s: bits must be 8 or 12, not %r" % (self.name, bits))
        if timer_id is None:
            timer_id = 7 if channel == 1 else 8
        if timer_id not in _TIMERS:
            raise ValueError("%s: timer %r cannot trigger the DAC; use one of %s"
                             % (self.name, timer_id, _TIMERS))
        if not isinstance(max_samples, int) or max_samples < 2:
            raise ValueError("%s: max_samples must be an int >= 2" % self.name)
        self.channel = channel
        self.bits = bits
        self.full = 255 if bits == 8 else 4095
        self.vref = _number("vref", vref)
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
        if not isinstance(raw, int):
            raise TypeError("%s: raw value must be an int, not %s"
                            % (self.name, type(raw).__name__))
        if not 0 <= raw <= self.full:
            raise ValueError("%s: raw value %d out of range 0..%d" % (self.name, raw, self.full))
        self._dac.write(raw)
        self._stop_timer()

    def write_volts(self, volts):
        """Output ``volts`` (0..vref); ValueError outside, no clamping."""
        _number("volts", volts)
        if not 0 <= volts <= self.vref:
            raise ValueError("%s: %s V out of range 0..%s V" % (self.name, volts, self.vref))
        self.write(self.raw(volts))

    def raw(self, volts):
        """The raw value nearest ``volts`` (clamped to 0..full)."""
        r = int(volts * self.full / self.vref + 0.5)
        return 0 if r < 0 else (self.full if r > self.full else r)

    # --- waveforms ------------------------------------------------------
    def _levels(self, amplitude_v, offset_v):
        _number("amplitude_v", amplitude_v)
        _number("offset_v", offset_v)
        low, high = offset_v - amplitude_v, offset_v + amplitude_v
        if amplitude_v < 0 or low < 0 or high > self.vref + 1e-9:
            raise ValueError("%s: offset_v %s +- amplitude_v %s leaves 0..%s V"
                             % (self.name, offset_v, amplitude_v, self.vref))
        return low, high

    def _samples(self, samples):
        if not isinstance(samples, int) or not 2 <= samples <= len(self._wave):
            raise ValueError("%s: samples must be an int 2..%d (max_samples), not %r"
                             % (self.name, len(self._wave), samples))
        return samples

    def sine(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65):
        """Play a sine of ``freq_hz`` around ``offset_v``, peak ``amplitude_v``."""
        n = self._samples(samples)
        low, high = self._levels(amplitude_v, offset_v)
        wave = self._wave
        for i in range(n):
            wave[i] = self.raw(offset_v + amplitude_v * _sin(2 * _PI * i / n))
        return self._play(n, freq_hz)

    def triangle(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65):
        """Play a triangle from the low level (first sample) to the high
        level (sample samples/2) and back."""
        n = self._samples(samples)
        low, high = self._levels(amplitude_v, offset_v)
        wave = self._wave
        for i in range(n):
            up = 2 * i / n if 2 * i < n else 2 * (n - i) / n
            wave[i] = self.raw(low + (high - low) * up)
        return self._play(n, freq_hz)

    def square(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65, duty=0.5):
        """Play a square wave: high for the first ``duty`` of each period."""
        n = self._samples(samples)
        low, high = self._levels(amplitude_v, offset_v)
        _number("duty", duty)
        if not 0 <= duty <= 1:
            raise ValueError("%s: duty %s out of range 0..1" % (self.name, duty))
        hi, lo = self.raw(high), self.raw(low)
        cut = int(duty * n + 0.5)
        wave = self._wave
        for i in range(n):
            wave[i] = hi if i < cut else lo
        return self._play(n, freq_hz)

    def play(self, samples, freq_hz):
        """Play the raw values ``samples`` (a sequence of ints) in a loop, the
        whole sequence ``freq_hz`` times a second."""
        try:
            n = len(samples)
        except TypeError:
            raise TypeError("%s: samples must be a sequence of ints" % self.name)
        self._samples(n)
        full = self.full
        for v in samples:
            if not isinstance(v, int) or not 0 <= v <= full:
                raise ValueError("%s: sample %r out of range 0..%d" % (self.name, v, full))
        wave = self._wave
        for i in range(n):
            wave[i] = samples[i]
        return self._play(n, freq_hz)

    def _play(self, n, freq_hz):
        _number("freq_hz", freq_hz)
        rate = int(freq_hz * n + 0.5)
        if freq_hz <= 0 or rate < 1 or rate > _MAX_RATE:
            raise ValueError("%s: %s Hz x %d samples = %d samples/s, out of range 1..%d"
                             % (self.name, freq_hz, n, rate, _MAX_RATE))
        self._stop_timer()
        if self._tim is None:
            self._tim = pyb.Timer(self._timer_id)
        self._tim.init(freq=rate)
        self._n = n
        data = self._view if n == len(self._wave) else self._view[:n]
        self._dac.write_timed(data, self._tim, mode=pyb.DAC.CIRCULAR)
        return rate

    def sample_rate(self):
        """Samples/s of the waveform playing (the timer's real rate), or 0."""
        if not self._n:
            return 0
        return self._tim.freq() if self._tim is not None else 0

    def stop(self):
        """Stop a waveform; the output goes to 0 V."""
        self._dac.write(0)
        self._stop_timer()

    def _stop_timer(self):
        if self._n and self._tim is not None:
            self._tim.deinit()
        self._n = 0

    def deinit(self):
        self.stop()
        self._dac.deinit()
