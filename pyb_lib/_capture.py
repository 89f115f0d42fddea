"""Timed capture for pyb_lib.adc (``AnalogIn.read_timed``,
``read_timed_multi``), imported at its first use: a program that only reads
single conversions never holds it."""

import pyb
from pyb_lib._check import check
from pyb_lib.adc import AnalogIn

_timers: dict = {}  # timer id -> pyb.Timer, reused so that capture allocates nothing
# The last inputs tuple of read_timed_multi and its pyb.ADC tuple.
_multi: list = [None, None]


def _start(bufs, count, timer_id, freq_hz):
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


def read_timed(adc, buf, freq_hz, timer_id):
    """AnalogIn.read_timed for the pyb.ADC ``adc``."""
    timer = _start(buf, 0, timer_id, freq_hz)
    try:
        adc.read_timed(buf, timer)
    finally:
        timer.deinit()


def read_timed_multi(inputs, bufs, freq_hz, timer_id):
    """pyb_lib.adc.read_timed_multi."""
    if not isinstance(inputs, tuple) or not inputs:
        raise TypeError("inputs must be a non-empty tuple of AnalogIn")
    if _multi[0] is not inputs:
        v = []
        for a in inputs:
            if not isinstance(a, AnalogIn):
                raise TypeError("inputs must be AnalogIn, not %s" % type(a).__name__)
            v.append(a._hw)
        _multi[0] = inputs
        _multi[1] = tuple(v)
    timer = _start(bufs, len(inputs), timer_id, freq_hz)
    try:
        return pyb.ADC.read_timed_multi(_multi[1], bufs, timer)
    finally:
        timer.deinit()
