"""pyb_lib.adc: raw and calibrated reads, oversampling, temperature, timed
capture into caller buffers, errors, heap lock."""

import math
import sys
from array import array

import pyb
import pyb_sim
from pyb_lib import adc
from pyb_lib.adc import AnalogIn, read_timed_multi
from support import approx, message, raises

board = pyb_sim.board
MICROPYTHON = sys.implementation.name == "micropython"
PINS = "X1-X8, X11, X12, X19-X22, Y11, Y12"


def lock():
    if MICROPYTHON:
        import micropython

        micropython.heap_lock()


def unlock():
    if MICROPYTHON:
        import micropython

        micropython.heap_unlock()


def u16(n):
    return array("H", [0] * n)


def raw_of(volts, vdda=3.3):
    return int(volts * 4095 / vdda + 0.5)


def test_read_raw_12_bit():
    board.set_analog("X1", 1.0)
    assert AnalogIn("X1").read() == raw_of(1.0)
    board.set_analog("Y12", 3.3)
    assert AnalogIn("Y12").read() == 4095
    assert AnalogIn(pyb.Pin.board.X22).read() == 0


def test_volts_at_nominal_supply():
    board.set_analog("X19", 2.5)
    x19 = AnalogIn("X19")
    assert approx(x19.vdda, 3.3, 0.01)
    assert approx(x19.volts(), 2.5, 0.002)
    assert approx(x19.to_volts(4095), x19.vdda, 1e-6)


def test_calibration_follows_a_changed_supply():
    board.set_analog("X2", 1.5)
    x2 = AnalogIn("X2")
    board.vdda = 3.0  # the supply sags: the same 1.5 V is now 2048 counts
    assert approx(x2.read(), 2048, 1)
    assert approx(x2.volts(), 1.65, 0.005)  # stale calibration: wrong
    assert approx(x2.calibrate(), 3.0, 0.005)
    assert approx(x2.volts(), 1.5, 0.005)
    assert approx(adc.supply_volts(), 3.0, 0.005)


def test_calibrated_at_construction():
    board.vdda = 3.0
    board.set_analog("X3", 1.5)
    assert approx(AnalogIn("X3").volts(), 1.5, 0.005)


def test_read_mean_oversamples():
    seq = (100, 101, 102, 103)
    state = [0]

    def noisy(t):
        i = state[0]
        state[0] = i + 1
        return seq[i % 4] * 3.3 / 4095

    board.set_analog("X4", noisy)
    x4 = AnalogIn("X4")
    assert x4.read_mean(4) == 102  # 101.5 rounds up
    assert x4.read_mean(8) == 102
    assert x4.read_mean(1) in seq
    assert approx(x4.volts(16), 101.5 * 3.3 / 4095, 0.001)


def test_read_mean_bad_count():
    board.set_analog("X1", 1.0)
    x1 = AnalogIn("X1")
    raises(ValueError, x1.read_mean, 0)
    raises(ValueError, x1.read_mean, 70000)
    e = raises(TypeError, x1.read_mean, "4")
    assert message(e) == "<AnalogIn X1>: n must be an int, not str"


def test_temperature():
    assert approx(adc.temperature(), 25.0, 0.5)
    board.core_temp = 40.0
    assert approx(adc.temperature(), 40.0, 0.5)


def test_pin_without_adc_names_pin_and_lists_adc_pins():
    e = raises(ValueError, AnalogIn, "X9")
    assert message(e) == ("pin X9 has no ADC (Pin(B6) doesn't have ADC capabilities); "
                          "analog pins: " + PINS)
    assert message(raises(ValueError, AnalogIn, "Y1")).startswith("pin Y1 has no ADC")
    assert PINS in message(raises(ValueError, AnalogIn, "X13"))
    raises(TypeError, AnalogIn, 1.5)


def test_read_timed_samples_a_sine():
    board.set_analog("X1", lambda t: 1.65 + 1.0 * math.sin(2 * math.pi * 50 * t))
    x1 = AnalogIn("X1")
    buf = u16(100)
    t0 = board.now / 1e9
    start = pyb.millis()
    x1.read_timed(buf, 1000)  # 100 samples at 1 kHz: 100 ms
    assert 100 <= pyb.elapsed_millis(start) <= 101
    for i in range(0, 100, 7):
        want = raw_of(1.65 + 1.0 * math.sin(2 * math.pi * 50 * (t0 + i / 1000)))
        assert approx(buf[i], want, 2), (i, buf[i], want)
    assert max(buf) > raw_of(2.6) and min(buf) < raw_of(0.7)


