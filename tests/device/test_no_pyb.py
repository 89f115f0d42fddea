"""pyb_lib's chip drivers on a board that has no ``pyb`` module (ESP32,
RP2040, ...): imported while ``import pyb`` fails, given ``machine`` buses
and pins, timed by ``time.ticks_ms`` / ``sleep_ms`` / ``sleep_us``. Here that
``time`` runs on the simulated board's clock, so that the device models'
write and erase times pass as they do with pyb."""

import gc
import sys

import machine

import pyb_sim
from support import approx, message, raises

board = pyb_sim.board


class _Time:
    """The part of MicroPython's ``time`` the drivers use, on the simulated clock."""

    def __init__(self, pyb):
        self.ticks_ms = pyb.millis
        self.sleep_ms = pyb.delay
        self.sleep_us = pyb.udelay

    def ticks_diff(self, a, b):
        return a - b


def _without_pyb(name):
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


def test_bme280_on_machine_i2c_without_pyb():
    from pyb_sim.models.bme280 import BME280Model

    bme280 = _without_pyb("pyb_lib.devices.bme280")
    board.attach_i2c(1, BME280Model(address=0x76, temperature=21.5, humidity=40.0))
    t, p, h = bme280.BME280(1, 0x76, i2c=machine.I2C(1)).read()
    assert approx(t, 21.5, 0.01) and approx(h, 40.0, 0.1), (t, h)


def test_at24c_on_machine_soft_i2c_without_pyb():
    from pyb_sim.models.at24c import AT24CModel

    at24c = _without_pyb("pyb_lib.devices.at24c")
    board.attach_i2c(1, AT24CModel(address=0x50))
    soft = machine.SoftI2C(scl=machine.Pin("X9"), sda=machine.Pin("X10"))
    ee = at24c.AT24C(1, 0x50, i2c=soft)
    ee.write(0x0FF8, b"no pyb here")  # crosses a page: waits out the write cycle
    assert ee.read(0x0FF8, 11) == b"no pyb here"


def test_w25q_on_machine_spi_without_pyb():
    from pyb_sim.models.w25q import W25QModel

    w25q = _without_pyb("pyb_lib.devices.w25q")
    board.attach_spi(1, "X5", W25QModel())
    flash = w25q.W25Q(1, machine.Pin("X5"), spi=machine.SPI(1))
    assert flash.jedec_id() == (0xEF, 0x40, 0x18)
    flash.erase_sector(0)  # busy for the model's erase time
    flash.write(0x20, b"w25q")
    assert flash.read(0x20, 4) == b"w25q"


def test_without_pyb_a_bus_number_alone_says_what_to_pass():
    i2c = _without_pyb("pyb_lib.i2c")
    e = raises(TypeError, i2c.I2CDevice, 1, 0x76)
    assert message(e) == "I2C(1) device 0x76: no pyb on this board: pass i2c=machine.I2C(...)"
    spi = _without_pyb("pyb_lib.spi")
    e = raises(TypeError, spi.SPIDevice, 1, "X5", spi=machine.SPI(1))
    assert message(e) == ("SPI(1) CS X5: no pyb on this board: pass spi=machine.SPI(...) "
                          "and cs=machine.Pin(...)")
