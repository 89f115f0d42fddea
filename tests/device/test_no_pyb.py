"""pyb_lib on a board that has no ``pyb`` module (ESP32, RP2040, ...):
imported while ``import pyb`` fails (no_pyb.without_pyb). A bus given by
number alone says what to pass instead. The chip drivers on ``machine``
buses: test_no_pyb_at24c.py, _bme280.py, _w25q.py, each in an interpreter
of its own, as a board boots with one program."""

import machine
from no_pyb import without_pyb

import pyb_sim
from support import message, raises

board = pyb_sim.board


def test_without_pyb_a_bus_number_alone_says_what_to_pass():
    i2c = without_pyb("pyb_lib.i2c")
    e = raises(TypeError, i2c.I2CDevice, 1, 0x76)
    assert message(e) == "I2C(1) device 0x76: no pyb on this board: pass i2c=machine.I2C(...)"
    spi = without_pyb("pyb_lib.spi")
    e = raises(TypeError, spi.SPIDevice, 1, "X5", spi=machine.SPI(1))
    assert message(e) == ("SPI(1) CS X5: no pyb on this board: pass spi=machine.SPI(...) "
                          "and cs=machine.Pin(...)")
