"""Interrupt callbacks pre-empt the program on the virtual board, as on a
PyBoard: a Timer callback runs at its time between two bytecodes of a
pure-Python loop, heap-locked, one at a time, and never inside a simulated
hardware operation (pyb_sim.preempt). Each program below waits only on
conditions the callbacks make true; the host's deadline is mpremote's
timeout."""

import os
import re
import subprocess
import sys
import time

import pytest
import serial
from vboard_support import ROOT, board_exec, env, needs_vboard, start_vboard, stop_vboard

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

pytestmark = needs_vboard


def _board(tmp_path, *args):
    proc, port = start_vboard(tmp_path, *args)
    return proc, port


@pytest.fixture
def host_speed(tmp_path):
    """A board on the wall clock, at the host's speed."""
    proc, port = _board(tmp_path, "--cpu", "host", "--link-speed", "unlimited")
    yield port
    assert stop_vboard(proc) == 0
    log = proc.stderr.read().decode()
    assert "interpreter exited" not in log, log


@pytest.fixture
def board_speed(tmp_path):
    """A board on the wall clock with the CPU model (a PYBv1.1's speed)."""
    proc, port = _board(tmp_path, "--cpu", "pyboard")
    yield port
    assert stop_vboard(proc) == 0


BUSY_LOOP = """
import pyb, time, array
N = 40
at = array.array('i', [0] * N)    # board time (us) at each callback
seen = array.array('i', [0] * N)  # how far the main loop had got then
c = [0]
n = 0
def cb(t):
    k = c[0]
    if k < N:
        at[k] = time.ticks_us()
        seen[k] = n
        c[0] = k + 1
tim = pyb.Timer(4, freq=200, callback=cb)
while c[0] < N:   # no clock read, no hardware call: only the callbacks end it
    n += 1
tim.deinit()
print('steps', [time.ticks_diff(at[i + 1], at[i]) for i in range(N - 1)])
print('seen', list(seen))
"""


def _lists(out):
    steps = [int(x) for x in re.search(r"steps \[([^\]]*)\]", out).group(1).split(",")]
    seen = [int(x) for x in re.search(r"seen \[([^\]]*)\]", out).group(1).split(",")]
    return steps, seen


def _check_busy_loop(out, runs):
    steps, seen = _lists(out)
    # each callback ran at its tick: 5 ms of board time apart, no more, no less
    assert steps == [5000] * 39, steps
    # between two bytecodes of the loop, while it ran (the loop reads no
    # clock: without pre-emption it would never end): the loop had counted
    # on before the first callback, and on between two of them at least
    # once. How many runs of the loop fall between callbacks depends on how
    # the host schedules the board's threads, so no more is asked.
    assert seen[0] > 0 and seen == sorted(seen), seen
    assert len(set(seen)) >= runs, seen


def test_a_pure_python_loop_is_preempted_by_its_timer(host_speed):
    _check_busy_loop(board_exec(host_speed, BUSY_LOOP), 2)


def test_a_pure_python_loop_is_preempted_at_pyboard_speed(board_speed):
    """The same with the CPU model pacing the interpreter: it holds the
    process (SIGSTOP) for milliseconds at a time, and the callbacks that
    fell due meanwhile run together when it goes on."""
    _check_busy_loop(board_exec(board_speed, BUSY_LOOP), 2)


HEAP_LOCKED = """
import micropython, pyb, time
vcp = pyb.USB_VCP()
part = b'xCDx'
more = b'EFG'
def reads():
    micropython.heap_lock()
    try:
        pyb.micros()
        time.ticks_us()
        pyb.millis()
        pyb.udelay(5)
        vcp.write(part, 1, 2)
        vcp.write(more, 2)
        return 'ok'
    except MemoryError:
        return 'MemoryError'
    finally:
        micropython.heap_unlock()
print('program', reads())
got = [0, 0]
def cb(t):
    t0 = pyb.micros()
    pyb.udelay(20)
    got[0] = pyb.elapsed_micros(t0)
    got[1] += 1
tim = pyb.Timer(4, freq=100, callback=cb)
start = pyb.millis()
while got[1] < 3 and pyb.elapsed_millis(start) < 2000:  # a failing callback is disabled
    pass
tim.deinit()
print('callback', got[0], got[1])
"""


def _check_heap_locked(out):
    # a PyBoard's clock reads, udelay and stream writes take no heap
    # (ports/stm32/systick.c, py/stream.c): they work with the heap locked,
    # in a callback too
    assert "CDEFprogram ok" in out, out
    m = re.search(r"callback (\d+) (\d+)", out)
    assert m and int(m.group(2)) >= 3, out
    assert 20 <= int(m.group(1)) < 5000, out


def test_clock_reads_udelay_and_usb_writes_take_no_heap(host_speed):
    _check_heap_locked(board_exec(host_speed, HEAP_LOCKED))


def test_clock_reads_udelay_and_usb_writes_take_no_heap_at_pyboard_speed(board_speed):
    _check_heap_locked(board_exec(board_speed, HEAP_LOCKED))


def test_a_callback_that_allocates_is_disabled_and_the_loop_carries_on(host_speed):
    out = board_exec(host_speed, """
import pyb
c = [0]
def cb(t):
    c[0] += 1
    if c[0] == 3:
        x = [1, 2, 3]   # a list: heap, which an interrupt handler cannot have
tim = pyb.Timer(4, freq=500, callback=cb)
n = 0
while c[0] < 3:
    n += 1
pyb.delay(20)          # ten more ticks: the callback is off
print('carried on', n > 0, c[0])
""")
    assert out == ("Uncaught exception in IRQ callback handler\n"
                   "Traceback (most recent call last):\n"
                   '  File "<stdin>", line 7, in cb\n'
                   "MemoryError: memory allocation failed, heap is locked\n"
                   "carried on True 3"), out


