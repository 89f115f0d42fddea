"""The simulated pyb: API errors as the firmware raises them, the virtual
clock, timers and the interrupt heap lock."""

import pyb
import pyb_sim
from support import approx, message, micropython_only, raises

board = pyb_sim.board


def test_buses_that_do_not_exist_are_value_errors():
    assert message(raises(ValueError, pyb.UART, 5, 9600)) == "UART(5) doesn't exist"
    assert message(raises(ValueError, pyb.UART, "ZZ", 9600)) == "UART(ZZ) doesn't exist"
    assert message(raises(ValueError, pyb.I2C, 3)) == "I2C(3) doesn't exist"
    assert message(raises(ValueError, pyb.SPI, 3)) == "SPI(3) doesn't exist"
    assert message(raises(ValueError, pyb.Timer, 15)) == "Timer(15) doesn't exist"
    assert message(raises(ValueError, pyb.DAC, 3)) == "DAC(3) doesn't exist"
    assert message(raises(ValueError, pyb.LED, 5)) == "LED(5) doesn't exist"


def test_pins_by_board_and_cpu_name():
    assert pyb.Pin("X5").name() == "A4"
    assert pyb.Pin.board.Y12.name() == "B1"
    assert pyb.Pin.cpu.C5.names() == ["C5", "X12"]
    assert message(raises(ValueError, pyb.Pin, "X13")) == "Pin(X13) doesn't exist"


def test_adc_only_on_analog_pins():
    assert message(raises(ValueError, pyb.ADC, "X9")) == "Pin(B6) doesn't have ADC capabilities"
    assert message(raises(ValueError, pyb.ADC, 19)) == "not a valid ADC Channel: 19"


def test_uart_names_map_to_buses():
    assert pyb.UART("XA", 9600)._bus == 4
    assert pyb.UART("XB", 9600)._bus == 1
    assert pyb.UART("YA", 9600)._bus == 6
    assert pyb.UART("YB", 9600)._bus == 3


def test_delay_advances_virtual_time_only():
    t0 = pyb.millis()
    pyb.delay(10000)
    assert 10000 <= pyb.elapsed_millis(t0) <= 10001


def test_millis_wraps_like_a_30_bit_small_int():
    board.now = (0x3FFFFFFF - 5) * 1000000
    start = pyb.millis()
    pyb.delay(10)
    assert pyb.millis() < start
    assert 10 <= pyb.elapsed_millis(start) <= 11


def test_timer_callback_count_follows_the_clock():
    counts = bytearray(1)

    def tick(t):
        counts[0] = (counts[0] + 1) & 0xFF

    tim = pyb.Timer(6, freq=1000, callback=tick)
    pyb.delay(100)
    assert tim.fired == 100
    assert counts[0] == 100
    assert tim.freq() == 1000


def test_timer_needs_a_rate():
    raises(TypeError, pyb.Timer(4).init)
    assert message(raises(ValueError, pyb.Timer(4).init, freq=0)) == "must have positive freq"


@micropython_only
def test_allocating_timer_callback_raises_memory_error_and_is_disabled():
    # Pure-Python allocation is caught by MicroPython's real heap lock; on
    # CPython the simulated peripherals stand guard (next test).
    def bad(t):
        return bytearray(16)

    tim = pyb.Timer(4, freq=100, callback=bad)
    pyb.delay(20)  # the firmware prints the exception and carries on
    assert tim.callback is not None and tim._cb is None  # turned off
    header, exc = board.irq_exceptions[0]
    assert header == "Uncaught exception in IRQ callback handler"
    assert isinstance(exc, MemoryError) and len(board.irq_exceptions) == 1


def test_a_callback_that_raises_is_disabled_and_the_main_program_goes_on():
    # ports/stm32/timer.c timer_handle_irq_channel, shared/runtime/mpirq.c
    calls = bytearray(1)
    error = ValueError("third tick")  # made here: the handler cannot allocate

    def cb(t):
        calls[0] += 1
        if calls[0] == 3:
            raise error

    tim = pyb.Timer(4, freq=1000, callback=cb)
    pyb.delay(10)
    assert calls[0] == 3 and tim._cb is None
    header, exc = board.irq_exceptions[0]
    assert header == "Uncaught exception in IRQ callback handler"
    assert isinstance(exc, ValueError) and str(exc) == "third tick"
    assert pyb.Timer(4) is tim  # the timer itself runs on, without callback


