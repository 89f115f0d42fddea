"""Pins shared between peripherals: on PYBV11 DAC(1) drives X5 (where a
W25Q's chip select often goes), DAC(2) drives X6 (SPI(1)'s clock), UART
'XB' and I2C(1) share X9/X10. On a board the last peripheral initialised
takes the pin; pyb_lib refuses a pin another pyb_lib object holds."""

import pyb_sim
from pyb_lib.dac import AnalogOut
from pyb_lib.devices.w25q import W25Q
from pyb_lib.spi import SPIDevice
from pyb_sim.models.w25q import W25QModel
from support import message, raises

board = pyb_sim.board


def test_a_pin_another_object_holds_is_refused_naming_both():
    board.attach_spi(1, "X5", W25QModel())
    flash = W25Q(1, "X5")
    e = raises(ValueError, AnalogOut, 1)
    assert message(e) == "X5 is W25Q(1)'s chip select; DAC(1) drives X5"
    e = raises(ValueError, AnalogOut, 2)
    assert message(e) == "X6 is SPI(1)'s SCK; DAC(2) drives X6"
    assert flash.jedec_id() == (0xEF, 0x40, 0x18)  # the flash is untouched


def test_deinit_frees_the_pins():
    board.attach_spi(1, "X5", W25QModel())
    flash = W25Q(1, "X5")
    flash.deinit()
    out = AnalogOut(1)
    out.write(200)
    assert board.dacs[1].raw_at(board.now) == 200
    e = raises(ValueError, W25Q, 1, "X5")
    assert message(e) == "X5 is DAC(1)'s output; W25Q(1) uses X5 as chip select"
    out.deinit()
    assert W25Q(1, "X5").size == 16 * 1024 * 1024


def test_devices_on_one_bus_share_its_pins_until_the_last_lets_go():
    a = SPIDevice(1, "X5")
    b = SPIDevice(1, "X4", baudrate=2000000)
    a.deinit()
    e = raises(ValueError, AnalogOut, 2)
    assert message(e) == "X6 is SPI(1)'s SCK; DAC(2) drives X6"
    b.deinit()
    b.deinit()  # a second deinit does nothing
    AnalogOut(2).write(10)
    AnalogOut(1).write(20)  # X5, a's chip select, is free too
    assert board.dacs[2].raw_at(board.now) == 10


def test_uart_xb_and_i2c_1_share_x9_and_x10():
    from pyb_lib.i2c import I2CDevice
    from pyb_lib.uart import UARTPort

    dev = I2CDevice(1, 0x76)
    other = I2CDevice("X", 0x77)  # a second device on the bus shares its pins
    e = raises(ValueError, UARTPort, "XB")
    assert message(e) == "X9 is I2C(1)'s SCL; UART(1) uses X9 as TX"
    dev.deinit()
    raises(ValueError, UARTPort, 1)
    other.deinit()
    port = UARTPort("XB")
    e = raises(ValueError, I2CDevice, 1, 0x76)
    assert message(e) == "X9 is UART(1)'s TX; I2C(1) uses X9 as SCL"
    port.deinit()
    I2CDevice(1, 0x76)


def test_an_analog_input_on_a_bus_pin_is_refused():
    from pyb_lib.adc import AnalogIn

    dev = SPIDevice(1, "X5")
    e = raises(ValueError, AnalogIn, "X7")
    assert message(e) == "X7 is SPI(1)'s MISO; AnalogIn(X7) uses X7 as analog input"
    x1 = AnalogIn("X1")
    AnalogIn("X1")  # two inputs on one pin read the same signal
    dev.deinit()
    x7 = AnalogIn("X7")
    e = raises(ValueError, SPIDevice, 1, "X4")
    assert message(e) == "X7 is AnalogIn(X7)'s analog input; SPI(1) uses X7 as MISO"
    x7.deinit()
    x1.deinit()
    SPIDevice(1, "X4")
