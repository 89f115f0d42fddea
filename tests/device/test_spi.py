"""pyb_lib.spi.SPIDevice against byte-level models on the simulated SPI buses."""

import errno

import pyb
import pyb_sim
from pyb_lib.spi import LSB, MSB, SPIDevice
from pyb_sim.models import SPIByteModel
from support import heap_locked, message, micropython_only, raises

board = pyb_sim.board


class RegisterChip(SPIByteModel):
    """A BME280 in SPI mode: the first byte is the register with bit 7 as
    the read (1) / write (0) flag; reads and writes auto-increment."""

    def __init__(self):
        super().__init__()
        self.regs = bytearray(256)
        self.regs[0xD0] = 0x60
        self.commands = bytearray()
        self.mosi = bytearray()
        self.mode = None
        self.transactions = 0

    def begin(self):
        self.first = True
        self.transactions += 1

    def exchange(self, byte):
        self.mosi.append(byte)
        if self.first:
            self.first = False
            self.commands.append(byte)
            self.reading = byte & 0x80
            self.ptr = byte | 0x80
            return 0xFF
        if self.reading:
            out = self.regs[self.ptr]
        else:
            self.regs[self.ptr] = byte
            out = 0xFF
        self.ptr = (self.ptr + 1) & 0xFF
        return out

    def spi_transfer(self, out, mode):
        self.mode = mode
        return super().spi_transfer(out, mode)


class Echo(SPIByteModel):
    """MISO repeats MOSI, inverted (so that a stuck bus shows)."""

    def exchange(self, byte):
        return byte ^ 0xFF


class Stalling(SPIByteModel):
    """The transfer never completes: the controller times out."""

    def exchange(self, byte):
        raise OSError(errno.ETIMEDOUT)


def chip(bus=1, cs="X5", **kw):
    model = board.attach_spi(bus, cs, RegisterChip())
    return model, SPIDevice(bus, cs, **kw)


# --- chip select -----------------------------------------------------------
def test_cs_idles_high_from_construction():
    SPIDevice(1, "X5")
    assert board.pin_level("X5") == 1
    SPIDevice("Y", pyb.Pin("Y5"))
    assert board.pin_level("Y5") == 1


def test_a_transaction_drops_cs_and_raises_it_again():
    model, dev = chip()
    with dev as d:
        assert d is dev
        assert board.pin_level("X5") == 0
        assert model.selected
    assert board.pin_level("X5") == 1
    assert not model.selected
    assert model.transactions == 1


def test_cs_is_released_when_the_body_raises():
    model, dev = chip()

    def body():
        with dev:
            dev.write(b"\x01")
            raise KeyError("boom")

    raises(KeyError, body)
    assert board.pin_level("X5") == 1
    assert dev.read_u8(0xD0) == 0x60  # the next transaction works


def test_cs_is_released_when_a_transfer_times_out():
    board.attach_spi(1, "X5", Stalling())
    dev = SPIDevice(1, "X5")
    e = raises(OSError, dev.read_u8, 0xD0)
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e) == "SPI(1) CS X5: timed out reading register 0xD0"
    assert board.pin_level("X5") == 1

    def raw():
        with dev:
            dev.readinto(bytearray(2))

    e = raises(OSError, raw)
    assert message(e) == "SPI(1) CS X5: timed out reading 2 bytes"
    assert board.pin_level("X5") == 1


def test_transactions_do_not_nest():
    model, dev = chip()

    def nested():
        with dev:
            dev.read_u8(0xD0)

    e = raises(RuntimeError, nested)
    assert message(e) == "SPI(1) CS X5: already in a transaction"
    assert board.pin_level("X5") == 1
    assert dev.read_u8(0xD0) == 0x60


def test_raw_transfers_need_a_transaction():
    model, dev = chip()
    e = raises(RuntimeError, dev.write, b"\x00")
    assert message(e) == "SPI(1) CS X5: write outside a transaction; use 'with dev:'"
    raises(RuntimeError, dev.readinto, bytearray(1))
    raises(RuntimeError, dev.write_readinto, b"\x00", bytearray(1))
    assert model.transactions == 0


