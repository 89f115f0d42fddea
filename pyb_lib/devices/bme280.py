"""Bosch BME280 temperature, pressure and humidity sensor on I2C.

    >>> from pyb_lib.devices.bme280 import BME280
    >>> bme = BME280(1)               # I2C(1): X9 SCL, X10 SDA; SDO to GND -> 0x76
    >>> bme.read()
    (23.51, 100863.2, 41.27)          # degC, Pa, %RH

Register map, compensation formulas and timing follow the Bosch BME280
data sheet (BST-BME280-DS002): registers 0xF2 ctrl_hum, 0xF3 status, 0xF4
ctrl_meas, 0xF5 config (section 5.4), the integer compensation code of
section 4.2.3 (``BME280_compensate_T_int32``, ``BME280_compensate_P_int64``,
``bme280_compensate_H_int32``; MicroPython ints do not overflow, so the
64-bit version runs as written) and the maximum measurement time of
appendix B (9.1).
"""

from micropython import const
from pyb_lib._clock import delay, elapsed_millis, millis
from pyb_lib.i2c import I2CDevice
from pyb_lib.register import Field

_ENODEV = const(19)
_ETIMEDOUT = const(110)

_REG_CALIB_TP = const(0x88)  # calib00..calib25: dig_T1..dig_P9, (0xA0), dig_H1
_REG_ID = const(0xD0)
_REG_RESET = const(0xE0)
_REG_CALIB_H = const(0xE1)  # calib26..calib32: dig_H2..dig_H6
_REG_CTRL_HUM = const(0xF2)
_REG_STATUS = const(0xF3)
_REG_CTRL_MEAS = const(0xF4)
_REG_CONFIG = const(0xF5)
_REG_DATA = const(0xF7)  # press[19:0], temp[19:0], hum[15:0]: 8 bytes

_CHIP_ID = const(0x60)
_RESET_WORD = const(0xB6)
_SKIPPED_20 = const(0x80000)  # data register value of a skipped measurement
_SKIPPED_16 = const(0x8000)

# Oversampling factor -> osrs_x code (table 20..24); filter coefficient ->
# filter code (table 28); standby ms -> t_sb code (table 27).
_OVERSAMPLING = (0, 1, 2, 4, 8, 16)
_FILTER = (0, 2, 4, 8, 16)
_STANDBY_MS = (0.5, 62.5, 125, 250, 500, 1000, 10, 20)

# Other chips that answer at 0x76/0x77 with an id in register 0xD0.
_OTHER_IDS = ((0x58, "BMP280 (no humidity sensor)"), (0x56, "BMP280 sample"),
              (0x57, "BMP280 sample"), (0x61, "BME680/BME688"), (0x55, "BMP180/BMP085"))

# Register fields (data sheet section 5.4).
_CHIP_ID_F = Field(_REG_ID, 0, 8, readonly=True)
_OSRS_H = Field(_REG_CTRL_HUM, 0, 3)
_MEASURING = Field(_REG_STATUS, 3, 1, readonly=True)
_IM_UPDATE = Field(_REG_STATUS, 0, 1, readonly=True)
_OSRS_T = Field(_REG_CTRL_MEAS, 5, 3)
_OSRS_P = Field(_REG_CTRL_MEAS, 2, 3)
_MODE = Field(_REG_CTRL_MEAS, 0, 2)
_T_SB = Field(_REG_CONFIG, 5, 3)
_FILTER_F = Field(_REG_CONFIG, 2, 3)
_SPI3W_EN = Field(_REG_CONFIG, 0, 1)

_SLEEP = const(0)  # ctrl_meas mode[1:0]
_FORCED = const(1)
_NORMAL = const(3)


def _code(table, value, what, name):
    for i in range(len(table)):
        if table[i] == value:
            return i
    raise ValueError("%s: %s must be one of %s, not %r" % (name, what, table, value))


def _s12(v):
    return v - 0x1000 if v & 0x800 else v


def _s16(lo, hi):
    v = lo | (hi << 8)
    return v - 0x10000 if v & 0x8000 else v


