"""The BME280 model, driven through the simulated pyb.I2C only (no pyb_lib),
checked against the datasheet (BST-BME280-DS002): register map, calibration
packing, integer compensation formulas, modes and conversion time."""

import pyb
import pyb_sim
from pyb_sim.models.bme280 import BME280Model
from support import approx

board = pyb_sim.board
ADDR = 0x76


def setup(**kw):
    board.attach_i2c(1, BME280Model(ADDR, **kw))
    return pyb.I2C(1, pyb.I2C.CONTROLLER, baudrate=400000)


def reg(i2c, r):
    return i2c.mem_read(1, ADDR, r)[0]


def s16(lo, hi):
    v = lo | (hi << 8)
    return v - 65536 if v & 0x8000 else v


# --- reference: the datasheet's integer compensation, section 4.2.3 -------
def calib(i2c):
    a = i2c.mem_read(26, ADDR, 0x88)
    b = i2c.mem_read(7, ADDR, 0xE1)
    c = [a[0] | (a[1] << 8)]
    for i in range(2, 6, 2):
        c.append(s16(a[i], a[i + 1]))
    c.append(a[6] | (a[7] << 8))
    for i in range(8, 24, 2):
        c.append(s16(a[i], a[i + 1]))
    e4 = b[3] - 256 if b[3] & 0x80 else b[3]
    e6 = b[5] - 256 if b[5] & 0x80 else b[5]
    c.extend((a[25], s16(b[0], b[1]), b[2], (e4 << 4) | (b[4] & 0x0F),
              (e6 << 4) | (b[4] >> 4), b[6] - 256 if b[6] & 0x80 else b[6]))
    return c  # T1 T2 T3 P1..P9 H1..H6


def comp_t(c, adc_t):
    var1 = (((adc_t >> 3) - (c[0] << 1)) * c[1]) >> 11
    var2 = (((((adc_t >> 4) - c[0]) * ((adc_t >> 4) - c[0])) >> 12) * c[2]) >> 14
    t_fine = var1 + var2
    return t_fine, (t_fine * 5 + 128) >> 8


def cdiv(a, b):  # C's truncating division of int64
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def comp_p(c, adc_p, t_fine):
    var1 = t_fine - 128000
    var2 = var1 * var1 * c[8]
    var2 = var2 + ((var1 * c[7]) << 17)
    var2 = var2 + (c[6] << 35)
    var1 = ((var1 * var1 * c[5]) >> 8) + ((var1 * c[4]) << 12)
    var1 = (((1 << 47) + var1) * c[3]) >> 33
    if var1 == 0:
        return 0
    p = 1048576 - adc_p
    p = cdiv(((p << 31) - var2) * 3125, var1)
    var1 = (c[11] * (p >> 13) * (p >> 13)) >> 25
    var2 = (c[10] * p) >> 19
    return (((p + var1 + var2) >> 8) + (c[9] << 4)) & 0xFFFFFFFF


def comp_h(c, adc_h, t_fine):
    h1, h2, h3, h4, h5, h6 = c[12:]
    v = t_fine - 76800
    v = ((((adc_h << 14) - (h4 << 20) - (h5 * v)) + 16384) >> 15) * (
        ((((((v * h6) >> 10) * (((v * h3) >> 11) + 32768)) >> 10) + 2097152) * h2 + 8192) >> 14)
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4)
    v = 0 if v < 0 else v
    v = 419430400 if v > 419430400 else v
    return v >> 12


def read_raw(i2c):
    d = i2c.mem_read(8, ADDR, 0xF7)
    return ((d[3] << 12) | (d[4] << 4) | (d[5] >> 4),
            (d[0] << 12) | (d[1] << 4) | (d[2] >> 4),
            (d[6] << 8) | d[7])


def read_physical(i2c):
    c = calib(i2c)
    at, ap, ah = read_raw(i2c)
    t_fine, t = comp_t(c, at)
    return t / 100, comp_p(c, ap, t_fine) / 256, comp_h(c, ah, t_fine) / 1024


