"""The W25Q driver on a board without ``pyb``: a ``machine.SPI`` and a
``machine.Pin`` chip select, waiting out erase and program times on
``time`` (no_pyb.without_pyb)."""

import machine
from no_pyb import without_pyb

import pyb_sim

board = pyb_sim.board


def test_w25q_on_machine_spi_without_pyb():
    from pyb_sim.models.w25q import W25QModel

    w25q = without_pyb("pyb_lib.devices.w25q")
    board.attach_spi(1, "X5", W25QModel())
    flash = w25q.W25Q(1, machine.Pin("X5"), spi=machine.SPI(1))
    assert flash.jedec_id() == (0xEF, 0x40, 0x18)
    flash.erase_sector(0)  # busy for the model's erase time
    flash.write(0x20, b"w25q")
    assert flash.read(0x20, 4) == b"w25q"
