"""pyb_lib.dac: raw and volt output, waveforms checked on the recorded DAC
output and through the DAC -> ADC loopback, errors."""

import math
import sys
from array import array

import pyb_sim
from pyb_lib.adc import AnalogIn
from pyb_lib.dac import AnalogOut
from support import approx, message, raises

board = pyb_sim.board
MICROPYTHON = sys.implementation.name == "micropython"
US = 1000  # ns


def raw8(volts):
    return int(volts * 255 / 3.3 + 0.5)


def test_write_raw():
    out = AnalogOut(1)
    out.write(128)
    assert board.dacs[1].raw_at(board.now) == 128
    out12 = AnalogOut(2, bits=12)
    out12.write(4095)
    assert board.dacs[2].raw_at(board.now) == 4095
    assert board.dacs[2].volts_at(board.now) == 3.3


def test_write_raw_out_of_range():
    out = AnalogOut(1)
    e = raises(ValueError, out.write, 256)
    assert message(e) == "DAC(1): raw value 256 out of range 0..255"
    raises(ValueError, out.write, -1)
    out12 = AnalogOut(2, 12)
    e = raises(ValueError, out12.write, 4096)
    assert message(e) == "DAC(2): raw value 4096 out of range 0..4095"
    e = raises(TypeError, out.write, 1.5)
    assert message(e) == "DAC(1): raw value must be an int, not float"


def test_write_volts():
    out = AnalogOut(1)
    out.write_volts(1.65)
    assert board.dacs[1].raw_at(board.now) == 128
    out.write_volts(0)
    assert board.dacs[1].raw_at(board.now) == 0
    out12 = AnalogOut(2, bits=12)
    out12.write_volts(3.3)
    assert board.dacs[2].raw_at(board.now) == 4095
    out12.write_volts(1.0)
    assert approx(board.dacs[2].volts_at(board.now), 1.0, 0.001)


def test_write_volts_out_of_range_is_an_error_not_a_clamp():
    out = AnalogOut(1)
    out.write(7)
    e = raises(ValueError, out.write_volts, 3.4)
    assert message(e) == "DAC(1): volts 3.4 out of range 0..3.3 V"
    raises(ValueError, out.write_volts, -0.1)
    raises(TypeError, out.write_volts, "1.0")
    assert board.dacs[1].raw_at(board.now) == 7  # untouched


def test_bad_channel_bits_and_timer():
    e = raises(ValueError, AnalogOut, 3)
    assert message(e) == "DAC(3) doesn't exist; channels: 1 (X5), 2 (X6)"
    raises(ValueError, AnalogOut, 0)
    raises(TypeError, AnalogOut, "X5")
    raises(TypeError, AnalogOut, None)
    e = raises(ValueError, AnalogOut, 1, 10)
    assert message(e) == "DAC(1): bits must be one of (8, 12), not 10"
    e = raises(ValueError, AnalogOut, 1, timer_id=3)
    assert message(e) == "DAC(1): timer_id must be one of (2, 4, 5, 6, 7, 8), not 3"
    raises(ValueError, AnalogOut, 1, max_samples=1)


def test_sine_output_frequency_and_values():
    out = AnalogOut(1)
    t0 = board.now
    assert out.sine(1000, samples=100) == 100000  # samples/s
    assert out.sample_rate() == 100000
    dac = board.dacs[1]
    for k in (0, 10, 25, 50, 75, 99):
        want = raw8(1.65 + 1.65 * math.sin(2 * math.pi * k / 100))
        t = t0 + k * 10 * US + 5 * US  # mid-sample
        assert approx(dac.raw_at(t), want, 1), (k, dac.raw_at(t), want)
        assert dac.raw_at(t + 1000000) == dac.raw_at(t)  # 1 ms later: 1 kHz
        assert dac.raw_at(t + 7000000) == dac.raw_at(t)
    assert dac.raw_at(t0 + 255 * US) == 255  # the crest at a quarter period


def test_sine_12_bit_with_amplitude_and_offset():
    out = AnalogOut(2, bits=12)
    t0 = board.now
    out.sine(500, samples=200, amplitude_v=0.5, offset_v=1.0)  # 100 kHz
    dac = board.dacs[2]
    assert approx(dac.volts_at(t0 + 505 * US), 1.5, 0.001)  # sample 50: crest
    assert approx(dac.volts_at(t0 + 1505 * US), 0.5, 0.001)  # sample 150: trough
    assert approx(dac.volts_at(t0 + 5 * US), 1.0, 0.001)


def test_triangle():
    out = AnalogOut(2, bits=12)
    t0 = board.now
    out.triangle(1000, samples=100)
    dac = board.dacs[2]
    assert dac.raw_at(t0 + 5 * US) == 0
    assert dac.raw_at(t0 + 505 * US) == 4095
    assert approx(dac.raw_at(t0 + 255 * US), 2048, 1)
    assert approx(dac.raw_at(t0 + 755 * US), 2048, 1)
    assert dac.raw_at(t0 + 1005 * US) == 0  # next period


