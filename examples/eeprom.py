"""Keep a boot counter in an I2C EEPROM (24LC256 or the AT24C32 of a DS3231 module).

Wiring: A0..A2 and WP to GND, SDA X10, SCL X9 (4.7 k pull-ups to 3V3), VCC 3V3.
"""

import pyb
from pyb_lib.devices.at24c import AT24C

COUNTER_ADDR = 0x0000

if hasattr(pyb, "board") and 0x50 not in pyb.board.i2c_devices[1]:
    # The simulated pyb (or the virtual board) without an EEPROM: wire one.
    from pyb_sim.models.at24c import AT24CModel

    pyb.board.attach_i2c(1, AT24CModel(0x50, size=32768, page_size=64))


def main():
    ee = AT24C(1, 0x50, size=32768, page_size=64)  # AT24C32: size=4096, page_size=32
    raw = ee.read(COUNTER_ADDR, 4)
    count = 0 if raw == b"\xff\xff\xff\xff" else int.from_bytes(raw, "big")
    count += 1
    ee.write(COUNTER_ADDR, count.to_bytes(4, "big"))
    print("boot number", count)
    note = b"last boot stored by examples/eeprom.py"
    ee.write(0x7FC0 - 10, note)  # crosses the 64-byte page at 0x7FC0: two page writes
    print(bytes(ee.read(0x7FC0 - 10, len(note))))


main()
