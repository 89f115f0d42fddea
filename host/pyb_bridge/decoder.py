"""Decoding the board's framed stream (docs/protocol.md).

``FrameDecoder`` turns raw bytes, fed in any chunks, into whole CRC-checked
frames and resynchronises after garbage; ``Streams`` turns frames into
typed channel values, learning each stream's channels from its descriptor.
"""

import struct
import sys
import time
import zlib
from array import array
from collections import deque, namedtuple

SYNC = b"\xa5\xd3"
VERSION = 2  # the stream protocol this decoder understands (docs/protocol.md)
MAX_VERSION = 15  # a header with a higher version byte is not a frame
T_DESCRIPTOR = 1
T_DATA = 2
T_STATUS = 3
TYPES = (T_DESCRIPTOR, T_DATA, T_STATUS)
BASE_SIZE = 16  # the header every version has: sync .. time
EXTRA = 8  # version 2's schema id and boot id, counted in the length field
HEADER_SIZE = BASE_SIZE + EXTRA
CRC_SIZE = 4
OVERHEAD = HEADER_SIZE + CRC_SIZE
MAX_LENGTH = 16384  # the length field
MAX_PAYLOAD = MAX_LENGTH - EXTRA
TICKS_PERIOD = 1 << 30  # board time stamps and sequence numbers wrap here
_HALF = TICKS_PERIOD >> 1
_MASK = TICKS_PERIOD - 1
WINDOW = 64  # sequence numbers remembered per stream: duplicates and late frames
MAX_WAIT_S = 2.0  # an incomplete frame is given up after this long without completing
_PAST_BOOTS = 256  # earlier boot ids remembered per stream (their frames are replays)
TEXT_BYTES = 4096  # board text kept between two take_text calls (a longer line is cut)

_HDR = struct.Struct("<BBBBHIIII")  # version, type, stream, flags, length, seq, time,
#                                     schema, boot
_BASE = struct.Struct("<BBBBHII")
_U32 = struct.Struct("<I")
_STATUS = struct.Struct("<IIIII")

Frame = namedtuple("Frame", "type stream seq time_us payload flags schema boot")
Frame.__doc__ = ("One CRC-checked frame: payload is bytes, time_us wraps at 2**30, "
                 "flags bit 0: a column-major data block; schema: the id of the "
                 "descriptor it was made with; boot: the board's boot id for the stream.")
F_COLUMNS = 1
_new = tuple.__new__  # builds a namedtuple without its Python-level __new__


def newer_message(version):
    """The one line said when the board speaks a protocol newer than ours."""
    from pyb_bridge import __version__

    return ("pyb-bridge: the board sends stream protocol %d; pyb-bridge %s understands "
            "protocol %d only: upgrade pyb-bridge to a version that supports protocol %d "
            "(pip install --upgrade pyb-bridge); its frames are skipped"
            % (version, __version__, VERSION, version))


def older_message(version):
    """The one line said when the board speaks a protocol older than ours."""
    from pyb_bridge import __version__

    return ("pyb-bridge: the board sends stream protocol %d; pyb-bridge %s understands "
            "protocol %d only: copy this release's board library to the board "
            "(pyb-bridge deploy) and restart its program; its frames are skipped"
            % (version, __version__, VERSION))


def _say(line):
    print(line, file=sys.stderr, flush=True)


class _Newer:
    """Says ``newer_message`` (or ``older_message``) once per version."""

    def __init__(self, warn):
        self.warn = _say if warn is None else warn
        self.said = set()
        self.version = None  # the newest unknown version met

    def met(self, version):
        if version > VERSION and (self.version is None or version > self.version):
            self.version = version
        if version not in self.said:
            self.said.add(version)
            self.warn(newer_message(version) if version > VERSION else older_message(version))


class _Seq:
    """What one stream's current boot has sent: the highest sequence number
    and a bit mask of the ``WINDOW`` numbers up to it that arrived."""

    __slots__ = ("boot", "hi", "seen")

    def __init__(self, boot, seq):
        self.boot = boot
        self.hi = seq
        self.seen = 1


