"""What the fuzzers feed (tests/host/test_fuzz.py with hypothesis, bounded;
tests/fuzz/fuzz_bridge.py with atheris, ``make fuzz``): bytes from an
untrusted board through the frame decoder, the stream decoder and a SQLite
sink, and descriptor payloads through the descriptor parser.

Each target raises AssertionError when the code under test crashed (any
exception but the documented ones) or produced a record the input does not
hold; anything else means the input was handled."""

import math
import sqlite3
import struct
import zlib

from pyb_bridge.decoder import SYNC, FrameDecoder, Schema, Streams
from pyb_bridge.logdb import SqliteSink

CODES = "bBhHiIf"


BOOT = 7
_SCHEMA = {}  # stream id -> the schema id of the last descriptor framed for it


def frame(typ, sid, seq, t, payload, flags=0, version=2, schema=None, boot=BOOT):
    """A frame with a good CRC around anything; a descriptor's schema id is
    the CRC-32 of its payload, other frames take their stream's last one."""
    if schema is None:
        if typ == 1:
            schema = _SCHEMA[sid] = zlib.crc32(bytes(payload))
        else:
            schema = _SCHEMA.get(sid, 0)
    head = SYNC + struct.pack("<BBBBHIIII", version, typ, sid, flags, len(payload) + 8, seq, t,
                              schema, boot)
    body = head + bytes(payload)
    return body + struct.pack("<I", zlib.crc32(body))


def descriptor(name, period_us, channels, version=2):
    out = bytearray((version, len(channels)))
    out += struct.pack("<I", period_us)
    for text in (name,):
        b = text.encode()[:255]
        out += bytes((len(b),)) + b
    for code, cname, unit in channels:
        out += code.encode()[:1]
        for text in (cname, unit):
            b = text.encode()[:255]
            out += bytes((len(b),)) + b
    return bytes(out)


def parse_descriptor(data, stream_id=0):
    """The descriptor parser: a Schema or ValueError, nothing else."""
    try:
        s = Schema.from_payload(stream_id, data)
    except ValueError as e:
        assert "descriptor" in str(e), e  # says what it is about
        return None
    except Exception as e:  # pragma: no cover - a finding
        raise AssertionError("Schema.from_payload raised %r" % e) from e
    assert 1 <= len(s.channels) <= 255
    assert all(c.type in CODES for c in s.channels)
    assert s.record_size == struct.calcsize("<" + ("I" if s.period_us == 0 else "")
                                           + "".join(c.type for c in s.channels))
    return s


def _same(a, b):
    return a == b or (isinstance(a, float) and isinstance(b, float)
                      and math.isnan(a) and math.isnan(b))


def pipeline(data, chunks=(4096,), sent=None, schemas=None):
    """``data`` fed in ``chunks`` through FrameDecoder, Streams and a SQLite
    sink in memory. ``sent``: the frames (bytes) whole in ``data`` that carry
    known content, or None for random bytes. Checks every frame given out is
    one whose bytes (with a good CRC) are in ``data``, that every batch has
    as many values per channel as times, that every logged value is the one
    packed in its frame, and that the sink has exactly the rows handed to it."""
    dec = FrameDecoder(warn=lambda line: None)
    streams = Streams(warn=lambda line: None)
    sink = SqliteSink(":memory:", flush_interval=1e9)
    frames = []
    batches = []
    pos = 0
    k = 0
    try:
        while pos < len(data):
            step = max(1, chunks[k % len(chunks)])
            got = dec.feed(data[pos:pos + step])
            pos += step
            k += 1
            frames += got
            b, new = streams.feed(got)
            sink.write_all(b, 0.0, new, board="fuzz")
            batches += b
        got = dec.feed(b"", final=True)
        frames += got
        b, new = streams.feed(got)
        sink.write_all(b, 0.0, new, board="fuzz")
        batches += b
        sink.flush()
    except Exception as e:
        raise AssertionError("the bridge raised %r" % e) from e
    for f in frames:
        assert frame(f.type, f.stream, f.seq, f.time_us, f.payload, f.flags, schema=f.schema,
                     boot=f.boot) in data
    rows = 0
    for b in batches:
        n = len(b.times)
        assert all(len(c) == n for c in b.columns)
        rows += n
    tables = [r[0] for r in sink.db.execute('SELECT DISTINCT "table" FROM "_channels"')]
    in_db = sum(sink.db.execute('SELECT count(*) FROM "%s"' % t.replace('"', '""')).fetchone()[0]
                for t in tables)
    assert in_db == rows, (in_db, rows)
    assert sink.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sink.close()
    if sent is not None:
        check_values(batches, sent, schemas)
    return dec, streams, batches


def check_values(batches, sent, schemas):
    """Every batch is a data frame of ``sent`` ({(stream, seq): (payload,
    flags)}) decoded with a schema the board described for that stream
    (``schemas``: {stream: [Schema]}), value for value."""
    for b in batches:
        key = (b.schema.stream_id, b.seq)
        assert key in sent, key
        assert b.schema in schemas.get(key[0], ()), b.schema
        payload, flags = sent[key]
        codes = "".join(c.type for c in b.schema.channels)
        if b.schema.period_us == 0:
            codes = "I" + codes
        size = struct.calcsize("<" + codes)
        n = len(payload) // size
        if flags & 1:  # column-major
            cols, pos = [], 0
            for code in codes:
                width = struct.calcsize("<" + code)
                cols.append([v[0] for v in struct.iter_unpack("<" + code,
                                                              payload[pos:pos + n * width])])
                pos += n * width
            want = list(zip(*cols, strict=True))
        else:
            want = list(struct.iter_unpack("<" + codes, payload))
        if b.schema.period_us == 0:
            want = [w[1:] for w in want]
        got = list(zip(*b.columns, strict=True))
        assert len(got) == len(want) == len(b.times), (len(got), len(want))
        for g, w in zip(got, want, strict=True):
            assert all(_same(x, y) for x, y in zip(g, w, strict=True)), (g, w)


def sqlite_ok(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
