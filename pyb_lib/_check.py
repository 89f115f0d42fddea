"""Argument checks and error messages shared by the peripheral modules.

Every message starts with the name of the port or device (``UART(1): ...``)
when there is one. One copy of each message format serves every module,
which keeps the heap the modules hold after import small.
"""


def err(exc, name, text, *args):
    """``exc("name: text % args")``; without the prefix when ``name`` is empty."""
    text = text % args
    return exc("%s: %s" % (name, text) if name else text)


def check(name, key, value, low, high=None, text="", real=False):
    """``value`` if it is an int (not a bool; with ``real`` also a float)
    in ``low..high`` (``high`` None: no upper bound); TypeError or
    ValueError naming the argument ``key`` otherwise. ``text`` ends the
    range message, e.g. " (linebuf)"."""
    t = type(value)
    if t is not int and (not real or t is not float):
        raise err(TypeError, name, "%s must be an int%s, not %s", key,
                  " or a float" if real else "", t.__name__)
    if high is None:
        if value < low:
            raise err(ValueError, name, "%s must be >= %s, not %s", key, low, value)
    elif not low <= value <= high:
        raise err(ValueError, name, "%s %s out of range %s..%s%s", key, value, low, high, text)
    return value


def one_of(name, key, value, args):
    """``value`` if it is one of the tuple ``args`` (ints or None; a bool or
    a float is not an int here); ValueError, or TypeError for a value of
    another type, otherwise."""
    for a in args:
        if value is a or (type(value) is type(a) and value == a):
            return value
    raise err(ValueError if value is None or type(value) is int else TypeError, name,
              "%s must be one of %s, not %r", key, args, value)


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
            raise ValueError("%s is %s's %s; %s %s" % (
                p[i], h[0], h[1], owner,
                "drives " + p[i] if r[i] == "output" else "uses %s as %s" % (p[i], r[i])))
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
