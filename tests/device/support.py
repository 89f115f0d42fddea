"""Helpers for the device-side tests, which run under pytest on CPython and
under the MicroPython unix port (tests/mp_main.py). Plain functions only."""


def raises(exc, fn, *args, **kwargs):
    """Call ``fn`` and return the ``exc`` it raises; fail if it raises none."""
    try:
        fn(*args, **kwargs)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc.__name__, fn))


def message(e):
    """The text of an exception, the same on CPython and MicroPython."""
    if isinstance(e, OSError) and len(e.args) > 1:
        return str(e.args[1])
    return str(e.args[0]) if e.args else ""


def approx(a, b, tol):
    return abs(a - b) <= tol
