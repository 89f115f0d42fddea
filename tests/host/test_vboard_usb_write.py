"""USB_VCP.write on the virtual board as the firmware's REPL port writes
(micropython ports/stm32/usbd_cdc_interface.c usbd_cdc_tx_always,
usbd_cdc_tx): to a host that stopped reading each byte waits 500 ms and is
then lost, and write() still returns the whole count; with CTS flow it
returns None at once; while no host has the port open nothing waits and the
port keeps the last 1 KB for the host that opens it. The pyb_lib Stream
counts the frames such a host did not get (short_writes in its status
frame)."""

import binascii
import fcntl
import os
import re
import shutil
import struct
import time

from test_vboard_link import run_script
from vboard_support import interpreter_pid, needs_vboard, start_vboard, stop_vboard

from pyb_sim import cpu, vboard

pytestmark = needs_vboard

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_for(path, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def read_until(ser, end, timeout=30):
    data = bytearray()
    deadline = time.monotonic() + timeout
    while end not in data:
        assert time.monotonic() < deadline, "no %r within %g s; got %d bytes, ending %r" % (
            end, timeout, len(data), bytes(data[-60:]))
        data += ser.read(max(1, ser.in_waiting))
    return bytes(data)


WRITER = """
import pyb, time
v = pyb.USB_VCP()
b = bytearray(1024)
sent = 0
while v.send(b, timeout=100):  # fill the link: send() never drops
    sent += 1
t0 = time.ticks_ms()
r = v.write(b'ab')  # each byte waits 500 ms for room, then is lost
dt = time.ticks_diff(time.ticks_ms(), t0)
v.init(flow=v.CTS)
r2 = v.write(b'cd')  # CTS: what fits, at once; nothing fits
v.init(flow=0)
with open('/flash/result', 'w') as f:
    f.write('%d %r %d %r' % (sent, r, dt, r2))
v.send(b'END', timeout=60000)
"""


def test_write_to_a_host_that_stopped_reading_waits_500_ms_a_byte_and_counts_it_written(
        tmp_path):
    proc, port = start_vboard(tmp_path)  # the wall clock: the wait is board time
    try:
        with run_script(port, WRITER) as ser:
            wait_for(tmp_path / "result", "write() never returned to a host that does not read")
            data = read_until(ser, b"END")
    finally:
        assert stop_vboard(proc) == 0
    sent, r, dt, r2 = (tmp_path / "result").read_text().split()
    print("\nwrite(b'ab') to a host that does not read: returned %s after %s ms "
          "(%s KB sent before); with CTS flow: %s" % (r, dt, sent, r2))
    assert (r, r2) == ("2", "None")
    assert int(dt) >= 990, dt  # two bytes, 500 ms each
    # 'ab' and 'cd' lost, nothing else (the raw REPL's end may follow END)
    assert data[:data.index(b"END")] == bytes(1024 * int(sent))


STREAMER = """
import os, pyb
from pyb_lib.stream import Stream
s = Stream((('a', 'H', ''),), period_us=100, frame_bytes=1024, write_timeout_ms=50,
           ctrl_c=False)
s.start()
k = 0
while s.short_writes < 3:  # the host reads nothing: frames are given up
    s.add(k & 0xFFFF)
    k += 1
open('/flash/gave_up', 'w').close()
while True:
    try:
        os.stat('/flash/go')
        break
    except OSError:
        pyb.delay(10)
for j in range(1000):
    s.add(j)
s.stop()
pyb.USB_VCP().write(b'STREAM-END')
"""


def frames(data):
    """(type, seq, payload) of each whole frame with a good CRC, and the
    number of damaged stretches between them."""
    out, damaged, i, skipping = [], 0, 0, False
    while i < len(data):
        ok = data[i:i + 2] == b"\xa5\xd3" and i + 24 <= len(data)
        if ok:
            length = struct.unpack_from("<H", data, i + 6)[0]
            end = i + 16 + length
            ok = end + 4 <= len(data) and \
                binascii.crc32(data[i:end]) == struct.unpack_from("<I", data, end)[0]
        if ok:
            out.append((data[i + 3], struct.unpack_from("<I", data, i + 8)[0],
                        data[i + 24:end]))
            i, skipping = end + 4, False
        else:
            damaged += not skipping
            skipping = True
            i += 1
    return out, damaged


def test_a_stream_counts_the_frames_a_host_that_stopped_reading_did_not_get(tmp_path):
    shutil.copytree(os.path.join(ROOT, "pyb_lib"), tmp_path / "lib" / "pyb_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    proc, port = start_vboard(tmp_path, "--fast")
    try:
        with run_script(port, STREAMER) as ser:
            wait_for(tmp_path / "gave_up", "the stream never gave up a frame")
            (tmp_path / "go").touch()
            data = read_until(ser, b"STREAM-END")
    finally:
        assert stop_vboard(proc) == 0
    found, damaged = frames(data)
    status = [f for f in found if f[0] == 3][-1]
    records, nframes, overruns, short, waiting = struct.unpack("<5I", status[2])
    assert short >= 3, short
    data_seqs = [f[1] for f in found if f[0] == 2]
    assert data_seqs == sorted(data_seqs)
    # every frame the board made is either found whole or counted
    made = nframes + 1  # the status frame itself
    assert len(found) + short >= made, (len(found), short, made)
    assert damaged <= short


MAIN = """
import os
for i in range(300):
    print('line %04d' % i)
open('/flash/done', 'w').close()
"""


def test_output_while_no_host_has_the_port_open_keeps_its_last_1_kb(tmp_path):
    (tmp_path / "main.py").write_text(MAIN)
    proc, port = start_vboard(tmp_path, "--fast")
    try:
        wait_for(tmp_path / "done", "main.py did not run")  # nobody has the port open
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)  # no flush on open
        try:
            data = bytearray()
            deadline = time.monotonic() + 30
            while b">>> " not in data:
                assert time.monotonic() < deadline, bytes(data[-80:])
                try:
                    data += os.read(fd, 4096)
                except BlockingIOError:
                    time.sleep(0.01)
        finally:
            os.close(fd)
    finally:
        assert stop_vboard(proc) == 0
    assert b"line 0299\r\n" in data and b"line 0000" not in data
    assert data.count(b"line ") * 11 <= 1024  # the last lines, as many as 1 KB holds


def _output_pipe_bytes(proc):
    """The size of the pipe that carries the board's output (its interpreter's stdout), asked of
    the kernel through the interpreter's fd 1; nothing is written."""
    deadline = time.monotonic() + 60
    while True:  # the interpreter starts after the port is there
        try:
            pid = interpreter_pid(proc)
            break
        except AssertionError:
            assert time.monotonic() < deadline, "no interpreter under the board's process"
            time.sleep(0.05)
    fd = os.open("/proc/%d/fd/1" % pid, os.O_WRONLY | os.O_NONBLOCK)
    try:
        return fcntl.fcntl(fd, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    finally:
        os.close(fd)


def test_at_board_speed_the_output_pipe_holds_what_the_link_sends_in_a_stop(tmp_path):
    """At --cpu pyboard the CPU model stops the board for up to IDLE_TICK * slowdown of wall
    time, while a board would go on topping up its 1 KB buffer as the link drains it: the pipe
    of the board's output holds what the link sends in such a stop (vboard.out_pipe_bytes), or
    the link would stand idle through it. At --cpu host it is one page, so that the board's
    writes wait as soon as the link's buffer is full."""
    sizes, log = {}, ""
    for speed in ("host", "pyboard"):
        flash = tmp_path / speed
        flash.mkdir()
        proc, _port = start_vboard(flash, "--cpu", speed)
        try:
            sizes[speed] = _output_pipe_bytes(proc)
        finally:
            assert stop_vboard(proc) == 0
        log += proc.stderr.read().decode()
    slowdown = float(re.search(r"slowed ([0-9.]+)x", log).group(1))
    stop_bytes = cpu.IDLE_TICK * slowdown * vboard.USB_PACKETS_PER_FRAME * vboard.USB_PACKET * 1000
    assert sizes["host"] == vboard.PIPE_PAGE, (sizes, log)
    assert sizes["pyboard"] >= vboard.PIPE_PAGE + stop_bytes, (sizes, slowdown)
    assert sizes["pyboard"] < 2 * (vboard.PIPE_PAGE + stop_bytes), (sizes, slowdown)