# --- raw transfers ---------------------------------------------------------
def test_write_readinto_exchanges_bytes():
    board.attach_spi(1, "X5", Echo())
    dev = SPIDevice(1, "X5")
    into = bytearray(3)
    with dev:
        dev.write_readinto(b"\x00\x0f\xf0", into)
    assert into == b"\xff\xf0\x0f"
    buf = bytearray(b"\x55\xaa")
    with dev:
        dev.write_readinto(buf, buf)  # in place, as pyb's send_recv(buf, buf)
    assert buf == b"\xaa\x55"


def test_write_readinto_lengths_must_match():
    board.attach_spi(1, "X5", Echo())
    dev = SPIDevice(1, "X5")
    into = bytearray(2)

    def body():
        with dev:
            dev.write_readinto(b"\x01\x02\x03", into)

    e = raises(ValueError, body)
    assert message(e) == ("SPI(1) CS X5: write_readinto needs buffers of the same length,"
                          " got 3 and 2")
    assert board.pin_level("X5") == 1
    assert into == b"\x00\x00"


def test_readinto_sends_the_fill_byte_and_write_sends_the_buffer():
    model, dev = chip()
    buf = bytearray(2)
    with dev:
        dev.write(b"\xD0")
        dev.readinto(buf, 0xA5)
    assert buf == b"\x60\x00"
    assert model.mosi == b"\xD0\xA5\xA5"


def test_only_the_selected_device_answers():
    a = board.attach_spi(1, "X5", RegisterChip())
    b = board.attach_spi(1, "X4", RegisterChip())
    b.regs[0xD0] = 0x58
    dev_a = SPIDevice(1, "X5")
    dev_b = SPIDevice(1, "X4", spi=dev_a.spi)
    assert dev_a.read_u8(0xD0) == 0x60
    assert dev_b.read_u8(0xD0) == 0x58
    assert a.transactions == 1 and b.transactions == 1
    with dev_a:
        assert board.pin_level("X4") == 1


# --- registers -------------------------------------------------------------
def test_register_reads_set_the_read_flag():
    model, dev = chip()
    model.regs[0x88:0x8B] = b"\x01\x02\x03"
    assert dev.read_u8(0xD0) == 0x60
    assert dev.read_register(0x88, 3) == b"\x01\x02\x03"
    buf = bytearray(2)
    dev.read_register_into(0x08, buf)  # 0x08 | 0x80 = 0x88 on this chip
    assert buf == b"\x01\x02"
    assert model.commands == b"\xD0\x88\x88"
    assert model.transactions == 3


def test_register_writes_clear_the_read_flag():
    model, dev = chip()
    dev.write_u8(0xF4, 0x27)
    dev.write_register(0xF2, b"\x05\x06")
    dev.write_register(0xE0, 0xB6)
    assert model.commands == b"\x74\x72\x60"
    assert model.regs[0xF4] == 0x27
    assert model.regs[0xF2:0xF4] == b"\x05\x06"
    assert model.regs[0xE0] == 0xB6
    assert model.transactions == 3


def test_devices_that_flag_writes_instead_of_reads():
    model, dev = chip(read_flag=0x00, write_flag=0x80)
    dev.read_u8(0x50)
    dev.write_u8(0x50, 1)
    assert model.commands == b"\x50\xD0"


def test_u16_s16_and_bit_fields():
    model, dev = chip()
    model.regs[0xFA:0xFC] = b"\x80\x01"
    assert dev.read_u16(0xFA) == 0x8001
    assert dev.read_u16(0xFA, little=True) == 0x0180
    assert dev.read_s16(0xFA) == 0x8001 - 0x10000
    assert dev.read_s16(0xFA, little=True) == 0x0180
    model.regs[0xF4] = 0b10110101
    assert dev.read_bits(0xF4, 5, 3) == 0b101
    dev.write_bits(0xF4, 5, 3, 0b011)
    assert model.regs[0xF4] == 0b01110101
    e = raises(ValueError, dev.write_bits, 0xF4, 5, 3, 8)
    assert message(e) == "SPI(1) CS X5: value 8 out of range 0..7 for register 0xF4"
    raises(ValueError, dev.read_bits, 0xF4, 5, 4)


