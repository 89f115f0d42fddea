"""Framed binary streaming of readings to a host (see docs/protocol.md)."""
# The long documentation in this module is comments: a docstring's text
# takes heap on the board while the module compiles.
#     from pyb_lib.stream import Stream
#     s = Stream((("x1", "H", "raw"), ("temp", "h", "cC")), name="adc",
#                period_us=1000)
#     with s:                       # descriptor sent, Ctrl-C off on USB_VCP
#         while True:
#             s.add(adc.read(), t)  # batched; a frame leaves when full
#             s.poll()              # latency flush, descriptor/status repeats
#
# Every frame is: sync (2) + header (22) + payload + CRC-32 (4), built with
# ``struct.pack_into`` in one preallocated buffer and written through a
# preallocated memoryview: a full frame costs the same few Python operations
# and no heap but the CRC, whatever its size. The parts of the header that
# never change (sync, version, type, stream id, schema id, boot id) are
# written once when the stream is made; a frame packs only its length,
# sequence number and time. On a PyBoard (31-bit small ints)
# ``binascii.crc32`` returns a CRC >= 2**30 as a long int, 32 bytes per CRC
# step for about 3 frames in 4 (docs/protocol.md). Frames are built in the
# main loop only, never in an interrupt handler.

import binascii
import struct

from micropython import const
from pyb_lib._native import stream_add, stream_add_row

try:
    from pyb import micros as _micros  # board clock, 30-bit wrap
except ImportError:  # pragma: no cover - plain MicroPython/CPython
    from time import ticks_us as _micros  # type: ignore[assignment]

try:
    # Seeded from the STM32's hardware RNG at boot (ports/stm32/mpconfigport.h:
    # MICROPY_PY_RANDOM_SEED_INIT_FUNC (rng_get())); the unix port seeds it too.
    from random import getrandbits as _bits
except ImportError:  # pragma: no cover - a firmware built without random
    def _bits(n):  # type: ignore[misc]
        return (_micros() * 2654435761) & ((1 << n) - 1)

SYNC0 = const(0xA5)
SYNC1 = const(0xD3)
VERSION = const(2)  # protocol: frame header and descriptor (docs/protocol.md)
T_DESCRIPTOR = const(1)
T_DATA = const(2)
T_STATUS = const(3)
HEADER_SIZE = const(24)  # 16 bytes every version has + schema id + boot id
CRC_SIZE = const(4)
OVERHEAD = const(28)
EXTRA = const(8)  # header bytes after the first 16: counted in the length field
MAX_LENGTH = const(16384)  # the length field: EXTRA + payload
MAX_PAYLOAD = const(16376)
_MASK = const(0x3FFFFFFF)
_FIXED = "<BBBBBBHIIII"  # sync, sync, version, type, id, flags, length, seq, time, schema, boot
_VARY = "<HII"  # at offset 6: length, seq, time
_STATUS = "<IIIII"
_TYPES = "bBhHiIf"
_SIZES = (1, 1, 2, 2, 4, 4, 4)


def _utf8(text, what):
    data = text.encode()
    if len(data) > 255:
        raise ValueError("Stream: %s too long: %r" % (what, text))
    return data


