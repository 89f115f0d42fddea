"""pyb_lib.sampler: Timer-driven sampling into a preallocated ring, drained
into stream frames by the main loop."""

import binascii
import struct
import sys

import micropython
import pyb
import pyb_sim
from pyb_lib.stream import HEADER_SIZE, OVERHEAD, Stream
from support import message, raises

board = pyb_sim.board
# After stream.py, the largest module to compile: the peak of the compiler
# stays within the test heap.
from pyb_lib.sampler import Sampler  # noqa: E402

MICROPYTHON = sys.implementation.name == "micropython"
FULL = 4095
MASK = 0x3FFFFFFF  # pyb.micros() wraps to 0 after 0x3FFFFFFF (2**30 us, 17.9 min)


def ramp(t):
    return (t * 0.37) % 3.3  # 0..3.3 V, one ramp every 8.9 s


def tri(t):
    x = (t * 2.0) % 2.0
    return 3.0 * (x if x < 1.0 else 2.0 - x)  # 0..3 V triangle, 1 s period


def raw_at(fn, t_us):
    """What the simulated ADC reads at board time ``t_us`` (see Board.adc_raw)."""
    v = fn(t_us * 1000 / 1000000000)
    v = 0.0 if v < 0 else (board.vdda if v > board.vdda else v)
    return int(v * FULL / board.vdda + 0.5)


class CheckPort:
    """A port that parses frames as they arrive (a frame ends with a write
    of its CRC) and checks the records of 2-channel data frames against
    the signals, keeping only counters."""

    def __init__(self, f0=None, f1=None, period=1000):
        self.buf = bytearray(4096)
        self.mv = memoryview(self.buf)
        self.n = 0
        self.f0 = f0
        self.f1 = f1
        self.period = period
        self.types = []
        self.records = 0
        self.bad = 0
        self.seq = {}
        self.last_t = None
        self.gaps = 0
        self.status = None

    def write(self, data):
        k = len(data)
        self.mv[self.n:self.n + k] = data
        self.n += k
        if self.n >= OVERHEAD:
            length = struct.unpack_from("<H", self.buf, 6)[0] - 8  # after schema and boot
            if self.n == OVERHEAD + length:
                self.frame(length)
                self.n = 0
        return k

    def frame(self, length):
        b = self.buf
        assert b[0] == 0xA5 and b[1] == 0xD3
        typ, sid, flags, _, seq, t = struct.unpack_from("<BBBHII", b, 3)
        end = HEADER_SIZE + length
        assert binascii.crc32(self.mv[:end]) == struct.unpack_from("<I", b, end)[0]
        assert seq == self.seq.get(sid, -1) + 1 and flags == 0
        self.seq[sid] = seq
        self.types.append(typ)
        if typ == 3:
            self.status = struct.unpack_from("<IIIII", b, HEADER_SIZE)
        if typ != 2 or self.f0 is None:
            return
        count = length // 4
        if self.last_t is not None and (t - self.last_t) & MASK != self.period:
            self.gaps += 1
        for k in range(count):
            tk = t + k * self.period
            v0, v1 = struct.unpack_from("<HH", b, HEADER_SIZE + 4 * k)
            if v0 != raw_at(self.f0, tk) or v1 != raw_at(self.f1, tk):
                self.bad += 1
        self.last_t = (t + (count - 1) * self.period) & MASK
        self.records += count


def two_channel_stream(port, **kw):
    return Stream((("x1", "H", "raw"), ("x2", "H", "raw")), port, name="adc",
                  period_us=1000, **kw)


def test_ten_seconds_at_1khz_on_two_adc_pins():
    from pyb_lib.adc import AnalogIn  # imported late: less heap while stream.py compiles

    board.set_analog("X1", ramp)
    board.set_analog("X2", tri)
    port = CheckPort(ramp, tri)
    s = two_channel_stream(port)
    smp = Sampler(s, ("X1", AnalogIn("X2")), 1000)
    smp.run(10000)
    assert 9999 <= port.records <= 10001 and port.records == smp.samples == s.records
    assert port.bad == 0 and port.gaps == 0 and smp.overruns == 0
    assert port.types[0] == 1 and port.types[-1] == 3
    assert port.types.count(1) >= 2 and port.types.count(3) >= 2  # repeated
    assert port.status[0] == port.records and port.status[2] == 0  # records, overruns
    assert board.timers.get(4) is None  # the timer is released by stop()


def test_adc_pins_are_read_with_the_adc_left_on():
    """A pin name is read with machine.ADC, which leaves the ADC on between
    reads (pyb.ADC.read turns it on for each one and waits for it to settle,
    about 30 us on a PYBv1.1): the same 12-bit values."""
    board.set_analog("X1", ramp)
    board.set_analog("X2", tri)
    port = CheckPort(ramp, tri)
    s = two_channel_stream(port)
    smp = Sampler(s, ("X1", "X2"), 1000)
    smp.start()
    pyb.delay(20)
    assert board.adc_on  # nothing turned it off between two samples
    smp.stop()
    assert port.records == smp.samples >= 19 and port.bad == 0 and port.gaps == 0


