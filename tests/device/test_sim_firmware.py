"""The simulated pyb where the firmware's C code decides: one object per
peripheral, and the last peripheral initialised owning a shared pin
(see docs/virtual-board.md, "Firmware behaviour -> simulation")."""

import pyb
import pyb_sim
from pyb_sim.models.at24c import AT24CModel
from pyb_sim.models.w25q import W25QModel
from support import raises

board = pyb_sim.board


def test_one_object_per_peripheral_and_init_reconfigures_it():
    # ports/stm32/pyb_spi.c, pyb_i2c.c, uart.c, timer.c, dac.c: make_new
    # returns the peripheral's one object; arguments re-initialise it.
    assert pyb.SPI(1) is pyb.SPI("X") and pyb.SPI(1) is not pyb.SPI(2)
    assert pyb.I2C(2) is pyb.I2C("Y") and pyb.UART(4) is pyb.UART("XA")
    assert pyb.Timer(4) is pyb.Timer(4) and pyb.DAC(1) is pyb.DAC("X5")
    spi = pyb.SPI(1, pyb.SPI.CONTROLLER, baudrate=1000000, polarity=1)
    assert repr(pyb.SPI(1)) == repr(spi)  # no arguments: left as it is
    pyb.SPI(1, pyb.SPI.CONTROLLER, baudrate=1000000, polarity=0)
    assert spi._polarity == 0  # reconfigured for every holder
    ticks = bytearray(1)

    def tick(t):
        ticks[0] += 1

    pyb.Timer(4, freq=1000, callback=tick)
    pyb.Timer(4).deinit()  # another holder's deinit stops it, as on the board
    pyb.delay(5)
    assert ticks[0] == 0


def test_a_bus_whose_pins_another_peripheral_took_reaches_no_device():
    # UART 'XB' (1) is on I2C(1)'s X9/X10 (boards/PYBV11/mpconfigboard.h):
    # the last one initialised drives the pins.
    board.attach_i2c(1, AT24CModel(address=0x50))
    i2c = pyb.I2C(1, pyb.I2C.CONTROLLER)
    assert i2c.scan() == [0x50]
    uart = pyb.UART(1, 9600)
    assert i2c.scan() == []
    raises(OSError, i2c.mem_read, 1, 0x50, 0)
    uart.write(b"ok")
    assert board.uart_sent(1) == b"ok"
    i2c.init(pyb.I2C.CONTROLLER)  # takes X9/X10 back
    assert i2c.scan() == [0x50]
    uart.write(b"lost")
    assert board.uart_sent(1) == b"ok"  # UART(1)'s TX pin is I2C's now


def test_dac_outputs_take_spi_pins_and_chip_selects():
    board.attach_spi(1, "X5", W25QModel())
    spi = pyb.SPI(1, pyb.SPI.CONTROLLER, baudrate=1000000, polarity=0, phase=0)
    cs = pyb.Pin("X5", pyb.Pin.OUT_PP, value=1)
    buf = bytearray(3)

    def jedec():
        cs(0)
        spi.send(b"\x9f")
        spi.recv(buf)
        cs(1)
        return bytes(buf)

    assert jedec() == b"\xef\x40\x18"
    pyb.DAC(2)  # X6: SPI(1)'s SCK
    assert jedec() == b"\x00\x00\x00"
    spi.init(pyb.SPI.CONTROLLER, baudrate=1000000, polarity=0, phase=0)  # SCK back
    assert jedec() == b"\xef\x40\x18"
    pyb.DAC(1)  # X5: the chip select stays high, the flash is never selected
    assert jedec() == b"\x00\x00\x00"
    cs.init(pyb.Pin.OUT_PP)
    assert jedec() == b"\xef\x40\x18"


def test_wfi_returns_at_the_next_interrupt_the_systick_at_the_latest():
    # docs/library/pyb.rst (wfi): the system tick interrupts every
    # millisecond, so wfi blocks for at most 1 ms; a timer's interrupt
    # that comes first ends it then.
    t0 = board.now
    timer = pyb.Timer(4, freq=10)  # next interrupt in 100 ms
    pyb.wfi()
    assert 0 < board.now - t0 <= 1000000, board.now - t0
    assert board.now % 1000000 == 0  # on a SysTick
    timer.deinit()
    fired = bytearray(1)

    def tick(t):
        fired[0] += 1

    start = board.now
    timer = pyb.Timer(4, freq=5000, callback=tick)  # every 200 us
    pyb.wfi()
    assert board.now - start <= 200000 and fired[0] == 1, (board.now - start, fired[0])
    timer.deinit()


def test_next_irq_due_names_what_moving_the_clock_would_run():
    # The virtual board's clock read moves the clock without running the
    # simulation when nothing falls due by then (Board.next_irq_due(True));
    # a timer without a callback counts there, as advance_to updates it,
    # but not for the interrupt controller (next_irq_due()).
    now = board.now
    assert board.next_irq_due(True) is None
    ran = bytearray(1)

    def event():
        ran[0] = 1

    board.schedule(now + 5000, event)
    assert board.next_irq_due(True) == now + 5000 == board.next_irq_due()
    board.advance_to(now + 5000)
    assert ran[0] == 1 and board.next_irq_due(True) is None
    timer = pyb.Timer(4, freq=1000)  # no callback: the next update in 1 ms
    assert board.next_irq_due(True) == board.now + 1000000
    assert board.next_irq_due() is None
    timer.deinit()
    assert board.next_irq_due(True) is None