def test_peripheral_calls_that_allocate_fail_in_a_handler():
    board.uart_loopback(1)
    uart = pyb.UART(1, 115200)
    errors = bytearray(1)

    def handler(t):
        try:
            uart.read(4)
        except MemoryError:
            errors[0] = 1

    pyb.Timer(4, freq=100, callback=handler)
    pyb.delay(15)
    assert errors[0] == 1


def test_non_allocating_calls_work_in_a_handler():
    board.set_analog("X1", 1.0)
    adc = pyb.ADC("X1")
    samples = bytearray(4)
    n = bytearray(1)

    def handler(t):
        if n[0] < 4:
            samples[n[0]] = adc.read() >> 4
            n[0] += 1

    pyb.Timer(4, freq=1000, callback=handler)
    pyb.delay(10)
    assert n[0] == 4
    assert samples[0] == (int(1.0 * 4095 / 3.3 + 0.5) >> 4)


def test_uart_loopback_and_timeout():
    board.uart_loopback(2)
    uart = pyb.UART(2, 115200, timeout=50)
    assert uart.write(b"ping\n") == 5
    assert uart.readline() == b"ping\n"
    t0 = pyb.millis()
    assert uart.read(1) is None
    assert pyb.elapsed_millis(t0) >= 50


def test_uart_rx_buffer_overflow_loses_bytes():
    uart = pyb.UART(6, 115200, read_buf_len=16)
    board.uart_feed(6, bytes(range(40)))
    pyb.delay(10)
    assert uart.any() == 16
    assert board.uart_line(6).overrun == 24


def test_i2c_no_device_is_eio():
    i2c = pyb.I2C(1, pyb.I2C.CONTROLLER)
    e = raises(OSError, i2c.mem_read, 1, 0x50, 0)
    assert e.args[0] == 5
    assert i2c.scan() == []


def test_i2c_must_be_initialised_as_controller():
    raises(TypeError, pyb.I2C(1).scan)


def test_adc_calibration_against_vref():
    board.vdda = 3.0
    board.set_analog("X2", 1.5)
    raw = pyb.ADC("X2").read()
    assert abs(raw - 2048) <= 1
    vref = pyb.ADCAll(12, 0x70000).read_vref()
    assert abs(vref - 3.0) < 0.01
    assert abs(raw * vref / 4095 - 1.5) < 0.002


def test_adc_read_timed_samples_a_signal_of_time():
    import array

    board.set_analog("X3", lambda t: 3.3 * t)  # a ramp of 3.3 V/s
    buf = array.array("H", [0] * 10)
    pyb.ADC("X3").read_timed(buf, 10)  # 10 Hz for one second
    assert buf[0] == 0
    assert abs(buf[5] - 2048) <= 1
    assert 1000 <= pyb.millis() <= 1001


def test_dac_timed_circular_output_and_loopback():
    board.connect_dac(1, "X1")
    dac = pyb.DAC(1)
    dac.write_timed(bytearray([0, 255]), 1000, mode=pyb.DAC.CIRCULAR)
    adc = pyb.ADC("X1")
    pyb.udelay(100)
    low = adc.read()
    pyb.udelay(1000)
    high = adc.read()
    assert low == int(0.2 * 4095 / 3.3 + 0.5)  # buffered: 0.2 V .. VDDA - 0.2 V
    assert high == int(3.1 * 4095 / 3.3 + 0.5)


def test_extint_fires_on_edges_with_heap_locked():
    hits = bytearray(1)

    def on_edge(line):
        hits[0] += 1

    pyb.ExtInt("Y1", pyb.ExtInt.IRQ_RISING, pyb.Pin.PULL_NONE, on_edge)
    board.set_pin("Y1", 1)
    board.set_pin("Y1", 0)
    board.set_pin("Y1", 1)
    assert hits[0] == 2


def test_the_buffered_dac_output_stays_0_2_v_from_the_rails():
    # ports/stm32/dac.c: buffering=None leaves single writes unbuffered and
    # waveforms buffered; the buffer's swing is 0.2 V .. VDDA - 0.2 V.
    dac = pyb.DAC(1)
    dac.write(0)
    assert board.dacs[1].volts_at(board.now) == 0.0
    dac.write(255)
    assert approx(board.dacs[1].volts_at(board.now), 3.3, 1e-6)
    dac.write_timed(bytearray([0, 255]), 1000, mode=pyb.DAC.CIRCULAR)
    t = board.now
    assert approx(board.dacs[1].volts_at(t), 0.2, 1e-6)
    assert approx(board.dacs[1].volts_at(t + 1000000), 3.1, 1e-6)
    dac = pyb.DAC(1, buffering=True)
    dac.write(0)
    assert approx(board.dacs[1].volts_at(board.now), 0.2, 1e-6)
    pyb.DAC(1, buffering=False).write_timed(bytearray([0, 255]), 1000)
    assert board.dacs[1].volts_at(board.now) == 0.0


