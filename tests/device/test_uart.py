"""pyb_lib.uart: whole lines and packets, timeouts, errors, heap lock."""

import errno
import sys

import pyb
import pyb_sim
from pyb_lib.uart import UARTPort
from support import message, raises

board = pyb_sim.board
MICROPYTHON = sys.implementation.name == "micropython"


def test_loopback_line():
    board.uart_loopback(1)
    port = UARTPort(1)
    assert port.write_all(b"hello\n") == 6
    assert port.readline(10) == b"hello\n"
    assert board.uart_sent(1) == b"hello\n"


def test_board_names_map_to_buses():
    assert UARTPort("XB").name == "UART(1)"
    assert UARTPort("XA").name == "UART(4)"
    assert UARTPort("YA").name == "UART(6)"
    assert UARTPort("YB").name == "UART(3)"
    assert UARTPort(2, 9600).bus == 2


def test_partial_line_is_kept_between_calls():
    port = UARTPort(1)
    board.uart_feed(1, b"abc")
    assert port.readline(5) is None
    board.uart_feed(1, b"def\nxyz")
    assert port.readline(5) == b"abcdef\n"
    assert port.readline(5) is None
    board.uart_feed(1, b"\n")
    assert port.readline(5) == b"xyz\n"


def test_several_lines_in_one_burst():
    port = UARTPort(3)
    board.uart_feed(3, b"one\ntwo\nthree\n")
    assert port.readline(10) == b"one\n"
    assert port.readline(10) == b"two\n"
    assert port.readline(10) == b"three\n"
    assert port.readline(0) is None


def test_readline_timeout_waits_that_long():
    port = UARTPort(1)
    t0 = pyb.millis()
    assert port.readline(50) is None
    assert 50 <= pyb.elapsed_millis(t0) <= 52


def test_readline_waits_for_a_late_line():
    port = UARTPort(1)
    board.uart_feed(1, b"late\n", delay_ms=30)
    t0 = pyb.millis()
    assert port.readline(100) == b"late\n"
    assert 30 <= pyb.elapsed_millis(t0) <= 32


def test_default_timeout_comes_from_the_port():
    port = UARTPort(1, timeout=20)
    t0 = pyb.millis()
    assert port.readline() is None
    assert 20 <= pyb.elapsed_millis(t0) <= 22


def test_line_longer_than_the_buffer_raises_and_is_skipped():
    port = UARTPort(1, linebuf=16)
    board.uart_feed(1, b"x" * 40 + b"\nok\n")
    pyb.delay(10)
    e = raises(ValueError, port.readline, 10)
    assert message(e) == "UART(1): line longer than the 16-byte buffer (linebuf)"
    assert port.readline(10) == b"ok\n"


def test_read_exactly():
    port = UARTPort(6)
    board.uart_feed(6, b"\x01\x02\x03\x04\x05\x06\x07\x08\x09")
    assert port.read_exactly(8, 100) == b"\x01\x02\x03\x04\x05\x06\x07\x08"
    assert port.read_exactly(1, 100) == b"\x09"


def test_read_exactly_timeout_names_port_wanted_and_got():
    port = UARTPort(1)
    board.uart_feed(1, b"abc")
    t0 = pyb.millis()
    e = raises(OSError, port.read_exactly, 8, 100)
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e) == "UART(1): wanted 8 bytes, got 3 in 100 ms"
    assert 100 <= pyb.elapsed_millis(t0) <= 102
    # the three bytes stay buffered
    board.uart_feed(1, b"defgh")
    assert port.read_exactly(8, 100) == b"abcdefgh"


def test_fixed_size_packets_keep_partial_data():
    port = UARTPort(1)
    board.uart_feed(1, b"AAAABB")
    assert port.read_packet(4, 10) == b"AAAA"
    assert port.read_packet(4, 10) is None
    board.uart_feed(1, b"BB")
    assert port.read_packet(4, 10) == b"BBBB"


def test_delimited_packets():
    port = UARTPort(1)
    board.uart_feed(1, b"\x01\x02\x7e\x03")
    assert port.read_until(0x7E, 10) == b"\x01\x02\x7e"
    assert port.read_until(b"\x7e", 10) is None
    board.uart_feed(1, b"\x04\x7e")
    assert port.read_until(b"\x7e", 10) == b"\x03\x04\x7e"


def test_readinto_caller_buffer():
    board.uart_loopback(1)
    port = UARTPort(1, timeout=10)
    port.write_all(b"12345678")
    buf = bytearray(8)
    assert port.readinto(buf) == 8
    assert buf == b"12345678"
    assert port.readinto(buf, 4) == 0  # nothing within the timeout


def test_readinto_returns_buffered_bytes_first():
    port = UARTPort(1)
    board.uart_feed(1, b"par")
    assert port.readline(5) is None  # "par" now sits in the port's buffer
    buf = bytearray(8)
    assert port.readinto(buf) == 3
    assert bytes(buf[:3]) == b"par"


