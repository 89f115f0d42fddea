"""The files a PyBoard's firmware writes on a blank flash filesystem.

From micropython/micropython ports/stm32/factoryreset.c (commit
1c3c201149f37fe8d81246191b3127bb198d6306, MIT licence, (c) Damien P.
George), with the PYBV11 settings: USB on the ST stack (the usb_mode
lines), MICROPY_PY_NETWORK on (the network lines). Lines end in CR LF, as
there. ``pybcdc.inf`` is not written: the firmware's file is built from
INF files under the Microsoft Limited Public License, which this project
does not redistribute (Windows 10 and later need no driver file).
"""

import os

BOOT_PY = (
    "# boot.py -- run on boot to configure USB and filesystem\r\n"
    "# Put app code in main.py\r\n"
    "\r\n"
    "import machine\r\n"
    "import pyb\r\n"
    "#pyb.main('main.py') # main script to run after this one\r\n"
    "#pyb.usb_mode('VCP+MSC') # act as a serial and a storage device\r\n"
    "#pyb.usb_mode('VCP+HID') # act as a serial device and a mouse\r\n"
    "#import network\r\n"
    "#network.country('US') # ISO 3166-1 Alpha-2 code, eg US, GB, DE, AU or XX for worldwide\r\n"
    "#network.hostname('...') # DHCP/mDNS hostname\r\n"
)

MAIN_PY = "# main.py -- put your code here!\r\n"

README_TXT = (
    "This is a MicroPython board\r\n"
    "\r\n"
    "You can get started right away by writing your Python code in 'main.py'.\r\n"
    "\r\n"
    "For a serial prompt:\r\n"
    " - Windows: you need to go to 'Device manager', right click on the unknown device,\r\n"
    "   then update the driver software, using the 'pybcdc.inf' file found on this drive.\r\n"
    "   Then use a terminal program like Hyperterminal or putty.\r\n"
    " - Mac OS X: use the command: screen /dev/tty.usbmodem*\r\n"
    " - Linux: use the command: screen /dev/ttyACM0\r\n"
    "\r\n"
    "For online docs please visit http://docs.micropython.org/\r\n"
)

FILES = (("boot.py", BOOT_PY), ("main.py", MAIN_PY), ("README.txt", README_TXT))


def make_files(folder):
    """Write the factory files into ``folder`` (a blank flash)."""
    for name, text in FILES:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(text.encode())
