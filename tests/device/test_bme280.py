"""pyb_lib.devices.bme280.BME280 against the simulated BME280 on I2C(1)."""

import errno

import pyb
import pyb_sim
from pyb_lib.devices.bme280 import BME280
from pyb_lib.i2c import I2CDevice
from pyb_sim.models import I2CRegisterModel
from pyb_sim.models.bme280 import BME280Model
from support import approx, heap_locked, message, raises

board = pyb_sim.board


def attach(**kw):
    return board.attach_i2c(1, BME280Model(**kw))


class StuckModel(BME280Model):
    """A BME280 whose status register says "measuring" for ever."""

    def measuring(self):
        return True


def raw_regs(adc_t, adc_p, adc_h):
    return bytes(((adc_p >> 12) & 0xFF, (adc_p >> 4) & 0xFF, (adc_p & 0xF) << 4,
                  (adc_t >> 12) & 0xFF, (adc_t >> 4) & 0xFF, (adc_t & 0xF) << 4,
                  adc_h >> 8, adc_h & 0xFF))


def le16(*values):
    out = bytearray()
    for v in values:
        out.append(v & 0xFF)
        out.append((v >> 8) & 0xFF)
    return bytes(out)


def plain_chip(calib_tp, calib_h=b"\x00" * 7):
    """A bare register map with id 0x60 and the given calibration bytes."""
    m = I2CRegisterModel(0x76)
    m.regs[0xD0] = 0x60
    m.regs[0x88:0x88 + len(calib_tp)] = calib_tp
    m.regs[0xE1:0xE8] = calib_h
    return board.attach_i2c(1, m)


# --- compensation against the data sheet ------------------------------------
def test_datasheet_worked_example():
    # Bosch's worked example (BMP280 data sheet 3.12; the BME280 shares the
    # temperature and pressure formulas): t_fine 128422, 25.08 degC,
    # 100653.27 Pa (the 64-bit integer formula gives 100653.25).
    m = plain_chip(le16(27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7,
                        15500, -14600, 6000))
    bme = BME280()
    m.regs[0xF7:0xFF] = raw_regs(519888, 415148, 0x8000)
    assert bme.compensate_temperature(519888) == 2508
    assert bme._t_fine == 128422
    assert approx(bme.compensate_pressure(415148) / 256, 100653.27, 0.05)
    t, p, h = bme.read()
    assert approx(t, 25.08, 1e-6)
    assert approx(p, 100653.27, 0.05)
    assert h is None  # the humidity register holds "skipped"


def test_humidity_trimming_packing():
    # dig_H4 = 0xE4[11:4] | 0xE5[3:0]; dig_H5 = 0xE5[7:4] | 0xE6[11:4]; both
    # 12-bit signed; dig_H2 signed, dig_H3 unsigned, dig_H6 signed char.
    tp = le16(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) + b"\x00\x4B"
    plain_chip(tp, b"\x6A\x01\x00\x13\x25\x03\x1E")
    c = BME280().calibration
    assert c[:12] == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    assert c[12:] == (75, 362, 0, 0x135, 0x032, 30)
    plain_chip(tp, b"\x00\x80\xC8\xF3\x8F\xF8\x9C")
    c = BME280().calibration
    assert c[13] == -32768 and c[14] == 200 and c[17] == -100
    assert c[15] == -(0x1000 - 0xF3F)  # 0xF3F as 12-bit signed
    assert c[16] == -(0x1000 - 0xF88)


def test_reads_back_the_set_values_at_several_points():
    model = attach()
    bme = BME280()
    points = ((25.0, 101325.0, 40.0), (-20.5, 30000.0, 0.0), (-40.0, 110000.0, 100.0),
              (0.0, 50000.0, 55.5), (60.25, 95000.0, 12.0), (85.0, 70000.0, 99.0))
    for t, p, h in points:
        model.temperature = t
        model.pressure = p
        model.humidity = h
        rt, rp, rh = bme.read()
        assert approx(rt, t, 0.011), (t, rt)
        assert approx(rp, p, 2.0), (p, rp)
        assert approx(rh, h, 0.05), (h, rh)


