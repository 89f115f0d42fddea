"""The AT24C driver on a board without ``pyb``: a ``machine.SoftI2C``,
waiting out the write cycle on ``time`` (no_pyb.without_pyb)."""

import machine
from no_pyb import without_pyb

import pyb_sim

board = pyb_sim.board


def test_at24c_on_machine_soft_i2c_without_pyb():
    from pyb_sim.models.at24c import AT24CModel

    at24c = without_pyb("pyb_lib.devices.at24c")
    board.attach_i2c(1, AT24CModel(address=0x50))
    soft = machine.SoftI2C(scl=machine.Pin("X9"), sda=machine.Pin("X10"))
    ee = at24c.AT24C(1, 0x50, i2c=soft)
    ee.write(0x0FF8, b"no pyb here")  # crosses a page: waits out the write cycle
    assert ee.read(0x0FF8, 11) == b"no pyb here"
