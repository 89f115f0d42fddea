"""Identify a W25Q flash, then erase, write and read back one sector.

Wiring: /CS X5, CLK X6, DO X7, DI X8, /WP and /HOLD to 3V3, VCC 3V3, GND.
"""

from pyb_lib.devices.w25q import W25Q


def main():
    flash = W25Q(1, "X5")
    man, kind, cap = flash.jedec_id()
    print("JEDEC id %02X %02X %02X: %d KiB" % (man, kind, cap, flash.size // 1024))
    addr = flash.size - flash.SECTOR_SIZE  # the last sector
    flash.erase_sector(addr)
    data = bytes(range(256)) * 2 + b"crosses two page boundaries"
    flash.write(addr + 0x80, data)  # starts mid-page: the driver splits it
    back = bytearray(len(data))
    flash.read(addr + 0x80, back)  # into our buffer: no allocation
    print("read back ok" if back == data else "MISMATCH")


main()
