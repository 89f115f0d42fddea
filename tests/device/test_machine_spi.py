"""pyb_lib's SPIDevice and the W25Q driver on ``machine`` bus objects
(machine.SPI, machine.SoftSPI) with a ``machine.Pin`` as chip select, as on
any MicroPython board. The pyb bus is covered by test_w25q and test_spi."""

import sys

import machine

import pyb_sim
from pyb_lib.devices.w25q import W25Q
from pyb_lib.spi import SPIDevice
from pyb_sim.models.w25q import W25QModel

board = pyb_sim.board


def spi_buses():
    """Each kind of machine SPI bus on the pins of SPI(1) (X6 SCK, X7 MISO, X8 MOSI)."""
    return (machine.SPI(1, baudrate=1000000),
            machine.SoftSPI(baudrate=1000000, sck=machine.Pin("X6"), mosi=machine.Pin("X8"),
                            miso=machine.Pin("X7")))


def test_w25q_on_machine_spi_with_a_machine_pin_as_cs():
    board.attach_spi(1, "X5", W25QModel())
    for i, bus in enumerate(spi_buses()):
        flash = W25Q(1, machine.Pin("X5"), spi=bus)
        assert flash.jedec_id() == (0xEF, 0x40, 0x18)
        flash.erase_sector(0)
        flash.write(0x10 + i * 16, b"spi %d" % i)
        assert flash.read(0x10 + i * 16, 5) == b"spi %d" % i


def test_transfers_allocate_nothing_on_a_machine_bus():
    board.attach_spi(1, "X5", W25QModel())
    for bus in spi_buses():
        dev = SPIDevice(1, "X5", spi=bus)
        buf = bytearray(3)
        into = bytearray(3)
        out = [0]

        def body(dev=dev, buf=buf, into=into, out=out):
            with dev:
                dev.write(b"\x9f")
                dev.readinto(buf)
            with dev:
                dev.write_readinto(b"\x9f\x00\x00", into)
            out[0] = buf[0]

        if sys.implementation.name == "micropython":
            import micropython

            micropython.heap_lock()
            try:
                body()
            finally:
                micropython.heap_unlock()
        else:
            board.run_irq(lambda _: body(), None)
        assert out == [0xEF] and bytes(buf) == b"\xef\x40\x18" and into[1] == 0xEF