def forced(i2c, ctrl_hum, ctrl_meas, wait_ms=120):
    i2c.mem_write(bytes((ctrl_hum,)), ADDR, 0xF2)
    i2c.mem_write(bytes((ctrl_meas,)), ADDR, 0xF4)
    pyb.delay(wait_ms)


# --- tests ------------------------------------------------------------------
def test_chip_id_and_reset_values():
    i2c = setup()
    assert i2c.scan() == [ADDR]
    assert reg(i2c, 0xD0) == 0x60
    assert i2c.mem_read(3, ADDR, 0xF2) == b"\x00\x00\x00"
    assert i2c.mem_read(8, ADDR, 0xF7) == b"\x80\x00\x00\x80\x00\x00\x80\x00"
    board.attach_i2c(1, BME280Model(0x77, chip_id=0x58))
    assert i2c.mem_read(1, 0x77, 0xD0) == b"\x58"


def test_soft_reset_only_with_0xb6():
    i2c = setup()
    i2c.mem_write(b"\x24", ADDR, 0xF4)
    i2c.mem_write(b"\x55", ADDR, 0xE0)
    assert reg(i2c, 0xF4) == 0x24
    i2c.mem_write(b"\xb6", ADDR, 0xE0)
    assert reg(i2c, 0xE0) == 0
    assert reg(i2c, 0xF4) == 0
    assert reg(i2c, 0xF3) & 0x01  # im_update: NVM copy after reset
    pyb.delay(3)
    assert reg(i2c, 0xF3) == 0


def test_calibration_bytes_and_h4_h5_packing():
    i2c = setup()
    assert calib(i2c) == [27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7,
                          15500, -14600, 6000, 75, 362, 0, 313, 50, 30]
    # dig_H4 = 0xE4 << 4 | 0xE5[3:0]; dig_H5 = 0xE6 << 4 | 0xE5[7:4]
    assert i2c.mem_read(3, ADDR, 0xE4) == bytes((313 >> 4, (313 & 15) | ((50 & 15) << 4), 50 >> 4))
    assert i2c.mem_read(2, ADDR, 0x88) == bytes((27504 & 0xFF, 27504 >> 8))


def test_reference_formulas_match_datasheet_example():
    # Worked example of the datasheet (same T/P compensation as the BMP280,
    # section 3.12): adc_T 519888 -> t_fine 128422, 25.08 degC;
    # adc_P 415148 -> 100653.27 Pa (the int64 code gives 25767233 / 256).
    c = calib(setup())
    t_fine, t = comp_t(c, 519888)
    assert (t_fine, t) == (128422, 2508)
    p = comp_p(c, 415148, t_fine)
    assert p == 25767233
    assert approx(p / 256, 100653.27, 0.05)


def test_forced_mode_reads_back_set_values_at_x16():
    i2c = setup(temperature=23.45, pressure=99876.5, humidity=61.2)
    forced(i2c, 0x05, 0xB5)  # x16, x16, x16, forced
    t, p, h = read_physical(i2c)
    assert approx(t, 23.45, 0.01)
    assert approx(p, 99876.5, 1.0)
    assert approx(h, 61.2, 0.1)


def test_extremes_of_the_operating_range():
    for t0, p0, h0 in ((-40.0, 30000.0, 0.0), (85.0, 110000.0, 100.0)):
        board.reset()
        i2c = setup(temperature=t0, pressure=p0, humidity=h0)
        forced(i2c, 0x01, 0xB5)
        t, p, h = read_physical(i2c)
        assert approx(t, t0, 0.01) and approx(p, p0, 1.0) and approx(h, h0, 0.1)


def test_x1_gives_16_bit_temperature_and_pressure():
    i2c = setup(temperature=19.87, pressure=100123.4, humidity=33.3)
    forced(i2c, 0x01, 0x25)  # x1 everywhere, filter off: 16-bit results
    d = i2c.mem_read(8, ADDR, 0xF7)
    assert d[2] == 0 and d[5] == 0
    t, p, h = read_physical(i2c)
    assert approx(t, 19.87, 0.01)
    assert approx(p, 100123.4, 1.5)
    assert approx(h, 33.3, 0.1)