def test_read_timed_stops_its_timer():
    board.set_analog("X5", 1.0)
    AnalogIn("X5").read_timed(u16(10), 100, timer_id=7)
    assert 7 not in board.timers
    assert 6 not in board.timers


def test_read_timed_multi_samples_pins_together():
    board.set_analog("X1", lambda t: 1.65 + 1.0 * math.sin(2 * math.pi * 20 * t))
    board.set_analog("X2", lambda t: 1.65 + 1.0 * math.cos(2 * math.pi * 20 * t))
    inputs = (AnalogIn("X1"), AnalogIn("X2"))
    bufs = (u16(50), u16(50))
    t0 = board.now / 1e9
    start = pyb.millis()
    assert read_timed_multi(inputs, bufs, 500)  # 50 samples at 500 Hz: 100 ms
    assert 100 <= pyb.elapsed_millis(start) <= 101
    for i in range(0, 50, 5):
        t = t0 + i / 500
        assert approx(bufs[0][i], raw_of(1.65 + math.sin(2 * math.pi * 20 * t)), 2)
        assert approx(bufs[1][i], raw_of(1.65 + math.cos(2 * math.pi * 20 * t)), 2)


def test_timed_capture_buffer_errors():
    board.set_analog("X1", 1.0)
    x1 = AnalogIn("X1")
    msg = message(raises(TypeError, x1.read_timed, bytearray(10), 100))
    assert msg == "buffers must be array('H'), not bytearray"
    raises(TypeError, x1.read_timed, array("h", [0] * 10), 100)
    raises(TypeError, x1.read_timed, array("I", [0] * 10), 100)
    raises(TypeError, x1.read_timed, [0] * 10, 100)
    raises(TypeError, x1.read_timed, None, 100)
    assert message(raises(ValueError, x1.read_timed, u16(0), 100)) == "buffers must not be empty"
    assert message(raises(ValueError, x1.read_timed, u16(10), 0)) == \
        "freq_hz 0 out of range 1..1000000"
    raises(TypeError, x1.read_timed, u16(10), 10.5)
    buf = array("H", [7, 8])
    x1.read_timed(buf, 10)  # the type check leaves nothing behind
    assert buf[0] == buf[1] == raw_of(1.0)


def test_timed_multi_errors():
    board.set_analog("X1", 1.0)
    a, b = AnalogIn("X1"), AnalogIn("X2")
    e = raises(ValueError, read_timed_multi, (a, b), (u16(10), u16(5)), 100)
    assert message(e) == "buffers must be of equal length (10 and 5)"
    e = raises(ValueError, read_timed_multi, (a, b), (u16(10),), 100)
    assert message(e) == "need a tuple of 2 buffers, one per input"
    raises(TypeError, read_timed_multi, [a, b], (u16(10), u16(10)), 100)
    raises(TypeError, read_timed_multi, (), (), 100)
    raises(TypeError, read_timed_multi, (a, pyb.ADC("X2")), (u16(10), u16(10)), 100)
    raises(TypeError, read_timed_multi, (a, b), (u16(10), bytearray(10)), 100)


def test_reads_allocate_nothing():
    board.set_analog("X7", 2.0)
    x7 = AnalogIn("X7")
    raw = mean = 0
    failed = False
    lock()
    try:
        raw = x7.read()
        mean = x7.read_mean(32)
    except MemoryError:
        failed = True
    finally:
        unlock()
    assert not failed
    assert raw == mean == raw_of(2.0)


def test_timed_capture_allocates_nothing():
    board.set_analog("X1", lambda t: 3.3 * t)
    board.set_analog("X2", 1.0)
    x1, x2 = AnalogIn("X1"), AnalogIn("X2")
    buf = u16(20)
    inputs = (x1, x2)
    bufs = (u16(20), u16(20))
    x1.read_timed(buf, 1000)  # first calls make the timer and the ADC tuple
    read_timed_multi(inputs, bufs, 1000)
    failed = False
    lock()
    try:
        x1.read_timed(buf, 1000)
        read_timed_multi(inputs, bufs, 1000)
    except MemoryError:
        failed = True
    finally:
        unlock()
    assert not failed
    assert buf[19] > buf[0]
    assert bufs[1][0] == bufs[1][19] == raw_of(1.0)
