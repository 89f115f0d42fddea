"""A BME280 through ``machine.I2C``: the same driver on any MicroPython board.

On a PyBoard the bus is I2C(1) on X9 (SCL) / X10 (SDA); on an ESP32 it might
be ``I2C(0, scl=Pin(22), sda=Pin(21))``. Nothing here needs ``pyb``: the
driver times its waits with ``time`` where there is no ``pyb``.
Copy pyb_lib/ to /flash/lib/ (or /lib/) and this file to the board, then
``import machine_bme280``.
"""

import time

from machine import I2C

from pyb_lib.devices.bme280 import BME280


def main(count=5, period_ms=200):
    i2c = I2C(1)  # change for your board
    print("devices:", [hex(a) for a in i2c.scan()])
    bme = BME280(1, 0x76, i2c=i2c)
    for _ in range(count):
        t, p, h = bme.read()
        print("%.2f C  %.1f hPa  %.1f %%RH" % (t, p / 100, h))
        time.sleep_ms(period_ms)


main()
