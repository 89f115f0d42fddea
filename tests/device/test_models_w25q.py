"""The W25Q flash model, driven through the simulated pyb.SPI and a CS pin
only (no pyb_lib), checked against the W25Q128JV datasheet command set."""

import pyb
import pyb_sim
from pyb_sim.models.w25q import T_PP, T_SE, W25QModel

board = pyb_sim.board


def setup(polarity=0, phase=0, firstbit=0, **kw):
    flash = board.attach_spi(1, "X5", W25QModel(**kw))
    cs = pyb.Pin("X5", pyb.Pin.OUT_PP)
    cs.high()
    spi = pyb.SPI(1, pyb.SPI.CONTROLLER, baudrate=10500000, polarity=polarity, phase=phase,
                  firstbit=firstbit)
    return flash, (spi, cs)


def cmd(bus, out, nread=0):
    spi, cs = bus
    cs.low()
    try:
        got = spi.send_recv(bytes(out) + bytes(nread))
    finally:
        cs.high()
    return bytes(got[len(out):])


def a24(op, addr):
    return bytes((op, (addr >> 16) & 0xFF, (addr >> 8) & 0xFF, addr & 0xFF))


def status(bus):
    return cmd(bus, b"\x05", 1)[0]


def program(bus, addr, data):
    cmd(bus, b"\x06")
    cmd(bus, a24(0x02, addr) + bytes(data))
    pyb.delay(1)


def read(bus, addr, n):
    return cmd(bus, a24(0x03, addr), n)


def test_identification():
    _, bus = setup()
    assert cmd(bus, b"\x9f", 3) == b"\xef\x40\x18"
    assert cmd(bus, a24(0x90, 0), 4) == b"\xef\x17\xef\x17"
    assert cmd(bus, a24(0x90, 1), 2) == b"\x17\xef"
    assert cmd(bus, b"\xab\x00\x00\x00", 1) == b"\x17"
    assert cmd(bus, b"\x4b\x00\x00\x00\x00", 8) == b"\xd2\x66\xb4\x1c\x37\x5a\x29\x21"
    board.reset()
    _, bus = setup(jedec_id=b"\xef\x40\x17", size=8 * 1024 * 1024)
    assert cmd(bus, b"\x9f", 3) == b"\xef\x40\x17"


def test_erased_read_fast_read_and_wrap_at_the_end():
    flash, bus = setup(size=1024 * 1024)
    assert read(bus, 0x1234, 4) == b"\xff" * 4
    flash.load(0, b"\x01\x02")
    flash.load(0xFFFFE, b"\xfd\xfe")
    assert read(bus, 0xFFFFE, 4) == b"\xfd\xfe\x01\x02"
    assert cmd(bus, a24(0x0B, 0xFFFFF) + b"\x00", 2) == b"\xfe\x01"  # one dummy byte


def test_program_needs_wel_and_clears_it_when_done():
    flash, bus = setup()
    cmd(bus, a24(0x02, 0) + b"\x00")  # no write enable: ignored
    assert flash.peek(0, 1) == b"\xff" and flash.programs == 0
    cmd(bus, b"\x06")
    assert status(bus) == 0x02
    cmd(bus, b"\x04")
    assert status(bus) == 0x00
    cmd(bus, a24(0x02, 0) + b"\x00")
    assert flash.programs == 0
    cmd(bus, b"\x06")
    cmd(bus, a24(0x02, 0) + b"\x12")
    assert status(bus) == 0x03  # BUSY and WEL while programming
    board.advance(T_PP - 10000)  # tPP typ 0.4 ms
    assert status(bus) == 0x03
    board.advance(10000)
    assert status(bus) == 0x00
    assert read(bus, 0, 2) == b"\x12\xff"


def test_program_only_clears_bits():
    flash, bus = setup()
    program(bus, 0x10, b"\xf0\xaa")
    program(bus, 0x10, b"\x0f\xff")
    assert read(bus, 0x10, 2) == b"\x00\xaa"
    assert flash.programs == 2


def test_page_program_wraps_inside_the_page():
    flash, bus = setup()
    program(bus, 0x1F8, bytes(range(16)))
    assert flash.peek(0x1F8, 8) == bytes(range(8))
    assert flash.peek(0x100, 8) == bytes(range(8, 16))
    assert flash.peek(0x200, 1) == b"\xff"
    # More than 256 bytes: addressing wraps and later bytes overwrite earlier ones.
    program(bus, 0x300, b"\xaa" * 256 + b"\x55\x0f")
    assert flash.peek(0x300, 4) == b"\x55\x0f\xaa\xaa"
    assert flash.peek(0x3FF, 2) == b"\xaa\xff"


