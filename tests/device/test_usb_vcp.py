"""The simulated USB_VCP writes as the firmware does (micropython ports/stm32
usbd_cdc_interface.c): a 1 KB transmit buffer; ``write`` on the REPL's port
waits up to 500 ms a byte for a host that does not read and then overwrites
the oldest byte, overwrites at once while no host has the port open, and
always returns the whole count; with CTS flow it takes what fits, at once;
``send`` waits up to its timeout a byte and returns the count it sent."""

import pyb
import pyb_sim
from support import raises

board = pyb_sim.board
MS = 1000000


def pattern(n, start=0):
    return bytes((start + i) & 0xFF for i in range(n))


def test_a_reading_host_gets_every_byte_at_once():
    vcp = pyb.USB_VCP()
    t = board.now
    assert vcp.write(pattern(3000)) == 3000
    assert board.usb.host_read() == pattern(3000)
    assert board.now == t and board.usb.lost == 0


def test_write_to_a_host_that_stopped_reading_waits_500_ms_a_byte_then_overwrites():
    vcp = pyb.USB_VCP()
    board.usb.host_pause()
    assert vcp.write(pattern(1024)) == 1024  # fills the buffer without waiting
    t = board.now
    assert vcp.write(b"xyz") == 3  # every byte counted as written
    assert board.now - t == 3 * 500 * MS  # each waited 500 ms for room
    assert board.usb.lost == 3  # and pushed out the oldest unsent byte
    board.usb.host_resume()
    assert board.usb.host_read() == pattern(1024)[3:] + b"xyz"


def test_write_with_no_host_overwrites_at_once_and_the_host_gets_the_last_1_kb():
    vcp = pyb.USB_VCP()
    board.usb.host_close()
    assert not vcp.isconnected()
    t = board.now
    assert vcp.write(pattern(3000)) == 3000
    assert board.now == t  # nobody to wait for
    assert board.usb.host_read() == b""
    assert board.usb.lost == 3000 - 1024
    board.usb.host_open()
    assert vcp.isconnected()
    assert board.usb.host_read() == pattern(3000)[-1024:]


def test_a_host_that_resumes_ends_the_wait():
    vcp = pyb.USB_VCP()
    board.usb.host_pause()
    vcp.write(pattern(1024))
    t = board.now
    board.schedule(t + 120 * MS, board.usb.host_resume)
    assert vcp.write(b"ab") == 2
    assert board.now - t == 120 * MS
    assert board.usb.lost == 0
    assert board.usb.host_read() == pattern(1024) + b"ab"


def test_cts_flow_writes_what_fits_at_once():
    vcp = pyb.USB_VCP()
    vcp.init(flow=pyb.USB_VCP.CTS)
    board.usb.host_pause()
    t = board.now
    assert vcp.write(pattern(1000)) == 1000
    assert vcp.write(pattern(100)) == 24  # what fits
    assert vcp.write(b"more") is None  # nothing fits: EAGAIN
    assert board.now == t and board.usb.lost == 0
    board.usb.host_close()
    board.usb.host_resume()
    assert vcp.write(b"x") is None  # nobody has the port open
    board.usb.host_open()
    assert vcp.write(b"x") == 1
    assert board.usb.host_read() == pattern(1000) + pattern(24) + b"x"
    vcp.init(flow=0)
    assert vcp.write(b"") == 0


def test_write_takes_an_offset_and_a_length_as_the_firmware_s_stream_write():
    vcp = pyb.USB_VCP()
    assert vcp.write(b"abcdef", 3) == 3
    assert vcp.write(b"abcdef", 2, 3) == 3
    assert board.usb.host_read() == b"abccde"


def test_send_waits_its_timeout_a_byte_and_returns_what_it_sent():
    vcp = pyb.USB_VCP()
    board.usb.host_pause()
    t = board.now
    assert vcp.send(pattern(1500), timeout=200) == 1024
    assert board.now - t == 200 * MS
    assert board.usb.lost == 0
    board.usb.host_close()
    board.usb.host_resume()
    t = board.now
    assert vcp.send(b"abc", timeout=50) == 0  # no host: nothing sent
    assert board.now - t == 50 * MS
    board.usb.host_open()
    assert board.usb.host_read() == pattern(1024)
    assert vcp.send(0x41) == 1
    assert board.usb.host_read() == b"A"


def test_timers_run_while_write_waits():
    vcp = pyb.USB_VCP()
    ticks = bytearray(1)

    def tick(t):
        ticks[0] += 1

    board.usb.host_pause()
    vcp.write(pattern(1024))
    tim = pyb.Timer(2, freq=100, callback=tick)
    vcp.write(b"z")  # 500 ms: the timer ticks 50 times meanwhile
    tim.deinit()
    assert ticks[0] == 50, ticks[0]


def test_usb_vcp_is_port_0_only():
    assert isinstance(raises(ValueError, pyb.USB_VCP, 1), ValueError)