def test_pin_names_are_the_firmware_s():
    # boards/PYBV11/pins.csv and make-pins.py: board names, and CPU names
    # without the "P", only for the CPU pins the board file lists.
    assert pyb.Pin("X1").name() == "A0" and pyb.Pin("A0").name() == "A0"
    assert pyb.Pin("D2").name() == "D2"  # SD_CMD
    for bad in ("PA0", "C14", "D3", "X13", "x1"):
        assert message(raises(ValueError, pyb.Pin, bad)) == "Pin(%s) doesn't exist" % bad


def test_read_timed_multi_reports_a_rate_the_adc_cannot_keep():
    # ports/stm32/adc.c adc_read_timed_multi returns False when the timer
    # ticked again before the conversions of a tick were done: 4 ADCs take
    # 4 x 27 ADC clocks at 42 MHz (2.6 us), more than the 2 us of 500 kHz.
    from array import array

    adcs = (pyb.ADC("X1"), pyb.ADC("X2"), pyb.ADC("X3"), pyb.ADC("X4"))
    bufs = (array("H", [0] * 20), array("H", [0] * 20), array("H", [0] * 20),
            array("H", [0] * 20))
    assert pyb.ADC.read_timed_multi(adcs, bufs, pyb.Timer(8, freq=100000)) is True
    t = board.now
    assert pyb.ADC.read_timed_multi(adcs, bufs, pyb.Timer(8, freq=500000)) is False
    assert board.now - t >= 20 * 4 * pyb.ADC.CONV_NS  # back to back, not at 2 us
    assert pyb.ADC.read_timed_multi(adcs[:1], bufs[:1], pyb.Timer(8, freq=500000)) is True


def test_adc_reads_of_a_fixed_voltage_follow_a_new_voltage_and_vdda():
    adc = pyb.ADC("X3")
    board.set_analog("X3", 1.0)
    assert adc.read() == adc.read() == int(1.0 * 4095 / 3.3 + 0.5)
    board.set_analog("X3", 2.0)
    assert adc.read() == adc.read() == int(2.0 * 4095 / 3.3 + 0.5)
    board.vdda = 3.0
    try:
        assert adc.read() == adc.read() == int(2.0 * 4095 / 3.0 + 0.5)
    finally:
        board.vdda = 3.3
    assert adc.read() == int(2.0 * 4095 / 3.3 + 0.5)


def test_adc_reads_of_a_dac_output_match_the_voltage_formula():
    board.connect_dac(1, "X1")
    dac = pyb.DAC(1)
    adc = pyb.ADC("X1")
    for bits, full in ((8, 255), (12, 4095)):
        dac = pyb.DAC(1, bits=bits)
        for raw in range(0, full + 1, 5 if bits == 8 else 91):
            dac.write(raw)
            want = int(raw * 3.3 / full * 4095 / 3.3 + 0.5)
            assert adc.read() == adc.read() == want, (bits, raw)


def test_a_sine_signal_converts_within_one_lsb():
    import math

    from pyb_sim.board import Sine

    board.set_analog("X2", Sine(5.0, 1.0, 1.65))
    adc = pyb.ADC("X2")

    for _ in range(200):
        pyb.udelay(1237)
        t = board.now / 1e9
        want = int((1.65 + math.sin(2 * math.pi * 5.0 * t)) * 4095 / 3.3 + 0.5)
        assert approx(adc.read(), want, 1), (t, want)


@micropython_only
def test_adc_reads_of_fixed_dac_and_sine_signals_allocate_nothing():
    import gc

    import machine

    from pyb_sim.board import Sine

    board.set_analog("X3", 1.0)
    board.connect_dac(1, "X1")
    pyb.DAC(1).write(100)
    board.set_analog("X2", Sine(5.0, 1.0, 1.65))
    pins = ("X1", "X2", "X3", "X4")
    used = []
    # machine.ADC's first read after pyb.ADC's turns the ADC on: each kind apart
    groups = ([pyb.ADC(p).read for p in pins], [machine.ADC(pyb.Pin(p)).read_u16 for p in pins])
    for reads in groups:
        for r in reads:
            r()  # the first read of each works out what later reads keep
        gc.collect()
        gc.disable()
        try:
            for r in reads:
                free = gc.mem_free()
                r()
                r()
                used.append(free - gc.mem_free())
        finally:
            gc.enable()
    assert used == [0] * 8, used
