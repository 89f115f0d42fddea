"""The simulated ``machine`` module over the same board as ``pyb``, driven
the way published MicroPython drivers drive it."""

import errno

import machine

import pyb
import pyb_sim
from pyb_sim.models.at24c import AT24CModel
from pyb_sim.models.bme280 import BME280Model
from pyb_sim.models.w25q import W25QModel
from support import message, raises

board = pyb_sim.board


def test_machine_and_pyb_reach_the_same_device():
    board.attach_i2c(1, BME280Model(address=0x76))
    assert machine.I2C(1).readfrom_mem(0x76, 0xD0, 1) == b"\x60"
    assert pyb.I2C(1, pyb.I2C.CONTROLLER).mem_read(1, 0x76, 0xD0) == b"\x60"
    assert machine.I2C("X").scan() == [0x76]
    assert machine.I2C(2).scan() == []


def test_no_ack_is_enodev():
    e = raises(OSError, machine.I2C(1).readfrom_mem, 0x50, 0, 1)
    assert e.args[0] == errno.ENODEV == 19
    e = raises(OSError, machine.I2C(1).writeto, 0x50, b"\x00")
    assert e.args[0] == errno.ENODEV


def test_register_access_as_drivers_do_it():
    board.attach_i2c(1, BME280Model(address=0x77))
    i2c = machine.I2C(1, freq=400000)
    buf = bytearray(1)
    i2c.readfrom_mem_into(0x77, 0xD0, buf)
    assert buf[0] == 0x60
    # write a register, then read it back with a repeated start
    i2c.writeto_mem(0x77, 0xF4, b"\x27")
    assert i2c.writeto(0x77, b"\xf4", False) == 1
    i2c.readfrom_into(0x77, buf)
    assert buf[0] == 0x27
    i2c.writevto(0x77, (b"\xf4", b"\x24"))
    assert i2c.readfrom_mem(0x77, 0xF4, 1) == b"\x24"


def test_16_bit_memory_addresses():
    board.attach_i2c(2, AT24CModel(address=0x50))
    i2c = machine.I2C("Y")
    i2c.writeto_mem(0x50, 0x0123, b"abc", addrsize=16)
    pyb.delay(10)  # the EEPROM's write cycle
    assert i2c.readfrom_mem(0x50, 0x0123, 3, addrsize=16) == b"abc"
    assert "invalid addrsize" in message(raises(ValueError, i2c.readfrom_mem, 0x50, 0, 1,
                                                addrsize=12))


def test_hardware_i2c_pins_are_fixed_and_soft_i2c_takes_any():
    board.attach_i2c(1, BME280Model(address=0x76))
    e = raises(ValueError, machine.I2C, 1, scl=machine.Pin("X9"), sda=machine.Pin("X10"))
    assert message(e) == "explicit choice of scl/sda is not implemented"
    soft = machine.SoftI2C(scl=machine.Pin("X9"), sda=machine.Pin("X10"))
    assert soft.scan() == [0x76]
    assert soft.readfrom_mem(0x76, 0xD0, 1) == b"\x60"
    # other pins: a bus with nothing on it
    other = machine.SoftI2C(scl=machine.Pin("Y1"), sda=machine.Pin("Y2"))
    assert other.scan() == []
    assert raises(OSError, other.readfrom, 0x76, 1).args[0] == errno.ENODEV
    assert "not supported" in str(raises(OSError, machine.I2C(1).start))


def test_soft_i2c_bus_primitives():
    board.attach_i2c(1, BME280Model(address=0x76))
    i2c = machine.SoftI2C(scl="X9", sda="X10")
    i2c.start()
    assert i2c.write(bytes((0x76 << 1, 0xD0))) == 2
    i2c.start()
    assert i2c.write(bytes((0x76 << 1 | 1,))) == 1
    buf = bytearray(1)
    i2c.readinto(buf)
    i2c.stop()
    assert buf[0] == 0x60
    i2c.start()
    assert i2c.write(bytes((0x40 << 1,))) == 0  # nobody acknowledges
    i2c.stop()