def test_properties_for_the_repl():
    attach(temperature=-5.5, pressure=98000.0, humidity=63.0)
    bme = BME280()
    assert approx(bme.temperature, -5.5, 0.011)
    assert approx(bme.pressure, 98000.0, 2.0)
    assert approx(bme.humidity, 63.0, 0.05)


# --- settings in the registers ------------------------------------------------
def test_default_settings_in_the_registers():
    model = attach()
    BME280()
    assert model.regs[0xF2] == 0x01  # osrs_h x1
    assert model.regs[0xF4] == 0x24  # osrs_t x1, osrs_p x1, sleep
    assert model.regs[0xF5] == 0x00  # t_sb 0.5 ms, filter off


def test_configure_writes_the_fields_as_the_datasheet_says():
    model = attach()
    bme = BME280()
    bme.configure(temperature_os=2, pressure_os=16, humidity_os=4, iir_filter=8,
                  standby_ms=125, mode=BME280.MODE_NORMAL)
    assert model.regs[0xF2] == 0x03  # osrs_h 011 = x4
    assert model.regs[0xF4] == (0b010 << 5) | (0b101 << 2) | 0b11
    assert model.regs[0xF5] == (0b010 << 5) | (0b011 << 2)
    assert bme.osrs_t == 2 and bme.osrs_p == 5 and bme.osrs_h == 3
    assert bme.mode == 3 and bme.filter == 3 and bme.t_sb == 2
    bme.configure(standby_ms=20, iir_filter=0, mode=BME280.MODE_FORCED)
    assert model.regs[0xF5] == (0b111 << 5)
    assert model.regs[0xF4] == (0b010 << 5) | (0b101 << 2)  # sleep until a read


def test_fields_are_register_bits():
    model = attach()
    bme = BME280()
    bme.osrs_t = 5
    assert model.regs[0xF4] == (5 << 5) | (1 << 2)
    assert bme.chip_id == 0x60
    raises(AttributeError, setattr, bme, "chip_id", 0x58)
    raises(ValueError, setattr, bme, "osrs_t", 8)


def test_bad_settings_are_value_errors():
    attach()
    bme = BME280()
    for os in (3, 32, -1, 1.5):
        e = raises(ValueError, bme.configure, temperature_os=os)
        assert "temperature oversampling" in message(e)
        assert "(0, 1, 2, 4, 8, 16)" in message(e)
    raises(ValueError, bme.configure, pressure_os=5)
    raises(ValueError, bme.configure, humidity_os="x")
    raises(ValueError, bme.configure, iir_filter=3)
    raises(ValueError, bme.configure, standby_ms=7)
    e = raises(ValueError, bme.configure, mode=2)
    assert "MODE_FORCED" in message(e)
    # nothing was changed by the refused calls
    assert bme.osrs_t == 1 and bme.osrs_p == 1 and bme.filter == 0


def test_skipped_measurements_read_as_none():
    attach(humidity=50.0)
    bme = BME280()
    bme.configure(humidity_os=0)
    t, p, h = bme.read()
    assert t is not None and p is not None and h is None
    bme.configure(pressure_os=0, humidity_os=1)
    t, p, h = bme.read()
    assert p is None and approx(h, 50.0, 0.05)


# --- forced and normal mode -------------------------------------------------
def test_forced_mode_waits_the_maximum_measurement_time():
    model = attach()
    bme = BME280()
    # 1.25 + 2.3 + (2.3 + 0.575) + (2.3 + 0.575) = 9.3 ms -> 10 ms
    assert bme.measurement_time_ms() == 10
    t0 = board.now
    n0 = model.conversions
    bme.read()
    took = board.now - t0
    assert model.conversions == n0 + 1
    assert 9300000 <= took < 12000000, took
    bme.configure(temperature_os=16, pressure_os=16, humidity_os=16)
    assert bme.measurement_time_ms() == 113  # 112.8 ms
    t0 = board.now
    bme.read()
    assert 112800000 <= board.now - t0 < 116000000
    assert model.regs[0xF4] & 3 == 0  # back to sleep after the forced measurement


