"""The BME280 driver on a board without ``pyb``: a ``machine.I2C``, timed
by ``time.ticks_ms`` / ``sleep_ms`` / ``sleep_us``, which here run on the
simulated board's clock (no_pyb.without_pyb)."""

import machine
from no_pyb import without_pyb

import pyb_sim
from support import approx

board = pyb_sim.board


def test_bme280_on_machine_i2c_without_pyb():
    from pyb_sim.models.bme280 import BME280Model

    bme280 = without_pyb("pyb_lib.devices.bme280")
    board.attach_i2c(1, BME280Model(address=0x76, temperature=21.5, humidity=40.0))
    t, p, h = bme280.BME280(1, 0x76, i2c=machine.I2C(1)).read()
    assert approx(t, 21.5, 0.01) and approx(h, 40.0, 0.1), (t, h)
