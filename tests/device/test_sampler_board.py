"""pyb_lib.sampler where a board differs from a 64-bit test run: the
micros() wrap on 31-bit small ints, and interrupts that land between any
two statements of the main loop."""

import struct

import pyb
import pyb_sim
from pyb_lib.stream import HEADER_SIZE, Stream
from support import message, raises

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
            self.status = struct.unpack_from("<IIIII", self.buf, HEADER_SIZE)
        if typ != 2:
            return
        count = (length - (HEADER_SIZE - 16)) // 4  # the length counts schema and boot ids
        if self.last_t is not None and (t - self.last_t) & MASK != 1000:
            self.gaps += 1
        for k in range(count):
            if struct.unpack_from("<HH", self.buf, HEADER_SIZE + 4 * k) != self.want:
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


def test_the_preempt_mode_runs_due_callbacks_at_each_hardware_call():
    # board.preempt_ns: each call into simulated hardware from the main
    # program lets that much time pass and runs the callbacks due by then.
    ticks = bytearray(1)

    def tick(t):
        ticks[0] += 1

    pyb.Timer(4, freq=10000, callback=tick)  # every 100 us
    pin = pyb.Pin("X3", pyb.Pin.OUT_PP)
    n = ticks[0]
    pin.value(1)
    pin.value(0)
    assert ticks[0] == n  # by default, interrupts wait for a clock read
    board.preempt_ns = 100000
    n = ticks[0]
    pin.value(1)
    assert ticks[0] == n + 1  # one tick fell due, at the pin write
    pin.value(0)
    assert ticks[0] == n + 2
    pyb.Timer(4).deinit()


class PinPort(FramePort):
    """A FramePort that drives a pin for every write, as a port on the
    board's hardware would: with board.preempt_ns, ticks land inside poll()."""

    def __init__(self, want):
        FramePort.__init__(self, want)
        self.pin = pyb.Pin("X3", pyb.Pin.OUT_PP)

    def write(self, data):
        self.pin.value(1)
        n = FramePort.write(self, data)
        self.pin.value(0)
        return n


def test_overruns_add_up_with_ticks_landing_inside_poll():
    board.set_analog("X1", 0.0)
    board.set_analog("X2", 3.3)
    board.preempt_ns = 30000  # 30 us per hardware call
    port = PinPort((0, 4095))
    s = stream(port)
    smp = Sampler(s, ("X1", "X2"), 1000, frames=2)
    smp.start()
    for _ in range(6):
        pyb.delay(250)  # more than the ring holds: overruns
        smp.poll()
    smp.stop()
    assert smp.overruns > 0 and port.bad == 0
    assert s.overruns == smp.overruns and port.status[2] == smp.overruns
    assert port.records == smp.samples == s.records


def test_arguments_are_checked():
    port = FramePort((0, 0))
    s = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), port, name="adc", period_us=1000)
    e = raises(ValueError, Sampler, s, ("X1", "X2"), 0)
    assert message(e) == "Sampler: rate_hz must be an int 1..10000, not 0"
    e = raises(ValueError, Sampler, s, ("X1", "X2"), 3000)
    assert "does not divide 1000000" in message(e)
    e = raises(ValueError, Sampler, s, ("X1", "X2"), 500)
    assert message(e) == "Sampler: stream 'adc' has period_us 1000; 500 Hz needs period_us=2000"
    e = raises(ValueError, Sampler, s, ("X1",), 1000)
    assert message(e) == "Sampler: need 2 sources (one per channel of stream 'adc')"
    e = raises(TypeError, Sampler, s, ("X1", 5), 1000)
    assert message(e).startswith("Sampler: source 1 (5) is not an ADC pin name")
    e = raises(TypeError, Sampler, s, ("X1", lambda: 1.5), 1000)
    assert message(e).startswith("Sampler: source 1 returned float, not int")
    e = raises(ValueError, Sampler, s, ("X1", "X9"), 1000)
    assert message(e).startswith("Sampler: source 1: pin 'X9' has no ADC")
    e = raises(ValueError, Sampler, s, ("X1", "X2"), 1000, frames=1)
    assert message(e) == "Sampler: frames must be an int 2..64, not 1"
    big = Stream((("v", "I", ""),), port, period_us=100, max_latency_ms=1000)
    e = raises(ValueError, Sampler, big, ("X1",), 10000, frames=64)
    assert "too large" in message(e)
    smp = Sampler(s, ("X1", "X2"), 1000)
    smp.start()
    assert message(raises(ValueError, smp.start)) == "Sampler: already started"
    smp.stop()
    smp.stop()  # a second stop does nothing
