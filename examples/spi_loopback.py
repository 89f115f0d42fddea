"""SPI loopback: wire X7 (MISO) to X8 (MOSI) and read back what is sent.

SPI(1) ('X') is SCK X6, MISO X7, MOSI X8; Y4 serves as a chip select that
nothing is connected to (X5 selects the W25Q flash of spi_flash.py). With
the jumper in place every byte comes back as sent; without it MISO floats
and the check fails. Copy pyb_lib/ to /flash/lib/ and this file to the
board, then ``import spi_loopback``.
"""

import pyb
from pyb_lib.spi import SPIDevice

CS = "Y4"

if hasattr(pyb, "board"):  # the simulated pyb: the X7-X8 jumper

    class Jumper:
        def spi_select(self, selected):
            pass

        def spi_transfer(self, out, mode):
            return bytes(out)  # MISO reads what MOSI sends

    pyb.board.attach_spi(1, CS, Jumper())


def check(baudrate):
    dev = SPIDevice(1, CS, baudrate=baudrate)
    out = bytearray(range(0, 256, 17))  # 0x00 0x11 ... 0xFF
    back = bytearray(len(out))
    with dev:
        dev.write_readinto(out, back)
    ok = back == out
    print("%s  %s" % ("OK  " if ok else "FAIL", dev.spi))
    if not ok:
        print("  sent %s" % " ".join("%02X" % b for b in out))
        print("  got  %s" % " ".join("%02X" % b for b in back))
    return ok


def main():
    # The firmware picks the nearest rate at or below the one asked for
    # (84 MHz / 2..256 on SPI(1)); the printed bus shows the real one.
    results = [check(baud) for baud in (328125, 1312500, 5250000, 21000000)]
    print("loopback %s" % ("works" if all(results) else "failed: is X7 wired to X8?"))


main()