def test_sector_erase_to_ff_and_busy_time():
    flash, bus = setup()
    flash.load(0x0FFF, b"\x00\x00\x00")
    flash.load(0x1FFF, b"\x00\x00")
    cmd(bus, b"\x06")
    cmd(bus, a24(0x20, 0x1234))  # any address inside the sector
    t0 = board.now
    assert flash.peek(0x0FFF, 3) == b"\x00\xff\xff"
    assert flash.peek(0x1FFF, 2) == b"\xff\x00"
    assert status(bus) & 1
    assert read(bus, 0x0FFF, 1) == b"\xff"  # ignored while busy: MISO floats high
    cmd(bus, b"\x06")  # ignored while busy too
    board.advance(t0 + T_SE - 10000 - board.now)
    assert status(bus) == 0x03
    board.advance(10000)
    assert status(bus) == 0x00
    assert read(bus, 0x0FFF, 2) == b"\x00\xff"
    assert flash.erases == 1


def test_erase_needs_exact_framing_and_block_sizes():
    flash, bus = setup()
    flash.load(0x7FFF, b"\x00\x00")
    flash.load(0xFFFF, b"\x00\x00")
    cmd(bus, b"\x06")
    cmd(bus, a24(0x20, 0x7000) + b"\x00")  # CS not raised after the address
    assert flash.erases == 0 and status(bus) == 0x02
    cmd(bus, a24(0x52, 0x0))  # 32 KB block 0..0x7FFF
    pyb.delay(200)
    assert flash.peek(0x7FFF, 2) == b"\xff\x00"
    cmd(bus, b"\x06")
    cmd(bus, a24(0xD8, 0x12345))  # 64 KB block 0x10000..0x1FFFF
    pyb.delay(200)
    assert flash.peek(0xFFFF, 2) == b"\x00\xff"
    cmd(bus, b"\x06")
    cmd(bus, b"\xc7")
    assert status(bus) & 1
    pyb.delay(flash.t_chip_erase_ns // 1000000)
    assert status(bus) == 0 and flash.sectors == {}


def test_memory_is_sparse():
    flash, bus = setup()
    program(bus, 0xFFFF00, b"\x00")
    program(bus, 0x000100, b"\x00")
    assert sorted(flash.sectors) == [0, 0xFFF]


def test_power_down_and_release():
    flash, bus = setup()
    cmd(bus, b"\xb9")
    assert cmd(bus, b"\x9f", 3) == b"\xff\xff\xff"
    assert status(bus) == 0xFF
    cmd(bus, b"\xab")
    n = flash.ignored
    cmd(bus, b"\x06")  # within tRES1 = 3 us: ignored
    assert flash.ignored == n + 1 and not flash.wel
    pyb.udelay(3)
    assert cmd(bus, b"\x9f", 3) == b"\xef\x40\x18"


def test_software_reset_needs_enable_first():
    flash, bus = setup()
    cmd(bus, b"\x06")
    cmd(bus, b"\x99")
    assert status(bus) == 0x02
    cmd(bus, b"\x66")
    cmd(bus, b"\x99")
    pyb.udelay(30)
    assert status(bus) == 0x00


def test_stuck_busy_for_timeout_tests():
    flash, bus = setup()
    flash.inject_stuck_busy()
    pyb.delay(10000)
    assert status(bus) & 1
    assert cmd(bus, b"\x9f", 3) == b"\xff\xff\xff"
    flash.busy_forever = False
    assert status(bus) == 0


def test_spi_modes_and_bit_order():
    flash, bus = setup(polarity=1, phase=1)
    assert cmd(bus, b"\x9f", 3) == b"\xef\x40\x18"  # mode 3 works
    board.reset()
    flash, bus = setup(polarity=1, phase=0)  # mode 2 (pyb's default): garbage
    assert cmd(bus, b"\x9f", 3) == b"\xff\xff\xff" and flash.bad_mode
    board.reset()
    flash, bus = setup(firstbit=pyb.SPI.LSB)  # the chip sees 0xF9: nothing
    assert cmd(bus, b"\x9f", 3) == b"\xff\xff\xff"
    assert cmd(bus, b"\xf9", 3) == b"\xf7\x02\x18"  # 0x9F reversed; answers reversed
