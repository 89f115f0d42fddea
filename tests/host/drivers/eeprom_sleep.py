"""An I2C EEPROM driver written the way many published ones are:
``machine.I2C``, page writes, then a fixed ``time.sleep_ms`` through the
write cycle (no acknowledge polling). Test material: it must work on the
virtual board unchanged."""

import time

from machine import I2C


class EEPROM:
    def __init__(self, i2c=None, address=0x50, page=64):
        self.i2c = i2c or I2C(1)
        self.address = address
        self.page = page

    def write(self, addr, data):
        i = 0
        while i < len(data):
            n = min(self.page - (addr + i) % self.page, len(data) - i)
            self.i2c.writeto_mem(self.address, addr + i, data[i:i + n], addrsize=16)
            time.sleep_ms(5)  # t_WR: the chip does not answer during its write cycle
            i += n

    def read(self, addr, n):
        return self.i2c.readfrom_mem(self.address, addr, n, addrsize=16)
