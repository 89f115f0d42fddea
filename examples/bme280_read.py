"""Print temperature, pressure and humidity from a BME280 once a second.

Wiring: VIN 3V3, GND, SCL X9, SDA X10, SDO to GND (address 0x76).
Copy pyb_lib/ to /flash/lib/ and this file to the board, then
``import bme280_read``.
"""

import pyb
from pyb_lib.devices.bme280 import BME280


def main(count=10):
    bme = BME280(1, 0x76)
    # Weather-station settings from the data sheet (3.5.1): x1 everywhere, filter off.
    bme.configure(temperature_os=1, pressure_os=1, humidity_os=1, iir_filter=0)
    for _ in range(count):
        t, p, h = bme.read()
        print("%.2f C  %.1f hPa  %.1f %%RH" % (t, p / 100, h))
        pyb.delay(1000)


main()