def test_scheduled_functions_and_soft_callbacks_run_later_in_the_main_program(host_speed):
    """micropython.schedule from a (hard) Timer callback, and a Timer with
    hard=False: both run in the main program's context, where they may
    allocate, in the order they were scheduled."""
    out = board_exec(host_speed, """
import pyb, micropython
log = []
soft = []
c = [0]
def later(n):
    log.append(n)   # a list grows: heap, fine outside the interrupt
def cb(t):
    c[0] += 1
    micropython.schedule(later, c[0])
tim = pyb.Timer(4, freq=200, callback=cb)
tim2 = pyb.Timer(5, freq=100, callback=lambda t: soft.append(t), hard=False)
while len(log) < 10 or len(soft) < 5:
    pass
tim.deinit()
tim2.deinit()
print(log[:10] == list(range(1, 11)), soft[0] is tim2)
""")
    assert out == "True True", out


SLOW_MODEL = """
import time
import pyb_sim
pyb = pyb_sim.install()
from pyb_sim import preempt, vboard_agent
board = pyb_sim.board
preempt.start(board, vboard_agent._realtime(board), lambda: None)

def spin(us):
    t = time.ticks_us()
    while time.ticks_diff(time.ticks_us(), t) < us:
        pass

class Slow:
    # an I2C device whose model takes 300 us of host time inside a read
    address = 0x42
    inside = False
    def i2c_ack(self):
        return True
    def i2c_write(self, data):
        pass
    def i2c_read(self, n):
        self.inside = True
        spin(300)
        self.inside = False
        return bytes(n)

model = board.attach_i2c(1, Slow())
i2c = pyb.I2C(1, pyb.I2C.CONTROLLER)
buf = bytearray(1)
c = [0, 0, 0]  # callbacks, of which inside the model, of which in the program's own code
python = False
def cb(t):
    c[0] += 1
    if model.inside:
        c[1] += 1
    if python:
        c[2] += 1
tim = pyb.Timer(4, freq=5000, callback=cb)
while c[0] < 1000:
    i2c.recv(buf, 0x42)
    python = True
    k = 0
    while k < 3000:   # the program's own code, about as long as the read
        k += 1
    python = False
tim.deinit()
print(c[0] >= 1000, c[1], c[2] > 0)
"""


def test_a_callback_never_lands_inside_a_simulated_transfer():
    """The interrupt controller as the virtual board runs it, in the board's
    interpreter, with a device model that takes 300 us inside each read:
    callbacks pre-empt the program's own code, never the model's."""
    proc = subprocess.run([MICROPYTHON, "-X", "heapsize=4M", "-c", SLOW_MODEL],
                          capture_output=True, timeout=120,
                          env=dict(env(), MICROPYPATH=os.path.join(ROOT, "host")))
    out = proc.stdout.decode().strip()
    assert proc.returncode == 0, proc.stderr.decode() + out
    assert out == "True 0 True", out


def test_ctrl_c_stops_a_loop_whose_callbacks_take_most_of_the_time(host_speed):
    """Ctrl-C (SIGINT to the interpreter) lands in a callback most of the
    time here; the program still stops with KeyboardInterrupt, each time."""
    ser = serial.Serial(host_speed, 115200, timeout=0.05)
    try:
        def until(pattern, timeout=30):
            data = b""
            deadline = time.monotonic() + timeout
            while pattern not in data:
                assert time.monotonic() < deadline, (pattern, data[-300:])
                data += ser.read(max(1, ser.in_waiting))
            return data

        ser.write(b"\r\x03\r\x01")
        until(b"raw REPL; CTRL-B to exit\r\n>")
        for _ in range(5):
            ser.write(b"""
import pyb
c = [0]
def cb(t):
    k = 0
    while k < 40000:
        k += 1
    c[0] += 1
tim = pyb.Timer(4, freq=1000, callback=cb)
said = False
try:
    while True:
        if not said and c[0] >= 20:
            print('running')
            said = True
except KeyboardInterrupt:
    tim.deinit()
    print('stopped', c[0] >= 20)
    raise
\x04""")
            until(b"running")
            ser.write(b"\x03")
            out = until(b"\x04>")
            assert b"stopped True" in out and b"KeyboardInterrupt" in out, out
    finally:
        ser.close()


def test_callbacks_run_at_their_time_while_the_board_sits_at_the_repl(host_speed):
    """A timer started by one block keeps calling back after the block has
    ended, with no further input: the callback's output arrives while the
    REPL waits, as on a board."""
    ser = serial.Serial(host_speed, 115200, timeout=0.05)
    try:
        data = b""
        ser.write(b"\r\x03\r\x01")
        deadline = time.monotonic() + 30
        while b"raw REPL; CTRL-B to exit\r\n>" not in data:
            assert time.monotonic() < deadline, data
            data += ser.read(max(1, ser.in_waiting))
        ser.write(b"""
import pyb
done = False
def cb(t):
    if done:
        print('tick')
tim = pyb.Timer(4, freq=20, callback=cb)
done = True
\x04""")
        data = b""
        while b"\x04>" not in data:  # the block's end
            assert time.monotonic() < deadline, data
            data += ser.read(max(1, ser.in_waiting))
        data = data[data.index(b"\x04>") + 2:]
        while b"tick" not in data:  # nothing sent: the board sits at the REPL
            assert time.monotonic() < deadline, data
            data += ser.read(max(1, ser.in_waiting))
    finally:
        ser.close()
