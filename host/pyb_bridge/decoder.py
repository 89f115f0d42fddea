"""Decoding the board's framed stream (docs/protocol.md).

``FrameDecoder`` turns raw bytes, fed in any chunks, into whole CRC-checked
frames and resynchronises after garbage; ``Streams`` turns frames into
typed channel values, learning each stream's channels from its descriptor.
"""

import struct
import sys
import zlib
from array import array
from collections import namedtuple

SYNC = b"\xa5\xd3"
VERSION = 1  # the stream protocol this decoder understands (docs/protocol.md)
MAX_VERSION = 15  # a header with a higher version byte is not a frame
T_DESCRIPTOR = 1
T_DATA = 2
T_STATUS = 3
TYPES = (T_DESCRIPTOR, T_DATA, T_STATUS)
HEADER_SIZE = 16
CRC_SIZE = 4
OVERHEAD = HEADER_SIZE + CRC_SIZE
MAX_PAYLOAD = 16384
TICKS_PERIOD = 1 << 30  # board time stamps and sequence numbers wrap here
_HALF = TICKS_PERIOD >> 1
_MASK = TICKS_PERIOD - 1

_HDR = struct.Struct("<BBBBHII")  # version, type, stream, flags, length, seq, time
_U32 = struct.Struct("<I")
_STATUS = struct.Struct("<IIIII")

Frame = namedtuple("Frame", "type stream seq time_us payload flags")
Frame.__doc__ = ("One CRC-checked frame: payload is bytes, time_us wraps at 2**30, "
                 "flags bit 0: a column-major data block.")
F_COLUMNS = 1
_new = tuple.__new__  # builds a namedtuple without its Python-level __new__


def newer_message(version):
    """The one line said when the board speaks a protocol newer than ours."""
    from pyb_bridge import __version__

    return ("pyb-bridge: the board sends stream protocol %d; pyb-bridge %s understands "
            "protocol %d only: upgrade pyb-bridge to a version that supports protocol %d "
            "(pip install --upgrade pyb-bridge); its frames are skipped"
            % (version, __version__, VERSION, version))


def _say(line):
    print(line, file=sys.stderr, flush=True)


class _Newer:
    """Says ``newer_message`` once per version."""

    def __init__(self, warn):
        self.warn = _say if warn is None else warn
        self.said = set()
        self.version = None  # the newest unknown version met

    def met(self, version):
        if self.version is None or version > self.version:
            self.version = version
        if version not in self.said:
            self.said.add(version)
            self.warn(newer_message(version))


