"""Argument checks and error messages shared by the peripheral modules.

Every message starts with the name of the port or device (``UART(1): ...``)
when there is one. The texts live in ``pyb_lib._errors``, numbered, and
that module is imported at the first error only: a program that makes no
mistake never holds them, which keeps the heap the peripheral modules hold
after import small.
"""


def err(exc, name, n, *args):
    """``exc("name: text % args")``, text being message ``n`` of
    pyb_lib._errors (or ``n`` itself, a str); without the prefix when
    ``name`` is empty."""
    import pyb_lib._errors

    return pyb_lib._errors.make(exc, name, n, args)


def check(name, key, value, low, high=None, text="", real=False):
    """``value`` if it is an int (not a bool; with ``real`` also a float)
    in ``low..high`` (``high`` None: no upper bound); TypeError or
    ValueError naming the argument ``key`` (a str, or a message number)
    otherwise. ``text`` ends the range message, e.g. " (linebuf)"."""
    t = type(value)
    if (t is int or real and t is float) and low <= value \
            and (high is None or value <= high):
        return value
    import pyb_lib._errors

    return pyb_lib._errors.check(name, key, value, low, high, text, real)


# Which pyb_lib object holds which board pin (taken by pyb_lib._new.take):
# pin ('X5') -> [owner, role, count]. On a PyBoard peripherals share pins
# (UART 'XB' and I2C(1) on X9/X10, DAC(1) on X5, DAC(2) on SPI(1)'s SCK X6)
# and the last one initialised takes the pin; pyb_lib refuses instead,
# naming both.
held = {}  # type: dict[str, list]


def make(kind, fn, *args):
    """Call ``fn`` ('make': a constructor's checks and set-up) of the module
    ``pyb_lib._new_<kind>`` with ``args``, then drop that module and
    ``pyb_lib._new`` again: code that runs once per object need not hold
    heap for the whole program. Returns what ``fn`` returns."""
    import sys

    import pyb_lib

    name = "_new_" + kind
    __import__("pyb_lib." + name)
    try:
        return getattr(getattr(pyb_lib, name), fn)(*args)
    finally:
        for m in (name, "_new"):
            sys.modules.pop("pyb_lib." + m, None)
            try:
                delattr(pyb_lib, m)
            except (AttributeError, KeyError):  # dropped already (a nested make)
                pass


def give(pins, owner):
    """Let go of ``pins`` held by ``owner`` (once per ``take``)."""
    for p in pins.split(","):
        h = held.get(p)
        if h is not None and h[0] == owner:
            h[2] -= 1
            if not h[2]:
                del held[p]
