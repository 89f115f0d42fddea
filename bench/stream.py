"""Streaming benchmarks: host decoder and SQLite sink throughput, and the
board-side cost of the stream path against print()-ing CSV lines, under the
MicroPython interpreter. Merges its figures into bench/results.json and
writes the "Streaming" section of docs/performance.md.

    python bench/stream.py [--samples N]
"""

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "host"), ROOT]

import pyb_sim  # noqa: E402

pyb_sim.install()  # ``micropython.const`` for the board code on CPython

from report import merge_results  # noqa: E402

from pyb_bridge.decoder import FrameDecoder, Streams  # noqa: E402
from pyb_bridge.outputs import open_sink  # noqa: E402
from pyb_sim.capture import stream_bytes  # noqa: E402

CHANNELS = tuple(("a%d" % i, "H", "raw") for i in range(4))
USB_CEILING_MBPS = 1.2


def readings(n):
    return [(1000 * k, (k * 7) & 4095, (k * 13 + 1000) & 4095, 2048, 4095 - (k & 4095))
            for k in range(n)]


def make_frames(rows):
    return stream_bytes(CHANNELS, [r[1:] for r in rows], name="adc", period_us=1000,
                        times=[r[0] & 0x3FFFFFFF for r in rows])


def tiny_frames(n):
    """``n`` readings of one 16-bit channel, each in a frame of its own (30
    bytes: 28 of header and CRC, protocol 2): the most frames a second the
    link can carry, the host's worst case."""
    return stream_bytes((("x", "h", "raw"),), [(k % 30000,) for k in range(n)], name="tiny",
                        period_us=100, frame_bytes=30)


def make_csv(rows):
    return "".join("%d,%d,%d,%d,%d\r\n" % r for r in rows).encode()


def best(fn, repeat=3):
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t0
        if out is None or dt < out[0]:
            out = (dt, r)
    return out


def decode(data, chunk=65536):
    dec = FrameDecoder()
    streams = Streams()
    n = 0
    for i in range(0, len(data), chunk):
        batches, _ = streams.feed(dec.feed(data[i:i + chunk]))
        for b in batches:
            n += len(b.times)  # times and typed columns are built per frame
    assert dec.crc_errors == 0 and dec.frames_lost == 0
    return n


def csv_baseline(data):
    """What users do now: pyserial-style readline() and a CSV split."""
    f = io.BytesIO(data)
    n = 0
    out = []
    for line in iter(f.readline, b""):
        parts = line.decode().strip().split(",")
        out = [int(p) for p in parts]
        n += 1
    del out
    return n


def sqlite(data, path, chunk=65536):
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(path + ext):
            os.remove(path + ext)
    sink = open_sink(path, "sqlite")
    dec = FrameDecoder()
    streams = Streams()
    for i in range(0, len(data), chunk):
        batches, schemas = streams.feed(dec.feed(data[i:i + chunk]))
        sink.write_all(batches, time.time(), schemas)
    sink.close()
    return sink.rows


BOARD = """
import sys, time
sys.path.insert(0, %(root)r)
from pyb_lib.stream import Stream
N = %(n)d
out = sys.stdout.buffer
def vals(k):
    return (k * 7) & 4095, (k * 13 + 1000) & 4095, 2048, 4095 - (k & 4095)
res = {}
for mode, period in (("fixed_rate", 1000), ("time_stamped", 0)):
    s = Stream((("a0", "H", "raw"), ("a1", "H", "raw"), ("a2", "H", "raw"),
                ("a3", "H", "raw")), out, name="adc", period_us=period)
    s.start()
    t0 = time.ticks_us()
    for k in range(N):
        s.add((k * 7) & 4095, (k * 13 + 1000) & 4095, 2048, 4095 - (k & 4095))
    s.stop()
    res[mode + "_us"] = time.ticks_diff(time.ticks_us(), t0)
    res[mode + "_bytes"] = s.frames * 20 + s.records * s.record_size + 40
from array import array
K = 250  # samples per channel per block, as ADC.read_timed_multi fills them
cols = tuple(array("H", range(i, i + K)) for i in range(4))
s = Stream((("a0", "H", "raw"), ("a1", "H", "raw"), ("a2", "H", "raw"),
            ("a3", "H", "raw")), out, name="adc", period_us=1000)
s.start()
t0 = time.ticks_us()
for k in range(N // K):
    s.send_block(cols, k * K * 1000)
s.stop()
res["block_us"] = time.ticks_diff(time.ticks_us(), t0)
res["block_bytes"] = s.frames * 20 + s.records * s.record_size + 40
t0 = time.ticks_us()
nbytes = 0
for k in range(N):
    line = "%%d,%%d,%%d,%%d,%%d" %% (time.ticks_us(), (k * 7) & 4095, (k * 13 + 1000) & 4095,
                                2048, 4095 - (k & 4095))
    print(line)
    nbytes += len(line) + 2  # print() on the board's REPL ends lines with CR LF
res["csv_us"] = time.ticks_diff(time.ticks_us(), t0)
res["csv_bytes"] = nbytes
# The sampler: the timer callback (four sources into the ring) and the main
# loop's drain, against print()-ing a CSV line of the same four sources.
sys.path.insert(0, %(stub)r)  # a stand-in pyb whose Timer does nothing: ticks by hand
from pyb_lib.sampler import Sampler
def s0():
    return 2048
def s1():
    return 1000
def s2():
    return 3000
def s3():
    return 4095
s = Stream((("a0", "H", "raw"), ("a1", "H", "raw"), ("a2", "H", "raw"),
            ("a3", "H", "raw")), out, name="adc", period_us=1000)
smp = Sampler(s, (s0, s1, s2, s3), 1000)
smp.start()
import pyb
tick = pyb.Timer.last_callback  # what the Sampler gave its Timer
poll = smp.poll
t0 = time.ticks_us()
for k in range(N // 50):
    for j in range(50):  # 50 timer ticks, then the main loop runs
        tick(None)
    poll()
smp.stop()
res["sampler_us"] = time.ticks_diff(time.ticks_us(), t0)
assert s.records == N // 50 * 50 and smp.overruns == 0
t0 = time.ticks_us()
for k in range(N):
    print("%%d,%%d,%%d,%%d,%%d" %% (time.ticks_us(), s0(), s1(), s2(), s3()))
res["csv_sources_us"] = time.ticks_diff(time.ticks_us(), t0)
sys.stderr.write("RESULT " + repr(res).replace("'", '"') + "\\n")
"""