def test_frames_follow_the_latency_limit():
    port = CheckPort()
    s = two_channel_stream(port, max_latency_ms=50)
    smp = Sampler(s, ("X1", "X2"), 1000)
    smp.start()
    pyb.delay(120)
    smp.poll()
    assert port.types == [1, 2, 2]  # two frames of 50 records: 50 ms each
    assert port.records == 0 and s.records == 100
    smp.stop()
    assert s.records == 120 and port.types[-2:] == [2, 3]


def test_overruns_are_counted_exactly_and_reported():
    port = CheckPort(ramp, tri)
    board.set_analog("X1", ramp)
    board.set_analog("X2", tri)
    s = two_channel_stream(port, max_latency_ms=100)
    smp = Sampler(s, ("X1", "X2"), 1000, frames=3)  # 3 x 100 records
    smp.start()
    pyb.delay(1000)  # nobody polls: 1000 ticks, 300 fit
    assert smp.overruns == 700
    smp.poll()
    assert s.overruns == 700 and port.records == 300
    pyb.delay(250)
    smp.stop()
    assert port.records == 300 + 250 and port.bad == 0
    assert port.gaps == 1  # the frame after the drop starts 700 periods later
    assert port.status[2] == 700


def test_a_slow_poller_loses_nothing_while_the_ring_has_room():
    port = CheckPort(ramp, tri)
    board.set_analog("X1", ramp)
    board.set_analog("X2", tri)
    s = two_channel_stream(port, max_latency_ms=100)
    smp = Sampler(s, ("X1", "X2"), 1000, frames=4)
    smp.start()
    for _ in range(20):
        pyb.delay(300)  # with what is left over, less than the 400 ms the ring holds
        smp.poll()
    smp.stop()
    assert smp.overruns == 0 and port.gaps == 0 and port.bad == 0
    assert port.records == 6000


def test_run_polls_once_a_frame_not_once_a_tick():
    """run() waits between polls until the frame being filled is full (at
    most 4 ms), so the main loop does not take the CPU from the callback at
    every tick; every sample still arrives, in order."""
    port = CheckPort(ramp, tri)
    board.set_analog("X1", ramp)
    board.set_analog("X2", tri)
    s = two_channel_stream(port, max_latency_ms=20)  # frames of 20 records
    smp = Sampler(s, ("X1", "X2"), 1000)
    polls = [0]
    poll = smp.poll

    def counted():
        polls[0] += 1
        poll()

    smp.poll = counted
    smp.run(2000.0)  # a float duration too (pyb.delay takes only ints)
    assert port.records == smp.samples == s.records and 1999 <= port.records <= 2001
    assert port.bad == 0 and port.gaps == 0 and smp.overruns == 0
    assert 100 <= polls[0] <= 600, polls[0]  # 100 frames; a poll a tick would be 2000


def test_callables_and_three_channels():
    from array import array

    port = CheckPort()
    counter = array("i", [0])

    def count():
        counter[0] += 1
        return counter[0]

    s = Stream((("n", "i", ""), ("x1", "H", "raw"), ("k", "B", "")), port,
               period_us=500, max_latency_ms=10)
    board.set_analog("X1", 1.0)
    smp = Sampler(s, (count, pyb.ADC(pyb.Pin("X1")), lambda: 7), 2000)
    smp.start()
    pyb.delay(10)
    smp.stop()
    assert s.records == 20 and counter[0] == 21  # one call at construction
    assert port.types == [1, 2, 3]


def test_the_callback_runs_with_the_heap_locked():
    # On MicroPython the simulated board runs the callback under the real
    # micropython.heap_lock(): any allocation in it raises MemoryError.
    s = two_channel_stream(CheckPort())
    board.set_analog("X1", 2.0)
    smp = Sampler(s, ("X1", "X2"), 1000)
    smp.start()
    pyb.delay(50)
    smp._tick(None)  # also with the heap locked here, outside the sim
    micropython.heap_lock()
    try:
        smp._tick(None)
    finally:
        micropython.heap_unlock()
    smp.stop()
    assert s.records == 52


