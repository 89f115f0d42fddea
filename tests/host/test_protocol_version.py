"""Protocol versions: the board library and the bridge announce the same
stream protocol (frame header and descriptor); a bridge that meets a newer
one says so in one line, counts the frames and decodes none of them.

The newer frames are made by pyb_lib.stream itself with its VERSION patched
(on CPython the module reads the name when it builds each frame)."""

import os
import struct
import zlib

import pytest

import pyb_lib.stream as board_stream
from pyb_bridge import __version__
from pyb_bridge.decoder import VERSION, FrameDecoder, Streams, newer_message, older_message
from pyb_bridge.link import Board
from pyb_sim.capture import Capture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHANNELS = (("x1", "H", "raw"), ("temp", "h", "cC"))


def frames(records=200, first=0, version=None, monkeypatch=None, **kw):
    """Bytes of a whole stream (descriptor, data, status) made by the board
    code, speaking protocol ``version`` (default: its own)."""
    if version is not None:
        monkeypatch.setattr(board_stream, "VERSION", version)
    ticks = iter(range(1000, 10 ** 9, 1000))
    port = Capture()
    s = board_stream.Stream(CHANNELS, port, name="adc", period_us=1000, frame_bytes=120,
                            clock=lambda: next(ticks), **kw)
    with s:
        for i in range(first, first + records):
            s.add(i, -i)
    if version is not None:
        monkeypatch.setattr(board_stream, "VERSION", VERSION)
    return bytes(port.data)


def decode(data, chunk=7, **kw):
    """Feed ``data`` in small chunks; (decoder, streams, values, lines said)."""
    said = []
    dec = FrameDecoder(warn=said.append)
    streams = Streams(warn=said.append)
    values = []
    for i in range(0, len(data), chunk):
        batches, _ = streams.feed(dec.feed(data[i:i + chunk]))
        for b in batches:
            values.extend(zip(*b.columns, strict=True))
    batches, _ = streams.feed(dec.feed(b"", final=True))
    for b in batches:
        values.extend(zip(*b.columns, strict=True))
    return dec, streams, values, said


def test_board_and_bridge_speak_the_same_protocol():
    assert VERSION == board_stream.VERSION == 2
    data = frames(records=1)
    assert data[2] == VERSION  # frame header
    assert data[24] == VERSION  # descriptor payload: the first frame
    with open(os.path.join(ROOT, "docs", "protocol.md")) as f:
        assert f.readline().strip() == "# Stream protocol (version %d)" % VERSION


def test_own_version_decodes():
    dec, streams, values, said = decode(frames())
    assert values == [(i, -i) for i in range(200)]
    assert said == [] and dec.newer_frames == 0 and dec.newer_version is None


def test_newer_version_is_said_once_counted_and_not_decoded(monkeypatch):
    data = frames(version=3, monkeypatch=monkeypatch)
    n = len(frames())  # the same frames in version 2: as many, as long
    assert len(data) == n and data != frames()
    dec, streams, values, said = decode(data)
    assert values == [] and streams.schemas == {}
    assert said == [newer_message(3)]
    assert said[0] == (
        "pyb-bridge: the board sends stream protocol 3; pyb-bridge %s understands protocol 2 "
        "only: upgrade pyb-bridge to a version that supports protocol 3 (pip install "
        "--upgrade pyb-bridge); its frames are skipped" % __version__)
    # every frame recognised whole: none taken for garbage
    assert dec.newer_frames == len(FrameDecoder().feed(frames())) == 11
    assert dec.frames == 0 and dec.newer_version == 3
    assert dec.crc_errors == dec.resyncs == dec.skipped_bytes == 0
    assert dec.counters()["newer_frames"] == dec.newer_frames


def test_each_newer_version_said_once_and_own_frames_around_them(monkeypatch):
    data = (frames(records=50) + frames(records=30, version=4, monkeypatch=monkeypatch)
            + frames(records=30, version=3, monkeypatch=monkeypatch)
            + frames(records=30, version=4, monkeypatch=monkeypatch)
            + frames(records=50, first=50))
    dec, streams, values, said = decode(data, chunk=1)
    assert values == [(i, -i) for i in range(100)]  # only version 2's records
    assert said == [newer_message(4), newer_message(3)]
    assert dec.newer_version == 4
    assert dec.crc_errors == dec.skipped_bytes == 0


def test_default_is_one_warning_of_the_pyb_bridge_logger(monkeypatch, caplog):
    """A library prints nothing itself: the line goes to logging (which
    shows it on stderr when the program configured none)."""
    data = frames(version=3, monkeypatch=monkeypatch)
    dec = FrameDecoder()
    for i in range(0, len(data), 50):
        assert dec.feed(data[i:i + 50]) == []
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("pyb_bridge", "WARNING", newer_message(3))]


