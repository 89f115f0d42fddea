"""pyb_lib's AT24C driver on machine.I2C and machine.SoftI2C (16-bit memory
addresses, ACK polling through an empty write); the pyb bus is covered by
test_at24c."""

import machine

import pyb_sim
from pyb_lib.devices.at24c import AT24C
from pyb_sim.models.at24c import AT24CModel

board = pyb_sim.board


def test_at24c_on_machine_i2c():
    board.attach_i2c(1, AT24CModel(address=0x50))
    buses = (machine.I2C(1), machine.SoftI2C(scl=machine.Pin("X9"), sda=machine.Pin("X10")))
    for i, bus in enumerate(buses):
        ee = AT24C(1, 0x50, i2c=bus)
        data = b"machine %d" % i
        ee.write(0x0FF8, data)  # crosses a page boundary
        assert ee.read(0x0FF8, len(data)) == data
