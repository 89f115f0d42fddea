"""The virtual PyBoard (``python -m pyb_sim.vboard``) driven by the real
mpremote and by pyserial, as a PyBoard on USB would be."""

import os
import pty
import select
import subprocess
import time

import pytest
import serial
from vboard_support import MPREMOTE, interpreter_pid, needs_vboard, stop_vboard
from vboard_support import start_vboard as support_start

BANNER_TAIL = b"; PYBv1.1 with STM32F405RG\r\nType \"help()\" for more information.\r\n>>> "

pytestmark = needs_vboard


def start_vboard(flash, *args):
    return support_start(flash, *args, module=True)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    flash = tmp_path_factory.mktemp("flash")
    proc, port = start_vboard(flash)
    yield port, flash, proc
    assert stop_vboard(proc) == 0


class Port:
    """pyserial on the board's port, with reads that wait for a pattern."""

    def __init__(self, path):
        self.s = serial.Serial(path, 115200, timeout=0.05)
        self.s.reset_input_buffer()
        self.rest = b""  # read past the last pattern waited for

    def write(self, data):
        self.s.write(data)

    def until(self, pattern, timeout=10, keep=False):
        """What the board sent up to and including ``pattern``; with ``keep``
        what came after it is kept for the next read, else dropped."""
        data, self.rest = self.rest, b""
        deadline = time.monotonic() + timeout
        while pattern not in data:
            if time.monotonic() > deadline:
                raise AssertionError("waited for %r, got %r" % (pattern, data))
            data += self.s.read(4096)
        end = data.index(pattern) + len(pattern)
        if keep:
            self.rest = data[end:]
        return data[:end]

    def read_exactly(self, n, timeout=10):
        data, self.rest = self.rest[:n], self.rest[n:]
        deadline = time.monotonic() + timeout
        while len(data) < n and time.monotonic() < deadline:
            data += self.s.read(n - len(data))
        return data

    def friendly(self):
        """Back to a fresh friendly prompt, as a user would get there."""
        self.write(b"\x03\x02")
        self.until(BANNER_TAIL)

    def close(self):
        self.s.close()


@pytest.fixture
def port(board):
    p = Port(board[0])
    p.friendly()
    yield p
    p.friendly()
    p.close()