def test_forced_mode_returns_to_sleep_and_measuring_bit_timing():
    i2c = setup()
    i2c.mem_write(b"\x01", ADDR, 0xF2)
    i2c.mem_write(b"\x25", ADDR, 0xF4)
    t0 = board.now
    # t_measure,max = 1.25 + 2.3 + (2.3 + 0.575) + (2.3 + 0.575) = 9.3 ms
    assert board.i2c_devices[1][ADDR].measure_ns((1, 1, 1)) == 9300000
    assert reg(i2c, 0xF3) & 0x08
    assert reg(i2c, 0xF4) == 0x25
    board.advance(t0 + 9200000 - board.now)
    assert reg(i2c, 0xF3) & 0x08
    board.advance(t0 + 9300000 - board.now)
    assert reg(i2c, 0xF3) == 0
    assert reg(i2c, 0xF4) == 0x24  # back to sleep, settings kept
    pyb.delay(100)
    assert board.i2c_devices[1][ADDR].conversions == 1


def test_ctrl_hum_takes_effect_only_after_ctrl_meas_write():
    i2c = setup(humidity=50.0)
    i2c.mem_write(b"\x25", ADDR, 0xF4)  # osrs_h still 0: humidity skipped
    i2c.mem_write(b"\x01", ADDR, 0xF2)
    pyb.delay(20)
    assert read_raw(i2c)[2] == 0x8000
    assert reg(i2c, 0xF2) == 0x01
    i2c.mem_write(b"\x25", ADDR, 0xF4)
    pyb.delay(20)
    assert approx(read_physical(i2c)[2], 50.0, 0.1)


def test_skipped_measurements_read_0x80000():
    i2c = setup()
    forced(i2c, 0x00, 0x21)  # temperature x1, pressure and humidity skipped
    at, ap, ah = read_raw(i2c)
    assert ap == 0x80000 and ah == 0x8000 and at != 0x80000


def test_i2c_writes_are_register_value_pairs():
    i2c = setup()
    i2c.send(b"\xf2\x03\xf4\x24\xf5\xa0", ADDR)
    assert i2c.mem_read(4, ADDR, 0xF2) == b"\x03\x00\x24\xa0"
    # Without auto-increment a second data byte is taken as a register address.
    i2c.mem_write(b"\x01\x02", ADDR, 0xF2)
    assert reg(i2c, 0xF2) == 0x01


def test_normal_mode_follows_a_changing_temperature():
    i2c = setup()
    i2c.mem_write(b"\xa0", ADDR, 0xF5)  # t_sb 1000 ms, filter off (written in sleep)
    board.i2c_devices[1][ADDR].temperature = lambda t: 20.0 + t
    i2c.mem_write(b"\x01", ADDR, 0xF2)
    start = board.now
    i2c.mem_write(b"\xb7", ADDR, 0xF4)  # x16 T and P, normal mode
    pyb.delay(2500)
    # Cycles of t_measure + t_standby; the third ended at start + 2*period + t_measure.
    dev = board.i2c_devices[1][ADDR]
    end = start + 2 * (dev.measure_ns() + 1000000000) + dev.measure_ns()
    assert approx(read_physical(i2c)[0], 20.0 + end / 1e9, 0.011)
    assert dev.conversions == 3  # computed when the registers are read
    assert reg(i2c, 0xF4) == 0xB7
    i2c.mem_write(b"\x00", ADDR, 0xF5)  # ignored in normal mode
    assert reg(i2c, 0xF5) == 0xA0


def test_iir_filter_smooths_a_step():
    i2c = setup(pressure=100000.0)
    i2c.mem_write(b"\x10", ADDR, 0xF5)  # filter coefficient 16, t_sb 0.5 ms
    i2c.mem_write(b"\x57", ADDR, 0xF4)  # x2 T, x16 P, normal
    pyb.delay(100)
    assert approx(read_physical(i2c)[1], 100000.0, 1.0)
    board.i2c_devices[1][ADDR].pressure = 100100.0
    pyb.delay(50)  # one more sample
    p = read_physical(i2c)[1]
    assert 100000.0 < p < 100050.0
