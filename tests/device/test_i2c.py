"""pyb_lib.i2c.I2CDevice against register models on the simulated I2C buses."""

import errno

import pyb
import pyb_sim
from pyb_lib.i2c import I2CDevice, scan
from pyb_sim.models import I2CRegisterModel
from support import heap_locked, message, micropython_only, raises

board = pyb_sim.board


class Sensor(I2CRegisterModel):
    """A BME280-like register map: chip id 0x60 at 0xD0."""

    def __init__(self, address=0x76):
        super().__init__(address)
        self.regs[0xD0] = 0x60


class Memory16(I2CRegisterModel):
    """An EEPROM-like device with 16-bit memory addresses."""

    addr_size = 16

    def __init__(self, address=0x50):
        super().__init__(address, 4096)


class Stalling(I2CRegisterModel):
    """Holds SCL low (the controller times out) for the first ``stalls`` transfers."""

    def __init__(self, address, stalls):
        super().__init__(address)
        self.stalls = stalls

    def i2c_write(self, data):
        if self.stalls:
            self.stalls -= 1
            raise OSError(errno.ETIMEDOUT)
        super().i2c_write(data)


# --- the bus ---------------------------------------------------------------
def test_scan_lists_the_devices_of_its_own_bus():
    board.attach_i2c(1, Sensor(0x76))
    board.attach_i2c(1, Memory16(0x50))
    board.attach_i2c(2, Sensor(0x77))
    assert I2CDevice(1, 0x76).scan() == [0x50, 0x76]
    assert I2CDevice("Y", 0x77).scan() == [0x77]


def test_module_scan_takes_a_bus_number_or_name():
    board.attach_i2c(2, Sensor(0x77))
    board.attach_i2c(2, Memory16(0x50))
    assert scan(2) == [0x50, 0x77]
    assert scan("Y", baudrate=100000) == [0x50, 0x77]
    assert scan("X") == []
    e = raises(ValueError, scan, 3)
    assert message(e) == "I2C bus 3 doesn't exist; use 1, 2, 'X' or 'Y'"


def test_probe_answers_whether_the_device_acks():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    assert dev.probe() is True
    model.present = False
    assert dev.probe() is False
    assert I2CDevice(1, 0x10).probe() is False


def test_names_use_the_bus_number_and_hex_address():
    assert I2CDevice(1, 0x76).name == "I2C(1) device 0x76"
    assert I2CDevice("X", 0x08).name == "I2C(1) device 0x08"
    assert I2CDevice("Y", 0x3C).name == "I2C(2) device 0x3C"


def test_a_shared_pyb_i2c_object_can_be_passed_in():
    board.attach_i2c(2, Sensor(0x76))
    bus = pyb.I2C(2, pyb.I2C.CONTROLLER, baudrate=100000)
    dev = I2CDevice(2, 0x76, i2c=bus)
    assert dev.i2c is bus
    assert dev.read_u8(0xD0) == 0x60


# --- registers -------------------------------------------------------------
def test_read_u8_and_read_register():
    model = board.attach_i2c(1, Sensor())
    model.regs[0x88:0x8C] = b"\x01\x02\x03\x04"
    dev = I2CDevice(1, 0x76)
    assert dev.read_u8(0xD0) == 0x60
    assert dev.read_register(0x88, 4) == b"\x01\x02\x03\x04"
    buf = bytearray(3)
    assert dev.read_register_into(0x89, buf) is None
    assert buf == b"\x02\x03\x04"
    view = memoryview(bytearray(4))
    dev.read_register_into(0x88, view[1:3])
    assert bytes(view) == b"\x00\x01\x02\x00"


def test_write_register_bytes_int_and_u8():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    dev.write_register(0xF4, b"\x27\xA0")
    assert model.regs[0xF4] == 0x27 and model.regs[0xF5] == 0xA0
    dev.write_register(0xF2, 0x05)
    assert model.regs[0xF2] == 0x05
    dev.write_u8(0xE0, 0xB6)
    assert model.regs[0xE0] == 0xB6
    dev.write_register(0x10, memoryview(b"xyz")[1:])
    assert model.regs[0x10:0x12] == b"yz"


def test_16_bit_register_addresses():
    model = board.attach_i2c(1, Memory16())
    dev = I2CDevice(1, 0x50, addr_size=16)
    dev.write_register(0x0123, b"hello")
    assert model.regs[0x0123:0x0128] == b"hello"
    assert dev.read_register(0x0123, 5) == b"hello"
    assert dev.read_u8(0x0127) == ord("o")
    model.regs[0x0FFF] = 0x5A
    assert dev.read_u8(0x0FFF) == 0x5A