def test_spi_with_a_pin_as_chip_select():
    board.attach_spi(1, "X5", W25QModel())
    cs = machine.Pin("X5", machine.Pin.OUT, value=1)
    spi = machine.SPI(1, baudrate=1000000, polarity=0, phase=0)
    out = bytearray(b"\x9f\x00\x00\x00")
    got = bytearray(4)
    cs(0)
    spi.write_readinto(out, got)
    cs(1)
    assert bytes(got[1:]) == b"\xef\x40\x18"
    cs.off()
    spi.write(b"\x9f")
    assert spi.read(3) == b"\xef\x40\x18"
    cs.on()
    buf = bytearray(3)
    cs.value(0)
    spi.write(b"\x9f")
    spi.readinto(buf, 0xFF)
    cs.value(1)
    assert buf == bytearray(b"\xef\x40\x18")
    e = raises(ValueError, machine.SPI, 1, sck=machine.Pin("X6"))
    assert message(e) == "explicit choice of sck/mosi/miso is not implemented"


def test_soft_spi_on_the_bus_pins():
    board.attach_spi(1, "X5", W25QModel())
    cs = machine.Pin("X5", machine.Pin.OUT, value=1)
    spi = machine.SoftSPI(baudrate=100000, sck=machine.Pin("X6"), mosi=machine.Pin("X8"),
                          miso=machine.Pin("X7"))
    cs(0)
    spi.write(b"\x9f")
    got = spi.read(3)
    cs(1)
    assert got == b"\xef\x40\x18"
    other = machine.SoftSPI(sck="Y1", mosi="Y2", miso="Y3")
    cs(0)
    assert other.read(2) == b"\x00\x00"  # nothing answers: MISO pulled down
    cs(1)


def test_adc_read_u16_and_pins():
    board.set_analog("X19", 1.65)
    adc = machine.ADC(machine.Pin("X19"))
    raw = pyb.ADC("X19").read()
    assert adc.read_u16() == (raw << 4 | raw >> 8)
    assert machine.ADC(machine.ADC.VREF).read_u16() == 0xFFFF
    assert 0 < machine.ADC(machine.ADC.CORE_VREF).read_u16() < 0xFFFF
    e = raises(ValueError, machine.ADC, "X9")
    assert message(e) == "Pin(B6) does not have ADC capabilities"
    e = raises(ValueError, pyb.ADC, "X9")
    assert message(e) == "Pin(B6) doesn't have ADC capabilities"


def test_pin_names_from_the_board_files():
    assert pyb.Pin("X19").name() == "C0"
    assert pyb.Pin.board.X19.name() == "C0"
    assert pyb.Pin.cpu.A0.names() == ["A0", "X1"]
    assert machine.Pin.AF4_I2C1 == 4 and machine.Pin.AF8_UART4 == 8
    assert "doesn't exist" in message(raises(ValueError, pyb.Pin, "X13"))


def test_pin_irq():
    seen = []
    p = machine.Pin("Y1", machine.Pin.IN)
    p.irq(lambda pin: seen.append(pin.name()), machine.Pin.IRQ_FALLING)
    board.set_pin("Y1", 1)
    board.set_pin("Y1", 0)
    board.set_pin("Y1", 1)
    assert seen == ["C6"]


def test_soft_timer_and_uart():
    # soft callbacks (the default, extmod/machine_timer.c) are scheduled;
    # this one counts in place, so it could be hard too
    ticks = [0]

    def tick(tm):
        ticks[0] += 1

    t = machine.Timer(freq=1000, callback=tick)
    pyb.delay(10)
    t.deinit()
    assert ticks[0] == 10
    once = []
    machine.Timer(-1, mode=machine.Timer.ONE_SHOT, period=5, hard=False,
                  callback=lambda tm: once.append(1))
    pyb.delay(20)
    assert once == [1]
    assert message(raises(ValueError, machine.Timer, 1)) == "Timer doesn't exist"
    board.uart_loopback(1)
    u = machine.UART(1, 115200)
    u.write(b"hi")
    pyb.delay(1)
    assert u.read(2) == b"hi"


def test_module_functions():
    assert machine.freq()[0] == 168000000
    assert len(machine.unique_id()) == 12
    raises(SystemExit, machine.soft_reset)