class Stream:
    """A framed stream of records with a fixed set of typed channels."""
    # ``channels``: a sequence of (name, type, unit), type one of
    # ``b B h H i I f`` (struct codes, little-endian on the wire).
    # ``period_us``: the sample period when records are taken at a fixed
    # rate (the host derives each record's time from the frame time); 0 to
    # stamp every record with the board clock (a 4-byte time column).
    # ``max_latency_ms``: a frame leaves when its oldest record is this old:
    # by the declared period at a fixed rate (``add()`` reads the clock only
    # for a frame's first record), by the clock with time stamps; ``poll()``
    # sends a partial frame that waited longer by the clock.
    # ``ctrl_c``: on USB_VCP, while the stream runs, the firmware's Ctrl-C is
    # off (a KeyboardInterrupt never lands inside a frame) and the stream
    # takes a Ctrl-C (0x03) from the host itself: the next ``poll()``, or
    # ``add()``/``flush()`` that sends a frame, raises KeyboardInterrupt
    # after the frame's last byte; other bytes the host sends meanwhile are
    # dropped. False leaves the port's input alone.
    # ``write_timeout_ms``: how long a frame may wait for the port to take
    # more of it; then the rest of the frame is dropped. On USB_VCP the stream
    # runs the port with CTS flow (``write`` takes what fits, at once, instead
    # of waiting 500 ms a byte and overwriting unsent output, as the firmware's
    # REPL port does) and drops a frame at once while no host has the port
    # open. ``short_writes`` counts the frames that did not go out whole
    # (docs/protocol.md).

    def __init__(self, channels, port=None, *, name="stream", stream_id=1,
                 period_us=0, frame_bytes=1024, max_latency_ms=100,
                 descriptor_every=64, descriptor_ms=2000, clock=None, ctrl_c=True,
                 write_timeout_ms=500):
        n = len(channels)
        if n < 1 or n > 64:
            raise ValueError("Stream %r: 1..64 channels, got %d" % (name, n))
        if not 0 <= stream_id <= 255:
            raise ValueError("Stream %r: stream_id must be 0..255" % name)
        if port is None:
            import pyb

            port = pyb.USB_VCP()
        self.port = port
        self.name = name
        self._clock = clock or _micros
        self._id = stream_id
        self._period = period_us
        self._nch = n
        self.period_us = period_us
        self.max_latency_ms = max_latency_ms
        fmt = "<I" if period_us == 0 else "<"
        rec = 4 if period_us == 0 else 0
        cfmts = []
        csizes = []
        desc = bytearray()
        desc.extend(struct.pack("<BBI", VERSION, n, period_us))
        nm = _utf8(name, "stream name")
        desc.append(len(nm))
        desc.extend(nm)
        for ch in channels:
            cname, ctype, unit = ch
            i = _TYPES.find(ctype) if len(ctype) == 1 else -1
            if i < 0:
                raise ValueError("Stream %r: channel %r: type %r is not one of %s"
                                 % (name, cname, ctype, _TYPES))
            fmt += ctype
            rec += _SIZES[i]
            cfmts.append("<" + ctype)
            csizes.append(_SIZES[i])
            desc.append(ord(ctype))
            for text in (cname, unit):
                b = _utf8(text, "channel name/unit")
                desc.append(len(b))
                desc.extend(b)
        self.record_size = rec
        self._cfmts = cfmts
        self._csizes = csizes
        self._fmt = fmt
        cap = (min(frame_bytes, MAX_PAYLOAD + OVERHEAD) - OVERHEAD) // rec
        if cap < 1:
            raise ValueError("Stream %r: frame_bytes %d holds no %d-byte record"
                             % (name, frame_bytes, rec))
        self.capacity = cap
        self._latency = max_latency_ms * 1000
        # A fixed-rate stream's records are period_us apart by declaration,
        # so its oldest record reaches the latency limit at a known count:
        # add() then reads the clock once a frame, not once a record.
        per_frame = cap if period_us == 0 else min(cap, -(-self._latency // period_us) + 1)
        self._per_frame = per_frame
        self._buf = bytearray(OVERHEAD + cap * rec)
        mv = memoryview(self._buf)
        self._mv = mv
        self._full_crc = mv[:HEADER_SIZE + per_frame * rec]
        self._full_out = mv[:OVERHEAD + per_frame * rec]
        self._part_n = -1
        self._part_crc = self._full_crc
        self._part_out = mv
        # The schema id names this descriptor in every frame's header (the
        # host decodes a frame only with the descriptor of that id); the boot
        # id, drawn anew for every Stream made, tells a restart from a replay.
        self.schema_id = binascii.crc32(desc)
        self.boot_id = _bits(30)  # a small int on the board: packs without heap
        self._hdr = bytearray(HEADER_SIZE + CRC_SIZE)  # for send_block
        hmv = memoryview(self._hdr)
        self._hdr_view = hmv[:HEADER_SIZE]
        self._crc_view = hmv[HEADER_SIZE:]
        self._fill(self._buf, T_DATA)
        self._fill(self._hdr, T_DATA)
        self._desc = self._fixed_frame(desc, T_DESCRIPTOR)
        self._status = self._fixed_frame(bytes(20), T_STATUS)
        # what add() and add_row() read at every record, in one tuple: one
        # attribute lookup instead of nine (a third less time for add() on
        # the unix port)
        vfmt = "<" + fmt[2:] if period_us == 0 else fmt  # the values, without the time stamp
        self._add_consts = (self._clock, struct.pack_into, self._buf, vfmt, n,
                            period_us == 0, rec, per_frame, self._latency)
        self._desc_every = descriptor_every
        self._desc_us = descriptor_ms * 1000
        self._off = HEADER_SIZE
        self._count = 0
        self._t0 = 0
        self._seq = 0
        self._since_desc = 0
        self._t_desc = 0
        self._streaming = False
        self._ctrl_c = ctrl_c
        self._host = None  # the USB_VCP whose Ctrl-C the stream takes, while streaming
        self._vcp = None  # the USB_VCP the stream runs with CTS flow, while streaming
        self._wait_us = write_timeout_ms * 1000
        self._one = bytearray(1)
        self.records = 0
        self.frames = 0
        self.overruns = 0
        self.short_writes = 0

    def _fill(self, buf, ftype):
        """Write the header fields that never change into ``buf``."""
        struct.pack_into(_FIXED, buf, 0, SYNC0, SYNC1, VERSION, ftype, self._id, 0,
                         EXTRA, 0, 0, self.schema_id, self.boot_id)

    def _fixed_frame(self, payload, ftype):
        buf = bytearray(OVERHEAD + len(payload))
        self._fill(buf, ftype)
        buf[HEADER_SIZE:HEADER_SIZE + len(payload)] = payload
        mv = memoryview(buf)
        return (buf, mv[:HEADER_SIZE + len(payload)], mv, len(payload))

    # --- life cycle ---------------------------------------------------------
    def start(self):
        """Disable Ctrl-C on a USB_VCP port (the stream takes it between
        frames, see ``ctrl_c``), give it CTS flow (see ``write_timeout_ms``)
        and send the descriptor."""
        port = self.port
        if hasattr(port, "setinterrupt"):
            port.setinterrupt(-1)
            if self._ctrl_c:
                self._host = port
        if hasattr(port, "isconnected"):  # USB_VCP
            port.init(flow=port.CTS)
            self._vcp = port
        self._streaming = True
        self.send_descriptor()

    def stop(self):
        """Flush, send a status frame and restore Ctrl-C (0x03)."""
        self._host = None  # a second Ctrl-C does not cut the status frame short
        try:
            self.flush()
            self.send_status()
        finally:
            self._streaming = False
            if self._vcp is not None:
                self._vcp = None
                self.port.init(flow=0)  # the REPL port's flow (stm32 usb.c)
            if hasattr(self.port, "setinterrupt"):
                self.port.setinterrupt(3)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- records --------------------------------------------------------------
    # add(v0, v1=0, ... v7=0): append one record (up to 8 channels as
    # arguments; no heap), in machine code where the port compiles it
    add = stream_add

    # add_row(values): append one record from a sequence of channel
    # values (any count), in machine code where the port compiles it
    add_row = stream_add_row

    def poll(self):
        """Call from the main loop: flushes a frame older than the latency
        limit and repeats the descriptor/status when they are due."""
        now = self._clock()
        if self._count and (now - self._t0) & _MASK >= self._latency:
            self.flush()
        elif (now - self._t_desc) & _MASK >= self._desc_us:
            self.send_descriptor()
            self.send_status()
        if self._host is not None and self._host.any():
            self._host_input()

    # --- frames -----------------------------------------------------------------
    def _header(self, buf, length, t):
        struct.pack_into(_VARY, buf, 6, length + EXTRA, self._seq, t & _MASK)
        self._seq = (self._seq + 1) & _MASK

    def _write(self, data, n):
        """Write the ``n`` bytes of ``data``; False when the port did not take them all: it took
        nothing more for ``write_timeout_ms``, or no host has the USB_VCP port open. (Allocates
        nothing when the first write takes them all.)"""
        port = self.port
        done = port.write(data)
        if done == n:
            return True
        vcp = self._vcp
        if vcp is None and (done is None or done == len(data)):
            # a port of the program's own that does not say (USB_VCP's None
            # is "nothing fitted"), or counts an array's items, not its bytes
            return True
        done = done or 0
        clock = self._clock
        t0 = clock()
        while done < n:
            if vcp is not None and not vcp.isconnected():
                return False
            k = port.write(data, done, n - done)
            if k:
                done += k
                t0 = clock()
            elif (clock() - t0) & _MASK >= self._wait_us:
                return False
        return True

    def _send(self, buf, crc_view, out_view, length):
        struct.pack_into("<I", buf, HEADER_SIZE + length, binascii.crc32(crc_view))
        if not self._write(out_view, len(out_view)):
            self.short_writes += 1
        self.frames += 1

    def _host_input(self):
        """Read what the host sent; a Ctrl-C among it stops the program here. Called only where no
        caller is between two steps of its own: at the end of ``flush()`` (so of
        ``add()``/``add_row()`` when they send, and at the start of
        ``send_records``/``send_block``, before their frame) and of ``poll()``; never after a
        ``send_records``/``send_block`` frame, whose caller (the Sampler) counts it after the
        call returns."""
        host = self._host
        if host is None:
            return
        one = self._one
        while host.any():
            host.readinto(one)
            if one[0] == 3:
                raise KeyboardInterrupt

    def flush(self):
        """Send the records batched so far as one data frame."""
        count = self._count
        if count == 0:
            return
        length = count * self.record_size
        buf = self._buf
        self._header(buf, length, self._t0)
        if count == self._per_frame:
            self._send(buf, self._full_crc, self._full_out, length)
        else:
            if count != self._part_n:
                # An early (latency) flush: views kept for the next one of
                # the same size, so a steady slow stream allocates nothing.
                self._part_n = count
                self._part_crc = self._mv[:HEADER_SIZE + length]
                self._part_out = self._mv[:OVERHEAD + length]
            self._send(buf, self._part_crc, self._part_out, length)
        self.records += count
        self._count = 0
        self._off = HEADER_SIZE
        self._since_desc += 1
        if self._since_desc >= self._desc_every:
            self.send_descriptor()
            self.send_status()
        elif self._host is not None and self._host.any():
            self._host_input()

    def send_block(self, columns, t0_us=None):
        """Send a block of fixed-rate samples as one frame without touching each sample:
        ``columns`` holds one buffer per channel (e.g. the ``array('H')`` buffers
        ``ADC.read_timed_multi`` filled), all of the same length, in channel order. ``t0_us``:
        the time of the first sample (default: now). The payload is column-major (flags bit 0)."""
        if self._period == 0:
            raise ValueError("Stream %r: send_block needs a fixed period_us" % self.name)
        if len(columns) != self._nch:
            raise ValueError("Stream %r: %d columns for %d channels"
                             % (self.name, len(columns), self._nch))
        count = len(columns[0])
        for c in columns:
            if len(c) != count:
                raise ValueError("Stream %r: columns of different lengths" % self.name)
        length = count * self.record_size
        if length > MAX_PAYLOAD:
            raise ValueError("Stream %r: block of %d bytes, at most %d"
                             % (self.name, length, MAX_PAYLOAD))
        self.flush()
        hdr = self._hdr
        hdr[5] = 1  # flags: column-major
        self._header(hdr, length, self._clock() if t0_us is None else t0_us)
        crc = binascii.crc32(self._hdr_view)
        for c in columns:
            crc = binascii.crc32(c, crc)
        struct.pack_into("<I", hdr, HEADER_SIZE, crc)
        ok = self._write(self._hdr_view, HEADER_SIZE)
        sizes = self._csizes
        i = 0
        for c in columns:
            if ok:
                ok = self._write(c, count * sizes[i])
            i += 1
        self._block_sent(count, ok and self._write(self._crc_view, CRC_SIZE))

    def send_records(self, payload, count, t0_us):
        """Send ``count`` records already packed in this stream's record format (row-major, as
        ``add()`` packs them), e.g. a preallocated memoryview into a ring buffer
        (``pyb_lib.sampler``), as one data frame of time ``t0_us``, without copying them:
        header, ``payload`` and CRC leave in three ``write()`` calls. Allocates nothing but the
        CRC (at most 64 bytes on a PyBoard, see the comments at the top)."""
        length = count * self.record_size
        if len(payload) != length or length > MAX_PAYLOAD:
            raise ValueError("Stream %r: %d payload bytes for %d records"
                             % (self.name, len(payload), count))
        self.flush()
        hdr = self._hdr
        hdr[5] = 0  # flags: row-major records
        self._header(hdr, length, t0_us)
        struct.pack_into("<I", hdr, HEADER_SIZE,
                         binascii.crc32(payload, binascii.crc32(self._hdr_view)))
        self._block_sent(count, self._write(self._hdr_view, HEADER_SIZE)
                         and self._write(payload, length)
                         and self._write(self._crc_view, CRC_SIZE))

    def _block_sent(self, count, whole):
        """Count a block frame just written (``whole``: all of it went out);
        repeat the descriptor when due."""
        if not whole:
            self.short_writes += 1
        self.records += count
        self.frames += 1
        self._since_desc += 1
        if self._since_desc >= self._desc_every:
            self.send_descriptor()
            self.send_status()

    def send_descriptor(self):
        """Send the channel names, types and units (done at start and then
        every ``descriptor_every`` frames or ``descriptor_ms``)."""
        buf, crc_view, out_view, length = self._desc
        now = self._clock()
        self._header(buf, length, now)
        self._send(buf, crc_view, out_view, length)
        self._since_desc = 0
        self._t_desc = now

    def send_status(self):
        """Send the counters: records, frames, overruns, short writes
        (frames that did not go out whole), records waiting in the batch."""
        buf, crc_view, out_view, length = self._status
        self._header(buf, length, self._clock())
        struct.pack_into(_STATUS, buf, HEADER_SIZE, self.records & _MASK,
                         self.frames & _MASK, self.overruns & _MASK,
                         self.short_writes & _MASK, self._count)
        self._send(buf, crc_view, out_view, length)