def test_u16_and_s16_big_and_little_endian():
    model = board.attach_i2c(1, Sensor())
    model.regs[0x88:0x8A] = b"\xFE\x12"
    dev = I2CDevice(1, 0x76)
    assert dev.read_u16(0x88) == 0xFE12
    assert dev.read_u16(0x88, little=True) == 0x12FE
    assert dev.read_s16(0x88) == 0xFE12 - 0x10000
    assert dev.read_s16(0x88, little=True) == 0x12FE
    model.regs[0x8A:0x8C] = b"\x00\x80"
    assert dev.read_s16(0x8A, little=True) == -32768
    assert dev.read_s16(0x8A) == 0x0080


def test_write_u16_both_byte_orders():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    dev.write_u16(0x20, 0x1234)
    dev.write_u16(0x22, 0x1234, little=True)
    dev.write_u16(0x24, -2)
    assert model.regs[0x20:0x26] == b"\x12\x34\x34\x12\xFF\xFE"
    raises(ValueError, dev.write_u16, 0x20, 0x10000)


def test_bit_fields_read_modify_write_keeps_the_other_bits():
    model = board.attach_i2c(1, Sensor())
    model.regs[0xF4] = 0b10110101
    dev = I2CDevice(1, 0x76)
    assert dev.read_bits(0xF4, 2, 3) == 0b101
    dev.write_bits(0xF4, 2, 3, 0b010)
    assert model.regs[0xF4] == 0b10101001
    dev.write_bits(0xF4, 7, 1, 0)
    assert model.regs[0xF4] == 0b00101001
    dev.write_bits(0xF4, 0, 8, 0xFF)
    assert model.regs[0xF4] == 0xFF


def test_bit_field_values_and_shapes_are_checked():
    model = board.attach_i2c(1, Sensor())
    model.regs[0xF4] = 0x5A
    dev = I2CDevice(1, 0x76)
    e = raises(ValueError, dev.write_bits, 0xF4, 2, 3, 8)
    assert message(e) == "I2C(1) device 0x76: value 8 out of range 0..7 for register 0xF4"
    raises(ValueError, dev.write_bits, 0xF4, 2, 3, -1)
    raises(ValueError, dev.read_bits, 0xF4, 6, 3)
    raises(ValueError, dev.read_bits, 0xF4, 0, 0)
    raises(TypeError, dev.write_bits, 0xF4, 0, 1, "1")
    assert model.regs[0xF4] == 0x5A


# --- errors and retries ----------------------------------------------------
def test_no_ack_names_bus_device_operation_and_register():
    dev = I2CDevice(1, 0x76)
    e = raises(OSError, dev.read_u8, 0xD0)
    assert e.args[0] == errno.EIO
    assert message(e) == "I2C(1) device 0x76: no ACK reading register 0xD0"
    e = raises(OSError, dev.write_u8, 0xF4, 0x27)
    assert message(e) == "I2C(1) device 0x76: no ACK writing register 0xF4"
    e = raises(OSError, I2CDevice(2, 0x50, addr_size=16).write_register, 0x12, b"ab")
    assert message(e) == "I2C(2) device 0x50: no ACK writing register 0x0012"
    e = raises(OSError, dev.readinto, bytearray(4))
    assert message(e) == "I2C(1) device 0x76: no ACK reading 4 bytes"


def test_transient_errors_are_retried_up_to_retries():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76, retries=2)
    board.fail_i2c(0x76, 2)
    assert dev.read_u8(0xD0) == 0x60
    board.fail_i2c(0x76, 2)
    dev.write_u8(0xF4, 0x27)
    assert model.regs[0xF4] == 0x27


def test_more_failures_than_retries_raise_the_named_error():
    board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76, retries=2)
    board.fail_i2c(0x76, 3)
    e = raises(OSError, dev.read_u8, 0xD0)
    assert e.args[0] == errno.EIO
    assert message(e) == "I2C(1) device 0x76: no ACK reading register 0xD0"
    assert dev.read_u8(0xD0) == 0x60  # the faults are used up


def test_no_retry_when_retries_is_zero():
    board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76, retries=0)
    board.fail_i2c(0x76, 1)
    raises(OSError, dev.read_u8, 0xD0)
    assert dev.read_u8(0xD0) == 0x60


def test_timeouts_keep_their_errno_and_are_retried():
    model = board.attach_i2c(1, Stalling(0x76, 5))
    dev = I2CDevice(1, 0x76, retries=2)
    e = raises(OSError, dev.write_u8, 0xF4, 0x27)
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e) == "I2C(1) device 0x76: timed out writing register 0xF4"
    assert model.stalls == 2  # three attempts
    dev.write_u8(0xF4, 0x27)  # two more stalls, then it goes through
    assert model.regs[0xF4] == 0x27 and model.stalls == 0


