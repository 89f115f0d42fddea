"""pyb_lib.register.Field: bit fields as attributes of a driver, through a bus device."""

import errno

import pyb_sim
from pyb_lib.i2c import I2CDevice
from pyb_lib.register import Field
from pyb_lib.spi import SPIDevice
from pyb_sim.models import I2CRegisterModel, SPIByteModel
from support import heap_locked, message, raises

board = pyb_sim.board


class Chip(I2CRegisterModel):
    def __init__(self, address=0x76):
        super().__init__(address)
        self.regs[0xD0] = 0x60
        self.regs[0xF4] = 0b10110101
        self.regs[0xF5] = 0b11100000


class Driver:
    """A small driver written with fields, as the chip drivers are."""

    chip_id = Field(0xD0, 0, 8, readonly=True)
    osrs_t = Field(0xF4, 5, 3)
    osrs_p = Field(0xF4, 2, 3)
    mode = Field(0xF4, 0, 2)
    offset = Field(0xF5, 4, 4, signed=True)
    enable = Field(0xF5, 0, 1)

    def __init__(self, dev):
        self.bus_device = dev


def make(address=0x76):
    model = board.attach_i2c(1, Chip(address))
    return model, Driver(I2CDevice(1, address))


def test_reading_a_field_reads_its_bits():
    model, drv = make()
    assert drv.chip_id == 0x60
    assert drv.osrs_t == 0b101
    assert drv.osrs_p == 0b101
    assert drv.mode == 0b01
    assert drv.enable == 0


def test_setting_a_field_changes_only_its_bits():
    model, drv = make()
    drv.osrs_t = 0b010
    assert model.regs[0xF4] == 0b01010101
    drv.mode = 3
    assert model.regs[0xF4] == 0b01010111
    drv.enable = 1
    assert model.regs[0xF5] == 0b11100001
    assert drv.osrs_p == 0b101


def test_signed_fields_sign_extend():
    model, drv = make()
    assert drv.offset == -2  # 0b1110
    model.regs[0xF5] = 0b01110000
    assert drv.offset == 7
    model.regs[0xF5] = 0b10000000
    assert drv.offset == -8


def test_signed_fields_store_twos_complement():
    model, drv = make()
    model.regs[0xF5] = 0x01
    drv.offset = -3
    assert model.regs[0xF5] == 0b11010001
    drv.offset = 5
    assert model.regs[0xF5] == 0b01010001
    assert drv.offset == 5


def test_read_only_fields_refuse_assignment():
    model, drv = make()
    e = raises(AttributeError, setattr, drv, "chip_id", 0x58)
    assert message(e) == "chip_id(register 0xD0, shift 0, width 8) is read-only"
    assert model.regs[0xD0] == 0x60


def test_values_that_do_not_fit_name_the_field_and_leave_the_register():
    model, drv = make()
    e = raises(ValueError, setattr, drv, "osrs_t", 8)
    assert message(e) == "osrs_t(register 0xF4, shift 5, width 3): value 8 outside 0..7"
    raises(ValueError, setattr, drv, "mode", -1)
    e = raises(ValueError, setattr, drv, "offset", 8)
    assert message(e) == "offset(register 0xF5, shift 4, width 4): value 8 outside -8..7"
    raises(ValueError, setattr, drv, "offset", -9)
    raises(TypeError, setattr, drv, "mode", "1")
    assert model.regs[0xF4] == 0b10110101
    assert model.regs[0xF5] == 0b11100000


def test_fields_that_do_not_fit_a_register_are_refused():
    e = raises(ValueError, Field, 0xF4, 6, 3)
    assert message(e) == ("Field(register 0xF4, shift 6, width 3): the bits must lie"
                          " within one 8-bit register")
    raises(ValueError, Field, 0xF4, 0, 0)
    raises(ValueError, Field, 0xF4, -1, 2)
    raises(ValueError, Field, -1, 0, 2)
    raises(TypeError, Field, "0xF4", 0, 2)


def test_the_class_attribute_is_the_field():
    f = Driver.osrs_t
    assert isinstance(f, Field)
    assert (f.register, f.shift, f.width, f.mask) == (0xF4, 5, 3, 7)
    assert f.signed is False and f.readonly is False
    assert Driver.chip_id.readonly is True
    assert Driver.offset.signed is True
    assert repr(f) == "osrs_t(register 0xF4, shift 5, width 3)"
    assert repr(Field(0x10, 0, 1)) == "Field(register 0x10, shift 0, width 1)"


def test_extract_and_insert_work_on_a_byte_already_read():
    f = Driver.osrs_p
    assert f.extract(0b10110101) == 0b101
    assert f.insert(0b10110101, 0b010) == 0b10101001
    raw = Driver.osrs_t.insert(0, 1)
    raw = Driver.osrs_p.insert(raw, 1)
    raw = Driver.mode.insert(raw, 3)
    assert raw == 0b00100111
    assert Driver.offset.extract(0b10010000) == -7
    assert Driver.offset.insert(0xFF, -7) == 0b10011111
    raises(ValueError, Driver.mode.insert, 0, 4)
    raises(ValueError, Driver.offset.insert, 0, -9)


def test_each_driver_instance_uses_its_own_device():
    model_a, a = make(0x76)
    model_b, b = make(0x77)
    a.mode = 0
    b.mode = 2
    assert model_a.regs[0xF4] & 3 == 0
    assert model_b.regs[0xF4] & 3 == 2
    assert (a.mode, b.mode) == (0, 2)


def test_bus_errors_come_through_with_the_device_name():
    drv = Driver(I2CDevice(1, 0x76))
    e = raises(OSError, getattr, drv, "chip_id")
    assert e.args[0] == errno.EIO
    assert message(e) == "I2C(1) device 0x76: no ACK reading register 0xD0"


def test_field_reads_and_writes_do_not_allocate():
    model, drv = make()
    out = [0, 0, 0]

    def body():
        out[0] = drv.chip_id
        out[1] = drv.offset
        drv.mode = 2
        out[2] = drv.mode

    heap_locked(body)
    assert out == [0x60, -2, 2]
    assert model.regs[0xF4] == 0b10110110


class SpiChip(SPIByteModel):
    """Registers behind SPI: first byte register | 0x80 to read, without it to write."""

    def __init__(self):
        super().__init__()
        self.regs = bytearray(256)
        self.regs[0xD0] = 0x60

    def begin(self):
        self.cmd = None

    def exchange(self, byte):
        if self.cmd is None:
            self.cmd = byte
            self.ptr = byte | 0x80
            return 0xFF
        if self.cmd & 0x80:
            out = self.regs[self.ptr]
        else:
            self.regs[self.ptr] = byte
            out = 0xFF
        self.ptr = (self.ptr + 1) & 0xFF
        return out


def test_the_same_fields_work_through_an_spi_device():
    model = board.attach_spi(1, "X5", SpiChip())
    model.regs[0xF4] = 0b10110101
    drv = Driver(SPIDevice(1, "X5"))
    assert drv.chip_id == 0x60
    assert drv.osrs_t == 0b101
    drv.mode = 2
    assert model.regs[0xF4] == 0b10110110
    assert board.pin_level("X5") == 1
