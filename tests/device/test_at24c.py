"""pyb_lib.devices.at24c.AT24C against the simulated EEPROM on I2C(1)."""

import errno

import pyb_sim
from pyb_lib.devices.at24c import AT24C
from pyb_lib.i2c import I2CDevice
from pyb_sim.models.at24c import AT24CModel
from support import heap_locked, message, raises

board = pyb_sim.board


def attach(**kw):
    return board.attach_i2c(1, AT24CModel(**kw))


def pattern(n, seed=0):
    out = bytearray(n)
    for i in range(n):
        out[i] = (i * 13 + seed) & 0xFF
    return out


# --- reading and writing -----------------------------------------------------
def test_write_then_read_back():
    model = attach()
    ee = AT24C(1)
    ee.write(0x0100, b"hello")
    assert model.peek(0x0100, 5) == b"hello"
    assert ee.read(0x0100, 5) == b"hello"
    buf = bytearray(5)
    assert ee.read(0x0100, buf) is buf and buf == b"hello"
    assert ee.name == "I2C(1) device 0x50" and len(ee) == 32768


def test_writes_are_split_so_no_page_wraps():
    model = attach()
    ee = AT24C(1)
    data = pattern(100)
    ee.write(0x3C, data)
    # 0x3C..0x3F, 0x40..0x7F, 0x80..0x9F: three page writes
    assert model.writes == 3
    assert model.peek(0x3C, 100) == bytes(data)
    # a single 100-byte page write would have wrapped onto 0x00..0x3B
    assert model.peek(0x00, 0x3C) == b"\xff" * 0x3C
    assert model.peek(0xA0, 1) == b"\xff"


def test_an_at24c32_with_32_byte_pages():
    model = attach(size=4096, page_size=32, write_cycle_ms=10)
    ee = AT24C(1, size=4096, page_size=32)
    ee.write(30, pattern(40, 1))
    assert model.writes == 3  # 30..31, 32..63, 64..69
    assert ee.read(30, 40) == pattern(40, 1)
    ee.write(4096 - 8, b"the end!")
    assert ee.read(4088, 8) == b"the end!"
    raises(ValueError, ee.write, 4090, b"too long")


def test_a_sequential_read_crosses_pages():
    model = attach()
    model.load(0x7F00, pattern(256, 5))
    ee = AT24C()
    assert ee.read(0x7F00, 256) == pattern(256, 5)


def test_empty_reads_and_writes():
    model = attach()
    ee = AT24C()
    assert ee.read(0, 0) == bytearray()
    ee.write(0x10, b"")
    assert model.writes == 0


# --- the write cycle ---------------------------------------------------------
def test_ack_polling_waits_for_the_write_cycle_only():
    model = attach(write_cycle_ms=5)
    ee = AT24C()
    t0 = board.now
    ee.write(0, b"x")
    took = board.now - t0
    assert not model.busy()
    assert model.nacks > 0  # it polled
    assert 5000000 <= took < 6500000, took  # no long fixed sleep
    t0 = board.now
    ee.write(0x40 - 2, b"abcd")  # two pages, two write cycles
    assert 10000000 <= board.now - t0 < 13000000
    assert ee.read(0x3E, 4) == b"abcd"


def test_a_write_cycle_that_never_ends_times_out_and_the_bus_recovers():
    model = attach(write_cycle_ms=100)
    ee = AT24C()
    t0 = board.now
    e = raises(OSError, ee.write, 0x40, b"data")
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e) == ("I2C(1) device 0x50: EEPROM write cycle not finished after 20 ms"
                          " (page write at 0x0040)")
    assert board.now - t0 < 25000000
    board.advance(100000000)
    assert ee.read(0x40, 4) == b"data"
    assert not model.busy()


def test_a_longer_write_timeout_can_be_given():
    attach(write_cycle_ms=30)
    ee = AT24C(write_timeout_ms=40)
    ee.write(0, b"slow part")
    assert ee.read(0, 9) == b"slow part"


# --- no device, bad arguments ------------------------------------------------
def test_no_device_is_a_named_oserror_and_the_bus_stays_usable():
    e = raises(OSError, AT24C, 1, 0x51)
    assert e.args[0] == errno.EIO
    assert message(e) == "I2C(1) device 0x51: no ACK: no EEPROM answers at this address"
    attach(address=0x51)
    ee = AT24C(1, 0x51)
    ee.write(0, b"ok")
    assert ee.read(0, 2) == b"ok"


def test_a_device_that_goes_away_gives_the_bus_error():
    model = attach()
    ee = AT24C()
    model.present = False
    e = raises(OSError, ee.read, 0x1234, 2)
    assert e.args[0] == errno.EIO
    assert message(e) == "I2C(1) device 0x50: no ACK reading register 0x1234"


def test_a_transient_bus_error_is_retried():
    attach()
    ee = AT24C()
    board.fail_i2c(0x50, 1)
    ee.write(0x20, b"retry")
    assert ee.read(0x20, 5) == b"retry"


def test_out_of_range_addresses_are_value_errors():
    attach()
    ee = AT24C()
    e = raises(ValueError, ee.write, 0x7FFA, bytes(10))
    assert message(e) == "I2C(1) device 0x50: write of 10 bytes at 0x7FFA is outside 0..0x7FFF"
    raises(ValueError, ee.read, 0x8000, 1)
    raises(ValueError, ee.read, -1, 1)
    raises(ValueError, ee.read, 0, -1)
    raises(ValueError, ee.read, 0x7FFF, bytearray(2))


def test_wrong_types_are_type_errors():
    attach()
    ee = AT24C()
    raises(TypeError, ee.write, 0, "text")
    raises(TypeError, ee.write, 0, 7)
    raises(TypeError, ee.write, 0, [1, 2, 3])
    raises(TypeError, ee.write, 1.5, b"x")
    raises(TypeError, ee.read, "0", 2)
    raises(TypeError, ee.read, 0, b"immutable")
    raises(TypeError, ee.read, 0, None)


def test_size_page_size_and_address_are_validated():
    attach()
    for size in (1000, 2048, 3000, 131072, 0):
        assert "size must be a power of two" in message(raises(ValueError, AT24C, size=size))
    for page in (48, 4, 512, 0):
        e = raises(ValueError, AT24C, page_size=page)
        assert "page_size must be a power of two" in message(e)
    raises(TypeError, AT24C, size="32K")
    raises(TypeError, AT24C, page_size=64.0)
    assert "0x50..0x57" in message(raises(ValueError, AT24C, 1, 0x60))
    raises(ValueError, AT24C, 3)


def test_a_shared_i2c_device():
    board.attach_i2c(2, AT24CModel(0x57, size=4096, page_size=32))
    dev = I2CDevice(2, 0x57, addr_size=16)
    ee = AT24C(i2c=dev, size=4096, page_size=32)
    assert ee.bus_device is dev and ee.name == "I2C(2) device 0x57"
    ee.write(0, b"shared")
    assert ee.read(0, 6) == b"shared"
    e = raises(ValueError, AT24C, i2c=I2CDevice(2, 0x57))
    assert "addr_size=16" in message(e)


# --- no allocation -----------------------------------------------------------
def test_read_into_a_buffer_does_not_allocate():
    model = attach()
    model.load(0x2000, b"stored calibration")
    ee = AT24C()
    buf = bytearray(18)
    heap_locked(lambda: ee.read(0x2000, buf))
    assert buf == b"stored calibration"