def test_normal_mode_reads_the_latest_measurement_without_forcing():
    model = attach(temperature=20.0)
    bme = BME280()
    bme.configure(mode=BME280.MODE_NORMAL, standby_ms=62.5)
    assert approx(bme.read()[0], 20.0, 0.011)
    model.temperature = 30.0
    pyb.delay(100)
    writes = model.regs[0xF4]
    assert approx(bme.temperature, 30.0, 0.011)
    assert model.regs[0xF4] == writes and writes & 3 == 3


def test_measurement_that_never_ends_times_out_naming_the_device():
    board.attach_i2c(1, StuckModel())
    bme = BME280()
    bme.timeout_ms = 20
    t0 = board.now
    e = raises(OSError, bme.read)
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e).startswith("I2C(1) device 0x76: BME280 measurement not finished")
    assert board.now - t0 < 40000000  # 10 ms measurement + 20 ms + polling


def test_reset_restores_the_settings():
    model = attach()
    bme = BME280()
    bme.configure(temperature_os=4, iir_filter=2)
    bme.reset()
    assert model.regs[0xF4] == (3 << 5) | (1 << 2)
    assert model.regs[0xF5] == (1 << 2)
    assert bme.read()[0] is not None


# --- wrong chip, no chip, bad arguments --------------------------------------
def test_a_bmp280_is_named_as_such():
    attach(chip_id=0x58)
    e = raises(OSError, BME280)
    assert e.args[0] == errno.ENODEV
    assert message(e) == ("I2C(1) device 0x76: chip id 0x58 is a BMP280 (no humidity sensor),"
                          " not a BME280 (id 0x60)")
    board.detach_i2c(1, 0x76)
    attach(chip_id=0x12)
    assert "0x12 is an unknown chip" in message(raises(OSError, BME280))


def test_no_device_is_a_named_oserror_and_the_bus_stays_usable():
    e = raises(OSError, BME280, 1, 0x77)
    assert e.args[0] == errno.EIO
    assert message(e) == "I2C(1) device 0x77: no ACK reading register 0xD0"
    attach(address=0x77)
    assert BME280(1, 0x77).read()[0] is not None


def test_a_shared_i2c_device_and_bus_names():
    board.attach_i2c(2, BME280Model(0x77, temperature=12.0))
    dev = I2CDevice("Y", 0x77)
    bme = BME280(i2c=dev)
    assert bme.bus_device is dev and bme.name == "I2C(2) device 0x77"
    assert approx(bme.temperature, 12.0, 0.011)
    bus = pyb.I2C(2, pyb.I2C.CONTROLLER)
    assert approx(BME280(2, 0x77, i2c=bus).temperature, 12.0, 0.011)


def test_wrong_arguments():
    attach()
    raises(ValueError, BME280, 3)
    raises(ValueError, BME280, 1, 0x80)
    raises(TypeError, BME280, 1, "0x76")
    bme = BME280()
    assert "8 bytes" in message(raises(ValueError, bme.read_raw_into, bytearray(6)))
    raises(TypeError, bme.read_raw_into, b"12345678")


def test_a_transient_bus_error_is_retried():
    attach()
    bme = BME280()
    board.fail_i2c(0x76, 1)
    assert bme.read()[0] is not None


# --- no allocation -----------------------------------------------------------
def test_raw_read_into_a_buffer_does_not_allocate():
    attach(temperature=21.0)
    bme = BME280()
    bme.read()
    buf = bytearray(8)
    heap_locked(lambda: bme.read_raw_into(buf))
    adc_t = (buf[3] << 12) | (buf[4] << 4) | (buf[5] >> 4)
    assert approx(bme.compensate_temperature(adc_t) / 100, 21.0, 0.011)
