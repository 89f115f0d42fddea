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


def micropython_only(test):
    """A test that only MicroPython's own heap lock can check (pure-Python
    allocation, which CPython cannot refuse): pytest does not collect it,
    the MicroPython runs do."""
    import sys

    if sys.implementation.name != "micropython":
        test.__test__ = False
    return test


def approx(a, b, tol):
    return abs(a - b) <= tol


def heap_locked(fn):
    """Run ``fn()`` with the heap locked: ``micropython.heap_lock()`` on
    MicroPython (any allocation raises MemoryError); on CPython as an
    interrupt handler of the simulated board, whose peripherals refuse the
    calls that would allocate."""
    import sys

    if sys.implementation.name == "micropython":
        import micropython

        micropython.heap_lock()
        try:
            fn()
        finally:
            micropython.heap_unlock()
    else:
        import pyb_sim

        pyb_sim.board.run_irq(lambda _: fn(), None)
