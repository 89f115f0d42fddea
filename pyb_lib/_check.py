"""Argument checks and error messages shared by the peripheral modules.

Every message starts with the name of the port or device (``UART(1): ...``)
when there is one. One copy of each message format serves every module,
which keeps the heap the modules hold after import small.
"""


def err(exc, name, text, *args):
    """``exc("name: text % args")``; without the prefix when ``name`` is empty."""
    text = text % args
    return exc("%s: %s" % (name, text) if name else text)


def check(name, what, value, lo, hi=None, note="", real=False):
    """``value`` if it is an int (not a bool; with ``real`` also a float)
    in ``lo..hi`` (``hi`` None: no upper bound); TypeError or ValueError
    naming ``what`` otherwise. ``note`` ends the range message, e.g.
    " (linebuf)"."""
    t = type(value)
    if t is not int and (not real or t is not float):
        raise err(TypeError, name, "%s must be %s, not %s", what,
                  "a number" if real else "an int", t.__name__)
    if hi is None:
        if value < lo:
            raise err(ValueError, name, "%s must be >= %s, not %s", what, lo, value)
    elif not lo <= value <= hi:
        raise err(ValueError, name, "%s %s out of range %s..%s%s", what, value, lo, hi, note)
    return value


def one_of(name, what, value, choices):
    """``value`` if it is one of the tuple ``choices`` (ints or None; a bool
    or a float is not an int here); ValueError, or TypeError for a value of
    another type, otherwise."""
    for c in choices:
        if value is c or (type(value) is type(c) and value == c):
            return value
    raise err(ValueError if value is None or type(value) is int else TypeError, name,
              "%s must be one of %s, not %r", what, choices, value)
