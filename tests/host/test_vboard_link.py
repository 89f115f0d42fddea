"""The virtual board's serial link at --link-speed usb-fs (the default): the
throughput of a PyBoard's USB full-speed port, measured as MicroPython's own
tests/serial_test.py measures it (the board writes a buffer with
USB_VCP.send as fast as it can, the host reads), and back-pressure when the
host stops reading: the board waits, and every byte arrives, in order."""

import struct
import time

from vboard_support import needs_vboard, start_vboard, stop_vboard

from pyb_bridge.raw_repl import start_script

pytestmark = needs_vboard

CHUNK = 4096

SENDER = """
import pyb, struct, time
wr = pyb.USB_VCP(0).send
b = bytearray(%d)
for i in range(len(b)):
    b[i] = i & 0xFF
wr(b'BIN')
t0 = time.ticks_ms()
for k in range(%d):
    struct.pack_into('<I', b, 0, k)
    wr(b)
ms = time.ticks_diff(time.ticks_ms(), t0)
open('/flash/end', 'w').close()
wr(b'END%%08d' %% ms)
"""


def run_script(port, src):
    """Start ``src`` through mpremote's raw REPL (pyb_bridge.raw_repl.start_script);
    return the open serial port, on which its output arrives."""
    ser = start_script(port, src)
    ser.timeout = 1
    return ser


def read_exactly(ser, n, timeout=30):
    out = bytearray()
    deadline = time.monotonic() + timeout
    while len(out) < n:
        out += ser.read(min(n - len(out), max(1, ser.in_waiting)))
        assert time.monotonic() < deadline, "only %d of %d bytes" % (len(out), n)
    return bytes(out)


def check_chunks(data, count):
    """Every chunk whole and in its place: its number, then the byte pattern."""
    pattern = bytes(i & 0xFF for i in range(CHUNK))
    for k in range(count):
        chunk = data[k * CHUNK:(k + 1) * CHUNK]
        assert struct.unpack_from("<I", chunk)[0] == k, "chunk %d out of order" % k
        assert chunk[4:] == pattern[4:], "chunk %d damaged" % k


def measure(tmp_path, count, *args):
    """Bytes per second from the board to the host once the stream runs
    (timed from the 30th chunk to the last, so that what the buffers held
    when the host began to read does not count), and the data."""
    proc, port = start_vboard(tmp_path, "--fast", *args)
    try:
        with run_script(port, SENDER % (CHUNK, count)) as ser:
            assert read_exactly(ser, 3) == b"BIN"
            head = read_exactly(ser, CHUNK * 30)
            t0 = time.monotonic()
            rest = read_exactly(ser, CHUNK * (count - 30))
            rate = len(rest) / (time.monotonic() - t0)
            assert read_exactly(ser, 11).startswith(b"END")
    finally:
        assert stop_vboard(proc) == 0
    return rate, head + rest


def test_usb_full_speed_throughput(tmp_path):
    """The link never carries more than USB full speed allows (a machine
    under load only makes it slower, so the bound holds there too); how close
    it comes is measured by ``make bench`` (bench/link.py)."""
    count = 330  # 1.35 MB: about a second at 1.216 MB/s
    rate, data = measure(tmp_path, count)
    print("\nvirtual board, --link-speed usb-fs: %.3f MB/s (board -> host, USB_VCP.send of "
          "%d-byte buffers)" % (rate / 1e6, CHUNK))
    check_chunks(data, count)
    assert rate <= 1.22e6, rate


