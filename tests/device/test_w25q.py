"""pyb_lib.devices.w25q.W25Q against the simulated W25Q flash on SPI(1), CS X5."""

import errno

import pyb_sim
from pyb_lib.devices.w25q import W25Q
from pyb_lib.spi import SPIDevice
from pyb_sim.models.w25q import W25QModel
from support import heap_locked, message, raises

board = pyb_sim.board


def attach(**kw):
    return board.attach_spi(1, "X5", W25QModel(**kw))


def pattern(n, seed=0):
    out = bytearray(n)
    for i in range(n):
        out[i] = (i * 7 + seed) & 0xFF
    return out


# --- identification ----------------------------------------------------------
def test_jedec_id_and_size_from_the_capacity_byte():
    attach()
    flash = W25Q(1, "X5")
    assert flash.jedec_id() == (0xEF, 0x40, 0x18)
    assert flash.size == flash.capacity == 16 * 1024 * 1024
    assert flash.name == "SPI(1) CS X5"


def test_a_smaller_part_is_sized_by_its_id():
    board.attach_spi(2, "Y5", W25QModel(jedec_id=b"\xef\x40\x16", size=4 * 1024 * 1024))
    flash = W25Q(2, "Y5")
    assert flash.size == 4 * 1024 * 1024
    raises(ValueError, flash.read, 4 * 1024 * 1024 - 2, 4)


def test_nothing_wired_is_named_and_the_bus_stays_usable():
    e = raises(OSError, W25Q, 1, "X5")
    assert e.args[0] == errno.ENODEV
    # An undriven MISO reads 0x00 on the board: spi.c pulls it down (polarity 0).
    assert message(e).startswith("SPI(1) CS X5: no flash answers (JEDEC id 00 00 00)")
    assert board.pin_level("X5") == 1  # CS released
    attach()
    assert W25Q(1, "X5").jedec_id()[0] == 0xEF


def test_an_all_zero_id_is_nothing_wired_too():
    attach(jedec_id=b"\x00\x00\x00")
    assert "JEDEC id 00 00 00" in message(raises(OSError, W25Q))


def test_a_chip_left_in_power_down_is_woken_at_construction():
    model = attach()
    model.powered_down = True
    assert W25Q().jedec_id() == (0xEF, 0x40, 0x18)
    assert not model.powered_down


# --- reading and writing -----------------------------------------------------
def test_write_splits_at_page_boundaries():
    model = attach()
    flash = W25Q()
    data = pattern(300)
    flash.write(0xF0, data)
    # 0xF0..0xFF, 0x100..0x1FF, 0x200..0x21B: three page programs
    assert model.programs == 3
    assert model.peek(0xF0, 300) == bytes(data)
    assert model.peek(0xEF, 1) == b"\xff" and model.peek(0xF0 + 300, 1) == b"\xff"
    assert flash.read(0xF0, 300) == data


def test_a_whole_aligned_page_is_one_program():
    model = attach()
    flash = W25Q()
    flash.write(0x1000, pattern(256))
    assert model.programs == 1
    flash.write(0x2000, pattern(512, 3))
    assert model.programs == 3
    assert model.peek(0x2000, 512) == bytes(pattern(512, 3))


def test_each_page_waits_for_busy_to_clear():
    attach()
    flash = W25Q()
    t0 = board.now
    flash.write(0, pattern(16))
    assert board.now - t0 >= 400000  # tPP typ. 0.4 ms in the model
    assert not flash.busy()


def test_erase_then_write_then_read():
    model = attach()
    flash = W25Q()
    flash.write(0x1000, b"old data")
    flash.erase_sector(0x1000)
    assert model.erases == 1
    assert flash.read(0x1000, 8) == b"\xff" * 8
    flash.write(0x1000, b"new data")
    buf = bytearray(8)
    assert flash.read(0x1000, buf) is buf
    assert buf == b"new data"


def test_programming_without_erase_only_clears_bits():
    attach()
    flash = W25Q()
    flash.write(0, b"\xf0")
    flash.write(0, b"\x3c")
    assert flash.read(0, 1) == b"\x30"


def test_block_and_chip_erase():
    model = attach()
    flash = W25Q()
    flash.write(0x10000, b"a")
    flash.write(0x1F000, b"b")
    flash.write(0x20000, b"c")
    flash.erase_block(0x10000)
    assert flash.read(0x10000, 1) == b"\xff" and flash.read(0x1F000, 1) == b"\xff"
    assert flash.read(0x20000, 1) == b"c"
    flash.erase_chip()
    assert flash.read(0x20000, 1) == b"\xff"
    assert model.erases == 2