# --- set-up and bad input --------------------------------------------------
def test_names_and_bus_settings():
    model, dev = chip(baudrate=2000000, polarity=1, phase=1, firstbit=LSB)
    assert dev.name == "SPI(1) CS X5"
    assert SPIDevice("Y", "Y5").name == "SPI(2) CS Y5"
    assert SPIDevice(1, pyb.Pin("X4")).name == "SPI(1) CS X4"
    dev.read_u8(0xD0)
    polarity, phase, firstbit, baud = model.mode
    assert (polarity, phase, firstbit) == (1, 1, LSB)
    assert baud <= 2000000
    assert MSB == 0 and LSB == 128


def test_two_devices_of_different_modes_share_a_bus():
    # The firmware has one pyb.SPI object per bus and init reconfigures it:
    # each device re-applies its own mode and rate when it takes the bus.
    slow, a = chip(baudrate=1000000, polarity=0, phase=0)
    fast, b = chip(cs="X4", baudrate=10000000, polarity=1, phase=1, firstbit=LSB)
    assert pyb.SPI(1) is pyb.SPI("X") is a.spi is b.spi
    for _ in range(2):
        a.read_u8(0xD0)
        assert slow.mode[:3] == (0, 0, MSB) and slow.mode[3] <= 1000000
        b.read_u8(0xD0)
        assert fast.mode[:3] == (1, 1, LSB) and 1000000 < fast.mode[3] <= 10000000
        with a:
            a.write(b"\x00")
        assert slow.mode[:3] == (0, 0, MSB)


def test_bad_set_up_is_refused_with_the_device_name():
    e = raises(ValueError, SPIDevice, 3, "X5")
    assert message(e) == "SPI(3) CS X5: SPI bus 3 doesn't exist; use 1, 2, 'X' or 'Y'"
    raises(TypeError, SPIDevice, 1.5, "X5")
    e = raises(ValueError, SPIDevice, 1, "X5", polarity=2)
    assert message(e) == "SPI(1) CS X5: polarity must be one of (0, 1), not 2"
    raises(ValueError, SPIDevice, 1, "X5", phase=-1)
    raises(ValueError, SPIDevice, 1, "X5", firstbit=1)
    raises(ValueError, SPIDevice, 1, "X5", baudrate=0)
    raises(ValueError, SPIDevice, 1, "X5", read_flag=0x100)
    e = raises(ValueError, SPIDevice, 1, "X13")
    assert message(e) == "SPI(1) CS X13: Pin(X13) doesn't exist"


def test_bad_values_and_buffers_are_refused_before_cs_drops():
    model, dev = chip()
    raises(ValueError, dev.read_u8, 0x100)
    raises(TypeError, dev.read_u8, "0xD0")
    e = raises(ValueError, dev.write_u8, 0xF4, 300)
    assert message(e) == "SPI(1) CS X5: value 300 out of range 0..255 for register 0xF4"
    e = raises(TypeError, dev.write_register, 0xF4, "ab")
    assert message(e) == "SPI(1) CS X5: data must be bytes-like, not str"
    raises(TypeError, dev.read_register_into, 0xD0, b"\x00")
    raises(ValueError, dev.read_register, 0xD0, 0)

    def raw():
        with dev:
            dev.readinto(bytearray(1), 0x100)

    raises(ValueError, raw)
    assert model.transactions == 1  # only the raw one dropped CS
    assert model.mosi == b""
    assert board.pin_level("X5") == 1


# --- no allocation ---------------------------------------------------------
def test_register_reads_and_raw_transfers_do_not_allocate():
    model, dev = chip()
    model.regs[0xFA:0xFC] = b"\xff\xfe"
    buf = bytearray(2)
    into = bytearray(2)
    out = [0, 0, 0]

    def body():
        dev.read_register_into(0xFA, buf)
        out[0] = dev.read_u8(0xD0)
        out[1] = dev.read_s16(0xFA)
        dev.write_bits(0xF4, 0, 2, 3)
        with dev:
            dev.write(buf)
            dev.readinto(buf)
            dev.write_readinto(buf, into)
        out[2] = board.pin_level("X5")

    heap_locked(body)
    assert out == [0x60, -2, 1]
    assert model.regs[0xF4] == 3


@micropython_only
def test_a_read_that_would_allocate_fails_in_a_handler():
    # Shows that the lock is real: read_register makes a new bytes object.
    model, dev = chip()
    raises(MemoryError, heap_locked, lambda: dev.read_register(0xD0, 1))
    assert board.pin_level("X5") == 1
