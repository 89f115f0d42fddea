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


def one_of(name, key, value, args):
    """``value`` if it is one of the tuple ``args`` (ints or None; a bool or
    a float is not an int here); ValueError, or TypeError for a value of
    another type, naming ``key`` (a str, or a message number) otherwise."""
    for a in args:
        if value is a or (type(value) is type(a) and value == a):
            return value
    import pyb_lib._errors

    raise pyb_lib._errors.one_of(name, key, value, args)


# Which pyb_lib object holds which board pin: pin ('X5') -> [owner, role,
# count]. On a PyBoard peripherals share pins (UART 'XB' and I2C(1) on
# X9/X10, DAC(1) on X5, DAC(2) on SPI(1)'s SCK X6) and the last one
# initialised takes the pin; pyb_lib refuses instead, naming both.
held = {}  # type: dict[str, list]


def take(pins, owner, roles):
    """Hold the board pins ``pins`` ('X6,X7,X8') for ``owner`` ('SPI(1)') in
    ``roles`` ('SCK,MISO,MOSI'). The same owner in the same role shares a
    pin (counted); another owner gets a ValueError naming both, and nothing
    is taken."""
    if not pins:
        return
    p = pins.split(",")
    r = roles.split(",")
    for i in range(len(p)):
        h = held.get(p[i])
        if h is not None and (h[0] != owner or h[1] != r[i]):
            import pyb_lib._errors

            raise pyb_lib._errors.taken(p[i], h, owner, r[i])
    for i in range(len(p)):
        h = held.get(p[i])
        if h is None:
            held[p[i]] = [owner, r[i], 1]
        else:
            h[2] += 1


def give(pins, owner):
    """Let go of ``pins`` held by ``owner`` (once per ``take``)."""
    for p in pins.split(","):
        h = held.get(p)
        if h is not None and h[0] == owner:
            h[2] -= 1
            if not h[2]:
                del held[p]
