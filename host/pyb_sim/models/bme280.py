"""Register-level model of the Bosch BME280 on I2C (datasheet BST-BME280-DS002).

Tests set ``temperature`` (degC), ``pressure`` (Pa) and ``humidity`` (%RH)
at any time, as numbers or as functions of the board time in seconds. A
conversion samples them when it ends and stores the raw ADC values that the
datasheet's integer compensation formulas (section 4.2.3) turn back into
them, so a driver that follows the datasheet reads the set values back
within the sensor's resolution. See docs/models.md.
"""

from pyb_sim.models import I2CRegisterModel

# Trimming values: temperature and pressure from Bosch's worked example
# (BMP280 datasheet, section 3.12), humidity from a real part.
CALIB = (27504, 26435, -1000,  # dig_T1..T3
         36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,  # dig_P1..P9
         75, 362, 0, 313, 50, 30)  # dig_H1..H6

OSRS = (0, 1, 2, 4, 8, 16, 16, 16)  # osrs_x[2:0] -> oversampling (0: skipped)
FILTER = (1, 2, 4, 8, 16, 16, 16, 16)  # filter[2:0] -> coefficient (1: off)
T_SB_US = (500, 62500, 125000, 250000, 500000, 1000000, 10000, 20000)
STARTUP_NS = 2000000  # t_startup: NVM copy after a (soft) reset


def _le16(v):
    return (v & 0xFF, (v >> 8) & 0xFF)


def calibration_bytes(c=CALIB):
    """(bytes for 0x88..0xA1, bytes for 0xE1..0xE7), packed per Table 16."""
    lo = bytearray()
    for v in c[:12]:
        lo.extend(bytes(_le16(v)))
    lo.extend(bytes((0, c[12] & 0xFF)))  # 0xA0 unused, 0xA1 dig_H1
    h4, h5 = c[15], c[16]
    hi = bytes(_le16(c[13]) + (c[14] & 0xFF, (h4 >> 4) & 0xFF,
                               (h4 & 0x0F) | ((h5 & 0x0F) << 4), (h5 >> 4) & 0xFF, c[17] & 0xFF))
    return bytes(lo), hi


def _div(a, b):
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def t_fine(c, adc_t):
    var1 = (((adc_t >> 3) - (c[0] << 1)) * c[1]) >> 11
    d = (adc_t >> 4) - c[0]
    var2 = (((d * d) >> 12) * c[2]) >> 14
    return var1 + var2


def comp_p(c, adc_p, tf):
    """BME280_compensate_P_int64: pressure in Pa * 256 (signed here)."""
    var1 = tf - 128000
    var2 = var1 * var1 * c[8]
    var2 += (var1 * c[7]) << 17
    var2 += c[6] << 35
    var1 = ((var1 * var1 * c[5]) >> 8) + ((var1 * c[4]) << 12)
    var1 = (((1 << 47) + var1) * c[3]) >> 33
    if var1 == 0:
        return 0
    p = 1048576 - adc_p
    p = _div(((p << 31) - var2) * 3125, var1)
    var1 = (c[11] * (p >> 13) * (p >> 13)) >> 25
    var2 = (c[10] * p) >> 19
    return ((p + var1 + var2) >> 8) + (c[9] << 4)


def comp_h(c, adc_h, tf):
    """BME280_compensate_H_int32: humidity in %RH * 1024."""
    v = tf - 76800
    v = ((((adc_h << 14) - (c[15] << 20) - (c[16] * v)) + 16384) >> 15) * (
        ((((((v * c[17]) >> 10) * (((v * c[14]) >> 11) + 32768)) >> 10) + 2097152)
          * c[13] + 8192) >> 14)
    v -= ((((v >> 15) * (v >> 15)) >> 7) * c[12]) >> 4
    v = min(max(v, 0), 419430400)
    return v >> 12


def _search(f, target, bits, shift, rising):
    """The raw value (a multiple of 1 << shift below 1 << bits) whose f is nearest target."""
    lo, hi = 0, (1 << (bits - shift)) - 1
    while lo < hi:  # first index whose f is past the target
        mid = (lo + hi) // 2
        v = f(mid << shift)
        if (v >= target) if rising else (v <= target):
            hi = mid
        else:
            lo = mid + 1
    if lo and abs(f((lo - 1) << shift) - target) <= abs(f(lo << shift) - target):
        lo -= 1
    return lo << shift