def test_readinto_allocates_nothing():
    board.uart_loopback(1)
    port = UARTPort(1, timeout=5)
    port.write_all(b"abcdefgh")
    buf = bytearray(8)
    n = 0
    failed = False
    if MICROPYTHON:
        import micropython

        micropython.heap_lock()
    try:
        n = port.readinto(buf, 8)
    except MemoryError:
        failed = True
    finally:
        if MICROPYTHON:
            micropython.heap_unlock()
    assert not failed
    assert n == 8
    assert buf == b"abcdefgh"


def test_write_all_accepts_str_and_records_bytes():
    port = UARTPort(2, 9600)
    assert port.write_all("AT\r\n") == 4
    assert board.uart_sent(2) == b"AT\r\n"


class _StalledUART:
    """A UART whose line blocks (CTS) after three bytes."""

    def __init__(self):
        self.sent = 0

    def write(self, buf):
        if self.sent >= 3:
            return None
        n = min(3, len(buf))
        self.sent += n
        return n


def test_write_all_raises_when_the_line_stays_blocked():
    port = UARTPort(2, flow=pyb.UART.CTS)
    port._hw = _StalledUART()
    e = raises(OSError, port.write_all, b"0123456789")
    assert e.args[0] == errno.ETIMEDOUT
    assert message(e) == "UART(2): wrote 3 of 10 bytes, then timed out"


def test_flow_control_only_where_the_board_has_rts_cts_pins():
    e = raises(ValueError, UARTPort, 1, flow=pyb.UART.RTS)
    assert message(e) == "UART(1) has no RTS/CTS pins; flow control needs UART 2 or 3"
    raises(ValueError, UARTPort, "YA", flow=pyb.UART.CTS)
    UARTPort(3, flow=pyb.UART.RTS | pyb.UART.CTS).deinit()


def test_rx_buffer_overflow_loses_bytes():
    port = UARTPort(6, rxbuf=16)
    board.uart_feed(6, bytes(range(40)))
    pyb.delay(10)
    assert port.any() == 16
    assert board.uart_line(6).overrun == 24


def test_clear_discards_everything_received():
    port = UARTPort(1)
    board.uart_feed(1, b"junk")
    assert port.readline(5) is None
    board.uart_feed(1, b"more junk")
    pyb.delay(5)
    port.clear()
    assert port.any() == 0
    board.uart_feed(1, b"fresh\n")
    assert port.readline(10) == b"fresh\n"


def test_request_response_through_a_model():
    from pyb_sim.models import UARTLoopModel

    board.attach_uart(4, UARTLoopModel())
    port = UARTPort("XA", 57600)
    port.write_all(b"ping\n")
    assert port.readline(20) == b"ping\n"


def test_bad_bus():
    valid = "valid buses: 1, 2, 3, 4, 6, 'XA', 'XB', 'YA', 'YB'"
    assert message(raises(ValueError, UARTPort, 5)) == "UART(5) doesn't exist; " + valid
    assert message(raises(ValueError, UARTPort, 0)) == "UART(0) doesn't exist; " + valid
    assert message(raises(ValueError, UARTPort, "ZZ")) == "UART('ZZ') doesn't exist; " + valid
    raises(TypeError, UARTPort, 1.0)
    raises(TypeError, UARTPort, None)


def test_bad_settings():
    e = raises(ValueError, UARTPort, 1, 100)
    assert message(e) == "UART(1): baudrate 100 out of range 1300..5250000"
    e = raises(ValueError, UARTPort, 2, 3000000)
    assert message(e) == "UART(2): baudrate 3000000 out of range 650..2625000"
    UARTPort(2, 650)
    e = raises(ValueError, UARTPort, 1, bits=7)
    assert message(e) == "UART(1): bits without parity must be one of (8, 9), not 7"
    e = raises(ValueError, UARTPort, 1, bits=9, parity=0)
    assert message(e) == "UART(1): bits with parity must be one of (7, 8), not 9"
    e = raises(ValueError, UARTPort, 1, parity=2)
    assert message(e) == "UART(1): parity (0 even, 1 odd) must be one of (0, 1), not 2"
    e = raises(ValueError, UARTPort, 1, stop=3)
    assert message(e) == "UART(1): stop must be one of (1, 2), not 3"
    raises(ValueError, UARTPort, 1, flow=1)
    e = raises(ValueError, UARTPort, 1, timeout=-1)
    assert message(e) == "UART(1): timeout must be >= 0, not -1"
    raises(ValueError, UARTPort, 1, linebuf=0)
    e = raises(TypeError, UARTPort, 1, "9600")
    assert message(e) == "UART(1): baudrate must be an int, not str"
    raises(TypeError, UARTPort, 1, bits=8.0)
    UARTPort(1, 9600, bits=7, parity=1, stop=2)


def test_bad_read_arguments():
    port = UARTPort(1, linebuf=32)
    assert message(raises(ValueError, port.read_exactly, 0)) == \
        "UART(1): size 0 out of range 1..32 (linebuf)"
    raises(ValueError, port.read_exactly, 33)
    raises(ValueError, port.readline, -1)
    raises(TypeError, port.readline, "10")
    raises(TypeError, port.read_until, b"ab")
    e = raises(ValueError, port.readinto, bytearray(4), 5)
    assert message(e) == "UART(1): nbytes 5 out of range 0..4 (len(buf))"