def test_corrupted_newer_frame_is_garbage_not_a_newer_frame(monkeypatch):
    data = bytearray(frames(records=5, version=3, monkeypatch=monkeypatch))
    data[30] ^= 0x40  # inside the first frame (the descriptor)
    dec, streams, values, said = decode(bytes(data) + frames(records=20))
    first = 20 + struct.unpack_from("<H", data, 6)[0]  # its length
    assert dec.newer_frames == len(FrameDecoder().feed(frames(records=5))) - 1  # the others
    assert dec.skipped_bytes == first  # the bad one skipped byte by byte, never decoded
    assert values == [(i, -i) for i in range(20)]
    assert said == [newer_message(3)]


def test_newer_version_byte_with_a_bad_crc_is_not_reported(monkeypatch):
    data = bytearray(frames(records=1, version=3, monkeypatch=monkeypatch)[:40])
    data[-1] ^= 1
    dec, _, values, said = decode(bytes(data))
    assert said == [] and dec.newer_frames == 0 and values == []


def test_descriptor_of_a_newer_version(monkeypatch):
    """A header of version 2 with a newer descriptor: its stream's data is
    dropped (counted) until a descriptor this bridge understands comes."""
    port = Capture()
    s = board_stream.Stream(CHANNELS, port, name="adc", period_us=1000, frame_bytes=120)
    buf = s._desc[0]  # the descriptor frame's buffer: payload at offset 24
    buf[24] = 3
    with s:
        for i in range(40):
            s.add(i, i)
    data = bytes(port.data) + frames(records=10)
    said = []
    dec = FrameDecoder(warn=said.append)
    streams = Streams(warn=said.append)
    batches, _ = streams.feed(dec.feed(data))
    assert said == [newer_message(3)]
    assert dec.frames > 0 and dec.newer_frames == 0  # whole version-2 frames
    assert streams.newer_dropped == 2  # 23 records a frame: a full one and the rest
    values = [v for b in batches for v in zip(*b.columns, strict=True)]
    assert values == [(i, -i) for i in range(10)]  # the version-2 stream after it


def test_board_counts_newer_frames(monkeypatch, caplog):
    """Through the bridge's Board on a pyserial loop port."""
    data = frames(records=100, version=3, monkeypatch=monkeypatch) + frames(records=10)
    with Board("loop://", reconnect=False) as board:
        board.link.serial.write(data)
        got = []
        for _ in range(50):
            batches, _, _ = board.poll()
            got += [v for b in batches for v in zip(*b.columns, strict=True)]
            if len(got) == 10:
                break
        c = board.counters()
    assert got == [(i, -i) for i in range(10)]
    assert c["newer_frames"] > 0 and c["crc_errors"] == 0
    assert [r.getMessage() for r in caplog.records] == [newer_message(3)]


@pytest.mark.parametrize("version", [0, 16, 255])
def test_version_bytes_that_are_no_version(version, monkeypatch):
    """0 and above MAX_VERSION: not frames at all (skipped as garbage, silently)."""
    data = frames(records=5, version=version, monkeypatch=monkeypatch)
    dec, _, values, said = decode(data)
    assert values == [] and said == [] and dec.newer_frames == 0
    assert dec.skipped_bytes == len(data)


def v1_frames(records):
    """A stream as a board with the version 1 library sends it (written from
    the version 1 table in docs/protocol.md: a 16-byte header whose length
    is the payload's, a descriptor whose first byte is 1)."""
    def frame(typ, seq, payload):
        head = b"\xa5\xd3" + struct.pack("<BBBBHII", 1, typ, 1, 0, len(payload), seq,
                                         1000 * seq)
        return head + payload + struct.pack("<I", zlib.crc32(head + payload))

    desc = struct.pack("<BBI", 1, 2, 1000) + b"\x03adc" + b"H\x02x1\x03raw" + b"h\x04temp\x02cC"
    out = frame(1, 0, desc)
    for k in range(records):
        out += frame(2, k + 1, struct.pack("<Hh", k, -k))
    return out + frame(3, records + 1, bytes(20))


def test_a_version_1_board_gets_one_line_naming_both_versions():
    data = v1_frames(30) + frames(records=10)
    dec, streams, values, said = decode(data)
    assert said == [older_message(1)]
    assert said[0] == (
        "pyb-bridge: the board sends stream protocol 1; pyb-bridge %s understands protocol 2 "
        "only: copy this release's board library to the board (pyb-bridge deploy) and "
        "restart its program; its frames are skipped" % __version__)
    assert dec.older_frames == 32 and dec.crc_errors == dec.skipped_bytes == 0
    assert dec.newer_version is None
    assert values == [(i, -i) for i in range(10)]  # nothing of the version 1 stream


def test_pyb_bridge_log_says_the_version_on_stderr(tmp_path, monkeypatch):
    """Through the real ``pyb-bridge log``: the decoder's warning reaches
    the user as one line on stderr (logging shows it, nothing configured)."""
    from hostile_support import LogRun

    run = LogRun(tmp_path)
    try:
        run.send(frames(records=50, version=3, monkeypatch=monkeypatch))
        assert run.wait_line(lambda line: line == newer_message(3))
    finally:
        run.stop()