def mpremote(board, *args, timeout=20):
    proc = subprocess.run([MPREMOTE, "connect", board[0], *args], capture_output=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    return proc.stdout.decode().replace("\r\n", "\n")  # the board's print sends \r\n


# --- pyserial: the friendly REPL --------------------------------------------
def test_banner_and_echo(port):
    port.write(b"\x02")
    got = port.until(BANNER_TAIL)
    assert b"\r\nMicroPython v1." in got
    port.write(b"1+2\r")
    assert port.until(b">>> ").endswith(b"1+2\r\n3\r\n>>> ")
    port.write(b"x = 1\x08\x08\x08\x08\x082\r")  # backspace over everything, then 2
    assert port.until(b">>> ").endswith(b"\x08\x1b[K2\r\n2\r\n>>> ")


def test_compound_statement_and_traceback(port):
    port.write(b"for i in range(2):\r")
    assert port.until(b"...     ").endswith(b"\r\n...     ")  # auto-indent, as the firmware
    port.write(b"print(i * 10)\r\r\r\r")  # three Enters end the block
    assert b"0\r\n10\r\n>>> " in port.until(b"10\r\n>>> ")
    port.write(b"1/0\r")
    got = port.until(b">>> ")
    assert b'Traceback (most recent call last):\r\n  File "<stdin>", line 1, in <module>\r\n' \
           b"ZeroDivisionError: divide by zero\r\n>>> " in got
    assert b"vboard_agent" not in got


def test_ctrl_c_interrupts_running_code(port):
    port.write(b"while True:\rprint('spinning')\rwhile True: pass\r\r\r\r")
    port.until(b"spinning\r\n")  # the inner loop runs
    port.write(b"\x03")
    got = port.until(b">>> ")
    assert b"KeyboardInterrupt: \r\n>>> " in got
    port.write(b"6*7\r")
    assert port.until(b"42\r\n>>> ")


def test_ctrl_d_soft_reset_gives_fresh_state(port):
    port.write(b"x = 42\r")
    port.until(b">>> ")
    port.write(b"\x04")
    got = port.until(BANNER_TAIL)
    assert got.startswith(b"\r\nMPY: soft reboot\r\nMicroPython v")
    port.write(b"x\r")
    assert b"NameError: name 'x' isn't defined\r\n>>> " in port.until(b"defined\r\n>>> ")


def test_boot_py_and_main_py_run_on_soft_reset(port, board):
    flash = board[1]
    (flash / "boot.py").write_text("print('boot.py ran')\nB = 1\n")
    (flash / "main.py").write_text("print('main.py ran', B)\nM = 2\n")
    try:
        port.write(b"\x04")
        got = port.until(BANNER_TAIL)
        assert b"MPY: soft reboot\r\nboot.py ran\r\nmain.py ran 1\r\nMicroPython v" in got
        port.write(b"B + M\r")
        assert port.until(b"3\r\n>>> ")
    finally:
        os.remove(flash / "boot.py")
        os.remove(flash / "main.py")


def test_pyb_is_the_simulated_board_with_its_wiring(port):
    port.write(b"import pyb; pyb.I2C(1, pyb.I2C.CONTROLLER).scan()\r")
    assert port.until(b">>> ").endswith(b"[80, 118]\r\n>>> ")
    port.write(b"import os; sorted(os.listdir()) == sorted(os.listdir('/flash')), os.getcwd()\r")
    assert port.until(b">>> ").endswith(b"(True, '/flash')\r\n>>> ")


# --- pyserial: raw REPL and raw-paste ----------------------------------------
def test_usb_vcp_write_of_10_kb_with_the_heap_locked(port):
    """More than one message's worth: cut into parts without the heap."""
    port.write(b"\x01")
    port.until(b"raw REPL; CTRL-B to exit\r\n>")
    port.write(b"import pyb, micropython\nu = pyb.USB_VCP(); b = bytes(range(256)) * 40\n"
               b"micropython.heap_lock()\nu.write(b)\nmicropython.heap_unlock()\n\x04")
    assert port.until(b"\x04>") == b"OK" + bytes(range(256)) * 40 + b"\x04\x04>"
    port.write(b"\x02")
    port.until(BANNER_TAIL)


def test_a_block_that_leaves_the_heap_locked(port):
    """The error is reported, and the REPL gets its heap back, as the
    firmware unlocks it when the REPL becomes active."""
    port.write(b"\x01")
    port.until(b"raw REPL; CTRL-B to exit\r\n>")
    port.write(b"import micropython\nmicropython.heap_lock()\nx = [1, 2, 3]\n\x04")
    got = port.until(b"\x04>")
    assert got.startswith(b"OK\x04Traceback") and b"MemoryError" in got, got
    port.write(b"print([1, 2, 3])\x04")
    assert port.until(b"\x04>") == b"OK[1, 2, 3]\r\n\x04\x04>"
    port.write(b"\x02")
    port.until(BANNER_TAIL)


def test_raw_repl_and_raw_paste(port):
    port.write(b"\x01")
    got = port.until(b"raw REPL; CTRL-B to exit\r\n>")
    assert got.endswith(b"\r\nraw REPL; CTRL-B to exit\r\n>")
    port.write(b"print('a')\nprint('b')\x04")
    assert port.until(b"\x04>") == b"OKa\r\nb\r\n\x04\x04>"
    port.write(b"1/0\x04")
    got = port.until(b"\x04>")
    assert got.startswith(b"OK\x04Traceback")
    assert got.endswith(b"ZeroDivisionError: divide by zero\r\n\x04>")
    # raw-paste: header, window size, flow control every window
    port.write(b"\x05A\x01")
    head = port.read_exactly(5)
    assert head[:2] == b"R\x01" and head[4:] == b"\x01"
    window = int.from_bytes(head[2:4], "little")
    code = b"s = 0\n" + b"".join(b"s += %d\n" % i for i in range(100)) + b"print(s)\n"
    assert len(code) > 2 * window
    sent, credit = 0, window
    while sent < len(code):
        if credit == 0:
            assert port.read_exactly(1) == b"\x01"
            credit += window
        chunk = code[sent:sent + credit]
        port.write(chunk)
        sent += len(chunk)
        credit -= len(chunk)
    port.write(b"\x04")
    got = port.until(b"\x04>")
    assert got.replace(b"\x01", b"") == b"\x044950\r\n\x04\x04>"
    port.write(b"\x02")
    port.until(BANNER_TAIL)


def test_usb_vcp_is_binary_safe_with_interrupts_off(port):
    port.write(b"\x01")
    port.until(b"raw REPL; CTRL-B to exit\r\n>")
    port.write(b"import pyb\n"
               b"u = pyb.USB_VCP()\n"
               b"u.setinterrupt(-1)\n"
               b"u.write(bytes(range(256)))\n"
               b"buf = bytearray(256)\n"
               b"n = u.recv(buf, timeout=5000)\n"
               b"u.setinterrupt(3)\n"
               b"u.write(buf[:n])\n"
               b"print('got', n)\n"
               b"\x04")
    assert port.read_exactly(2) == b"OK"
    assert port.read_exactly(256) == bytes(range(256))
    payload = bytes(range(256))[::-1]  # 0x04 and 0x03 included
    port.write(payload)
    assert port.read_exactly(256) == payload
    assert port.until(b"\x04>") == b"got 256\r\n\x04\x04>"
    port.write(b"\x02")
    port.until(BANNER_TAIL)


def test_reopening_the_port(board):
    for _ in range(2):
        p = Port(board[0])
        p.friendly()
        p.write(b"'again'\r")
        assert p.until(b"'again'\r\n>>> ")
        p.close()


def test_interpreter_crash_is_survived(board, port):
    """The interpreter killed from outside (board code cannot kill it)."""
    os.kill(interpreter_pid(board[2]), 9)
    got = port.until(BANNER_TAIL)
    assert b"the interpreter exited" in got
    port.write(b"1+1\r")
    assert port.until(b"2\r\n>>> ")


# --- the real mpremote --------------------------------------------------------
def test_mpremote_fs_commands(board, tmp_path):
    src = tmp_path / "hello.py"
    src.write_text("print('hello from the board')\n")
    assert "cp" in mpremote(board, "fs", "cp", str(src), ":hello.py")
    assert (board[1] / "hello.py").read_text() == src.read_text()
    listing = mpremote(board, "fs", "ls")
    assert "%d hello.py" % len(src.read_text()) in " ".join(listing.split())
    assert mpremote(board, "fs", "cat", "hello.py") == src.read_text()
    lib = tmp_path / "mylib"
    lib.mkdir()
    (lib / "__init__.py").write_text("VALUE = 7\n")
    mpremote(board, "fs", "mkdir", ":lib")
    mpremote(board, "fs", "cp", "-r", str(lib), ":lib/")
    assert (board[1] / "lib" / "mylib" / "__init__.py").exists()
    assert mpremote(board, "exec", "import mylib; print(mylib.VALUE)") == "7\n"
    mpremote(board, "fs", "rm", ":hello.py")
    assert not (board[1] / "hello.py").exists()
    mpremote(board, "fs", "rm", "-r", ":lib")
    assert not (board[1] / "lib").exists()


def test_mpremote_exec_eval_run_soft_reset(board, tmp_path):
    code = "import pyb; print(type(pyb.ADC(pyb.Pin('X1'))).__name__)"
    assert mpremote(board, "exec", code) == "ADC\n"
    assert mpremote(board, "eval", "6 * 7") == "42\n"
    script = tmp_path / "script.py"
    script.write_text("for i in range(3):\n    print('line', i)\n")
    assert mpremote(board, "run", str(script)) == "line 0\nline 1\nline 2\n"
    # state survives between commands on one connection, not across soft-reset
    out = mpremote(board, "exec", "y = 5", "eval", "y", "soft-reset", "exec",
                   "print('y' in globals())")
    assert out == "5\nFalse\n"


def test_mpremote_repl_through_a_terminal(board):
    master, slave = pty.openpty()
    proc = subprocess.Popen([MPREMOTE, "connect", board[0], "repl"], stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""

    def until(pattern, timeout=10):
        nonlocal out
        deadline = time.monotonic() + timeout
        while pattern not in out:
            assert time.monotonic() < deadline, out
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                out += os.read(master, 4096)

    try:
        until(b"to exit this shell")
        os.write(master, b"\r")
        until(b">>> ")
        os.write(master, b"print(21 * 2)\r")
        until(b"42\r\n>>> ")
        os.write(master, b"\x1d")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


# --- life cycle ---------------------------------------------------------------
def test_sigterm_removes_the_link(tmp_path):
    link = tmp_path / "pyboard"
    proc, port = start_vboard(tmp_path / "flash", "--link", str(link))
    assert os.path.realpath(link) == port
    p = Port(str(link))
    p.friendly()
    p.close()
    assert stop_vboard(proc) == 0
    assert not os.path.lexists(link)


def test_with_no_host_the_board_does_not_wait_for_the_link(tmp_path):
    """As the firmware with no host (DTR low): a main.py that prints 130 KB
    runs to its end while nothing holds the serial port open (its output is
    lost); then the board answers mpremote as usual."""
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "main.py").write_text(
        "import pyb\n"
        "for i in range(2000):\n"
        "    print('line %d' % i, 'x' * 50)\n"
        "open('/flash/done.txt', 'w').write(str(pyb.USB_VCP().isconnected()))\n")
    proc, port = start_vboard(flash)
    try:
        deadline = time.monotonic() + 30
        while not (flash / "done.txt").exists() or not (flash / "done.txt").read_text():
            assert time.monotonic() < deadline, "main.py is still waiting for the link"
            time.sleep(0.05)
        assert (flash / "done.txt").read_text() == "False"  # USB_VCP.isconnected()
        # with a host: connected, told without allocating (heap locked)
        out = subprocess.run([MPREMOTE, "connect", port, "exec",
                              "import pyb, micropython\nv = pyb.USB_VCP()\nc = None\n"
                              "micropython.heap_lock()\nc = v.isconnected()\n"
                              "micropython.heap_unlock()\nprint(6 * 7, c)"],
                             capture_output=True, timeout=30)
        assert out.returncode == 0 and out.stdout.strip() == b"42 True", out
    finally:
        assert stop_vboard(proc) == 0


def test_main_py_looping_forever_is_interrupted_by_mpremote(port, board):
    flash = board[1]
    (flash / "main.py").write_text(
        "import pyb\nprint('main.py runs')\nwhile True:\n    pyb.delay(10)\n")
    try:
        port.write(b"\x04")
        port.until(b"MPY: soft reboot\r\n", keep=True)
        assert b">>>" not in port.until(b"main.py runs\r\n")  # main.py runs: no prompt
        assert mpremote(board, "exec", "print('in')") == "in\n"  # Ctrl-C, raw REPL, soft reset
    finally:
        os.remove(flash / "main.py")


def test_sys_exit_soft_resets(port):
    port.write(b"z = 1\r")
    port.until(b">>> ")
    port.write(b"import sys; sys.exit()\r")
    assert b"MPY: soft reboot\r\n" in port.until(BANNER_TAIL)
    port.write(b"'z' in globals()\r")
    assert port.until(b"False\r\n>>> ")


def test_default_wiring_and_heap(board):
    code = (
        "import pyb, gc\n"
        "gc.collect(); print(gc.mem_free() > 90 * 1024)\n"
        "cs = pyb.Pin('X5', pyb.Pin.OUT_PP); cs(1)\n"
        "spi = pyb.SPI(1, pyb.SPI.CONTROLLER, baudrate=1000000, polarity=0, phase=0)\n"
        "buf = bytearray(4); cs(0); spi.send_recv(b'\\x9f\\0\\0\\0', buf); cs(1)\n"
        "print(bytes(buf[1:]).hex())\n"
        "pyb.DAC(1).write(255)\n"
        "print(pyb.ADC('X1').read() > 4000, 0 < pyb.ADC('X2').read() < 4095)\n"
        "u = pyb.UART(6, 9600); u.write(b'hi'); pyb.delay(10); print(u.read())\n")
    assert mpremote(board, "exec", code) == "True\nef4018\nTrue True\nb'hi'\n"


def test_clock_follows_the_wall_clock(board):
    code = ("import pyb, time\nt = time.ticks_ms(); m = pyb.millis(); pyb.delay(300)\n"
            "print(time.ticks_diff(time.ticks_ms(), t) >= 290, pyb.elapsed_millis(m) >= 300)\n")
    assert mpremote(board, "exec", code) == "True True\n"


def test_usb_vcp_write_with_the_heap_locked(port):
    port.write(b"\x01")
    port.until(b"raw REPL; CTRL-B to exit\r\n>")
    port.write(b"import pyb, micropython\nu = pyb.USB_VCP(); b = b'\\xff\\x00frame'\n"
               b"micropython.heap_lock()\nu.write(b)\nmicropython.heap_unlock()\n\x04")
    assert port.until(b"\x04>") == b"OK\xff\x00frame\x04\x04>"
    port.write(b"\x02")
    port.until(BANNER_TAIL)


def test_wiring_file_with_a_missing_model(tmp_path):
    wiring = tmp_path / "wiring.json"
    wiring.write_text('{"i2c": [{"bus": 2, "model": "nosuch.Model"},'
                      ' {"bus": 2, "model": "bme280.BME280Model", "args": {"address": 119}}],'
                      ' "analog": [{"pin": "Y11", "volts": 1.65}]}')
    proc, port = start_vboard(tmp_path / "flash", "--wiring", str(wiring))
    try:
        code = "import pyb; print(pyb.I2C(2, pyb.I2C.CONTROLLER).scan(), pyb.ADC('Y11').read())"
        assert mpremote((port,), "exec", code) == "[119] 2048\n"
    finally:
        assert stop_vboard(proc) == 0
    assert b"nosuch.Model" in proc.stderr.read()


def test_kbd_intr_off_lets_ctrl_c_through_as_data(port):
    port.write(b"\x01")
    port.until(b"raw REPL; CTRL-B to exit\r\n>")
    port.write(b"import micropython, sys\nmicropython.kbd_intr(-1)\n"
               b"print('ready')\nprint(sys.stdin.buffer.read(3))\n\x04")
    port.until(b"OKready\r\n")  # Ctrl-C is data from here on
    port.write(b"\x03\x04\x03")
    assert port.until(b"\x04>") == b"b'\\x03\\x04\\x03'\r\n\x04\x04>"
    port.write(b"\x02")
    port.until(BANNER_TAIL)


def test_code_that_ignores_one_ctrl_c_gets_the_next(port):
    port.write(b"\x05")
    port.until(b"=== ")
    port.write(b"n = 0\rwhile n < 2:\r    try:\r        print('spinning', n)\r"
               b"        while True: pass\r"
               b"    except KeyboardInterrupt:\r        n += 1\r        print('caught', n)\r\x04")
    port.until(b"\r\n", keep=True)
    got = b""
    for n in (1, 2):
        got += port.until(b"spinning %d\r\n" % (n - 1), keep=True)  # inside the try
        port.write(b"\x03")
        got += port.until(b"caught %d" % n, keep=True)
    if not got.endswith(b">>> "):
        got += port.until(b">>> ")
    assert got.endswith(b"spinning 0\r\ncaught 1\r\nspinning 1\r\ncaught 2\r\n>>> ")