class FrameDecoder:
    """Incremental frame decoder: ``feed(data)`` returns the frames completed
    by ``data``, in order, each one CRC-checked; ``feed(b"", final=True)`` at
    the end of a finite input also gives up on a partial frame at the end so
    that any frame behind a corrupted length is still found.

    Counters: ``frames`` (good frames), ``bytes`` (bytes fed), ``crc_errors``,
    ``resyncs`` (times the decoder had to skip bytes to find a frame),
    ``skipped_bytes``, ``frames_lost`` (sequence gaps, per stream),
    ``duplicates`` (a frame equal in sequence to the one before it: dropped),
    ``restarts`` (sequence went back: the board restarted), ``newer_frames``
    (whole, CRC-checked frames of a newer protocol version: skipped, never
    decoded; the first one of each version is reported through ``warn``, a
    function of one line, by default printed on stderr; ``newer_version`` is
    the newest version met).
    """

    def __init__(self, max_payload=MAX_PAYLOAD, warn=None):
        self.max_payload = max_payload
        self._newer = _Newer(warn)
        self.newer_frames = 0
        self._buf = bytearray()
        self._last_seq = {}
        self._gap = False
        self.frames = 0
        self.bytes = 0
        self.crc_errors = 0
        self.resyncs = 0
        self.skipped_bytes = 0
        self.frames_lost = 0
        self.duplicates = 0
        self.restarts = 0

    def counters(self):
        return {k: getattr(self, k) for k in (
            "frames", "bytes", "crc_errors", "resyncs", "skipped_bytes",
            "frames_lost", "duplicates", "restarts", "newer_frames")}

    @property
    def newer_version(self):
        return self._newer.version

    def reset_sequence(self):
        """Forget the sequence numbers seen (e.g. after a reconnect)."""
        self._last_seq.clear()

    def _skip(self, n):
        if n:
            self.skipped_bytes += n
            if not self._gap:
                self._gap = True
                self.resyncs += 1

    def feed(self, data, final=False):
        buf = self._buf
        buf += data
        self.bytes += len(data)
        out = []
        n = len(buf)
        i = 0
        find = buf.find
        unpack_hdr = _HDR.unpack_from
        unpack_u32 = _U32.unpack_from
        crc32 = zlib.crc32
        last = self._last_seq
        maxp = self.max_payload
        with memoryview(buf) as mv:
            while True:
                j = find(SYNC, i)
                if j < 0:
                    keep = n - 1 if (n > i and buf[n - 1] == 0xA5 and not final) else n
                    self._skip(keep - i)
                    i = keep
                    break
                if j != i:
                    self._skip(j - i)
                    i = j
                if n - j < HEADER_SIZE:
                    if final:
                        self._skip(n - j)
                        i = n
                    break
                ver, typ, sid, flags, length, seq, t = unpack_hdr(buf, j + 2)
                if ver != VERSION or typ not in TYPES or length > maxp:
                    if VERSION < ver <= MAX_VERSION and length <= maxp:
                        # Every version keeps sync, version, length and the CRC
                        # where version 1 has them: a newer frame is skipped
                        # whole once its CRC shows it is one, never decoded.
                        end = j + HEADER_SIZE + length
                        if end + CRC_SIZE > n and not final:
                            break
                        if end + CRC_SIZE <= n and \
                                crc32(mv[j:end]) == unpack_u32(buf, end)[0]:
                            i = end + CRC_SIZE
                            self._gap = False
                            self.newer_frames += 1
                            self._newer.met(ver)
                            continue
                    self._skip(1)
                    i = j + 1
                    continue
                end = j + HEADER_SIZE + length
                if end + CRC_SIZE > n:
                    if final:
                        self._skip(1)
                        i = j + 1
                        continue
                    break
                if crc32(mv[j:end]) != unpack_u32(buf, end)[0]:
                    self.crc_errors += 1
                    self._skip(1)
                    i = j + 1
                    continue
                i = end + CRC_SIZE
                self._gap = False
                prev = last.get(sid)
                last[sid] = seq
                if prev is not None:
                    d = (seq - prev) & _MASK
                    if d != 1:
                        if d == 0:
                            self.duplicates += 1
                            continue
                        if d < _HALF:
                            self.frames_lost += d - 1
                        else:
                            self.restarts += 1
                self.frames += 1
                out.append(_new(Frame, (typ, sid, seq, t, bytes(mv[j + HEADER_SIZE:end]), flags)))
        del buf[:i]
        return out


# --- schema and values ----------------------------------------------------
_ARRAY_CODES = {}
for _code, _size in (("b", 1), ("B", 1), ("h", 2), ("H", 2), ("i", 4), ("I", 4), ("f", 4)):
    for _tc in (_code, _code.replace("i", "l").replace("I", "L")):
        if array(_tc).itemsize == _size:
            _ARRAY_CODES[_code] = _tc
            break
_SWAP = sys.byteorder != "little"


class Channel(namedtuple("Channel", "name type unit")):
    """A channel of a stream: name, struct type code, unit."""


