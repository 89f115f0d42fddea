"""pyb_lib's I2CDevice and the I2C chip drivers on ``machine`` bus objects
(machine.I2C, machine.SoftI2C), as on any MicroPython board. The same checks
run on each kind of bus; the pyb buses are covered by test_bme280 and
test_i2c. (AT24C: test_machine_eeprom.py, SPI: test_machine_spi.py.)"""

import errno

import machine

import pyb_sim
from pyb_lib.devices.bme280 import BME280
from pyb_lib.i2c import I2CDevice
from pyb_sim.models.bme280 import BME280Model
from support import approx, heap_locked, message, raises

board = pyb_sim.board


def i2c_buses():
    """Each kind of machine I2C bus on the pins of I2C(1) (X9 SCL, X10 SDA)."""
    return (machine.I2C(1), machine.SoftI2C(scl=machine.Pin("X9"), sda=machine.Pin("X10")))


def test_bme280_on_machine_i2c():
    board.attach_i2c(1, BME280Model(address=0x76, temperature=21.5, humidity=40.0))
    for bus in i2c_buses():
        bme = BME280(1, 0x76, i2c=bus)
        t, p, h = bme.read()
        assert approx(t, 21.5, 0.1) and approx(h, 40.0, 0.5) and 30000 < p < 110000


def test_register_access_allocates_nothing_on_a_machine_bus():
    board.attach_i2c(1, BME280Model(address=0x76))
    for bus in i2c_buses():
        dev = I2CDevice(1, 0x76, i2c=bus)
        buf = bytearray(2)
        out = [0]

        def body(dev=dev, buf=buf, out=out):
            dev.read_register_into(0xD0, buf)
            out[0] = dev.read_u8(0xD0)
            dev.write_u8(0xF4, 0x24)

        heap_locked(body)
        assert out == [0x60] and buf[0] == 0x60


def test_no_device_on_a_machine_bus_is_enodev_with_the_device_name():
    for bus in i2c_buses():
        dev = I2CDevice(1, 0x40, i2c=bus, retries=1)
        e = raises(OSError, dev.read_u8, 0x00)
        assert e.args[0] == errno.ENODEV
        assert message(e) == "I2C(1) device 0x40: no ACK reading register 0x00"
        assert not dev.probe()
    board.attach_i2c(1, BME280Model(address=0x76))
    assert I2CDevice(1, 0x76, i2c=machine.I2C(1)).probe()


def test_a_transient_enodev_is_retried():
    board.attach_i2c(1, BME280Model(address=0x76))
    dev = I2CDevice(1, 0x76, i2c=machine.I2C(1), retries=2)
    board.fail_i2c(0x76, times=2)
    assert dev.read_u8(0xD0) == 0x60
