"""A week of 1 kHz readings, drawn in one request: the buckets endpoint on a
long log, answered from the stream's rollup table.

Writing 605 M rows would take most of an hour, so the log is made like
this: one hour of real rows (2 channels at 1 kHz, board "A", 3.6 M rows,
written by SQLite itself), whose rollup the sink builds from them when it
opens the log (as for a log written before rollups existed), then the rollup
rows of the other 167 hours inserted directly, as the sink would have
written them (604,800 one-second buckets in all). ``pyb-bridge serve``
(waitress) answers over HTTP on a loopback port; every figure is the
median of ``--repeat`` requests.

    python bench/long_log.py [--repeat 5]
"""

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "host"), ROOT]

HOUR = 3600
WEEK = 7 * 24 * HOUR  # seconds
RATE = 1000  # rows per second


def schema():
    """The "adc" stream's schema (x1, x2: H, every 1000 µs), from frames
    encoded by pyb_lib.stream and decoded by the bridge."""
    from pyb_bridge.decoder import FrameDecoder, Streams
    from pyb_sim.capture import stream_bytes

    data = stream_bytes((("x1", "H", "raw"), ("x2", "H", "raw")), [(1, 2)], name="adc",
                        period_us=1000)
    _, found = Streams().feed(FrameDecoder().feed(data))
    return found[0]


def make_log(path):
    from pyb_bridge.logdb import ROLLUP_US
    from pyb_bridge.outputs import open_sink

    s = schema()
    sink = open_sink(path)
    sink.describe(s)
    sink.close()
    db = sqlite3.connect(path)
    # the stream "adc" is the log's first table, stream_1 (docs/bridge.md)
    db.execute('DROP TABLE "_rollup_stream_1"')
    db.execute("DELETE FROM _rollups")
    t0 = time.perf_counter()
    db.execute("WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < ?) "
               "INSERT INTO stream_1 SELECT 'A', i / 50, i * 1000, 1.7e9 + i / 1000.0, "
               "(i * 7) % 4096, (i * 13) % 4096 FROM r", (HOUR * RATE - 1,))
    db.commit()
    t_rows = time.perf_counter() - t0
    t0 = time.perf_counter()
    sink = open_sink(path)
    sink.describe(s)  # builds the rollup of the hour from its rows
    sink.close()
    t_build = time.perf_counter() - t0
    n = HOUR * RATE
    db.executemany('INSERT INTO "_rollup_stream_1" VALUES (?, \'A\', ?, ?, ?, ?, ?, ?, ?)',
                   ((k, RATE, n + (k - HOUR) * RATE + 1, n + (k - HOUR + 1) * RATE,
                     k % 7, 4095 - k % 5, k % 11, 4095 - k % 3)
                    for k in range(HOUR, WEEK)))
    db.commit()
    assert ROLLUP_US == 1000000
    return t_rows, t_build


def timed(url, repeat):
    times, body = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=600) as r:
            body = json.load(r)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], body


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    from pyb_bridge import logdb
    from pyb_bridge.server import make_server, stop_server, store

    tmp = tempfile.mkdtemp(prefix="pyb-bridge-long-")
    path = os.path.join(tmp, "week.sqlite")
    t_rows, t_build = make_log(path)
    print("log: 1 h of rows (%d) written in %.1f s, their rollup built in %.1f s; "
          "%d one-second rollup rows in all (%.0f MB file)"
          % (HOUR * RATE, t_rows, t_build, WEEK, os.path.getsize(path) / 1e6))
    server = make_server(path, port=0)
    threading.Thread(target=server.run, daemon=True).start()
    api = server.url + "api/streams/stream_1/readings?"
    s = 1000000
    cases = [
        ("a week, one bucket per minute (10,080 buckets: 2 pages)", None),
        ("a week, one bucket per 10 min (1,008 buckets)", "bucket=%d&limit=10000" % (600 * s)),
        ("a week, one bucket per hour (168 buckets)", "bucket=%d" % (HOUR * s)),
        ("one hour of the week, one bucket per second (3,600)",
         "bucket=%d&since=%d&until=%d&limit=10000" % (s, 100 * HOUR * s, 101 * HOUR * s)),
        ("rows 10 s into the raw hour, 1000 rows (since/until)",
         "since=%d&until=%d&limit=1000" % (1800 * s, 1810 * s)),
        ("raw scan: one hour, bucket=1.5 s (not whole seconds: no rollup)",
         "bucket=1500000&until=%d&limit=10000" % (HOUR * s)),
    ]
    rows = []
    try:
        for name, q in cases:
            if q is None:  # both pages of the per-minute week
                t1, b1 = timed(api + "bucket=%d&limit=10000" % (60 * s), args.repeat)
                t2, b2 = timed(api + "bucket=%d&limit=10000&since=%d" % (60 * s, b1["next_since"]),
                               args.repeat)
                n = len(b1["t"]) + len(b2["t"])
                assert n == WEEK // 60 and b2["next_since"] is None
                assert sum(b1["n"]) + sum(b2["n"]) == WEEK * RATE
                rows.append((name, n, t1 + t2))
                continue
            dt, body = timed(api + q, args.repeat)
            rows.append((name, len(body.get("t", body.get("rows", []))), dt))
        db = logdb.connect(path)
        info = store.stream(db, "stream_1")
        t0 = time.perf_counter()
        chans = [c["column"] for c in info["channels"]]  # x1, x2 as ch0, ch1
        raw = store.buckets(db, info, chans, s, None, HOUR * s, 10000, None, raw=True)
        t_raw = time.perf_counter() - t0
        via = store.buckets(db, info, chans, s, None, HOUR * s, 10000, None)
        assert raw == via, "the rollup of the raw hour differs from its rows"
    finally:
        stop_server(server)
    print()
    print("| request | buckets or rows | time (median of %d) |" % args.repeat)
    print("|---|---|---|")
    for name, n, dt in rows:
        print("| %s | %d | %.1f ms |" % (name, n, dt * 1000))
    print()
    print("min/max per second of the raw hour by GROUP BY over its rows (as without a "
          "rollup): %d rows in %.2f s, %.2f M rows/s: a week would take %.0f s"
          % (HOUR * RATE, t_raw, HOUR * RATE / t_raw / 1e6, WEEK * RATE / (HOUR * RATE / t_raw)))
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