def test_the_default_ring_holds_about_a_quarter_second():
    # 4..16 frames of about 1 KB: 4 x 100 ms at 1 kHz, 16 x 12.4 ms at
    # 10 kHz with four channels, within the ring's limit with large frames;
    # fewer (down to 4) when the heap has no room for the whole ring in one
    # piece (the 10 kHz ring below did not fit in this test heap once).
    from pyb_lib.sampler import ring_frames

    assert ring_frames(100000, 400) == 4
    assert ring_frames(124 * 100, 124 * 8) == 16
    assert ring_frames(249 * 100, 249 * 4) == 11
    assert ring_frames(2044 * 100, 2044 * 8) == 2
    s = Stream((("a", "H", ""), ("b", "H", "")), CheckPort(), period_us=1000)
    smp = Sampler(s, ("X1", "X2"), 1000)
    assert smp._m == 4 and len(smp._ring) == 4 * 100 * 4
    s = Stream(tuple(("c%d" % i, "H", "") for i in range(4)), CheckPort(), period_us=100)
    smp = Sampler(s, ("X1", "X2", "X3", "X4"), 10000)
    assert smp._m in (4, 8, 16) and len(smp._ring) == smp._m * 124 * 8


def test_16_bit_channels_take_the_viper_tick_where_the_port_has_it():
    # Where the viper emitter exists (the unix port, a PyBoard) 1..4 channels
    # of H or h are stored as words without struct; the records are the
    # same bytes as struct.pack_into makes, signed values included.
    from pyb_lib._native import VIPER

    samples = {"H": (1, 65535, 0x1234), "h": (-2, -32768, 32767), "I": (7, 100000, 0)}
    k = [0]

    def src(t):
        return lambda: samples[t][k[0]]

    for types, want in ((("H", "h", "H"), VIPER), (("h",), VIPER), (("H", "I"), False),
                        (("H",) * 5, False)):
        s = Stream(tuple(("c%d" % i, t, "") for i, t in enumerate(types)), CheckPort(),
                   period_us=1000)
        smp = Sampler(s, tuple(src(t) for t in types), 1000)
        assert (smp._tick == smp._tick16) == want, types
        smp._next_chunk()
        for k[0] in range(3):
            off = smp._off
            smp._tick(None)
            assert bytes(smp._ring[off:smp._off]) == struct.pack(
                s._fmt, *[samples[t][k[0]] for t in types]), (types, k)


def test_a_source_that_allocates_fails_in_the_callback():
    if not MICROPYTHON:
        return  # CPython has no heap lock: only MicroPython can show it
    s = Stream((("v", "I", ""),), CheckPort(), period_us=1000)
    smp = Sampler(s, (lambda: len(bytearray(8)),), 1000)
    smp.start()
    pyb.delay(5)  # the firmware prints the error, disables the callback
    assert isinstance(board.irq_exceptions[0][1], MemoryError)
    smp.stop()
    assert s.records == 0


def test_slow_sources_go_to_a_second_stream():
    port = CheckPort()
    fast = two_channel_stream(port)
    slow = Stream((("t", "f", "C"), ("p", "f", "Pa")), port, name="env", stream_id=2,
                  max_latency_ms=10)
    calls = []

    def env():
        calls.append(pyb.millis())
        return (21.5, 101325.0)

    smp = Sampler(fast, ("X1", "X2"), 1000, slow_stream=slow, slow_read=env, slow_ms=200)
    smp.run(900)
    assert len(calls) == 5 and slow.records == 5
    assert 899 <= fast.records <= 901
    e = raises(ValueError, Sampler, fast, ("X1", "X2"), 1000, slow_stream=slow)
    assert message(e) == "Sampler: slow_stream and slow_read go together"


class HostPort(CheckPort):
    """A CheckPort that is a USB_VCP: the host types Ctrl-C once the board
    has sent ``after`` records."""

    def __init__(self, f0, f1, after):
        super().__init__(f0, f1)
        self.after = after
        self.typed = bytearray()

    def setinterrupt(self, ch):
        pass

    def any(self):
        return len(self.typed) > 0

    def readinto(self, b):
        b[0] = self.typed[0]
        self.typed = self.typed[1:]
        return 1

    def frame(self, length):
        super().frame(length)
        if self.after is not None and self.records >= self.after:
            self.after = None
            self.typed.append(3)


def test_ctrl_c_from_the_host_stops_a_sampler_with_every_sample_sent_once():
    """The Stream takes the host's Ctrl-C at the Sampler's next poll(); the
    Sampler's stop() then sends what the ring still holds: every sample
    once, in order, none repeated or lost."""
    board.set_analog("X1", ramp)
    board.set_analog("X2", tri)
    port = HostPort(ramp, tri, 300)
    s = two_channel_stream(port, max_latency_ms=20)
    smp = Sampler(s, ("X1", "X2"), 1000)
    e = raises(KeyboardInterrupt, smp.run, 10000)
    assert e is not None
    assert 300 <= port.records < 10000  # stopped early, by the host
    assert port.records == smp.samples == s.records
    assert port.bad == 0 and port.gaps == 0 and smp.overruns == 0
    assert port.types[-1] == 3 and port.status[0] == port.records
