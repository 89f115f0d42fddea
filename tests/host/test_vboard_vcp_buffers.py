"""USB_VCP.write on the virtual board sends a buffer's bytes, whatever its
item size: an array('H') and a memoryview slice of one go out whole, as on
the firmware (stm32 usb.c: the stream write gets the buffer's bytes through
the buffer protocol), and write() returns the byte count."""

import struct

from test_vboard_link import read_exactly, run_script
from vboard_support import needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard

WRITER = """
import array, pyb
a = array.array('H', range(1000, 1008))
v = pyb.USB_VCP()
n1 = v.write(a)
n2 = v.write(memoryview(a)[2:5])
n3 = v.write(memoryview(bytearray(b'xyz'))[1:])
v.write(b'<%d,%d,%d>' % (n1, n2, n3))
"""


def test_write_sends_the_bytes_of_wide_item_buffers(tmp_path):
    proc, port = start_vboard(tmp_path, "--link-speed", "unlimited")
    try:
        with run_script(port, WRITER) as ser:
            ser.timeout = 5
            got = read_exactly(ser, 16 + 6 + 2)
            tail = ser.read_until(b">")
    finally:
        stop_vboard(proc)
    values = list(range(1000, 1008))
    assert got[:16] == struct.pack("<8H", *values)
    assert got[16:22] == struct.pack("<3H", *values[2:5])
    assert got[22:] == b"yz"
    assert tail == b"<16,6,2>"
