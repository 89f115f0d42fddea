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


FRAMES = """
import gc, pyb
v = pyb.USB_VCP()
frame = memoryview(bytearray(b'0123456789abcdef' * 64))
gc.collect()
free = gc.mem_free()
for i in range(20):
    v.write(frame)
v.write(b'<%d>' % (free - gc.mem_free()))
"""


def test_a_memoryview_of_bytes_is_written_without_a_copy(tmp_path):
    """The firmware's write reads the buffer in place (py/stream.c): writing
    a Stream's memoryview frames leaves the board's heap no garbage, which
    would bring its collections on sooner than a board's."""
    proc, port = start_vboard(tmp_path, "--link-speed", "unlimited")
    try:
        with run_script(port, FRAMES) as ser:
            ser.timeout = 5
            got = read_exactly(ser, 20 * 1024)
            tail = ser.read_until(b">")
    finally:
        stop_vboard(proc)
    assert got == b"0123456789abcdef" * 64 * 20
    used = int(tail.strip(b"<>"))
    assert used < 1024, used  # a copy a write: 20 KB
