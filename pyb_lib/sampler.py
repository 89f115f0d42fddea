"""Fixed-rate sampling from a pyb.Timer callback into a Stream.

    from pyb_lib.stream import Stream
    from pyb_lib.sampler import Sampler
    s = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), period_us=1000)
    smp = Sampler(s, ("X1", "X2"), 1000)    # 1 kHz on Timer 4
    smp.run(10000)                          # 10 s: start, poll, stop

The timer callback reads every source and packs one record into a ring
buffer allocated at construction, in the stream's record format; the main
loop (``poll()``) sends whole slices of the ring as data frames without
copying or touching each sample (``Stream.send_records``). A full ring drops
samples and counts them (``overruns``, reported in the status frames).
Sources read in the callback must return ints and allocate nothing; see
docs/sampler.md. For blocks of ADC samples use ``read_timed_multi`` and
``Stream.send_block`` instead.
"""

import struct

import machine

import pyb
from micropython import const
from pyb_lib._native import VIPER, sampler_tick, sampler_tick16

_MASK = const(0x3FFFFFFF)
_MAX_RATE = const(10000)
_MAX_RING = const(32768)
_WAIT_MS = const(4)  # run(): the longest wait between two polls
_RING_MS = const(250)  # the default ring: about this much of the samples


def _after(t, d):
    """``(t + d) & _MASK`` for ``t`` and ``d`` in 0.._MASK without a long
    int: on the board ``t + d`` itself can exceed the largest small int
    (0x3FFFFFFF), and making it allocates, which fails in an interrupt."""
    r = t - (_MASK - d) - 1  # t + d - 2**30, within -2**30 .. 2**30 - 2
    if r < 0:
        return r + _MASK + 1
    return r