def test_square_with_duty():
    out = AnalogOut(1)
    t0 = board.now
    out.square(1000, samples=4, duty=0.25)  # 4 kHz: 250 us per sample
    dac = board.dacs[1]
    levels = [dac.raw_at(t0 + k * 250 * US + 100 * US) for k in range(8)]
    assert levels == [255, 0, 0, 0, 255, 0, 0, 0]
    raises(ValueError, out.square, 1000, 4, 1.65, 1.65, 1.5)


def test_play_arbitrary_samples():
    out = AnalogOut(1)
    t0 = board.now
    out.play([0, 100, 200], 100)  # 300 samples/s
    dac = board.dacs[1]
    third = 1000000000 // 300
    got = [dac.raw_at(t0 + k * third + third // 2) for k in range(6)]
    assert got == [0, 100, 200, 0, 100, 200]
    out12 = AnalogOut(2, 12)
    out12.play(array("H", [4095, 0]), 1000)
    assert board.dacs[2].raw_at(board.now + 100 * US) == 4095


def test_play_errors():
    out = AnalogOut(1, max_samples=8)
    assert message(raises(ValueError, out.play, [0, 256], 100)) == \
        "DAC(1): sample 256 out of range 0..255"
    raises(ValueError, out.play, [0, 1.5], 100)
    e = raises(ValueError, out.play, [0] * 9, 100)
    assert message(e) == "DAC(1): samples 9 out of range 2..8 (max_samples)"
    raises(ValueError, out.play, [0], 100)
    raises(TypeError, out.play, 5, 100)


def test_waveform_errors():
    out = AnalogOut(1)
    e = raises(ValueError, out.sine, 1000, 64, 2.0, 1.65)
    assert message(e) == "DAC(1): offset_v 1.65 +- amplitude_v 2.0 leaves 0..3.3 V"
    raises(ValueError, out.triangle, 1000, 64, -0.1)
    e = raises(ValueError, out.sine, 20000, 64)
    assert message(e) == ("DAC(1): 20000 Hz x 64 samples = 1280000 samples/s, "
                          "out of range 1..1000000")
    raises(ValueError, out.sine, 0)
    raises(ValueError, out.sine, -5)
    raises(TypeError, out.sine, "1000")
    raises(ValueError, out.sine, 1000, 300)  # more than max_samples (256)


def test_stop_holds_zero_and_frees_the_timer():
    out = AnalogOut(1)
    out.sine(1000, samples=100)
    assert 7 in board.timers
    board.advance(250 * US)
    out.stop()
    now = board.now
    assert board.dacs[1].raw_at(now + 5000 * US) == 0
    assert 7 not in board.timers
    assert out.sample_rate() == 0


def test_write_stops_a_waveform():
    out = AnalogOut(1)
    out.triangle(100)
    out.write(42)
    assert board.dacs[1].raw_at(board.now + 30000 * US) == 42
    assert 7 not in board.timers


def test_two_channels_play_different_frequencies():
    a, b = AnalogOut(1), AnalogOut(2)
    t0 = board.now
    a.square(1000, samples=2)
    b.square(250, samples=2)
    assert 7 in board.timers and 8 in board.timers
    d1, d2 = board.dacs[1], board.dacs[2]
    assert [d1.raw_at(t0 + k * 500 * US + 10 * US) for k in range(4)] == [255, 0, 255, 0]
    assert [d2.raw_at(t0 + k * 500 * US + 10 * US) for k in range(4)] == [255, 255, 255, 255]
    assert d2.raw_at(t0 + 2010 * US) == 0


def test_waveform_buffer_is_made_once():
    out = AnalogOut(2, bits=12)
    wave = out._wave
    out.sine(100)
    out.triangle(200, samples=32)
    assert out._wave is wave
    assert isinstance(wave, array)
    assert isinstance(AnalogOut(1)._wave, bytearray)


def test_dac_to_adc_loopback():
    board.connect_dac(1, "X1")
    out = AnalogOut(1)
    x1 = AnalogIn("X1")
    out.sine(100, samples=100)  # 10 kHz sample rate
    buf = array("H", [0] * 200)
    x1.read_timed(buf, 10000)  # the same rate: one ADC sample per DAC sample
    for i in range(0, 200, 9):
        v = raw8(1.65 + 1.65 * math.sin(2 * math.pi * (i % 100) / 100)) * 3.3 / 255
        v = min(max(v, 0.2), 3.1)  # waveforms use the output buffer: 0.2 .. VDDA - 0.2 V
        assert approx(buf[i], int(v * 4095 / 3.3 + 0.5), 2), (i, buf[i])
    out.write_volts(2.0)
    assert approx(x1.volts(), 2.0, 0.015)


def test_write_allocates_nothing():
    out = AnalogOut(1)
    failed = False
    if MICROPYTHON:
        import micropython

        micropython.heap_lock()
    try:
        out.write(200)
    except MemoryError:
        failed = True
    finally:
        if MICROPYTHON:
            micropython.heap_unlock()
    assert not failed
    assert board.dacs[1].raw_at(board.now) == 200
