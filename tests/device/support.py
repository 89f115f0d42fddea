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


def _board_ints():
    import sys

    return sys.implementation.name == "micropython" and sys.maxsize == 0x7FFFFFFF


# True on a MicroPython with the board's 32-bit words and 31-bit small ints
# (the WebAssembly build run by tests/run_micropython32.py): an int outside
# -2**30 .. 2**30 - 1 is a long int there and takes the heap.
BOARD_INTS = _board_ints()

# Heap one long int of up to 32 bits takes on such a build: an object block
# and a block of digits, 16 bytes each (measured with gc.mem_alloc()).
LONG_INT_BYTES = 32


def allocated(fn):
    """Bytes of heap ``fn()`` allocated. Exact on the WebAssembly build,
    which collects garbage only between top-level calls (gc.collect() in a
    call only marks a collection as pending); use where BOARD_INTS."""
    import gc

    a = gc.mem_alloc()
    fn()
    return gc.mem_alloc() - a


def long_crcs(*chunks):
    """How many of the running CRC-32 values over ``chunks`` (each step
    ``binascii.crc32(chunk, crc)``) are long ints on the board (>= 2**30)."""
    import binascii

    n = 0
    crc = 0
    for c in chunks:
        crc = binascii.crc32(c, crc)
        if crc >= 0x40000000:
            n += 1
    return n