def ring_frames(span_us, frame_size):
    """The default ring's frames: about _RING_MS of samples (4..16 frames of
    ``span_us`` each), within _MAX_RING bytes (frames of ``frame_size``),
    at least 2."""
    span_ms = span_us // 1000 or 1
    n = min(16, max(4, -(-_RING_MS // span_ms)), _MAX_RING // frame_size)
    return n if n > 2 else 2


def _reader(src, i):
    # (read, shift): the sample is read() >> shift. An ADC pin is read with
    # machine.ADC, which leaves the ADC on between reads, where pyb.ADC.read
    # turns it on for each read and waits about 30 us for it to settle
    # (docs/sampler.md): read_u16() >> 4 is the 12-bit conversion itself.
    if isinstance(src, str):
        try:
            return machine.ADC(src).read_u16, 4
        except ValueError as e:
            raise ValueError("Sampler: source %d: pin %r has no ADC (%s)" % (i, src, e))
    read = getattr(src, "read", None)
    if callable(read):
        return read, 0
    if callable(src):
        return src, 0
    raise TypeError("Sampler: source %d (%r) is not an ADC pin name, an object with "
                    "read() or a callable" % (i, src))


class Sampler:
    """Read ``sources`` ``rate_hz`` times a second into ``stream``.

    ``stream``: a Stream with one channel per source and ``period_us`` equal
    to 1000000 / ``rate_hz``. ``sources``: ADC pin names ('X1', read as
    machine.ADC, 0..4095), pyb.ADC or AnalogIn objects (their ``read``) or
    callables returning an int.
    ``rate_hz``: 1..10000, a divisor of 1000000 (an exact period in us).
    ``frames``: ring size in frames (2..64); a frame holds the records of
    the stream's latency limit or a full frame, whichever is fewer. By
    default the ring holds about 250 ms of samples (4..16 frames, about
    1 KB each at most): the main loop may fall that far behind, or the host
    stop reading that long, before samples are lost.
    ``slow_stream``/``slow_read``/``slow_ms``: a second stream filled in
    ``poll()`` every ``slow_ms`` with ``slow_stream.add_row(slow_read())``
    (sensors on I2C, values that allocate).
    """

    def __init__(self, stream, sources, rate_hz, *, timer_id=4, frames=None,
                 slow_stream=None, slow_read=None, slow_ms=1000):
        if not isinstance(rate_hz, int) or not 1 <= rate_hz <= _MAX_RATE:
            raise ValueError("Sampler: rate_hz must be an int 1..%d, not %r"
                             % (_MAX_RATE, rate_hz))
        if 1000000 % rate_hz:
            raise ValueError("Sampler: rate_hz %d does not divide 1000000 "
                             "(the period must be whole microseconds)" % rate_hz)
        period = 1000000 // rate_hz
        if stream.period_us != period:
            raise ValueError("Sampler: stream %r has period_us %d; %d Hz needs period_us=%d"
                             % (stream.name, stream.period_us, rate_hz, period))
        if not isinstance(sources, (tuple, list)) or len(sources) != stream._nch:
            raise ValueError("Sampler: need %d sources (one per channel of stream %r)"
                             % (stream._nch, stream.name))
        if frames is not None and (not isinstance(frames, int) or not 2 <= frames <= 64):
            raise ValueError("Sampler: frames must be an int 2..64, not %r" % (frames,))
        if (slow_stream is None) != (slow_read is None):
            raise ValueError("Sampler: slow_stream and slow_read go together")
        reads = []
        shifts = []
        for i in range(len(sources)):
            r, sh = _reader(sources[i], i)
            v = r()
            if not isinstance(v, int):
                raise TypeError("Sampler: source %d returned %s, not int: sources read in "
                                "the timer callback must return ints (poll others with "
                                "slow_read)" % (i, type(v).__name__))
            reads.append(r)
            shifts.append(sh)
        self._reads = tuple(reads)
        self._shifts = tuple(shifts)
        rec = stream.record_size
        chunk = min(stream.capacity, max(1, stream.max_latency_ms * 1000 // period))
        if chunk * period > _MASK:
            raise ValueError("Sampler: a frame of %d samples spans more than the "
                             "micros() range; lower max_latency_ms" % chunk)
        auto = frames is None
        if auto:
            frames = ring_frames(chunk * period, chunk * rec)
        size = frames * chunk * rec
        if size > _MAX_RING:
            raise ValueError("Sampler: a ring of %d bytes is too large (at most %d); "
                             "use fewer frames" % (size, _MAX_RING))
        self.stream = stream
        self.rate_hz = rate_hz
        self._period = period
        self._span = chunk * period  # us one chunk covers
        self._cfmts = stream._cfmts
        self._csizes = stream._csizes
        self._nch = len(reads)
        self._rec = rec
        self._c = chunk
        while True:
            try:
                self._ring = bytearray(size)
                break
            except MemoryError:
                # the default ring in a heap left in pieces: fewer frames,
                # down to 4, before giving up
                if not auto or frames <= 4:
                    raise
                frames = frames // 2 if frames > 8 else 4
                size = frames * chunk * rec
        self._m = frames
        self._m2 = 2 * frames
        mv = memoryview(self._ring)
        self._mv = mv
        self._views = [mv[j * chunk * rec:(j + 1) * chunk * rec] for j in range(frames)]
        self._chunk_t = [0] * frames
        self._timer_id = timer_id
        self._timer = None
        r = self._reads + (None,) * 3
        sh = self._shifts + (0,) * 3
        # what the callback reads at every tick, in one tuple: one attribute
        # lookup instead of thirteen
        self._tick_consts = (struct.pack_into, stream._fmt, self._ring, rec, self._nch,
                             r[0], sh[0], r[1], sh[1], r[2], sh[2], r[3], sh[3])
        if VIPER and self._nch <= 4 and all(f in ("<H", "<h") for f in self._cfmts):
            # 16-bit channels: stored as words by viper code, without struct
            self._tick16_consts = (self._ring, self._nch) + tuple(
                x for i in range(4) for x in (r[i], sh[i]))
            self._tick = self._tick16  # type: ignore[method-assign]
        self._cb = self._tick
        self._slow = slow_stream
        self._slow_read = slow_read
        self._slow_ms = slow_ms
        self._t_slow = 0
        self._own = False
        self._own_slow = False
        self._reset()

    def _reset(self):
        self._k = self._m2 - 1  # chunk being written, modulo 2 * frames
        self._off = 0  # ring offset of the next record
        self._end = 0  # where the chunk being written ends
        self._tnext = 0  # time of the tick that starts the next chunk
        self._rc = 0  # chunk to send next, modulo 2 * frames
        self.overruns = 0
        self._reported = 0
        self.samples = 0

    # --- the timer callback: no heap ---------------------------------------------
    # _tick(timer): one record into the ring, in machine code where the
    # port compiles it (pyb_lib/_native.py)
    _tick = sampler_tick
    # _tick16(timer): the same for 1..4 16-bit channels, in viper code where
    # the port has its emitter (chosen at construction)
    _tick16 = sampler_tick16

    def _next_chunk(self):
        # Once per chunk: start the next one if the main loop has sent it,
        # else drop this sample and count it.
        t = self._tnext
        k = (self._k + 1) % self._m2
        if (k - self._rc) % self._m2 >= self._m:
            n = self.overruns
            self.overruns = n + 1 if n < _MASK else 0
            self._tnext = _after(t, self._period)
            return False
        j = k % self._m
        self._chunk_t[j] = t
        self._tnext = _after(t, self._span)
        off = j * self._c * self._rec
        self._off = off
        self._end = off + self._c * self._rec
        self._k = k
        return True

    # --- main loop ------------------------------------------------------------------
    def _drain(self, final):
        k = self._k
        c = self._c
        m = self._m
        stream = self.stream
        while True:
            rc = self._rc
            ahead = (k - rc) % self._m2
            if ahead >= m or (ahead == 0 and self._off != self._end):
                break  # not started, or being written
            j = rc % m
            stream.send_records(self._views[j], c, self._chunk_t[j])
            self.samples += c
            self._rc = (rc + 1) % self._m2
        if final and k == self._rc:  # the timer is stopped: the partial chunk
            j = k % m
            start = j * c * self._rec
            have = (self._off - start) // self._rec
            if have:
                stream.send_records(self._mv[start:self._off], have, self._chunk_t[j])
                self.samples += have
            self._rc = (k + 1) % self._m2
        # One read of the count: the timer callback may add to it at any point.
        n = self.overruns
        d = (n - self._reported) & _MASK
        if d:
            self._reported = n
            stream.overruns += d

    def poll(self):
        """Call from the main loop: sends the frames the ring holds, reads the
        slow sources when due, and lets the streams repeat their descriptor
        and status frames."""
        self._drain(False)
        self.stream.poll()
        slow = self._slow
        if slow is not None:
            if pyb.elapsed_millis(self._t_slow) >= self._slow_ms:
                self._t_slow = pyb.millis()
                slow.add_row(self._slow_read())
            slow.poll()

    def start(self):
        """Start the stream(s) if they are not streaming, then the timer."""
        if self._timer is not None:
            raise ValueError("Sampler: already started")
        self._own = not self.stream._streaming
        if self._own:
            self.stream.start()
        slow = self._slow
        self._own_slow = slow is not None and not slow._streaming
        if self._own_slow:
            slow.start()
        self._reset()
        self._t_slow = (pyb.millis() - self._slow_ms) & _MASK
        tim = pyb.Timer(self._timer_id)
        self._tnext = _after(pyb.micros(), self._period)
        tim.init(freq=self.rate_hz, callback=self._cb)
        self._timer = tim

    def stop(self):
        """Stop the timer, send every sample taken and a status frame; stop
        the streams this sampler started."""
        tim = self._timer
        if tim is None:
            return
        tim.callback(None)
        tim.deinit()
        self._timer = None
        self._drain(True)
        slow = self._slow
        if self._own_slow:
            slow.stop()
        if self._own:
            self.stream.stop()
        else:
            self.stream.flush()
            self.stream.send_status()

    def run(self, duration_ms):
        """Sample for ``duration_ms``, then stop. Between two polls the board
        waits (``pyb.delay``, under 1 ms ``pyb.udelay``; the timer's
        callbacks run meanwhile) until the frame being filled is full or the
        slow read is due, at most 4 ms: one poll a frame, not one a tick,
        which leaves the CPU to the callback at high rates."""
        self.start()
        try:
            t0 = pyb.millis()
            while True:
                left = duration_ms - pyb.elapsed_millis(t0)
                if left <= 0:
                    break
                self.poll()
                us = self._wait_us()
                if us >= 1000:
                    ms = us // 1000
                    pyb.delay(ms if ms < left else int(left))  # left may be a float
                elif us:
                    pyb.udelay(us)
                else:
                    pyb.wfi()  # due: until the tick's interrupt
        finally:
            self.stop()

    def _wait_us(self):
        # us until the tick that starts the next frame (the one being filled
        # is full then) or the slow read, at most _WAIT_MS; 0: due now
        us = (self._tnext - pyb.micros()) & _MASK
        if us > self._span:
            us = 0
        if self._slow is not None:
            d = self._slow_ms - pyb.elapsed_millis(self._t_slow)
            if d < _WAIT_MS:  # (d * 1000 of a long slow_ms could leave the small ints)
                d = d * 1000 if d > 0 else 0
                if d < us:
                    us = d
        return us if us < _WAIT_MS * 1000 else _WAIT_MS * 1000

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