class Schema:
    """What a descriptor frame says about a stream."""

    def __init__(self, stream_id, name, period_us, channels):
        self.stream_id = stream_id
        self.name = name
        self.period_us = period_us
        self.channels = tuple(channels)
        self.names = tuple(c.name for c in self.channels)
        codes = "".join(c.type for c in self.channels)
        self.record = struct.Struct("<" + ("I" if period_us == 0 else "") + codes)
        self.record_size = self.record.size
        uniform = period_us > 0 and len(set(codes)) == 1 and codes[0] in _ARRAY_CODES
        self._array_code = _ARRAY_CODES[codes[0]] if uniform else None
        k = len(self.channels)
        self._slices = [slice(i, None, k) for i in range(k)]

    @classmethod
    def from_payload(cls, stream_id, payload):
        """The schema a descriptor payload says; ValueError (naming the
        stream) when it is truncated, has no channels or a type code that
        is not one of ``bBhHiIf``."""
        try:
            version, n, period = struct.unpack_from("<BBI", payload, 0)
            if version != VERSION:
                raise ValueError("descriptor version %d not understood" % version)
            if n == 0:
                raise ValueError("no channels")
            pos = 6
            name, pos = _text(payload, pos)
            channels = []
            for _ in range(n):
                code = chr(payload[pos])
                if code not in _SIZES:
                    raise ValueError("channel %d has type %r, not one of %s"
                                     % (len(channels), code, "".join(_SIZES)))
                name_c, pos = _text(payload, pos + 1)
                unit, pos = _text(payload, pos)
                channels.append(Channel(name_c, code, unit))
        except (struct.error, IndexError):
            raise ValueError("descriptor of stream %d is truncated (%d bytes)"
                             % (stream_id, len(payload))) from None
        except ValueError as e:
            raise ValueError("descriptor of stream %d: %s" % (stream_id, e)) from None
        return cls(stream_id, name, period, channels)

    def __eq__(self, other):
        return isinstance(other, Schema) and (
            self.stream_id, self.name, self.period_us, self.channels) == (
            other.stream_id, other.name, other.period_us, other.channels)

    def __hash__(self):
        return hash((self.stream_id, self.name, self.period_us, self.channels))

    def __repr__(self):
        return "Schema(%r, %r, period_us=%d, %r)" % (
            self.stream_id, self.name, self.period_us, self.channels)

    def columns(self, payload):
        """The channel values of a data frame: (count, [column per channel]);
        with per-record time stamps the first column is the raw time."""
        tc = self._array_code
        if tc is not None:
            a = array(tc, payload)
            if _SWAP:
                a.byteswap()
            k = len(self._slices)
            if k == 1:
                return len(a), [a]
            return len(a) // k, list(map(a.__getitem__, self._slices))
        recs = list(self.record.iter_unpack(payload))
        if not recs:
            return 0, [() for _ in range(len(self.channels) + (self.period_us == 0))]
        return len(recs), list(zip(*recs, strict=True))


    def block_columns(self, payload):
        """The values of a column-major block (``send_block``): (count, columns)."""
        k = len(payload) // self.record_size
        cols = []
        pos = 0
        for c in self.channels:
            a = array(_ARRAY_CODES[c.type], payload[pos:pos + k * _SIZES[c.type]])
            if _SWAP:
                a.byteswap()
            cols.append(a)
            pos += k * _SIZES[c.type]
        return k, cols


_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4}


def _text(payload, pos):
    n = payload[pos]
    if pos + 1 + n > len(payload):
        raise IndexError(pos)
    return bytes(payload[pos + 1:pos + 1 + n]).decode("utf-8", "replace"), pos + 1 + n


class Batch(namedtuple("Batch", "schema seq times columns")):
    """The records of one data frame: ``times`` (board µs, unwrapped) and one
    column of values per channel (``schema.names``)."""

    def rows(self):
        return zip(self.times, *self.columns, strict=True)


MAX_SCHEMAS = 1000  # changes of a stream's channels in one run (a table each)
HELD_COST = 256  # bytes a held Frame takes beyond its payload (namedtuple, ints, list slot)
Status = namedtuple("Status", "stream records frames overruns short_writes pending")