class BME280:
    """A BME280 at ``address`` (0x76 with SDO low, 0x77 with SDO high).

    ``bus`` is 1, 2, 'X' or 'Y'; or pass ``i2c=`` an existing
    :class:`~pyb_lib.i2c.I2CDevice` (or a ``pyb.I2C``) to share a bus.
    """

    MODE_SLEEP = 0
    MODE_FORCED = 1
    MODE_NORMAL = 3

    # The register bits as the data sheet names them (raw codes, table 18).
    chip_id = _CHIP_ID_F
    osrs_h = _OSRS_H
    measuring = _MEASURING
    im_update = _IM_UPDATE
    osrs_t = _OSRS_T
    osrs_p = _OSRS_P
    mode = _MODE
    t_sb = _T_SB
    filter = _FILTER_F
    spi3w_en = _SPI3W_EN

    def __init__(self, bus=1, address=0x76, *, i2c=None, timeout_ms=50):
        if isinstance(i2c, I2CDevice):
            dev = i2c
        else:
            dev = I2CDevice(bus, address, i2c=i2c)
        self.bus_device = dev
        self.name = dev.name
        self.timeout_ms = timeout_ms
        # A missing device raises the named OSError of I2CDevice here.
        chip = dev.read_u8(_REG_ID)
        if chip != _CHIP_ID:
            what = "an unknown chip"
            for cid, label in _OTHER_IDS:
                if cid == chip:
                    what = "a " + label
            raise OSError(_ENODEV, "%s: chip id 0x%02X is %s, not a BME280 (id 0x60)"
                          % (self.name, chip, what))
        self._raw = bytearray(8)
        self._cal = bytearray(33)
        self._calib = [0] * 18
        self._read_calibration()
        self._t_fine = 0
        self._mode = _FORCED
        self._os = bytearray((1, 1, 1))  # osrs_t, osrs_p, osrs_h codes
        self._filter = 0
        self._t_sb = 0
        self._apply()

    def __repr__(self):
        return "<BME280 %s>" % self.name

    # --- set-up --------------------------------------------------------------
    def _read_calibration(self):
        buf = self._cal
        mv = memoryview(buf)
        self.bus_device.read_register_into(_REG_CALIB_TP, mv[:26])
        self.bus_device.read_register_into(_REG_CALIB_H, mv[26:])
        c = self._calib
        # dig_T1 and dig_P1 are unsigned, dig_T2..dig_P9 signed (table 16).
        for i in range(12):
            c[i] = _s16(buf[2 * i], buf[2 * i + 1])
        c[0] = buf[0] | (buf[1] << 8)
        c[3] = buf[6] | (buf[7] << 8)
        h = 26
        c[12] = buf[25]  # dig_H1, 0xA1, unsigned char
        c[13] = _s16(buf[h], buf[h + 1])  # dig_H2, 0xE1/0xE2
        c[14] = buf[h + 2]  # dig_H3, 0xE3, unsigned char
        # dig_H4: 0xE4 [11:4], 0xE5 [3:0]; dig_H5: 0xE5 [7:4] = [3:0], 0xE6 [11:4]
        c[15] = _s12((buf[h + 3] << 4) | (buf[h + 4] & 0x0F))
        c[16] = _s12((buf[h + 5] << 4) | (buf[h + 4] >> 4))
        v = buf[h + 6]  # dig_H6, 0xE7, signed char
        c[17] = v - 0x100 if v & 0x80 else v

    @property
    def calibration(self):
        """The trimming values dig_T1..3, dig_P1..9, dig_H1..6 as a tuple."""
        return tuple(self._calib)

    def configure(self, *, mode=None, temperature_os=None, pressure_os=None,
                  humidity_os=None, iir_filter=None, standby_ms=None):
        """Change the measurement settings; arguments left as None keep theirs.

        ``mode``: MODE_FORCED (one measurement per :meth:`read`, sleeping in
        between), MODE_NORMAL (measures continuously, ``standby_ms`` apart)
        or MODE_SLEEP. Oversampling factors: 0 (skip), 1, 2, 4, 8, 16.
        ``iir_filter``: 0 (off), 2, 4, 8, 16. ``standby_ms``: 0.5, 10, 20,
        62.5, 125, 250, 500, 1000.
        """
        n = self.name
        if mode is not None and mode not in (_SLEEP, _FORCED, _NORMAL):
            raise ValueError("%s: mode must be MODE_SLEEP, MODE_FORCED or MODE_NORMAL, not %r"
                             % (n, mode))
        os = bytearray(self._os)
        if temperature_os is not None:
            os[0] = _code(_OVERSAMPLING, temperature_os, "temperature oversampling", n)
        if pressure_os is not None:
            os[1] = _code(_OVERSAMPLING, pressure_os, "pressure oversampling", n)
        if humidity_os is not None:
            os[2] = _code(_OVERSAMPLING, humidity_os, "humidity oversampling", n)
        flt = self._filter if iir_filter is None else _code(_FILTER, iir_filter, "IIR filter", n)
        sb = self._t_sb if standby_ms is None else _code(_STANDBY_MS, standby_ms, "standby_ms", n)
        self._os = os
        self._filter = flt
        self._t_sb = sb
        if mode is not None:
            self._mode = mode
        self._apply()

    def _apply(self):
        """Write the settings in the order the data sheet asks for.

        config is only reliably written in sleep mode (5.4.6) and a change
        of ctrl_hum only takes effect after a write of ctrl_meas (5.4.3).
        """
        dev = self.bus_device
        meas = _OSRS_T.insert(0, self._os[0])
        meas = _OSRS_P.insert(meas, self._os[1])
        dev.write_u8(_REG_CTRL_MEAS, meas)  # mode bits 00: sleep
        dev.write_u8(_REG_CTRL_HUM, _OSRS_H.insert(dev.read_u8(_REG_CTRL_HUM), self._os[2]))
        cfg = _T_SB.insert(0, self._t_sb)
        dev.write_u8(_REG_CONFIG, _FILTER_F.insert(cfg, self._filter))
        if self._mode == _NORMAL:
            dev.write_u8(_REG_CTRL_MEAS, _MODE.insert(meas, _NORMAL))
            # The first result is there one measurement time later.
            delay(self.measurement_time_ms())
        else:
            dev.write_u8(_REG_CTRL_MEAS, meas)

    def measurement_time_ms(self):
        """Maximum time of one measurement with the current oversampling (9.1), in ms."""
        t = _OVERSAMPLING[self._os[0]]
        p = _OVERSAMPLING[self._os[1]]
        h = _OVERSAMPLING[self._os[2]]
        us = 1250 + 2300 * t
        if p:
            us += 2300 * p + 575
        if h:
            us += 2300 * h + 575
        return (us + 999) // 1000

    def reset(self):
        """Soft reset (0xB6 to 0xE0), wait for the NVM copy, then restore the settings."""
        dev = self.bus_device
        dev.write_u8(_REG_RESET, _RESET_WORD)
        delay(2)  # start-up time, table 1
        self._wait(_IM_UPDATE, "reset (NVM copy)")
        self._read_calibration()
        self._apply()

    def _wait(self, field, what):
        """Poll the status register until the bit ``field`` clears."""
        dev = self.bus_device
        timeout_ms = self.timeout_ms
        start = millis()
        while field.extract(dev.read_u8(_REG_STATUS)):
            if elapsed_millis(start) > timeout_ms:
                raise OSError(_ETIMEDOUT, "%s: BME280 %s not finished %d ms after its maximum time"
                              % (self.name, what, timeout_ms))
            delay(1)

    # --- measuring -----------------------------------------------------------
    def measure(self):
        """In forced or sleep mode: start one measurement and wait until it is done.

        Waits the data sheet's maximum measurement time, then polls the
        status register's ``measuring`` bit for up to ``timeout_ms`` more;
        OSError(ETIMEDOUT) naming the device if it is still busy. Does
        nothing in normal mode, where the chip measures by itself.
        """
        if self._mode == _NORMAL:
            return
        meas = _OSRS_T.insert(0, self._os[0])
        meas = _OSRS_P.insert(meas, self._os[1])
        self.bus_device.write_u8(_REG_CTRL_MEAS, _MODE.insert(meas, _FORCED))
        delay(self.measurement_time_ms())
        self._wait(_MEASURING, "measurement")

    def read_raw_into(self, buf):
        """Read the 8 data registers 0xF7..0xFE into ``buf`` (no measurement; no allocation).

        ``buf[0:3]`` pressure, ``buf[3:6]`` temperature (20 bits each, MSB
        first, left aligned), ``buf[6:8]`` humidity.
        """
        if len(buf) != 8:
            raise ValueError("%s: raw buffer must be 8 bytes, not %d" % (self.name, len(buf)))
        self.bus_device.read_register_into(_REG_DATA, buf)

    def read(self):
        """One measurement: (temperature degC, pressure Pa, humidity %RH).

        In forced/sleep mode this starts a measurement and waits for it; in
        normal mode it returns the latest one. A value whose oversampling
        is 0 (skipped) is None; pressure and humidity need the temperature.
        """
        self.measure()
        raw = self._raw
        self.read_raw_into(raw)
        adc_p = (raw[0] << 12) | (raw[1] << 4) | (raw[2] >> 4)
        adc_t = (raw[3] << 12) | (raw[4] << 4) | (raw[5] >> 4)
        adc_h = (raw[6] << 8) | raw[7]
        if adc_t == _SKIPPED_20:
            return (None, None, None)
        t = self.compensate_temperature(adc_t) / 100
        p = None if adc_p == _SKIPPED_20 else self.compensate_pressure(adc_p) / 256
        h = None if adc_h == _SKIPPED_16 else self.compensate_humidity(adc_h) / 1024
        return (t, p, h)

    @property
    def temperature(self):
        """Temperature in degC (one measurement)."""
        return self.read()[0]

    @property
    def pressure(self):
        """Pressure in Pa (one measurement)."""
        return self.read()[1]

    @property
    def humidity(self):
        """Relative humidity in %RH (one measurement)."""
        return self.read()[2]

    # --- the data sheet's integer compensation (4.2.3) ----------------------
    def compensate_temperature(self, adc_t):
        """BME280_compensate_T_int32: 0.01 degC; sets t_fine for P and H."""
        c = self._calib
        t1 = c[0]
        var1 = (((adc_t >> 3) - (t1 << 1)) * c[1]) >> 11
        var2 = (((((adc_t >> 4) - t1) * ((adc_t >> 4) - t1)) >> 12) * c[2]) >> 14
        self._t_fine = var1 + var2
        return (self._t_fine * 5 + 128) >> 8

    def compensate_pressure(self, adc_p):
        """BME280_compensate_P_int64: Pa in Q24.8 (divide by 256)."""
        c = self._calib
        var1 = self._t_fine - 128000
        var2 = var1 * var1 * c[8]
        var2 = var2 + ((var1 * c[7]) << 17)
        var2 = var2 + (c[6] << 35)
        var1 = ((var1 * var1 * c[5]) >> 8) + ((var1 * c[4]) << 12)
        var1 = (((1 << 47) + var1) * c[3]) >> 33
        if var1 == 0:
            return 0  # avoid a division by zero
        p = 1048576 - adc_p
        num = ((p << 31) - var2) * 3125
        # C's 64-bit division truncates towards zero.
        p = num // var1 if (num >= 0) == (var1 > 0) else -((-num) // var1)
        var1 = (c[11] * (p >> 13) * (p >> 13)) >> 25
        var2 = (c[10] * p) >> 19
        return ((p + var1 + var2) >> 8) + (c[9] << 4)

    def compensate_humidity(self, adc_h):
        """bme280_compensate_H_int32: %RH in Q22.10 (divide by 1024)."""
        c = self._calib
        v = self._t_fine - 76800
        v = ((((adc_h << 14) - (c[15] << 20) - (c[16] * v)) + 16384) >> 15) * (
            ((((((v * c[17]) >> 10) * (((v * c[14]) >> 11) + 32768)) >> 10) + 2097152)
             * c[13] + 8192) >> 14)
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * c[12]) >> 4)
        if v < 0:
            v = 0
        if v > 419430400:
            v = 419430400
        return v >> 12