def test_erase_waits_for_the_chip():
    attach()
    flash = W25Q()
    t0 = board.now
    flash.erase_sector(0)
    assert board.now - t0 >= 45000000  # tSE typ. 45 ms in the model
    assert not flash.busy()


def test_write_and_read_at_the_end_of_the_chip():
    model = attach()
    flash = W25Q()
    end = flash.size
    flash.write(end - 10, b"0123456789")
    assert model.peek(end - 10, 10) == b"0123456789"
    assert flash.read(end - 10, 10) == b"0123456789"


# --- bad arguments -----------------------------------------------------------
def test_out_of_range_and_unaligned_addresses_are_value_errors():
    attach()
    flash = W25Q()
    e = raises(ValueError, flash.write, flash.size - 100, bytes(300))
    assert message(e) == "SPI(1) CS X5: write of 300 bytes at 0xFFFF9C is outside 0..0xFFFFFF"
    raises(ValueError, flash.read, -1, 4)
    raises(ValueError, flash.read, flash.size, 1)
    raises(ValueError, flash.read, 0, -1)
    e = raises(ValueError, flash.erase_sector, 0x1234)
    assert "not a multiple of 0x1000" in message(e)
    raises(ValueError, flash.erase_block, 0x1000)
    raises(ValueError, flash.erase_sector, flash.size)


def test_wrong_types_are_type_errors():
    attach()
    flash = W25Q()
    raises(TypeError, flash.write, 0, "text")
    raises(TypeError, flash.write, 0, 5)
    raises(TypeError, flash.write, 0, [1, 2])
    raises(TypeError, flash.write, "0", b"x")
    raises(TypeError, flash.read, 0, b"immutable")
    raises(TypeError, flash.read, 0.5, 4)
    raises(TypeError, flash.read, 0, None)


# --- timeouts and the chip select -------------------------------------------
def test_a_stuck_busy_chip_times_out_naming_the_operation():
    model = attach()
    flash = W25Q()
    model.inject_stuck_busy()
    t0 = board.now
    e = raises(OSError, flash.erase_sector, 0x1000)
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e) == ("SPI(1) CS X5: W25Q still busy after 400 ms"
                          " (sector erase at 0x001000)")
    assert 400000000 <= board.now - t0 < 420000000
    assert board.pin_level("X5") == 1
    e = raises(OSError, flash.wait_ready, 5)
    assert "after 5 ms (operation)" in message(e)
    model.inject_stuck_busy(False)
    flash.write(0, b"ok")
    assert flash.read(0, 2) == b"ok"


def test_a_page_program_that_never_ends_times_out():
    model = attach()
    flash = W25Q()
    flash.write(0, b"x")
    model.inject_stuck_busy()
    e = raises(OSError, flash.write, 0x100, b"y")
    assert e.args[0] == errno.ETIMEDOUT
    assert "(page program at 0x000100)" in message(e)


class BrokenBus:
    """An SPI bus whose every transfer fails with EIO."""

    def init(self, *args, **kwargs):
        pass

    def write(self, buf):
        raise OSError(5)

    def readinto(self, buf, write=0):
        raise OSError(5)


def test_cs_is_released_when_a_transfer_fails():
    attach()
    flash = W25Q()
    spi = flash.bus_device.spi
    flash.bus_device.spi = BrokenBus()
    raises(OSError, flash.read, 0, 4)
    assert board.pin_level("X5") == 1
    flash.bus_device.spi = spi
    assert flash.jedec_id() == (0xEF, 0x40, 0x18)


def test_power_down_and_wake():
    model = attach()
    flash = W25Q()
    flash.power_down()
    assert model.powered_down
    e = raises(OSError, flash.read, 0, 4)
    assert e.args[0] == errno.EPERM and "wake()" in message(e)
    flash.wake()
    assert not model.powered_down
    assert flash.read(0, 4) == b"\xff" * 4


def test_a_shared_spi_device():
    attach()
    dev = SPIDevice(1, "X5", baudrate=21000000)
    flash = W25Q(spi=dev)
    assert flash.bus_device is dev
    assert flash.jedec_id() == (0xEF, 0x40, 0x18)


# --- no allocation -----------------------------------------------------------
def test_read_into_a_buffer_does_not_allocate():
    model = attach()
    model.load(0x3000, b"preloaded bytes!")
    flash = W25Q()
    buf = bytearray(16)
    heap_locked(lambda: flash.read(0x3000, buf))
    assert buf == b"preloaded bytes!"
