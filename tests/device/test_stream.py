"""pyb_lib.stream: frames built on the board, checked byte by byte."""

import binascii
import struct
from array import array

import micropython
import pyb
import pyb_sim
from pyb_lib.stream import HEADER_SIZE, OVERHEAD, Stream
from support import BOARD_INTS, LONG_INT_BYTES, allocated, long_crcs, message, raises

board = pyb_sim.board


class BufferPort:
    """A port that stores what is written in a preallocated buffer."""

    def __init__(self, size):
        self.buf = bytearray(size)
        self.mv = memoryview(self.buf)
        self.n = 0

    def write(self, data):
        if isinstance(data, array):  # a column block of uint16
            for i in range(len(data)):
                struct.pack_into("<H", self.buf, self.n + 2 * i, data[i])
            self.n += 2 * len(data)
            return 2 * len(data)
        k = len(data)
        self.mv[self.n:self.n + k] = data
        self.n += k
        return k

    def data(self):
        return bytes(self.buf[:self.n])


def parse(data, ids=None):
    """Split a stream into (type, stream, seq, time, payload), checking
    sync, version, length, CRC, and that every frame carries the same
    schema id and boot id (appended to ``ids`` when given)."""
    out = []
    i = 0
    while i < len(data):
        assert data[i] == 0xA5 and data[i + 1] == 0xD3, "sync at %d" % i
        ver, typ, sid, flags, length, seq, t, schema, boot = struct.unpack_from(
            "<BBBBHIIII", data, i + 2)
        assert ver == 2 and flags in (0, 1) and length >= 8
        end = i + 16 + length
        crc = struct.unpack_from("<I", data, end)[0]
        assert binascii.crc32(data[i:end]) == crc
        if ids is not None:
            ids.append((schema, boot))
        out.append((typ, sid, seq, t, data[i + 24:end]))
        i = end + 4
    return out


def test_descriptor_first_and_ctrl_c_off_while_streaming():
    s = Stream((("x1", "H", "raw"), ("temp", "h", "cC")), name="adc", period_us=1000)
    assert board.usb.interrupt_char == 3
    s.start()
    assert board.usb.interrupt_char == -1
    frames = parse(bytes(board.usb.from_board))
    assert len(frames) == 1
    typ, sid, seq, t, payload = frames[0]
    assert (typ, sid, seq) == (1, 1, 0)
    assert payload == (b"\x02\x02\xe8\x03\x00\x00\x03adc"
                       b"H\x02x1\x03raw" b"h\x04temp\x02cC")
    s.stop()
    assert board.usb.interrupt_char == 3


def test_every_frame_names_its_descriptor_and_boot():
    port = BufferPort(4096)
    s = Stream((("a", "H", ""), ("b", "h", "mV")), port, period_us=100, frame_bytes=100)
    with s:
        for k in range(30):
            s.add(k, -k)
    ids = []
    frames = parse(port.data(), ids)
    assert [f[0] for f in frames].count(2) >= 2
    desc = frames[0][4]
    assert ids[0][0] == binascii.crc32(desc) == s.schema_id
    assert all(x == (s.schema_id, s.boot_id) for x in ids)
    assert 0 <= s.boot_id < (1 << 30)  # a small int on the board: packed without heap
    # The same channels again: the same schema id; a new Stream: a new boot id.
    t = Stream((("a", "H", ""), ("b", "h", "mV")), port, period_us=100)
    u = Stream((("a", "H", ""), ("b", "h", "V")), port, period_us=100)
    assert t.schema_id == s.schema_id and u.schema_id != s.schema_id
    assert t.boot_id != s.boot_id


def test_a_full_frame_carries_the_records_in_order():
    port = BufferPort(4096)
    s = Stream((("a", "H", ""), ("b", "h", ""), ("c", "f", "V")), port,
               period_us=500, frame_bytes=200)
    assert s.record_size == 8 and s.capacity == (200 - OVERHEAD) // 8
    s.start()
    for k in range(s.capacity):
        s.add(k, -k, k / 4)
    frames = parse(port.data())
    assert [f[0] for f in frames] == [1, 2]
    typ, sid, seq, t, payload = frames[1]
    assert seq == 1 and len(payload) == s.capacity * 8
    recs = [struct.unpack_from("<Hhf", payload, 8 * k) for k in range(s.capacity)]
    assert recs == [(k, -k, k / 4) for k in range(s.capacity)]