class FrameDecoder:
    """Incremental frame decoder: ``feed(data)`` returns the frames completed
    by ``data``, in order, each one CRC-checked and new (duplicates and
    replays are dropped); ``feed(b"", final=True)`` at the end of a finite
    input also gives up on a partial frame at the end so that any frame
    behind a corrupted length is still found.

    A frame whose length runs past the bytes that arrived is given up (a
    damaged frame; the bytes behind its header are searched again) as soon
    as a whole good frame is found behind its header, or when it has not
    completed ``max_wait_s`` seconds after its header came (``feed`` is
    called with no data by a reader that found none, so the time is looked
    at then too).

    Counters: ``frames`` (good frames given out), ``bytes`` (bytes fed),
    ``crc_errors`` (damaged frames: a header whose frame failed its CRC or
    never completed, not counting false headers inside a damaged frame),
    ``resyncs`` (times the decoder had to skip bytes to find a frame),
    ``skipped_bytes``, ``frames_lost`` (sequence numbers of the current boot
    that never came), ``duplicates`` (a sequence number that already came:
    dropped), ``reordered`` (a frame that came after later ones: given out,
    and no longer counted lost), ``replays`` (a frame of an earlier boot of
    its stream, or too old to tell: dropped), ``restarts`` (a stream came
    with a new boot id: the board program restarted or made the stream
    anew), ``newer_frames`` / ``older_frames`` (whole, CRC-checked frames of
    another protocol version: skipped, never decoded; the first one of each
    version is reported through ``warn``, a function of one line, by default
    printed on stderr; ``newer_version`` is the newest version met).
    """

    def __init__(self, max_payload=MAX_PAYLOAD, warn=None, max_wait_s=MAX_WAIT_S,
                 clock=time.monotonic):
        self.max_length = max_payload + EXTRA
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._newer = _Newer(warn)
        self.newer_frames = 0
        self.older_frames = 0
        self._buf = bytearray()
        self._text = bytearray()  # bytes between frames, for take_text
        self._eot = 0  # \x04 bytes met of the raw REPL's end of a run (0, 1 or 2)
        self.script_ends = 0  # raw REPL runs seen ending (\x04, error text, \x04, '>')
        self._seq = {}  # stream id -> _Seq of its current boot
        self._past = {}  # stream id -> {earlier boot ids}
        self._gap = False
        self._bad_end = 0  # end of the damaged frame last counted (buffer offset)
        self._wait = None  # (offset, since) of the incomplete frame waited for
        self._look = 0  # where the search behind a waited-for frame goes on
        self.frames = 0
        self.bytes = 0
        self.crc_errors = 0
        self.resyncs = 0
        self.skipped_bytes = 0
        self.frames_lost = 0
        self.duplicates = 0
        self.reordered = 0
        self.replays = 0
        self.restarts = 0

    def counters(self):
        return {k: getattr(self, k) for k in (
            "frames", "bytes", "crc_errors", "resyncs", "skipped_bytes", "frames_lost",
            "duplicates", "reordered", "replays", "restarts", "newer_frames",
            "older_frames")}

    @property
    def newer_version(self):
        return self._newer.version

    def reset_sequence(self):
        """Forget the sequence numbers seen (e.g. after a reconnect)."""
        self._seq.clear()

    def _skip(self, n):
        if n:
            self.skipped_bytes += n
            if not self._gap:
                self._gap = True
                self.resyncs += 1

    def _between(self, mv, i, j):
        """Keep bytes found between frames (the board's print output,
        tracebacks, the firmware's messages) for ``take_text``, within
        ``TEXT_BYTES``."""
        if j > i and len(self._text) < TEXT_BYTES:
            self._text += mv[i:min(j, i + TEXT_BYTES - len(self._text))]
        if j > i and (self._eot or self._buf.find(b"\x04", i, j) >= 0):
            self._watch_end(bytes(mv[i:j]))

    def _watch_end(self, seg):
        """Count in ``script_ends`` each end of a raw REPL run: the board
        sends \\x04 after the run's output, then the error text (empty or a
        traceback), \\x04 and the raw REPL's prompt ``>``."""
        pos = 0
        while pos < len(seg):
            if self._eot < 2:
                k = seg.find(b"\x04", pos)
                if k < 0:
                    return
                self._eot += 1
                pos = k + 1
            elif seg[pos] == 0x3E:  # '>'
                self.script_ends += 1
                self._eot = 0
                pos += 1
            else:  # not the end: look again from this byte
                self._eot = 0

    def take_text(self, final=False):
        """The lines of text the board sent between frames since the last
        call: UTF-8, control characters and binary (damaged frames, lines
        of other bytes) left out. A line longer than ``TEXT_BYTES`` is cut;
        ``final`` also gives the last line without its newline."""
        data = self._text
        k = data.rfind(b"\n")
        if final:
            k = len(data)
        elif k < 0:
            if len(data) < TEXT_BYTES:
                return []
            k = len(data)
        # \x04 ends the output and the error of a raw REPL run: a line break
        chunk = bytes(data[:k]).replace(b"\x04", b"\n")
        del data[:k + 1]
        out = []
        for raw in chunk.split(b"\n"):
            if raw.strip() in (b">", b">>>"):  # a REPL prompt
                continue
            line = raw.decode("utf-8", "replace").rstrip("\r")
            if line.strip() and line.isprintable() or (
                    line.strip() and all(c.isprintable() or c == "\t" for c in line)):
                if "\ufffd" not in line:
                    out.append(line)
        return out

    def _damaged(self, buf, j, end):
        """A header at ``j`` whose frame (claimed to end at ``end``) is bad:
        one damaged frame, unless it lies inside the last one counted and
        does not name the current boot of its stream (a false header in the
        damaged frame's payload, not a frame the damaged length swallowed)."""
        if j < self._bad_end:
            if buf[j + 2] != VERSION or len(buf) - j < HEADER_SIZE:
                return
            st = self._seq.get(buf[j + 4])
            if st is None or st.boot != _U32.unpack_from(buf, j + 20)[0]:
                return
        self.crc_errors += 1
        self._bad_end = end

    def _plausible(self, buf, k):
        """(end, version) of a header at ``k`` that could start a frame, else None."""
        ver, typ, _, _, length, _, _ = _BASE.unpack_from(buf, k + 2)
        if not 1 <= ver <= MAX_VERSION or length > self.max_length:
            return None
        if ver == VERSION and (typ not in TYPES or length < EXTRA):
            return None
        return k + BASE_SIZE + length, ver

    def _whole_behind(self, buf, j, n, mv):
        """Whether a whole frame with a good CRC starts behind ``j`` in the
        ``n`` bytes there: then the frame at ``j``, which claims to run past
        them, is damaged. Remembers where to look again next time (the
        first header behind ``j`` whose frame is not complete yet)."""
        k = max(j + 1, self._look)
        first_open = None
        while True:
            k = buf.find(SYNC, k, n)
            if k < 0 or n - k < BASE_SIZE:
                if first_open is None:
                    first_open = max(j + 1, n - BASE_SIZE + 1) if k < 0 else k
                self._look = first_open
                return False
            p = self._plausible(buf, k)
            if p is not None:
                end = p[0]
                if end + CRC_SIZE > n:
                    if first_open is None:
                        first_open = k
                elif zlib.crc32(mv[k:end]) == _U32.unpack_from(buf, end)[0]:
                    return True
            k += 1

    def _sequence(self, sid, seq, boot):
        """Whether a good frame is new (counting losses, restarts, duplicates)."""
        st = self._seq.get(sid)
        if st is None or st.boot != boot:
            past = self._past.setdefault(sid, {})
            if boot in past:
                self.replays += 1
                return False
            if st is not None:
                self.restarts += 1
                past[st.boot] = None
                if len(past) > _PAST_BOOTS:
                    del past[next(iter(past))]
            self._seq[sid] = _Seq(boot, seq)
            return True
        d = (seq - st.hi) & _MASK
        if d == 0:
            self.duplicates += 1
            return False
        if d < _HALF:
            self.frames_lost += d - 1
            st.seen = ((st.seen << d) | 1) & ((1 << WINDOW) - 1)
            st.hi = seq
            return True
        back = (st.hi - seq) & _MASK
        if back >= WINDOW:
            self.replays += 1
            return False
        bit = 1 << back
        if st.seen & bit:
            self.duplicates += 1
            return False
        st.seen |= bit
        self.reordered += 1
        self.frames_lost -= 1
        return True

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
        maxl = self.max_length
        with memoryview(buf) as mv:
            while True:
                j = find(SYNC, i)
                if j < 0:
                    keep = n - 1 if (n > i and buf[n - 1] == 0xA5 and not final) else n
                    self._between(mv, i, keep)
                    self._skip(keep - i)
                    i = keep
                    break
                if j != i:
                    self._between(mv, i, j)
                    self._skip(j - i)
                    i = j
                if n - j < BASE_SIZE:
                    if final:
                        self._skip(n - j)
                        i = n
                    break
                ver, typ, sid, flags, length, seq, t = _BASE.unpack_from(buf, j + 2)
                if ver != VERSION or typ not in TYPES or length > maxl or length < EXTRA:
                    p = self._plausible(buf, j)
                    if p is None:
                        if ver == VERSION and typ in TYPES:
                            # a frame of ours whose length field was hit
                            self._damaged(buf, j, j + HEADER_SIZE)
                        self._skip(1)
                        i = j + 1
                        continue
                end = j + BASE_SIZE + length
                if end + CRC_SIZE > n:
                    if final or self._give_up(buf, j, n, mv):
                        self._damaged(buf, j, end)
                        self._skip(1)
                        i = j + 1
                        continue
                    break
                self._wait = None
                if crc32(mv[j:end]) != unpack_u32(buf, end)[0]:
                    self._damaged(buf, j, end)
                    self._skip(1)
                    i = j + 1
                    continue
                i = end + CRC_SIZE
                self._gap = False
                self._bad_end = 0
                if ver != VERSION:
                    # Every version keeps sync, version, length and the CRC
                    # where version 1 has them: a frame of another version
                    # is skipped whole once its CRC shows it is one.
                    if ver > VERSION:
                        self.newer_frames += 1
                    else:
                        self.older_frames += 1
                    self._newer.met(ver)
                    continue
                _, _, _, _, _, _, _, schema, boot = unpack_hdr(buf, j + 2)
                if not self._sequence(sid, seq, boot):
                    continue
                self.frames += 1
                out.append(_new(Frame, (typ, sid, seq, t,
                                        bytes(mv[j + HEADER_SIZE:end]), flags, schema, boot)))
        del buf[:i]
        self._bad_end = max(0, self._bad_end - i)
        self._look = max(0, self._look - i)
        if self._wait is not None:
            self._wait = (self._wait[0] - i, self._wait[1])
        return out

    def _give_up(self, buf, j, n, mv):
        """Whether to stop waiting for the frame at ``j`` that runs past ``n``."""
        if self._wait is None or self._wait[0] != j:
            self._wait = (j, self._clock())
            self._look = j + 1
        if self._whole_behind(buf, j, n, mv) or \
                self._clock() - self._wait[1] >= self.max_wait_s:
            self._wait = None
            return True
        return False


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
    """Frames to typed values. Every data frame names the descriptor it was
    made with (its schema id, the CRC-32 of the descriptor payload) and the
    boot of its stream; a data frame is decoded only with the descriptor
    that came with that same stream id, boot id and schema id, never with
    another one. Frames whose descriptor has not come yet are held, in
    arrival order, up to ``hold`` frames and ``hold_bytes`` in all (a held
    frame counts as its payload plus ``HELD_COST`` bytes, what its objects
    take in CPython), counted in ``held``; past that the oldest held frame
    is dropped, counted in ``held_dropped`` and said once through ``warn``.
    A stream that comes with a new boot drops what was held for its
    earlier boot (``held_dropped``): that descriptor will not come.

    A descriptor whose payload does not match the schema id in its own
    header, or that is malformed (truncated, no channels, an unknown type
    code), is ignored, counted in ``bad_descriptors`` and reported once per
    stream through ``warn``. Two different descriptors under one schema id
    (a CRC-32 collision, or a board that lies) make that schema id
    ambiguous: its data frames are dropped from then on (``bad_frames``),
    said once. A data frame whose length does not fit its schema is
    dropped, counted in ``bad_frames``.

    A descriptor of a newer version (in a frame of this version) is
    reported once through ``warn`` (as ``FrameDecoder`` does), and the data
    of its stream is dropped, counted in ``newer_dropped``, until a
    descriptor this version understands comes.

    A board may change the channels of its streams ``max_schemas`` times in
    all (each change is a new SQLite table); a stream that changes them
    after that is refused, said once through ``warn``, and its data dropped
    (``bad_frames``); a stream's first descriptor is always taken.

    ``schemas`` maps each stream id to the schema its latest descriptor
    said; ``status`` to its latest status frame."""

    def __init__(self, hold=1024, warn=None, hold_bytes=4 << 20, max_schemas=MAX_SCHEMAS):
        self._newer = _Newer(warn)
        self.max_schemas = max_schemas
        self.schema_changes = 0  # a stream described again with other channels
        self._refused = set()
        self._warned = set()
        self.bad_descriptors = 0
        self.bad_frames = 0
        self.hold_bytes = hold_bytes
        self._held_bytes = 0
        self._unknown = set()  # streams whose last descriptor was newer
        self.newer_dropped = 0
        self.schemas = {}
        self._keyed = {}  # (stream, boot, schema id) -> Schema
        self._ambiguous = set()  # keys that two different descriptors claimed
        self._boot = {}  # stream -> its current boot id
        self.status = {}
        self.hold = hold
        self.held = 0
        self.held_dropped = 0
        self._held = deque()  # frames waiting for their descriptor, oldest first
        self._held_keys = {}  # key -> frames of it held
        self._time = {}  # (stream, boot) -> (last raw, base)

    def _say_once(self, what, line):
        if what not in self._warned:
            self._warned.add(what)
            self._newer.warn(line)

    def held_frames(self):
        """{stream id: frames held now for a descriptor that has not come}."""
        out = {}
        for f in self._held:
            out[f.stream] = out.get(f.stream, 0) + 1
        return out

    def drop_held(self):
        """At the end of a log: the frames still held for a descriptor that
        never came are dropped and counted in ``held_dropped``; return
        {stream id: frames dropped}."""
        dropped = self.held_frames()
        self.held_dropped += len(self._held)
        self._held.clear()
        self._held_keys = {}
        self._held_bytes = 0
        return dropped

    def _take(self, match):
        """Remove and return the held frames for which ``match(key)`` holds."""
        if not any(match(k) for k in self._held_keys):
            return []
        mine, keep = [], deque()
        for f in self._held:
            (mine if match((f.stream, f.boot, f.schema)) else keep).append(f)
        self._held = keep
        for f in mine:
            key = (f.stream, f.boot, f.schema)
            self._held_keys[key] -= 1
            if not self._held_keys[key]:
                del self._held_keys[key]
            self._held_bytes -= len(f.payload) + HELD_COST
        return mine

    def _drop_key(self, key):
        return len(self._take(key.__eq__))

    def _hold(self, key, f):
        cost = len(f.payload) + HELD_COST
        if cost > self.hold_bytes:
            self.held_dropped += 1
            return
        while self._held and (len(self._held) >= self.hold
                              or self._held_bytes + cost > self.hold_bytes):
            old = self._held.popleft()
            k = (old.stream, old.boot, old.schema)
            self._held_keys[k] -= 1
            if not self._held_keys[k]:
                del self._held_keys[k]
            self._held_bytes -= len(old.payload) + HELD_COST
            self.held_dropped += 1
            self._say_once(
                "held", "pyb-bridge: stream %d: more frames waiting for their descriptor than "
                "the %d frames / %d bytes held: the oldest are dropped, counted in "
                "held_dropped" % (old.stream, self.hold, self.hold_bytes))
        self._held.append(f)
        self._held_keys[key] = self._held_keys.get(key, 0) + 1
        self._held_bytes += cost
        self.held += 1

    def _unwrap(self, key, raw):
        last, base = self._time.get(key, (raw, 0))
        if raw < last - _HALF:
            base += TICKS_PERIOD
        elif raw > last + _HALF:  # an older frame (held) from before a wrap
            return base - TICKS_PERIOD + raw
        self._time[key] = (raw, base)
        return base + raw

    def _new_boot(self, sid, boot):
        """A stream's frames now come from ``boot``: forget its earlier boot."""
        old = self._boot.get(sid)
        if old == boot:
            return
        self._boot[sid] = boot
        if old is None:
            return
        for key in [k for k in self._keyed if k[0] == sid]:
            del self._keyed[key]
        self._ambiguous = {k for k in self._ambiguous if k[0] != sid}
        self.held_dropped += len(self._take(lambda k: k[0] == sid))
        self._time = {k: v for k, v in self._time.items() if k[0] != sid}

    def feed(self, frames):
        """Return (batches, new_schemas) for a list of frames."""
        batches = []
        new = []
        for f in frames:
            self._new_boot(f.stream, f.boot)
            key = (f.stream, f.boot, f.schema)
            if f.type == T_DATA:
                if f.stream in self._refused or key in self._ambiguous:
                    self.bad_frames += 1
                    continue
                schema = self._keyed.get(key)
                if schema is None:
                    if f.stream in self._unknown:
                        self.newer_dropped += 1
                        continue
                    self._hold(key, f)
                    continue
                self._add(batches, schema, f)
            elif f.type == T_DESCRIPTOR:
                self._descriptor(f, key, batches, new)
            elif f.type == T_STATUS and len(f.payload) >= _STATUS.size:
                self.status[f.stream] = Status(f.stream, *_STATUS.unpack_from(f.payload))
        return batches, new

    def _descriptor(self, f, key, batches, new):
        if f.payload and f.payload[0] > VERSION:
            self._newer.met(f.payload[0])
            self._unknown.add(f.stream)
            self.schemas.pop(f.stream, None)
            for k in [k for k in self._keyed if k[0] == f.stream]:
                del self._keyed[k]
            self.newer_dropped += len(self._take(lambda k: k[0] == f.stream))
            return
        try:
            if zlib.crc32(f.payload) != f.schema:
                raise ValueError("its schema id %08x is not the CRC-32 of its payload"
                                 % f.schema)
            schema = Schema.from_payload(f.stream, f.payload)
        except ValueError as e:
            self.bad_descriptors += 1
            self._say_once(("bad", f.stream),
                           "pyb-bridge: ignored a malformed descriptor: %s" % e)
            return
        self._unknown.discard(f.stream)
        if f.stream in self._refused or key in self._ambiguous:
            self.bad_descriptors += 1
            return
        have = self._keyed.get(key)
        if have is not None and have != schema:
            self.bad_descriptors += 1
            self._ambiguous.add(key)
            del self._keyed[key]
            self.bad_frames += self._drop_key(key)
            self._say_once(("ambiguous", f.stream),
                           "pyb-bridge: stream %d sent two different descriptors with one "
                           "schema id %08x: its frames with that id are not logged"
                           % (f.stream, f.schema))
            return
        if have is None:
            last = self.schemas.get(f.stream)
            if last is not None and last != schema:
                if self.schema_changes >= self.max_schemas:
                    self.bad_descriptors += 1
                    self.schemas.pop(f.stream, None)
                    self._say_once("refused",
                                   "pyb-bridge: stream %d changed its channels after %d "
                                   "changes: its data is no longer logged"
                                   % (f.stream, self.max_schemas))
                    self._refused.add(f.stream)
                    self.bad_frames += self._drop_key(key)
                    return
                self.schema_changes += 1
            self._keyed[key] = schema
            self.schemas[f.stream] = schema
            new.append(schema)
        for h in self._take(key.__eq__):
            self._add(batches, schema, h)

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
        t0 = self._unwrap((f.stream, f.boot), f.time_us)
        p = schema.period_us
        if p:
            times = range(t0, t0 + n * p, p)
        else:
            raw0 = f.time_us
            times = [t0 + ((t - raw0) & _MASK) for t in cols[0]]
            cols = cols[1:]
        return _new(Batch, (schema, f.seq, times, cols))


def decode(data, chunk=None, decoder=None, streams=None):
    """(batches, schemas) of ``data``, bytes a board sent, decoded to the
    end (``final``) through ``decoder`` and ``streams`` (new ones, silent,
    by default), fed ``chunk`` bytes at a time when given (as a port would
    deliver them)."""
    dec = decoder if decoder is not None else FrameDecoder(warn=lambda line: None)
    st = streams if streams is not None else Streams(warn=lambda line: None)
    batches, schemas = [], []
    step = chunk or max(1, len(data))
    for i in range(0, len(data), step):
        b, s = st.feed(dec.feed(data[i:i + step]))
        batches += b
        schemas += s
    b, s = st.feed(dec.feed(b"", final=True))
    return batches + b, schemas + s