PYB_STUB = """from time import ticks_us as micros, ticks_ms as millis, ticks_diff


def elapsed_millis(start):
    return ticks_diff(millis(), start)


def wfi():
    pass


class Timer:
    # never ticks by itself: the benchmark calls the callback it was given
    # (Timer.last_callback) by hand
    last_callback = None

    def __init__(self, id):
        pass

    def init(self, **kw):
        Timer.last_callback = kw.get("callback")

    def callback(self, fun):
        Timer.last_callback = fun

    def deinit(self):
        pass
"""


def board_side(n):
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    exe = exe if os.path.exists(exe) else shutil.which("micropython")
    if not exe:
        sys.exit("bench/stream.py: the micropython interpreter is missing")
    best_res = None
    with tempfile.TemporaryDirectory() as stub:
        with open(os.path.join(stub, "pyb.py"), "w") as f:
            f.write(PYB_STUB)
        for _ in range(3):
            with open(os.devnull, "wb") as null:
                p = subprocess.run([exe, "-X", "heapsize=100K", "-c",
                                    BOARD % {"root": ROOT, "n": n, "stub": stub}],
                                   stdout=null, stderr=subprocess.PIPE, text=True, check=True)
            m = re.search(r"^RESULT (.*)$", p.stderr, re.M)
            res = json.loads(m.group(1))
            if best_res is None:
                best_res = res
            else:  # the best of each figure
                for k, v in res.items():
                    if k.endswith("_us"):
                        best_res[k] = min(best_res[k], v)
    return best_res


