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
from pyb_lib._check import check, err, give, one_of, take


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
        self._timer = timer_id  # the id; the pyb.Timer once a waveform has played
        self._n = 0  # samples of the waveform playing; 0: none plays
        self._wave = bytearray(max_samples) if bits == 8 else array("H", [0] * max_samples)
        take("X%d" % (4 + channel), name, "output")  # DAC(1) on X5, DAC(2) on X6
        self._hw = pyb.DAC(channel, bits=bits)

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
        return self._play(0, freq_hz, samples, amplitude_v, offset_v, 0)

    def triangle(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65):
        """Play a triangle from the low level (first sample) to the high
        level (sample samples/2) and back."""
        return self._play(1, freq_hz, samples, amplitude_v, offset_v, 0)

    def square(self, freq_hz, samples=64, amplitude_v=1.65, offset_v=1.65, duty=0.5):
        """Play a square wave: high for the first ``duty`` of each period."""
        return self._play(2, freq_hz, samples, amplitude_v, offset_v, duty)

    def play(self, samples, freq_hz):
        """Play the raw values ``samples`` (a sequence of ints) in a loop, the
        whole sequence ``freq_hz`` times a second."""
        try:
            n = len(samples)
        except TypeError:
            raise err(TypeError, self.name, "samples must be a sequence of ints")
        check(self.name, "samples", n, 2, len(self._wave), " (max_samples)")
        for v in samples:
            if type(v) is not int or not 0 <= v <= self.full:
                raise err(ValueError, self.name, "sample %r out of range 0..%d", v, self.full)
        return self._play(3, freq_hz, n, samples, 0, 0)

    def _play(self, kind, freq_hz, n, amplitude_v, offset_v, duty):
        """Fill the first ``n`` samples with a sine (kind 0), a triangle (1),
        a square wave (2) or the values ``amplitude_v`` (3), then play them
        in a loop, ``freq_hz`` times a second; return the sample rate."""
        name = self.name
        buf = self._wave
        if kind < 3:
            check(name, "samples", n, 2, len(buf), " (max_samples)")
            check(name, "amplitude_v", amplitude_v, 0, None, "", True)
            check(name, "offset_v", offset_v, 0, None, "", True)
            check(name, "duty", duty, 0, 1, "", True)
            low, high = offset_v - amplitude_v, offset_v + amplitude_v
            if low < 0 or high > self.vref + 1e-9:
                raise err(ValueError, name, "offset_v %s +- amplitude_v %s leaves 0..%s V",
                          offset_v, amplitude_v, self.vref)
        check(name, "freq_hz", freq_hz, 0, None, "", True)
        r = int(freq_hz * n + 0.5)
        if freq_hz <= 0 or not 1 <= r <= 1000000:  # what the DAC and its DMA sustain
            raise err(ValueError, name, "%s Hz x %d samples = %d samples/s,"
                      " out of range 1..1000000", freq_hz, n, r)
        for i in range(n):
            if kind == 3:
                buf[i] = amplitude_v[i]
                continue
            if kind == 0:
                # sin(2 pi i / n) to 1e-9: fold to -pi/2..pi/2, then a Taylor series
                x = i / n
                if x > 0.5:
                    x -= 1
                if x > 0.25:
                    x = 0.5 - x
                elif x < -0.25:
                    x = -0.5 - x
                x *= 6.283185307179586
                t = v = x
                for k in range(1, 12):
                    t = -t * x * x / ((2 * k) * (2 * k + 1))
                    v += t
                v = offset_v + amplitude_v * v
            elif kind == 1:
                v = low + (high - low) * (2 * i if 2 * i < n else 2 * (n - i)) / n
            else:
                v = high if i < int(duty * n + 0.5) else low
            buf[i] = self.raw(v)
        timer = self._timer
        if type(timer) is int:
            timer = self._timer = pyb.Timer(timer)
        elif self._n:
            timer.deinit()
        timer.init(freq=r)
        self._n = n
        self._hw.write_timed(buf if n == len(buf) else memoryview(buf)[:n], timer,
                             mode=pyb.DAC.CIRCULAR)
        return r

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