def test_the_bus_stays_usable_after_an_error():
    board.attach_i2c(1, Sensor(0x77))
    missing = I2CDevice(1, 0x76)
    present = I2CDevice(1, 0x77, i2c=missing.i2c)
    raises(OSError, missing.read_register, 0xD0, 2)
    assert present.read_u8(0xD0) == 0x60
    board.attach_i2c(1, Sensor(0x76))
    assert missing.read_u8(0xD0) == 0x60


# --- bad input -------------------------------------------------------------
def test_addresses_outside_the_7_bit_range_are_value_errors():
    e = raises(ValueError, I2CDevice, 1, 0x78)
    assert message(e) == "I2C(1) device 0x78: address outside 0x08..0x77"
    raises(ValueError, I2CDevice, 1, 0x07)
    raises(ValueError, I2CDevice, 1, -1)
    e = raises(TypeError, I2CDevice, 1, "0x76")
    assert message(e) == "I2C(1): device address must be an int, not str"


def test_buses_that_do_not_exist():
    e = raises(ValueError, I2CDevice, 3, 0x76)
    assert message(e) == "I2C(3) device 0x76: I2C bus 3 doesn't exist; use 1, 2, 'X' or 'Y'"
    raises(ValueError, I2CDevice, "Z", 0x76)
    raises(TypeError, I2CDevice, 1.0, 0x76)
    raises(ValueError, I2CDevice, 1, 0x76, addr_size=12)
    raises(ValueError, I2CDevice, 1, 0x76, baudrate=1000000)
    raises(ValueError, I2CDevice, 1, 0x76, retries=-1)


def test_registers_out_of_range_for_the_addr_size():
    dev8 = I2CDevice(1, 0x76)
    e = raises(ValueError, dev8.read_u8, 0x100)
    assert message(e) == "I2C(1) device 0x76: register 256 out of range 0..255"
    raises(ValueError, dev8.write_register, -1, b"x")
    raises(TypeError, dev8.read_u8, "0xD0")
    dev16 = I2CDevice(1, 0x50, addr_size=16)
    raises(ValueError, dev16.read_u8, 0x10000)


def test_values_and_types_are_checked_before_the_bus_is_used():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    e = raises(ValueError, dev.write_u8, 0xF4, 256)
    assert message(e) == "I2C(1) device 0x76: value 256 out of range 0..255 for register 0xF4"
    raises(ValueError, dev.write_register, 0xF4, -1)
    e = raises(TypeError, dev.write_register, 0xF4, "AB")
    assert message(e) == "I2C(1) device 0x76: data must be bytes-like, not str"
    raises(TypeError, dev.write_register, 0xF4, [1, 2])
    e = raises(TypeError, dev.read_register_into, 0xD0, b"\x00")
    assert "I2C(1) device 0x76: need a writable buffer" in message(e)
    raises(ValueError, dev.read_register_into, 0xD0, bytearray(0))
    raises(ValueError, dev.read_register, 0xD0, 0)
    raises(TypeError, dev.write, "abc")
    assert model.regs[0xF4] == 0


def test_raw_write_and_readinto_without_a_register():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    dev.write(b"\x40\x11\x22")  # pointer 0x40, then two data bytes
    assert model.regs[0x40:0x42] == b"\x11\x22"
    dev.write(b"\x40")
    buf = bytearray(2)
    dev.readinto(buf)
    assert buf == b"\x11\x22"


# --- no allocation ---------------------------------------------------------
def test_register_reads_into_a_buffer_do_not_allocate():
    model = board.attach_i2c(1, Sensor())
    model.regs[0x88:0x8C] = b"\x80\x01\x02\x03"
    dev = I2CDevice(1, 0x76)
    buf = bytearray(4)
    out = [0, 0, 0, 0]

    def body():
        dev.read_register_into(0x88, buf)
        out[0] = dev.read_u8(0xD0)
        out[1] = dev.read_u16(0x88)
        out[2] = dev.read_s16(0x88)
        out[3] = dev.read_bits(0xD0, 4, 4)

    heap_locked(body)
    assert buf == b"\x80\x01\x02\x03"
    assert out == [0x60, 0x8001, 0x8001 - 0x10000, 6]


def test_writes_and_retries_do_not_allocate():
    model = board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    buf = bytearray(2)

    def body():
        dev.write_u8(0xF4, 0x27)
        dev.write_bits(0xF4, 0, 2, 3)
        dev.readinto(buf)

    board.fail_i2c(0x76, 2)
    heap_locked(body)
    assert model.regs[0xF4] == 0x27
    assert buf == b"\x00\x00"


@micropython_only
def test_a_read_that_would_allocate_fails_in_a_handler():
    # Shows that the lock is real: read_register makes a new bytes object.
    board.attach_i2c(1, Sensor())
    dev = I2CDevice(1, 0x76)
    raises(MemoryError, heap_locked, lambda: dev.read_register(0xD0, 1))
