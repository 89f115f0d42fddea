"""A BME280 driver written the way many published MicroPython drivers are:
``machine.I2C``, forced mode, a fixed ``time.sleep_ms`` for the conversion
(no polling of the status register), the datasheet's floating-point
compensation (BME280 datasheet, section 8.1). Test material: it must work
on the virtual board unchanged."""

import time
from struct import unpack

from machine import I2C


class BME280:
    def __init__(self, i2c=None, address=0x76):
        self.i2c = i2c or I2C(1)
        self.address = address
        c = self.i2c.readfrom_mem(address, 0x88, 26)
        self.t1, self.t2, self.t3, self.p1, self.p2, self.p3, self.p4, self.p5, self.p6, \
            self.p7, self.p8, self.p9 = unpack("<HhhHhhhhhhhh", c[:24])
        self.h1 = c[25]
        e = self.i2c.readfrom_mem(address, 0xE1, 7)
        self.h2, self.h3 = unpack("<hB", e[:3])
        self.h4 = (e[3] << 4) | (e[4] & 0x0F)
        if self.h4 & 0x800:
            self.h4 -= 0x1000
        self.h5 = (e[5] << 4) | (e[4] >> 4)
        if self.h5 & 0x800:
            self.h5 -= 0x1000
        self.h6 = e[6] - 256 if e[6] > 127 else e[6]

    def read_raw(self):
        self.i2c.writeto_mem(self.address, 0xF2, b"\x01")  # osrs_h x1
        self.i2c.writeto_mem(self.address, 0xF4, b"\x25")  # osrs_t x1, osrs_p x1, forced
        time.sleep_ms(10)  # t_measure,max is 9.3 ms for x1 x1 x1
        d = self.i2c.readfrom_mem(self.address, 0xF7, 8)
        return ((d[0] << 12) | (d[1] << 4) | (d[2] >> 4),
                (d[3] << 12) | (d[4] << 4) | (d[5] >> 4), (d[6] << 8) | d[7])

    def values(self):
        """(degrees C, Pa, %RH)."""
        adc_p, adc_t, adc_h = self.read_raw()
        v1 = (adc_t / 16384.0 - self.t1 / 1024.0) * self.t2
        v2 = ((adc_t / 131072.0 - self.t1 / 8192.0) ** 2) * self.t3
        t_fine = v1 + v2
        temp = t_fine / 5120.0
        v1 = t_fine / 2.0 - 64000.0
        v2 = v1 * v1 * self.p6 / 32768.0 + v1 * self.p5 * 2.0
        v2 = v2 / 4.0 + self.p4 * 65536.0
        v1 = (self.p3 * v1 * v1 / 524288.0 + self.p2 * v1) / 524288.0
        v1 = (1.0 + v1 / 32768.0) * self.p1
        p = 1048576.0 - adc_p
        p = (p - v2 / 4096.0) * 6250.0 / v1
        v1 = self.p9 * p * p / 2147483648.0
        v2 = p * self.p8 / 32768.0
        p = p + (v1 + v2 + self.p7) / 16.0
        h = t_fine - 76800.0
        h = (adc_h - (self.h4 * 64.0 + self.h5 / 16384.0 * h)) * (
            self.h2 / 65536.0 * (1.0 + self.h6 / 67108864.0 * h * (1.0 + self.h3 / 67108864.0 * h)))
        h = h * (1.0 - self.h1 * h / 524288.0)
        return temp, p, min(max(h, 0.0), 100.0)