def board_ahead(tmp_path, *args, wait_for_the_board=False):
    """The board writes 512 KB while the host reads nothing: for 1.5 s, or
    with ``wait_for_the_board`` until the board has finished its writes.
    Return (bytes waiting for the host then, whether the board had finished
    its writes then), having checked every byte."""
    count = 128  # 512 KB, far more than the USB link's buffers hold
    proc, port = start_vboard(tmp_path, "--fast", *args)
    end = tmp_path / "end"
    try:
        with run_script(port, SENDER % (CHUNK, count)) as ser:
            if wait_for_the_board:
                deadline = time.monotonic() + 60
                while not end.exists():
                    assert time.monotonic() < deadline, "the board's writes never finished"
                    time.sleep(0.05)
            else:
                time.sleep(1.5)  # the host reads nothing for 1.5 s
            held, finished = ser.in_waiting, end.exists()
            data = read_exactly(ser, 3 + CHUNK * count + 11)
    finally:
        assert stop_vboard(proc) == 0
    assert data[:3] == b"BIN" and data[-11:-8] == b"END"
    check_chunks(data[3:-11], count)
    return held, finished


def test_the_board_waits_while_the_host_does_not_read(tmp_path):
    held, finished = board_ahead(tmp_path)
    assert held < CHUNK * 128 // 2  # the board did not get far ahead
    assert not finished  # its writes wait for the host


def test_unlimited_link_does_not_hold_the_board_back(tmp_path):
    """--link-speed unlimited: the board's writes go through at once, as far
    as the pseudo-terminal takes them, while the host reads nothing."""
    board_ahead(tmp_path, "--link-speed", "unlimited", wait_for_the_board=True)


def test_machine_on_the_virtual_board_through_mpremote(tmp_path):
    """The default wiring (BME280 at 0x76 on I2C(1), W25Q on SPI(1) with CS
    X5) answers through ``machine`` as a published driver would use it."""
    from vboard_support import mpremote

    proc, port = start_vboard(tmp_path, "--fast")
    try:
        out = mpremote(port, "exec", "import machine\n"
                       "i2c = machine.I2C(1)\n"
                       "print(i2c.scan(), i2c.readfrom_mem(0x76, 0xD0, 1))\n"
                       "cs = machine.Pin('X5', machine.Pin.OUT, value=1)\n"
                       "spi = machine.SPI(1)\n"
                       "b = bytearray(4)\n"
                       "cs(0); spi.write_readinto(b'\\x9f\\x00\\x00\\x00', b); cs(1)\n"
                       "print(b[1:])")
    finally:
        assert stop_vboard(proc) == 0
    assert out == "[80, 118] b'`'\nbytearray(b'\\xef@\\x18')\n", out


def test_send_times_out_while_the_host_does_not_read(tmp_path):
    """USB_VCP.send(data, timeout=) gives up when the link stays full, as
    usbd_cdc_tx does; what it did send arrives whole and in order."""
    src = ("import pyb, time\n"
           "vcp = pyb.USB_VCP()\n"
           "b = bytearray(1024)\n"
           "sent = 0\n"
           "t0 = time.ticks_ms()\n"
           "while vcp.send(b, timeout=200):\n"
           "    sent += 1\n"
           "dt = time.ticks_diff(time.ticks_ms(), t0)\n"
           "open('/flash/gave_up', 'w').close()\n"
           "vcp.write(b'SENT%08d %08d' % (sent, dt))\n")
    proc, port = start_vboard(tmp_path)  # the wall clock: send()'s timeout is board time
    try:
        with run_script(port, src) as ser:
            deadline = time.monotonic() + 60
            while not (tmp_path / "gave_up").exists():  # the host does not read
                assert time.monotonic() < deadline, "send() never gave up"
                time.sleep(0.05)
            data = bytearray()
            deadline = time.monotonic() + 30
            while b"SENT" not in data[-40:] or len(data) < data.rfind(b"SENT") + 21:
                assert time.monotonic() < deadline, (
                    "no SENT line within 30 s; got %d bytes, ending %r" % (len(data), data[-60:]))
                data += ser.read(max(1, ser.in_waiting))
    finally:
        assert stop_vboard(proc) == 0
    i = data.rfind(b"SENT")
    sent, dt = int(data[i + 4:i + 12]), int(data[i + 13:i + 21])
    assert data[:i] == bytes(1024 * sent)
    print("\nsend() gave up after %d KB, in %d ms" % (sent, dt))
    assert 0 < sent < 1000 and dt >= 200, (sent, dt)  # the last send waited its timeout
