"""pyb_lib.sampler where a board differs from a 64-bit test run: the
micros() wrap on 31-bit small ints, and interrupts that land between any
two statements of the main loop."""

import struct

import pyb
import pyb_sim
from pyb_lib.stream import Stream

board = pyb_sim.board
# stream.py first: the largest module to compile, while the heap is emptiest.
from pyb_lib.sampler import Sampler  # noqa: E402

MASK = 0x3FFFFFFF  # pyb.micros() wraps to 0 after 0x3FFFFFFF (2**30 us, 17.9 min)
WRAP_NS = (MASK + 1) * 1000


class FramePort:
    """Keeps the last frame's header; counts data records, gaps between
    data frames (times compared modulo the micros() range) and wrong
    values (every record must be ``want``); keeps the last status."""

    def __init__(self, want):
        self.buf = bytearray(1024)
        self.n = 0
        self.want = want
        self.records = self.gaps = self.bad = 0
        self.last_t = None
        self.status = None

    def write(self, data):
        k = len(data)
        self.buf[self.n:self.n + k] = data
        self.n += k
        if self.n >= 20:
            length = struct.unpack_from("<H", self.buf, 6)[0]
            if self.n == 20 + length:
                self.frame(self.buf[3], length, struct.unpack_from("<I", self.buf, 12)[0])
                self.n = 0
        return k

    def frame(self, typ, length, t):
        if typ == 3:
            self.status = struct.unpack_from("<IIIII", self.buf, 16)
        if typ != 2:
            return
        count = length // 4
        if self.last_t is not None and (t - self.last_t) & MASK != 1000:
            self.gaps += 1
        for k in range(count):
            if struct.unpack_from("<HH", self.buf, 16 + 4 * k) != self.want:
                self.bad += 1
        self.last_t = (t + (count - 1) * 1000) & MASK
        self.records += count


def stream(port):
    return Stream((("x1", "H", "raw"), ("x2", "H", "raw")), port, name="adc",
                  period_us=1000, max_latency_ms=100)


def test_sampling_goes_on_across_the_micros_wrap():
    # On the board pyb.micros() wraps after 0x3FFFFFFF, the largest small
    # int: chunk times near it must not become long ints in the callback
    # (that allocation fails with the heap locked, and the firmware then
    # disables the callback). Fails on the 32-bit interpreter otherwise.
    board.set_analog("X1", 0.0)
    board.set_analog("X2", 3.3)
    board.advance_to(WRAP_NS - 700 * 1000000)  # 0.7 s before the wrap
    port = FramePort((0, 4095))
    smp = Sampler(stream(port), ("X1", "X2"), 1000, frames=4)
    smp.run(1500)
    assert board.now > WRAP_NS + 700 * 1000000
    assert 1499 <= port.records <= 1501 and port.records == smp.samples
    assert port.bad == 0 and port.gaps == 0 and smp.overruns == 0
    assert board.timers.get(4) is None


class Preempted(Sampler):
    """A Sampler whose main loop, once ``armed``, is held up right after it
    reads ``overruns`` while timer interrupts fill the ring until one more
    overrun is counted: a board's interrupts can land between any two
    statements of the main loop, and the count must not lose that one."""

    def __init__(self, *args, **kw):
        self._n = 0
        self.armed = False
        Sampler.__init__(self, *args, **kw)

    @property
    def overruns(self):
        n = self._n
        if self.armed:
            self.armed = False
            while self._n == n:
                self._tick(None)  # interrupts, between two statements
        return n

    @overruns.setter
    def overruns(self, value):
        self._n = value


def test_an_overrun_counted_while_the_main_loop_reports_is_not_lost():
    port = FramePort((0, 0))
    s = stream(port)
    smp = Preempted(s, ("X1", "X2"), 1000, frames=2)
    smp.start()
    pyb.delay(300)  # the ring holds 200: overruns are being counted
    assert smp.overruns > 0
    smp.armed = True
    smp.poll()
    assert not smp.armed  # the interrupts did land inside poll()
    smp.stop()
    assert s.overruns == smp.overruns
    assert port.status[2] == smp.overruns  # the last status frame has them all
