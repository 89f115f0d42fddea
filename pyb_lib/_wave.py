"""Waveforms for pyb_lib.dac (``AnalogOut.sine``, ``triangle``, ``square``,
``play``), imported with the first one: a program that only writes steady
levels never holds it."""

import pyb
from pyb_lib._check import check, err


def play(out, kind, freq_hz, n, amplitude_v, offset_v, duty):
    """Fill the first ``n`` samples of the AnalogOut ``out`` with a sine
    (kind 0), a triangle (1), a square wave (2) or the values of the
    sequence ``n`` (3), then play them in a loop, ``freq_hz`` times a
    second; return the sample rate."""
    name = out.name
    buf = out._wave
    if kind == 3:
        samples = amplitude_v = n
        try:
            n = len(samples)
        except TypeError:
            raise err(TypeError, name, "samples must be a sequence of ints")
        check(name, "samples", n, 2, len(buf), " (max_samples)")
        for v in samples:
            if type(v) is not int or not 0 <= v <= out.full:
                raise err(ValueError, name, "sample %r out of range 0..%d", v, out.full)
    else:
        check(name, "samples", n, 2, len(buf), " (max_samples)")
        check(name, "amplitude_v", amplitude_v, 0, None, "", True)
        check(name, "offset_v", offset_v, 0, None, "", True)
        check(name, "duty", duty, 0, 1, "", True)
        low, high = offset_v - amplitude_v, offset_v + amplitude_v
        if low < 0 or high > out.vref + 1e-9:
            raise err(ValueError, name, "offset_v %s +- amplitude_v %s leaves 0..%s V",
                      offset_v, amplitude_v, out.vref)
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
        buf[i] = out.raw(v)
    timer = out._timer
    if type(timer) is int:
        timer = out._timer = pyb.Timer(timer)
    elif out._n:
        timer.deinit()
    timer.init(freq=r)
    out._n = n
    out._hw.write_timed(buf if n == len(buf) else memoryview(buf)[:n], timer,
                        mode=pyb.DAC.CIRCULAR)
    return r
