"""The I2C EEPROM model, driven through the simulated pyb.I2C only (no
pyb_lib), checked against the 24LC256 / AT24C32 datasheets: page write
wrap, write cycle with no ACK (acknowledge polling), sequential read."""

import errno

import pyb
import pyb_sim
from pyb_sim.models.at24c import AT24CModel
from support import raises

board = pyb_sim.board
ADDR = 0x50


def setup(**kw):
    rom = board.attach_i2c(1, AT24CModel(ADDR, **kw))
    return rom, pyb.I2C(1, pyb.I2C.CONTROLLER, baudrate=400000)


def wait_ready(i2c):
    n = 0
    while not i2c.is_ready(ADDR):
        n += 1
    return n


def test_erased_and_random_read_with_16_bit_address():
    rom, i2c = setup()
    assert i2c.mem_read(4, ADDR, 0x1234, addr_size=16) == b"\xff" * 4
    rom.load(0x1234, b"abc")
    assert i2c.mem_read(3, ADDR, 0x1234, addr_size=16) == b"abc"
    assert i2c.mem_read(1, ADDR, 0x9234, addr_size=16) == b"a"  # A15 is don't care


def test_bytes_written_at_stop_then_no_ack_during_write_cycle():
    rom, i2c = setup()
    i2c.mem_write(b"\x11\x22", ADDR, 0x0100, addr_size=16)
    t0 = board.now
    assert rom.peek(0x100, 2) == b"\x11\x22" and rom.writes == 1
    e = raises(OSError, i2c.mem_read, 2, ADDR, 0x0100, addr_size=16)
    assert e.args[0] == errno.EIO
    assert not i2c.is_ready(ADDR)
    assert ADDR not in i2c.scan()
    board.advance(t0 + 5000000 - board.now)  # tWC = 5 ms
    assert i2c.is_ready(ADDR)
    assert i2c.mem_read(2, ADDR, 0x0100, addr_size=16) == b"\x11\x22"


def test_acknowledge_polling_takes_the_write_cycle():
    rom, i2c = setup(write_cycle_ms=3)
    i2c.mem_write(b"x", ADDR, 0, addr_size=16)
    t0 = board.now
    assert wait_ready(i2c) == 1  # one is_ready() call spans ~2.5 ms of NACKed trials
    assert 3000000 <= board.now - t0 < 3100000
    assert rom.nacks > 1


def test_page_write_wraps_inside_the_page():
    rom, i2c = setup()
    i2c.mem_write(b"ABCDEFGH", ADDR, 0x3C, addr_size=16)  # page 0x00..0x3F
    assert rom.peek(0x3C, 4) == b"ABCD"
    assert rom.peek(0x00, 4) == b"EFGH"
    assert rom.peek(0x40, 1) == b"\xff"
    pyb.delay(5)
    # Current address read continues after the last byte written (in the page).
    assert i2c.recv(2, ADDR) == b"\xff\xff" and rom.pointer == 0x06


def test_more_than_a_page_overwrites_the_first_bytes():
    rom, i2c = setup(size=4096, page_size=32)  # AT24C32
    data = bytes(range(40))
    i2c.mem_write(data, ADDR, 0x20, addr_size=16)
    assert rom.peek(0x20, 32) == bytes(range(32, 40)) + bytes(range(8, 32))
    assert rom.peek(0x40, 1) == b"\xff"


def test_sequential_read_across_pages_and_wrap_at_the_end():
    rom, i2c = setup(size=4096, page_size=32)
    rom.load(0xFFE, b"yz")
    rom.load(0x000, b"ab")
    assert i2c.mem_read(4, ADDR, 0xFFE, addr_size=16) == b"yzab"
    rom.load(0x01F, b"PQ")
    assert i2c.mem_read(2, ADDR, 0x01F, addr_size=16) == b"PQ"


def test_address_only_write_starts_no_cycle():
    rom, i2c = setup()
    i2c.send(b"\x00\x10", ADDR)
    assert rom.writes == 0 and i2c.is_ready(ADDR)
    rom.load(0x10, b"Q")
    assert i2c.recv(1, ADDR) == b"Q"


def test_write_protect_and_small_parts():
    rom, i2c = setup()
    rom.write_protect = True
    i2c.mem_write(b"\x00", ADDR, 0, addr_size=16)
    assert rom.peek(0, 1) == b"\xff" and rom.writes == 0 and i2c.is_ready(ADDR)
    board.reset()
    rom, i2c = setup(size=256, page_size=8)  # 24C02: one address byte
    i2c.mem_write(b"0123456789", ADDR, 0xFC)
    assert rom.peek(0xF8, 8) == b"45678923"
    pyb.delay(5)
    assert i2c.mem_read(4, ADDR, 0xFC) == b"8923"