class BME280Model(I2CRegisterModel):
    """A BME280 at ``address`` (0x76 with SDO low, 0x77 with SDO high)."""

    def __init__(self, address=0x76, *, temperature=25.0, pressure=101325.0, humidity=40.0,
                 chip_id=0x60):
        I2CRegisterModel.__init__(self, address, 256)
        self.temperature = temperature
        self.pressure = pressure
        self.humidity = humidity
        self.chip_id = chip_id
        self.calib = CALIB
        self.conversions = 0
        self._cache = None
        self.board = None  # set by board.attach_i2c
        self.reset()
        self._reset_at = -STARTUP_NS  # powered up before the test

    def attached(self, board):
        """On the bus of ``board``: powered up before now (start-up done)."""
        self._reset_at = board.now - STARTUP_NS

    # --- state ------------------------------------------------------------
    def reset(self):
        """Power-on reset: registers to their reset values, sleep mode."""
        r = self.regs
        for i in range(256):
            r[i] = 0
        lo, hi = calibration_bytes(self.calib)
        r[0x88:0x88 + len(lo)] = lo
        r[0xE1:0xE1 + len(hi)] = hi
        r[0xD0] = self.chip_id
        r[0xF7] = r[0xFA] = r[0xFD] = 0x80
        self._osrs = (0, 0, 0)  # latched osrs_t, osrs_p, osrs_h
        self._mode = 0
        self._t0 = 0
        self._tm = 0
        self._done = 0
        self._filt = None
        self._reset_at = self._now()

    def _now(self):
        """Board time (ns); 0 before the model is attached to a board."""
        return self.board.now if self.board is not None else 0

    def measure_ns(self, osrs=None):
        """t_measure,max (datasheet 9.1) for (osrs_t, osrs_p, osrs_h) settings."""
        t, p, h = osrs or self._osrs
        us = 1250
        if t:
            us += 2300 * OSRS[t]
        if p:
            us += 2300 * OSRS[p] + 575
        if h:
            us += 2300 * OSRS[h] + 575
        return us * 1000

    def _period(self):
        return self._tm + T_SB_US[self.regs[0xF5] >> 5] * 1000

    def _settle(self):
        now = self._now()
        if self._mode == 1:
            if now >= self._t0 + self._tm:
                self._convert(self._t0 + self._tm)
                self._mode = 0
                self.regs[0xF4] &= 0xFC
        elif self._mode == 3 and now >= self._t0 + self._tm:
            per = self._period()
            k = (now - self._t0 - self._tm) // per + 1
            for j in range(max(self._done, k - 64), k):
                self._convert(self._t0 + j * per + self._tm)
            self._done = k

    def measuring(self):
        now = self._now()
        if self._mode == 1:
            return now < self._t0 + self._tm
        if self._mode == 3:
            return (now - self._t0) % self._period() < self._tm
        return False

    # --- conversion -------------------------------------------------------
    @staticmethod
    def _value(v, t):
        return v(t) if callable(v) else v

    def raw_values(self, temperature, pressure, humidity, t_shift=0, p_shift=0):
        """(adc_T, adc_P, adc_H) that compensate back to the given values."""
        key = (temperature, pressure, humidity, t_shift, p_shift)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        c = self.calib
        at = _search(lambda r: t_fine(c, r), temperature * 5120, 20, t_shift, True)
        tf = t_fine(c, at)
        ap = _search(lambda r: comp_p(c, r, tf), pressure * 256, 20, p_shift, False)
        ah = _search(lambda r: comp_h(c, r, tf), humidity * 1024, 16, 0, True)
        res = (at, ap, ah)
        self._cache = (key, res)
        return res

    def _convert(self, t_ns):
        t = t_ns / 1000000000
        ot, op, oh = self._osrs
        coef = FILTER[(self.regs[0xF5] >> 2) & 7]
        # Resolution: 20 bit with the IIR filter on, else 16 + (osrs - 1) bit (3.4.2, 3.4.3).
        ts = 0 if coef > 1 or ot >= 5 else 5 - ot
        ps = 0 if coef > 1 or op >= 5 else 5 - op
        at, ap, ah = self.raw_values(self._value(self.temperature, t),
                                     self._value(self.pressure, t),
                                     self._value(self.humidity, t), ts, ps)
        if coef > 1:  # data_filt = (data_filt_old * (c - 1) + data_adc) / c  (3.4.4)
            f = self._filt
            if f is None:
                f = self._filt = [at, ap]
            else:
                f[0] = (f[0] * (coef - 1) + at) // coef
                f[1] = (f[1] * (coef - 1) + ap) // coef
            at, ap = f
        if not ot:
            at = 0x80000
        if not op:
            ap = 0x80000
        if not oh:
            ah = 0x8000
        r = self.regs
        r[0xF7], r[0xF8], r[0xF9] = ap >> 12, (ap >> 4) & 0xFF, (ap & 0xF) << 4
        r[0xFA], r[0xFB], r[0xFC] = at >> 12, (at >> 4) & 0xFF, (at & 0xF) << 4
        r[0xFD], r[0xFE] = ah >> 8, ah & 0xFF
        self.conversions += 1

    # --- I2C --------------------------------------------------------------
    def i2c_write(self, data):
        # I2C writes are (register, value) pairs: no auto-increment (I2C write, section 6).
        n = len(data)
        i = 0
        while i < n:
            self.pointer = data[i]
            if i + 1 < n:
                self.write_register(data[i], data[i + 1])
            i += 2

    def i2c_read(self, n):
        self._settle()  # one burst read sees one measurement (data shadowing, 4.1)
        return I2CRegisterModel.i2c_read(self, n)

    def read_register(self, reg):
        if reg == 0xF3:
            status = 0x08 if self.measuring() else 0
            if self._now() - self._reset_at < STARTUP_NS:
                status |= 0x01
            return status
        return self.regs[reg]

    def write_register(self, reg, value):
        self._settle()
        r = self.regs
        if reg == 0xE0:
            if value == 0xB6:
                self.reset()
        elif reg == 0xF2:
            r[0xF2] = value & 0x07  # takes effect at the next ctrl_meas write
        elif reg == 0xF4:
            r[0xF4] = value
            self._osrs = (value >> 5, (value >> 2) & 7, r[0xF2] & 7)
            self._mode = 1 if (value & 3) in (1, 2) else value & 3
            if self._mode:
                self._tm = self.measure_ns()
                self._t0 = self._now()
                self._done = 0
        elif reg == 0xF5:
            if self._mode != 3:  # "writes to config in normal mode may be ignored"
                if (value ^ r[0xF5]) & 0x1C:
                    self._filt = None
                r[0xF5] = value & 0xFD
