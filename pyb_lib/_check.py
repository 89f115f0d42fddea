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
