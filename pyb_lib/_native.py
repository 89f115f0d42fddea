# The per-sample paths, compiled to machine code by the board's own native
# emitter (@micropython.native: Python's semantics, no bytecode dispatch):
# Stream.add, Stream.add_row and the Sampler's timer callback. A fixed-rate
# stream's records are period_us apart by declaration: add() reads the
# clock only for a frame's first record, and ``cap`` is then also the
# latency limit in records (Stream.__init__). This module
# is deployed as source, also with ``pyb-bridge deploy --mpy``: the board
# compiles it for its own CPU (docs/performance.md, "Native code"). Keep
# it short: its text takes heap while it compiles.

import micropython
from micropython import const

_MASK = const(0x3FFFFFFF)


@micropython.native
def stream_add(self, v0, v1=0, v2=0, v3=0, v4=0, v5=0, v6=0, v7=0):
    """Append one record (up to 8 channels as arguments; no heap)."""
    clock, pack, buf, fmt, n, stamp, rec, cap, lat = self._add_consts
    count = self._count
    off = self._off
    if stamp:
        now = clock()
        if count == 0:
            self._t0 = now
        pack("<I", buf, off, now)
        off += 4
    elif count == 0:
        self._t0 = clock()
    if n == 4:
        pack(fmt, buf, off, v0, v1, v2, v3)
    elif n == 2:
        pack(fmt, buf, off, v0, v1)
    elif n == 1:
        pack(fmt, buf, off, v0)
    elif n == 3:
        pack(fmt, buf, off, v0, v1, v2)
    elif n == 5:
        pack(fmt, buf, off, v0, v1, v2, v3, v4)
    elif n == 6:
        pack(fmt, buf, off, v0, v1, v2, v3, v4, v5)
    elif n == 7:
        pack(fmt, buf, off, v0, v1, v2, v3, v4, v5, v6)
    elif n == 8:
        pack(fmt, buf, off, v0, v1, v2, v3, v4, v5, v6, v7)
    else:
        raise ValueError("Stream %r: %d channels: use add_row()" % (self.name, n))
    self._off = self._off + rec
    count += 1
    self._count = count
    if count >= cap or (stamp and (now - self._t0) & _MASK >= lat):
        self.flush()


@micropython.native
def stream_add_row(self, values):
    """Append one record from a sequence of channel values (any count)."""
    clock, pack, buf, fmt, n, stamp, rec, cap, lat = self._add_consts
    if len(values) != n:
        raise ValueError("Stream %r: %d values for %d channels"
                         % (self.name, len(values), n))
    count = self._count
    off = self._off
    if stamp:
        now = clock()
        if count == 0:
            self._t0 = now
        pack("<I", buf, off, now)
        off += 4
    elif count == 0:
        self._t0 = clock()
    fmts = self._cfmts
    sizes = self._csizes
    for i in range(n):
        pack(fmts[i], buf, off, values[i])
        off += sizes[i]
    self._off = off
    count += 1
    self._count = count
    if count >= cap or (stamp and (now - self._t0) & _MASK >= lat):
        self.flush()


@micropython.native
def sampler_tick(self, _timer):
    """The Sampler's timer callback: one record into the ring (no heap)."""
    off = self._off
    if off == self._end:
        if not self._next_chunk():
            return
        off = self._off
    pack, fmt, ring, rec, n, r0, s0, r1, s1, r2, s2, r3, s3 = self._tick_consts
    if n == 4:
        pack(fmt, ring, off, r0() >> s0, r1() >> s1, r2() >> s2, r3() >> s3)
    elif n == 2:
        pack(fmt, ring, off, r0() >> s0, r1() >> s1)
    elif n == 1:
        pack(fmt, ring, off, r0() >> s0)
    elif n == 3:
        pack(fmt, ring, off, r0() >> s0, r1() >> s1, r2() >> s2)
    else:
        reads = self._reads
        shifts = self._shifts
        fmts = self._cfmts
        sizes = self._csizes
        at = off
        for i in range(n):
            pack(fmts[i], ring, at, reads[i]() >> shifts[i])
            at += sizes[i]
    self._off = off + rec


@micropython.viper
def sampler_tick16(self, _timer):
    """The Sampler's timer callback for 1..4 16-bit channels: the samples
    stored as 16-bit words, without struct (no heap)."""
    off = int(self._off)
    if off == int(self._end):
        if not self._next_chunk():
            return
        off = int(self._off)
    ring, n, r0, s0, r1, s1, r2, s2, r3, s3 = self._tick16_consts
    p = ptr16(ring)  # type: ignore[name-defined]  # noqa: F821 - the viper cast
    i = off >> 1  # the ring's records start on even offsets
    k = int(n)
    p[i] = int(r0()) >> int(s0)
    if k > 1:
        p[i + 1] = int(r1()) >> int(s1)
        if k > 2:
            p[i + 2] = int(r2()) >> int(s2)
            if k > 3:
                p[i + 3] = int(r3()) >> int(s3)
    self._off = off + (k << 1)


@micropython.viper
def _viper_stores() -> int:
    # NameError where this runs as bytecode (no viper emitter: ptr8 is then
    # an unknown name), so sampler_tick16 is used only where it is viper
    p = ptr8(bytearray(1))  # type: ignore[name-defined]  # noqa: F821
    p[0] = 1
    return 1


try:
    VIPER = _viper_stores() == 1
except NameError:
    VIPER = False