def write_section(lines):
    path = os.path.join(ROOT, "docs", "performance.md")
    text = open(path).read() if os.path.exists(path) else "# Performance\n"
    section = "## Streaming\n\n" + "\n".join(lines) + "\n"
    m = re.search(r"^## Streaming\n.*?(?=^## |\Z)", text, re.M | re.S)
    if m:
        text = text[:m.start()] + section + ("\n" if text[m.end():] else "") + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=400000, help="host readings")
    ap.add_argument("--board-samples", type=int, default=20000, help="board readings")
    ap.add_argument("--tiny-frames", type=int, default=20000,
                    help="frames of one reading each, decoded and logged")
    args = ap.parse_args()

    rows = readings(args.samples)
    frames = make_frames(rows)
    text = make_csv(rows)
    t_dec, n = best(lambda: decode(frames))
    assert n == args.samples
    t_csv, n2 = best(lambda: csv_baseline(text))
    assert n2 == args.samples
    with tempfile.TemporaryDirectory() as tmp:
        t_sql, n3 = best(lambda: sqlite(frames, os.path.join(tmp, "bench.db")), repeat=2)
    assert n3 == args.samples
    tiny = tiny_frames(args.tiny_frames)
    with tempfile.TemporaryDirectory() as tmp:
        t_tiny, n4 = best(lambda: sqlite(tiny, os.path.join(tmp, "tiny.db")), repeat=2)
    assert n4 == args.tiny_frames
    tiny_per_s = n4 / t_tiny
    link_tiny_per_s = USB_CEILING_MBPS * 1e6 / (len(tiny) / n4)
    dec_mbps = len(frames) / t_dec / 1e6
    sql_mbps = len(frames) / t_sql / 1e6
    ratio = t_csv / t_dec
    b = board_side(args.board_samples)
    nb = args.board_samples
    board_ratio = b["csv_us"] / b["block_us"]
    add_ratio = b["csv_us"] / b["fixed_rate_us"]
    wire_ratio = b["csv_bytes"] / b["block_bytes"]
    sampler_ratio = b["csv_sources_us"] / b["sampler_us"]
    figures = {
        "host_decode_MBps": {"value": round(dec_mbps, 1), "unit": "MB/s"},
        "host_decode_vs_csv_ratio": {"value": round(ratio, 1), "unit": "x"},
        "host_sqlite_MBps": {"value": round(sql_mbps, 1), "unit": "MB/s"},
        "host_tiny_frames_per_s": {"value": round(tiny_per_s), "unit": "frames/s"},
        "host_tiny_frames_vs_link_ratio": {"value": round(tiny_per_s / link_tiny_per_s, 2),
                                           "unit": "x"},
        "board_time_per_sample_vs_csv_ratio": {"value": round(board_ratio, 1), "unit": "x"},
        "wire_bytes_per_sample_vs_csv_ratio": {"value": round(wire_ratio, 2), "unit": "x"},
        "board_sampler_time_per_sample_vs_csv_ratio": {"value": round(sampler_ratio, 1),
                                                       "unit": "x"},
    }
    merge_results(figures)
    table = [
        "Measured by `make bench` (`bench/stream.py`), 4 channels of 12-bit ADC values",
        "(uint16) per reading, default 1 KB frames. Host: one CPython core, %d readings"
        % args.samples,
        "(%.1f MB of frames); board side: the MicroPython unix port, %d readings." % (
            len(frames) / 1e6, nb),
        "",
        "| figure | value | bar |",
        "|---|---:|---:|",
        "| host decoder, raw bytes to typed columns | %.0f MB/s (%.0fx the USB ceiling) "
        "| >= 100 MB/s |" % (dec_mbps, dec_mbps / USB_CEILING_MBPS),
        "| host decoder vs readline() + CSV split, same readings | %.1fx faster (%.2f vs %.2f "
        "s) | |" % (ratio, t_dec, t_csv),
        "| host decode + SQLite sink, a row per reading | %.1f MB/s (%.0f rows/s) | >= 5 MB/s |"
        % (sql_mbps, args.samples / t_sql),
        "| host decode + SQLite, frames of one reading each (%.0f bytes) | %.0f frames/s: "
        "%.1fx the %.0f such frames a second the link carries at most | >= 1x |" % (
            len(tiny) / n4, tiny_per_s, tiny_per_s / link_tiny_per_s, link_tiny_per_s),
        "| board: time per reading, stream blocks (`send_block`) vs print() CSV | %.2f us "
        "vs %.2f us: %.1fx cheaper | >= 5x |" % (b["block_us"] / nb, b["csv_us"] / nb,
                                                 board_ratio),
        "| board: time per reading, one `add()` per reading vs print() CSV | %.2f us: "
        "%.1fx cheaper | |" % (b["fixed_rate_us"] / nb, add_ratio),
        "| board: time per reading, `Sampler` (timer callback + drain) vs print() CSV of "
        "the same four sources | %.2f us vs %.2f us: %.1fx cheaper | |" % (
            b["sampler_us"] / nb, b["csv_sources_us"] / nb, sampler_ratio),
        "| board: wire bytes per reading, stream vs CSV | %.2f vs %.1f: %.2fx fewer | "
        ">= 2.5x |" % (b["block_bytes"] / nb, b["csv_bytes"] / nb, wire_ratio),
        "| board, records with their own time stamp | %.1f us, %.1f bytes per reading | |"
        % (b["time_stamped_us"] / nb, b["time_stamped_bytes"] / nb),
        "",
        "The board figure in results.json is the block path: timed ADC capture",
        "(`read_timed_multi`) fills one array per channel and `send_block` sends them as",
        "one frame without touching each sample in Python (250 readings per block here).",
        "A program that calls `add()` once per reading pays a method call, a clock read",
        "and a `struct.pack_into` per reading: cheaper than print(), but not 5x.",
        "",
        "The `Sampler` row (`pyb_lib.sampler`) times what the board does per reading",
        "when a Timer paces the sampling: the callback reads four sources (here Python",
        "functions returning an int; on the board `ADC.read`, whose conversion time is",
        "the same for both paths and is not counted) and packs one record into the",
        "preallocated ring; every 50 ticks the main loop's `poll()` sends whole ring",
        "slices as frames (`Stream.send_records`, no copy). The CSV side calls the same",
        "four sources and print()s a line with a time stamp. The ticks are called by hand",
        "(a stand-in `pyb` whose Timer does nothing), so timer interrupt entry, equal",
        "for both, is not counted either.",
        "",
        "The fixed-rate stream (a sample period in the descriptor) is the sampler's case; a",
        "CSV line carries its own time stamp. print() goes to /dev/null here; on the",
        "board it goes through the USB_VCP stdout, so the CSV side is if anything cheaper",
        "here than on the board.",
    ]
    write_section(table)
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
