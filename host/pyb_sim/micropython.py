"""The parts of MicroPython's ``micropython`` module device code uses, for CPython.

``heap_lock`` cannot stop CPython from allocating; interrupt handlers run by
the simulated board are checked by the simulated peripherals instead (see
``Board.run_irq``), and the MicroPython test run enforces the real lock.
"""

_lock_depth = 0


def const(value):
    return value


def native(fn):
    return fn


def viper(fn):
    return fn


def heap_lock():
    global _lock_depth
    _lock_depth += 1


def heap_unlock():
    global _lock_depth
    if _lock_depth:
        _lock_depth -= 1
    return _lock_depth


def alloc_emergency_exception_buf(size):
    return None


def schedule(fn, arg):
    fn(arg)