def test_header_and_crc_stay_under_ten_percent_of_a_default_frame():
    for chans in ((("a", "H", ""),), (("a", "f", ""), ("b", "i", "")),
                  tuple(("c%d" % i, "h", "") for i in range(8))):
        for period in (0, 1000):
            s = Stream(chans, BufferPort(8), period_us=period)
            size = OVERHEAD + s.capacity * s.record_size
            assert OVERHEAD * 10 < size, (chans, period)


def test_records_with_time_stamps_when_no_period():
    port = BufferPort(2048)
    s = Stream((("v", "i", "mV"),), port, frame_bytes=OVERHEAD + 40)
    s.start()
    t0 = pyb.micros()
    for k in range(5):
        s.add(k - 2)
        pyb.udelay(100)
    frames = parse(port.data())
    payload = frames[1][4]
    assert len(payload) == 5 * 8 and frames[1][3] == struct.unpack_from("<I", payload, 0)[0]
    times = [struct.unpack_from("<Ii", payload, 8 * k)[0] for k in range(5)]
    vals = [struct.unpack_from("<Ii", payload, 8 * k)[1] for k in range(5)]
    assert vals == [-2, -1, 0, 1, 2]
    assert all(100 <= (times[k + 1] - times[k]) <= 102 for k in range(4))
    assert 0 <= times[0] - t0 <= 2


def test_a_partial_frame_leaves_after_the_latency_limit():
    port = BufferPort(2048)
    s = Stream((("v", "H", ""),), port, period_us=10000, max_latency_ms=50)
    s.start()
    s.add(1)
    s.poll()
    assert len(parse(port.data())) == 1
    pyb.delay(60)
    s.poll()
    frames = parse(port.data())
    assert len(frames) == 2 and frames[1][4] == b"\x01\x00"


