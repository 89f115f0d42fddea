"""The board's one clock as ``time``/``utime`` and the RTC see it.

Every function here reads or moves the simulated board's clock
(``pyb_sim.board``), the clock ``pyb.delay``/``pyb.millis`` and the timers
use: ``time.sleep_ms(10)`` lets 10 ms of board time pass (device models
finish their conversions, write cycles end), in step with the wall clock on
the virtual board, instantly with ``--fast`` and in tests.

Facts from micropython/micropython (commit 1c3c201149f37fe8d81246191b3127bb198d6306):
extmod/modtime.c (ticks_*: 30-bit periods, MICROPY_PY_TIME_TICKS_PERIOD is
MP_SMALL_INT_POSITIVE_MASK + 1 on the board's 32-bit build; ticks_diff,
ticks_add and its OverflowError), shared/timeutils/timeutils.c (the epoch
2000-01-01, Monday = 0, mktime normalising its fields), ports/stm32/rtc.c
(a fresh RTC starts at 2015-01-01 00:00:00, a Thursday; datetime() as
(year, month, day, weekday 1-7, hours, minutes, seconds, subseconds), the
subseconds counting down from 255), ports/stm32/mphalport.h (ticks_cpu is
the 168 MHz cycle counter).
"""

import pyb_sim
from pyb_sim.board import NS_PER_MS, NS_PER_S, NS_PER_US

TICKS_PERIOD = 1 << 30
_TICKS_MAX = TICKS_PERIOD - 1
_TICKS_HALF = TICKS_PERIOD // 2
CPU_HZ = 168000000
FRESH_RTC = 473385600  # 2015-01-01 00:00:00 in seconds since 2000-01-01

# seconds since 2000 of the RTC when the board clock reads 0; the virtual
# board sets it at every start (the RTC runs on across a soft reset)
_rtc = [FRESH_RTC * NS_PER_S]


def set_rtc_start(ns):
    """The RTC (ns since 2000-01-01) at board time 0."""
    _rtc[0] = ns


def _now():
    return pyb_sim.board.read_time()


# --- sleeping and ticks ------------------------------------------------------
def sleep(seconds):
    if seconds > 0:
        pyb_sim.board.advance(int(seconds * NS_PER_S))


def sleep_ms(ms):
    if ms > 0:
        pyb_sim.board.advance(ms * NS_PER_MS)


def sleep_us(us):
    if us > 0:
        pyb_sim.board.advance(us * NS_PER_US)


def ticks_ms():
    return (_now() // NS_PER_MS) & _TICKS_MAX


def ticks_us():
    return (_now() // NS_PER_US) & _TICKS_MAX


def ticks_cpu():
    return (_now() * (CPU_HZ // 1000000) // 1000) & _TICKS_MAX


def ticks_diff(end, start):
    return ((end - start + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF


def ticks_add(ticks, delta):
    if not -_TICKS_HALF < delta < _TICKS_HALF:
        raise OverflowError("ticks interval overflow")
    return (ticks + delta) & _TICKS_MAX


# --- calendar ------------------------------------------------------------------
_DAYS_BEFORE = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_before_year(year):
    """Days from 2000-01-01 to ``year``-01-01."""
    y = year - 1
    return 365 * (year - 2000) + y // 4 - y // 100 + y // 400 - 484  # 484: leap days before 2000


def _days_before_month(year, month):
    return _DAYS_BEFORE[month - 1] + (1 if month > 2 and _leap(year) else 0)


def struct_time(seconds):
    """(year, month, mday, hour, minute, second, weekday, yearday) of
    ``seconds`` since 2000-01-01 (weekday 0 is Monday)."""
    days, rem = divmod(int(seconds), 86400)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    weekday = (days + 5) % 7  # 2000-01-01 was a Saturday
    year = 2000 + days // 366
    while _days_before_year(year + 1) <= days:
        year += 1
    while _days_before_year(year) > days:
        year -= 1
    yday = days - _days_before_year(year)
    month = 12
    while _days_before_month(year, month) > yday:
        month -= 1
    return (year, month, yday - _days_before_month(year, month) + 1, hour, minute, second,
            weekday, yday + 1)


def mktime(t):
    """Seconds since 2000-01-01 of a (year, month, mday, hour, minute,
    second, ...) tuple; out-of-range fields carry over, as timeutils_mktime."""
    if len(t) < 8:
        raise TypeError("mktime needs a tuple of length 8 or 9")
    year, month = t[0], t[1]
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    days = _days_before_year(year) + _days_before_month(year, month) + t[2] - 1
    return days * 86400 + t[3] * 3600 + t[4] * 60 + t[5]


def time():
    """Seconds since 2000-01-01 by the RTC."""
    return (_rtc[0] + _now()) // NS_PER_S


def time_ns():
    return _rtc[0] + _now()


def localtime(secs=None):
    return struct_time(time() if secs is None else secs)


gmtime = localtime


# --- the RTC -------------------------------------------------------------------
class RTC:
    """pyb.RTC / machine.RTC on the board clock (docs/library/pyb.RTC.rst):
    datetime() reads and sets it; wakeup(), calibration() and info() are
    not simulated (AttributeError)."""

    def __init__(self):
        pass

    def init(self):
        pass

    def datetime(self, datetimetuple=None):
        if datetimetuple is None:
            ns = time_ns()
            t = struct_time(ns // NS_PER_S)
            sub = 255 - (ns % NS_PER_S) * 256 // NS_PER_S
            return (t[0], t[1], t[2], t[6] + 1, t[3], t[4], t[5], sub)
        if len(datetimetuple) != 8:
            raise ValueError("requested length 8 but object has length %d"
                             % len(datetimetuple))
        y, mo, d, _, h, mi, s, _ = datetimetuple
        # subseconds restart at 255: the new second begins now
        _rtc[0] = mktime((y, mo, d, h, mi, s, 0, 0)) * NS_PER_S - _now()
        return None
