"""Helpers of the test_no_pyb* modules: pyb_lib imported afresh while
``import pyb`` fails, as on a board without it (ESP32, RP2040, ...). Each
of those modules runs in an interpreter of its own (tests/mp_main.py),
as a board boots with one program: compiling pyb_lib's source a second
time in one 100 KB heap, after another driver's, is not what a board does."""

import gc
import sys

from support import raises


class _Time:
    """The part of MicroPython's ``time`` the drivers use, on the simulated clock."""

    def __init__(self, pyb):
        self.ticks_ms = pyb.millis
        self.sleep_ms = pyb.delay
        self.sleep_us = pyb.udelay

    def ticks_diff(self, a, b):
        return a - b


def without_pyb(name):
    """Import the pyb_lib module ``name`` afresh while ``import pyb`` fails;
    put everything back after (the fresh modules are dropped then)."""
    pyb = sys.modules["pyb"]
    hidden = {}
    for key in list(sys.modules):
        if key == "pyb" or key == "pyb_lib" or key.startswith("pyb_lib."):
            hidden[key] = sys.modules.pop(key)
    real_time = sys.modules.get("time")
    sys.modules["time"] = _Time(pyb)
    try:
        assert raises(ImportError, __import__, "pyb")
        gc.collect()  # the source compiled next gets a collected heap
        __import__(name)
        return sys.modules[name]
    finally:
        for key in list(sys.modules):
            if key == "pyb_lib" or key.startswith("pyb_lib."):
                del sys.modules[key]
        if real_time is None:
            del sys.modules["time"]
        else:
            sys.modules["time"] = real_time
        for key in hidden:
            sys.modules[key] = hidden[key]