def test_a_fixed_rate_stream_reads_the_clock_once_a_frame():
    # Its records are period_us apart by declaration: the latency limit is
    # a count of records (the oldest is 50 ms old at the 6th of 10 ms), and
    # only a frame's first record needs the clock (its time).
    port = BufferPort(2048)
    clock = Clock()
    s = Stream((("v", "H", ""),), port, period_us=10000, max_latency_ms=50, clock=clock.read)
    s.start()
    reads = clock.t
    for k in range(12):
        s.add(k)
    frames = parse(port.data())
    assert (clock.t - reads) // 100 == 2
    assert [len(f[4]) // 2 for f in frames[1:]] == [6, 6]
    assert frames[2][4] == struct.pack("<6H", 6, 7, 8, 9, 10, 11)
    assert frames[2][3] - frames[1][3] == 100  # each frame: the clock at its first record
    # a time-stamped stream reads it for every record, and its limit is the clock's
    port = BufferPort(2048)
    s = Stream((("v", "H", ""),), port, max_latency_ms=1, clock=clock.read)
    s.start()
    reads = clock.t
    for k in range(12):
        s.add(k)
    assert (clock.t - reads) // 100 == 12
    assert [len(f[4]) // 6 for f in parse(port.data())[1:]] == [11]


def test_stop_flushes_and_reports_status():
    port = BufferPort(2048)
    s = Stream((("v", "B", ""),), port, period_us=1)
    with s:
        for k in range(10):
            s.add(k)
        s.overruns += 3
    frames = parse(port.data())
    assert [f[0] for f in frames] == [1, 2, 3]
    assert [f[2] for f in frames] == [0, 1, 2]
    assert frames[1][4] == bytes(range(10))
    assert struct.unpack("<IIIII", frames[2][4]) == (10, 2, 3, 0, 0)


def test_descriptor_and_status_are_repeated():
    port = BufferPort(3000)
    s = Stream((("v", "B", ""),), port, period_us=1, frame_bytes=OVERHEAD + 20,
               descriptor_every=4)
    s.start()
    for k in range(20 * 12):
        s.add(k & 0xFF)
    types = [f[0] for f in parse(port.data())]
    assert types[:6] == [1, 2, 2, 2, 2, 1]
    assert types.count(1) == 1 + 12 // 4 and types.count(3) == 12 // 4
    seqs = [f[2] for f in parse(port.data())]
    assert seqs == list(range(len(seqs)))


def test_many_channels_by_row():
    port = BufferPort(4096)
    chans = tuple(("c%d" % i, "h", "") for i in range(10))
    s = Stream(chans, port, period_us=100, frame_bytes=OVERHEAD + 40)
    s.start()
    assert message(raises(ValueError, s.add, 1, 2)) == "Stream 'stream': 10 channels: use add_row()"
    row = list(range(-5, 5))
    s.add_row(row)
    s.add_row(row)
    payload = parse(port.data())[1][4]
    assert struct.unpack("<10h", payload[20:]) == tuple(row)
    assert "values for" in message(raises(ValueError, s.add_row, [1]))


def test_eight_channels_as_arguments():
    port = BufferPort(4096)
    chans = tuple(("c%d" % i, "B", "") for i in range(8))
    for period in (0, 10):
        port.n = 0
        s = Stream(chans, port, period_us=period, frame_bytes=OVERHEAD + 12)
        s.start()
        s.add(1, 2, 3, 4, 5, 6, 7, 8)
        s.flush()
        payload = parse(port.data())[1][4]
        assert payload[-8:] == bytes(range(1, 9))


def test_bad_channels_are_value_errors():
    port = BufferPort(8)
    e = raises(ValueError, Stream, (("x", "Q", ""),), port)
    assert message(e) == "Stream 'stream': channel 'x': type 'Q' is not one of bBhHiIf"
    assert "1..64 channels" in message(raises(ValueError, Stream, (), port))
    e = raises(ValueError, Stream, (("x", "f", ""),), port, frame_bytes=22)
    assert message(e) == "Stream 'stream': frame_bytes 22 holds no 8-byte record"


class Clock:
    """A board clock that advances 100 us per reading, without heap."""

    def __init__(self):
        self.t = 0

    def read(self):
        self.t += 100
        return self.t


def frames_from(data, start):
    """Each frame in ``data`` from ``start``, without its CRC."""
    out = []
    i = start
    while i < len(data):
        length = struct.unpack_from("<H", data, i + 6)[0]
        out.append(data[i:i + 16 + length])
        i += 16 + length + 4
    return out


def heap_free(body):
    """Run ``body`` with the heap locked (any allocation raises MemoryError)."""
    micropython.heap_lock()
    try:
        body()
    finally:
        micropython.heap_unlock()


def test_frames_allocate_only_the_long_crcs():
    # The simulated board's own clock allocates on MicroPython; the real
    # pyb.micros() does not, so a heap-free clock stands in for it here.
    # On the board binascii.crc32 returns a long int (32 bytes of heap) for
    # a CRC >= 2**30, about 3 frames in 4; nothing else in a frame allocates.
    port = BufferPort(6000)
    clock = Clock()
    s = Stream((("a", "H", ""), ("b", "H", ""), ("c", "h", ""), ("d", "H", "")), port,
               period_us=1000, frame_bytes=256, max_latency_ms=50, clock=clock.read,
               descriptor_every=4)
    s.start()
    s.add(0, 0, 0, 0)
    clock.t += 60000
    s.poll()  # the first early flush makes its views
    start = port.n

    def body():
        for k in range(s.capacity * 10):  # full frames, descriptors, status frames
            s.add(k, k + 1, -k, 7)
        s.add(1, 2, 3, 4)
        clock.t += 60000
        s.poll()  # an early flush of the same size: views reused

    if BOARD_INTS:
        used = allocated(body)
        sent = frames_from(port.data(), start)
        longs = sum(long_crcs(f) for f in sent)
        assert longs > 0
        assert used == LONG_INT_BYTES * longs, (used, longs, len(sent))
    else:
        heap_free(body)
    frames = parse(port.data())
    assert sum(len(f[4]) for f in frames if f[0] == 2) == (s.capacity * 10 + 2) * 8
    assert [f[0] for f in frames].count(1) >= 3


def test_a_block_of_columns_is_one_frame_without_touching_samples():
    port = BufferPort(1024)
    s = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), port, period_us=100)
    s.start()
    a = array("H", range(100))
    b = array("H", range(1000, 1100))
    cols = (a, b)
    start = port.n

    def body():
        s.send_block(cols, 5000)

    if BOARD_INTS:  # one CRC step per column after the header's
        used = allocated(body)
        hdr = port.data()[start:start + HEADER_SIZE]
        assert used == LONG_INT_BYTES * long_crcs(hdr, a, b)
    else:
        heap_free(body)
    typ, sid, seq, t, payload = parse(port.data())[1]
    assert (typ, seq, t) == (2, 1, 5000) and len(payload) == 400
    assert port.data()[len(port.data()) - 428 + 5] == 1  # flags: column-major
    assert struct.unpack_from("<2H", payload, 0) == (0, 1)
    assert struct.unpack_from("<H", payload, 200)[0] == 1000
    assert s.records == 100
    e = raises(ValueError, s.send_block, (a, array("H", [1])))
    assert message(e) == "Stream 'stream': columns of different lengths"