class Streams:
    """Frames to typed values: learns each stream's schema from its
    descriptor (data frames that arrive before it are held, up to
    ``hold`` frames) and unwraps board time stamps.

    A descriptor of a newer version (a board whose frames still carry
    version 1 in their header) is reported once through ``warn`` (as
    ``FrameDecoder`` does), and the data of its stream is dropped, counted in
    ``newer_dropped``, until a descriptor this version understands comes.

    Nothing a board sends stops the decoding: a malformed descriptor
    (truncated, no channels, an unknown type code) is ignored, counted in
    ``bad_descriptors`` and reported once per stream through ``warn``; a
    data frame whose length does not fit its schema is dropped, counted in
    ``bad_frames``. Frames held for a descriptor take at most ``hold``
    frames per stream and ``hold_bytes`` of payload in all (the others are
    dropped, counted in ``held_dropped``); a held frame counts as its
    payload plus ``HELD_COST`` bytes, what its objects take in CPython.
    A board may change the channels of its streams ``max_schemas`` times in
    all (each change is a new SQLite table); a stream that changes them
    after that is refused, said once through ``warn``, and its data dropped
    (``bad_frames``); a stream's first descriptor is always taken."""

    def __init__(self, hold=1024, warn=None, hold_bytes=4 << 20, max_schemas=MAX_SCHEMAS):
        self._newer = _Newer(warn)
        self.max_schemas = max_schemas
        self.schema_changes = 0  # a stream described again with other channels
        self._described = set()
        self._refused = set()
        self._warned_bad = set()
        self.bad_descriptors = 0
        self.bad_frames = 0
        self.hold_bytes = hold_bytes
        self._held_bytes = 0
        self._unknown = set()  # streams whose last descriptor was newer
        self.newer_dropped = 0
        self.schemas = {}
        self.status = {}
        self.hold = hold
        self.held_dropped = 0
        self._pending = {}
        self._time = {}  # stream -> (last raw, base)

    def drop_held(self):
        """At the end of a log: the frames still held for a descriptor that
        never came are dropped and counted in ``held_dropped``; return
        {stream id: frames dropped}."""
        dropped = {k: len(q) for k, q in self._pending.items() if q}
        self.held_dropped += sum(dropped.values())
        self._pending = {}
        self._held_bytes = 0
        return dropped

    def _unwrap(self, sid, raw):
        last, base = self._time.get(sid, (raw, 0))
        if raw < last - _HALF:
            base += TICKS_PERIOD
        elif raw > last + _HALF:  # an older frame (held) from before a wrap
            return base - TICKS_PERIOD + raw
        self._time[sid] = (raw, base)
        return base + raw

    def feed(self, frames):
        """Return (batches, new_schemas) for a list of frames."""
        batches = []
        new = []
        for f in frames:
            if f.type == T_DATA:
                if f.stream in self._refused:
                    self.bad_frames += 1
                    continue
                schema = self.schemas.get(f.stream)
                if schema is None:
                    if f.stream in self._unknown:
                        self.newer_dropped += 1
                        continue
                    q = self._pending.setdefault(f.stream, [])
                    if len(q) >= self.hold:
                        self._held_bytes -= len(q.pop(0).payload) + HELD_COST
                        self.held_dropped += 1
                    if self._held_bytes + len(f.payload) + HELD_COST > self.hold_bytes:
                        self.held_dropped += 1
                        continue
                    self._held_bytes += len(f.payload) + HELD_COST
                    q.append(f)
                    continue
                self._add(batches, schema, f)
            elif f.type == T_DESCRIPTOR:
                if f.payload and f.payload[0] > VERSION:
                    self._newer.met(f.payload[0])
                    self._unknown.add(f.stream)
                    self.schemas.pop(f.stream, None)
                    dropped = self._pending.pop(f.stream, ())
                    self._held_bytes -= sum(len(h.payload) + HELD_COST for h in dropped)
                    self.newer_dropped += len(dropped)
                    continue
                try:
                    schema = Schema.from_payload(f.stream, f.payload)
                except ValueError as e:
                    self.bad_descriptors += 1
                    if f.stream not in self._warned_bad:
                        self._warned_bad.add(f.stream)
                        self._newer.warn("pyb-bridge: ignored a malformed descriptor: %s" % e)
                    continue
                self._unknown.discard(f.stream)
                if f.stream in self._refused:
                    self.bad_descriptors += 1
                    continue
                if self.schemas.get(f.stream) != schema:
                    if f.stream in self._described and \
                            self.schema_changes >= self.max_schemas:
                        self.bad_descriptors += 1
                        self.schemas.pop(f.stream, None)
                        if not self._refused:
                            self._newer.warn(
                                "pyb-bridge: stream %d changed its channels after %d changes: "
                                "its data is no longer logged" % (
                                    f.stream, self.max_schemas))
                        self._refused.add(f.stream)
                        dropped = self._pending.pop(f.stream, ())
                        self._held_bytes -= sum(len(h.payload) + HELD_COST for h in dropped)
                        continue
                    if f.stream in self._described:
                        self.schema_changes += 1
                    self._described.add(f.stream)
                    self.schemas[f.stream] = schema
                    new.append(schema)
                for held in self._pending.pop(f.stream, ()):
                    self._held_bytes -= len(held.payload) + HELD_COST
                    self._add(batches, schema, held)
            elif f.type == T_STATUS and len(f.payload) >= _STATUS.size:
                self.status[f.stream] = Status(f.stream, *_STATUS.unpack_from(f.payload))
        return batches, new

    def _add(self, batches, schema, f):
        # A column block carries no time column: only fixed-rate streams send one.
        if len(f.payload) % schema.record_size or (f.flags & F_COLUMNS and not schema.period_us):
            self.bad_frames += 1
            return
        try:
            batches.append(self._batch(schema, f))
        except (ValueError, struct.error):  # a length that does not fit the schema
            self.bad_frames += 1

    def _batch(self, schema, f):
        if f.flags & F_COLUMNS:
            n, cols = schema.block_columns(f.payload)
        else:
            n, cols = schema.columns(f.payload)
        t0 = self._unwrap(f.stream, f.time_us)
        p = schema.period_us
        if p:
            times = range(t0, t0 + n * p, p)
        else:
            raw0 = f.time_us
            times = [t0 + ((t - raw0) & _MASK) for t in cols[0]]
            cols = cols[1:]
        return _new(Batch, (schema, f.seq, times, cols))
