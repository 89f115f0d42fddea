"""Scan both I2C buses, print what answers, and probe one device.

Wiring: I2C(1) ('X') is SCL X9, SDA X10; I2C(2) ('Y') is SCL Y9, SDA Y10.
Both lines need pull-ups to 3V3 (most breakout boards carry them; a bare
chip needs about 4.7 kOhm on SCL and on SDA). Copy pyb_lib/ to /flash/lib/
and this file to the board, then ``import i2c_scan``.
"""

from pyb_lib.i2c import I2CDevice, scan


def main(bus=1, address=0x76, register=0xD0):
    for b in (1, 2):
        found = scan(b)
        print("I2C(%d): %d device(s) %s" % (b, len(found), " ".join("0x%02X" % a for a in found)))
    dev = I2CDevice(bus, address)
    if not dev.probe():
        print("%s: no answer" % dev.name)
        return
    # 0xD0 is the chip-id register of a BME280/BMP280 (0x60/0x58); use your chip's.
    try:
        print("%s: register 0x%02X = 0x%02X" % (dev.name, register, dev.read_u8(register)))
    except OSError as e:
        print(e)


main()
