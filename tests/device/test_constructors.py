"""The peripheral constructors' checks and set-up live in modules that are
in the heap only while an object is being made (pyb_lib._new_uart, ...):
pyb_lib._check.make imports them and drops them again, also when the
constructor raises."""

import sys

import pyb_lib
from pyb_lib import i2c
from pyb_lib.adc import AnalogIn
from pyb_lib.dac import AnalogOut
from pyb_lib.i2c import I2CDevice
from pyb_lib.spi import SPIDevice
from pyb_lib.uart import UARTPort
from support import message, raises


def loaded():
    """The construction modules still reachable: in sys.modules or as an
    attribute of the package."""
    names = [k for k in sys.modules if k.startswith("pyb_lib._new")]
    for n in ("_new", "_new_uart", "_new_i2c", "_new_spi", "_new_adc", "_new_dac"):
        if hasattr(pyb_lib, n):
            names.append(n)
    return names


def test_each_constructor_leaves_nothing_loaded():
    made = [UARTPort(2), I2CDevice(1, 0x76), SPIDevice(2, "Y5"), AnalogIn("X11"),
            AnalogOut(1)]
    assert loaded() == []
    assert made[0].name == "UART(2)" and made[1].name == "I2C(1) device 0x76"
    assert made[2].name == "SPI(2) CS Y5" and made[4].name == "DAC(1)"
    assert 0 <= made[3].read() <= 4095
    for m in made:
        m.deinit()


def test_a_constructor_that_raises_leaves_nothing_loaded():
    e = raises(ValueError, UARTPort, 5)
    assert message(e).startswith("UART(5) doesn't exist")
    e = raises(ValueError, I2CDevice, 3, 0x76)
    assert message(e) == "I2C(3) device 0x76: I2C bus 3 doesn't exist; use 1, 2, 'X' or 'Y'"
    raises(ValueError, SPIDevice, 1, "X5", polarity=2)
    raises(ValueError, AnalogIn, "X9")
    raises(TypeError, AnalogOut, "1")
    assert loaded() == []


def test_a_scan_leaves_nothing_loaded():
    assert i2c.scan(1) == []
    assert loaded() == []


def test_an_object_made_twice_gets_the_same_set_up():
    a = UARTPort(2, 9600, timeout=20)
    a.deinit()
    b = UARTPort(2, 9600, timeout=20)
    assert (b.timeout, len(b._buf), b._start, b._end) == (20, 256, 0, 0)
    b.deinit()
