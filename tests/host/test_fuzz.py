"""Fuzzing the bridge's input side with hypothesis, bounded for CI (a few
seconds); ``make fuzz`` runs the same properties with many more examples
(``PYB_FUZZ_EXAMPLES``) and the atheris fuzzer (tests/fuzz/fuzz_bridge.py).

No crash (only the documented ValueError from the descriptor parser), no
hang (each example is timed), no record that was not sent."""

import os
import struct
import time

from fuzz_targets import CODES, descriptor, frame, parse_descriptor, pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyb_bridge.decoder import Schema

EXAMPLES = int(os.environ.get("PYB_FUZZ_EXAMPLES", "200"))
SLOW = 5.0  # seconds: an example that takes longer is a hang
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 200,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TEXT = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", "x", '"; DROP TABLE t; --', "<script>alert(1)</script>", "../../etc/passwd",
     "a\x00b", "board", "seq", "\u00e9\u00e8", "k" * 300]))
CHANNEL = st.tuples(st.one_of(st.sampled_from(CODES), st.characters(max_codepoint=127)),
                    TEXT, TEXT)
DESCRIPTOR = st.builds(descriptor, TEXT, st.one_of(st.just(0), st.integers(1, 1 << 32 - 1)),
                       st.lists(CHANNEL, min_size=0, max_size=8),
                       st.sampled_from([1, 1, 1, 0, 2]))


def timed(fn, *args, **kw):
    t = time.monotonic()
    out = fn(*args, **kw)
    assert time.monotonic() - t < SLOW, "took %.1f s" % (time.monotonic() - t)
    return out


@FUZZ
@given(st.binary(max_size=600))
def test_descriptor_parser_on_any_bytes(data):
    timed(parse_descriptor, data)


@FUZZ
@given(DESCRIPTOR, st.data())
def test_descriptor_parser_on_near_valid_descriptors(payload, data):
    # Mutate a few bytes of an almost valid descriptor, or cut it short.
    b = bytearray(payload)
    for _ in range(data.draw(st.integers(0, 3))):
        if b:
            b[data.draw(st.integers(0, len(b) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        b = b[:data.draw(st.integers(0, len(b)))]
    s = timed(parse_descriptor, bytes(b), 7)
    if s is not None and bytes(b) == payload:
        assert s.stream_id == 7 and len(s.channels) == payload[1]


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(1, 700), min_size=1, max_size=8))
def test_pipeline_on_random_bytes(data, chunks):
    # Random bytes with a sync pattern sprinkled in, so headers get parsed.
    data = data.replace(b"\x00\x00", b"\xa5\xd3")
    timed(pipeline, data, chunks)


@st.composite
def board_session(draw):
    """Frames with good CRCs and arbitrary content: descriptors (mostly
    valid, some not), data frames of fitting and unfitting lengths, column
    blocks, status frames, newer versions, garbage between them."""
    out = bytearray()
    sent = {}
    schemas = {}
    seqs = {}
    for _ in range(draw(st.integers(1, 14))):
        sid = draw(st.integers(0, 3))
        seq = seqs.get(sid, -1) + draw(st.sampled_from([1, 1, 1, 2, 5]))
        seqs[sid] = seq
        t = draw(st.integers(0, (1 << 30) - 1))
        kind = draw(st.sampled_from(["desc", "data", "data", "data", "status", "raw", "junk"]))
        if kind == "desc":
            payload = draw(DESCRIPTOR)
            try:
                schemas.setdefault(sid, []).append(Schema.from_payload(sid, payload))
            except ValueError:
                pass
            out += frame(1, sid, seq, t, payload)
        elif kind == "data":
            flags = draw(st.sampled_from([0, 0, 1, 2]))
            size = draw(st.sampled_from([1, 2, 4, 6, 7, 8, 12]))
            payload = draw(st.binary(min_size=0, max_size=40)) * draw(st.integers(0, 3))
            payload = payload[:len(payload) - len(payload) % size] if draw(
                st.booleans()) else payload
            sent[(sid, seq)] = (payload, flags)
            out += frame(2, sid, seq, t, payload, flags)
        elif kind == "status":
            out += frame(3, sid, seq, t, draw(st.binary(max_size=30)))
        elif kind == "raw":  # a whole frame of any type and version
            out += frame(draw(st.integers(0, 255)), sid, seq, t, draw(st.binary(max_size=50)),
                         draw(st.integers(0, 255)), draw(st.integers(0, 20)))
        else:
            out += draw(st.binary(max_size=40))
    return bytes(out), sent, schemas


@FUZZ
@given(board_session(), st.lists(st.integers(1, 500), min_size=1, max_size=6))
def test_pipeline_on_frames_with_good_crcs_and_any_content(session, chunks):
    data, sent, schemas = session
    timed(pipeline, data, chunks, sent=sent, schemas=schemas)


def test_a_huge_claimed_length_and_an_endless_line_do_not_hang():
    head = frame(2, 1, 0, 0, b"")[:6] + struct.pack("<H", 0xFFFF)
    data = (head + b"\xff" * 12) * 200 + b"x" * 200000
    timed(pipeline, data, (1000,))


def test_a_column_block_on_a_stream_without_a_period_is_dropped_and_counted():
    # Found by the fuzzer: it used to give one column too few, and the
    # SQLite sink failed on the row (the logger stopped).
    desc = descriptor("s", 0, [("H", "a", ""), ("H", "b", "")])
    data = frame(1, 1, 0, 0, desc) + frame(2, 1, 1, 0, bytes(16), flags=1) \
        + frame(2, 1, 2, 0, struct.pack("<IHH", 5, 1, 2))
    _, streams, batches = pipeline(data)
    assert streams.bad_frames == 1 and len(batches) == 1
    assert list(zip(*batches[0].columns, strict=True)) == [(1, 2)]