def _stream_until_interrupted(s, limit=1000):
    """add() until a KeyboardInterrupt; the records added, None if none came."""
    for k in range(limit):
        try:
            s.add(k, -k)
        except KeyboardInterrupt:
            return k + 1
    return None


def test_ctrl_c_from_the_host_stops_the_program_between_two_frames():
    s = Stream((("a", "H", ""), ("b", "h", "")), name="adc", period_us=100, frame_bytes=100)
    s.start()
    board.usb.to_board = bytearray(b"ab\x03")  # typed by the host while it streams
    n = _stream_until_interrupted(s)
    assert n is not None and n % s.capacity == 0  # raised as a full frame left
    assert board.usb.to_board == bytearray()  # the other bytes were dropped
    frames = parse(bytes(board.usb.from_board))  # whole frames only
    assert [f[0] for f in frames] == [1] + [2] * (n // s.capacity)
    assert board.usb.interrupt_char == -1
    board.usb.to_board = bytearray(b"\x03")  # a second Ctrl-C does not cut stop() short
    s.stop()
    assert board.usb.interrupt_char == 3
    frames = parse(bytes(board.usb.from_board))
    assert frames[-1][0] == 3 and struct.unpack_from("<I", frames[-1][4])[0] == n


def test_a_stream_with_ctrl_c_false_leaves_the_input_alone():
    s = Stream((("a", "H", ""), ("b", "h", "")), name="adc", period_us=100, frame_bytes=100,
               ctrl_c=False)
    with s:
        board.usb.to_board = bytearray(b"\x03cmd")
        assert _stream_until_interrupted(s, 200) is None
        assert board.usb.interrupt_char == -1
    assert board.usb.to_board == bytearray(b"\x03cmd")


def test_a_ctrl_c_never_interrupts_send_block_and_comes_at_the_next_poll():
    """send_block/send_records return normally (their caller, the Sampler,
    counts the frame after the call); the Ctrl-C is raised by poll()."""
    s = Stream((("a", "H", ""),), name="blk", period_us=100)
    s.start()
    board.usb.to_board = bytearray(b"\x03")
    col = array("H", range(50))
    s.send_block((col,))
    s.send_records(memoryview(bytearray(20)), 10, 0)
    assert s.records == 60
    e = raises(KeyboardInterrupt, s.poll)
    assert e is not None
    s.stop()
    assert [f[0] for f in parse(bytes(board.usb.from_board))] == [1, 2, 2, 3]


# --- what the host does not get ------------------------------------------------
MS = 1000000


def scan(data):
    """What a host decoder finds in ``data``: the whole frames with a good
    CRC, as ``parse`` gives them, and the number of damaged stretches it had
    to skip to find the next sync."""
    out = []
    damaged = 0
    i = 0
    skipping = False
    while i < len(data):
        ok = data[i:i + 2] == b"\xa5\xd3" and i + 24 <= len(data)
        if ok:
            length = struct.unpack_from("<H", data, i + 6)[0]
            end = i + 16 + length
            ok = end + 4 <= len(data) and \
                binascii.crc32(data[i:end]) == struct.unpack_from("<I", data, end)[0]
        if ok:
            out.extend(parse(data[i:end + 4]))
            i = end + 4
            skipping = False
        else:
            if not skipping:
                damaged += 1
                skipping = True
            i += 1
    return out, damaged


def status_of(frames):
    return struct.unpack_from("<IIIII", [f for f in frames if f[0] == 3][-1][4])


def test_a_host_that_stops_reading_costs_whole_frames_and_they_are_counted():
    # 4 H channels, 252-byte frames; the 1 KB USB buffer holds 3 after the
    # descriptor. The stream runs the port with CTS flow: a frame that finds
    # no room waits write_timeout_ms for the host, then is given up.
    s = Stream((("a", "H", ""), ("b", "H", ""), ("c", "H", ""), ("d", "H", "")),
               period_us=1000, frame_bytes=256, write_timeout_ms=100)
    board.usb.host_pause()
    s.start()
    assert board.usb.flow == pyb.USB_VCP.CTS
    t = board.now
    for k in range(6 * s.capacity):  # six frames: three fit, three do not
        s.add(k, k, k, k)
    waited = board.now - t
    assert s.short_writes == 3
    assert 300 * MS <= waited < 310 * MS, waited  # 100 ms for each given up
    assert board.usb.lost == 0  # nothing the board had sent was overwritten
    board.usb.host_resume()
    for k in range(2 * s.capacity):
        s.add(k, k, k, k)
    s.stop()
    assert board.usb.flow == 0  # the REPL port's flow again
    frames, damaged = scan(board.usb.host_read())
    assert damaged == 1  # the frame cut short where the buffer ran out
    data = [f for f in frames if f[0] == 2]
    assert [f[2] for f in data] == [1, 2, 3, 7, 8]  # sequence numbers: 4-6 lost
    records, nframes, overruns, short, waiting = status_of(frames)
    assert (records, nframes, short, waiting) == (8 * s.capacity, 9, 3, 0)


def test_frames_made_while_no_host_has_the_port_open_are_dropped_at_once():
    s = Stream((("a", "H", ""), ("b", "h", "")), period_us=100, frame_bytes=100)
    board.usb.host_close()
    s.start()
    t = board.now
    for k in range(5 * s.capacity):
        s.add(k, -k)
    assert board.now - t < 5 * MS  # no frame waited for a host
    assert s.short_writes == 6  # the descriptor and five data frames
    board.usb.host_open()
    s.stop()
    frames, damaged = scan(board.usb.host_read())
    assert damaged == 0  # the host finds no pieces of them either
    assert [f[0] for f in frames] == [3]
    assert status_of(frames)[3] == 6


def test_a_block_cut_short_is_counted_once_and_the_rest_not_written():
    s = Stream((("a", "H", ""), ("b", "H", "")), period_us=100, write_timeout_ms=20)
    s.start()
    board.usb.host_pause()
    a = array("H", range(300))
    b = array("H", range(300))
    s.send_block((a, b))  # 1224 bytes: more than the buffer holds
    assert s.short_writes == 1
    assert len(board.usb.tx) == 1024
    s.send_records(bytes(8), 2, 0)  # no room at all
    assert s.short_writes == 2
    board.usb.host_resume()
    s.send_block((a, b))
    s.stop()
    frames, damaged = scan(board.usb.host_read())
    assert damaged == 1
    assert [(f[0], f[2]) for f in frames] == [(1, 0), (2, 3), (3, 4)]
    assert status_of(frames)[3] == 2


def test_a_stream_to_a_host_that_reads_never_waits_and_loses_nothing():
    s = Stream((("a", "H", ""),), period_us=100, frame_bytes=256)
    with s:
        t = board.now
        for k in range(10 * s.capacity):
            s.add(k)
        assert board.now - t < 10 * MS
    assert s.short_writes == 0
    frames, damaged = scan(board.usb.host_read())
    assert damaged == 0 and len(frames) == 12


class SlowPort:
    """A USB_VCP-like port that takes ``step`` bytes a call and then, after
    ``limit`` bytes, nothing; preallocated, like the firmware's."""

    CTS = 2

    def __init__(self, limit, step):
        self.limit = limit
        self.step = step
        self.n = 0
        self.connected = True

    def setinterrupt(self, c):
        pass

    def init(self, flow=-1):
        pass

    def isconnected(self):
        return self.connected

    def any(self):
        return False

    def write(self, data, off=0, n=-1):
        if n < 0:
            n = len(data)
        k = min(n, self.step, self.limit - self.n)
        self.n += k
        return k if k else None


def test_a_frame_given_up_allocates_nothing():
    port = SlowPort(1000, 64)
    clock = Clock()
    s = Stream((("a", "H", ""), ("b", "H", "")), port, period_us=100, frame_bytes=256,
               clock=clock.read, write_timeout_ms=5)
    s.start()

    def body():
        for k in range(6 * s.capacity):  # frames that go in pieces, then do not go
            s.add(k, 0)

    if BOARD_INTS:
        used = allocated(body)
        assert used % LONG_INT_BYTES == 0 and used <= 6 * 2 * LONG_INT_BYTES, used  # CRCs only
    else:
        heap_free(body)
    assert port.n == 1000
    assert s.short_writes == 3, s.short_writes
