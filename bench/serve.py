"""Load on the REST API while the bridge writes: requests per second and
latency (median, p99) of /api/streams/stream_1/readings (the stream "adc")
served by ``pyb-bridge serve`` (waitress, 16 threads), while a writer process feeds the SQLite
sink as fast as it can (decoded frames of two 1 kHz channels, committed
every second as ``pyb-bridge log`` does). Prints a table; ``--json FILE``
also writes the figures.

    python bench/serve.py [--seconds 5] [--clients 8]
"""

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "host"), ROOT]


def frames(n):
    """Frames of ``n`` records of the demo's ADC stream, encoded by pyb_lib.stream."""
    from pyb_sim.capture import stream_bytes

    return stream_bytes((("x1", "H", "raw"), ("x2", "H", "raw")),
                        [((k * 7) & 4095, (k * 13) & 4095) for k in range(n)], name="adc",
                        period_us=1000)


def writer(path, stop, counter, ready):
    """Feed the sink at full rate until ``stop``: the same decoded frames over
    and over, board time moving on."""
    from pyb_bridge.decoder import Batch, FrameDecoder, Streams
    from pyb_bridge.outputs import open_sink

    n = 20000
    batches, schemas = Streams().feed(FrameDecoder().feed(frames(n)))
    sink = open_sink(path, flush_interval=1.0)
    sink.write_all([], time.time(), schemas)
    sink.flush()
    ready.set()
    off = 0
    while not stop.is_set():
        now = time.time()
        sink.write_all([Batch(b.schema, b.seq, [t + off for t in b.times], b.columns)
                        for b in batches], now)
        off += n * 1000
        counter.value = sink.rows
    sink.close()


def client(url, path_fn, seconds, threads, out):
    """``threads`` keep-alive connections asking ``path_fn(i)`` in a loop;
    puts the latencies (s) on ``out``."""
    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()
    lat = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def run():
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = []
        i = 0
        while time.monotonic() < end:
            t0 = time.perf_counter()
            conn.request("GET", path_fn(conn, i))
            r = conn.getresponse()
            body = r.read()
            mine.append(time.perf_counter() - t0)
            assert r.status == 200, body[:200]
            i += 1
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(lat)


def _stats(conn):
    conn.request("GET", "/api/streams/stream_1/stats")
    return json.loads(conn.getresponse().read())


def tail_1000(conn, i):
    if i % 20 == 0:
        conn._last = _stats(conn)["last_row"]
    return "/api/streams/stream_1/readings?after=%d&limit=1000" % max(0, conn._last - 1000)


def tail_100(conn, i):
    if i % 20 == 0:
        conn._last = _stats(conn)["last_row"]
    return "/api/streams/stream_1/readings?after=%d&limit=100" % max(0, conn._last - 100)


def stats_only(conn, i):
    return "/api/streams/stream_1/stats"


def load(url, path_fn, seconds, clients):
    """Clients in 2 processes (the client side needs CPU too); returns
    (requests, latencies)."""
    q = mp.Queue()
    procs = [mp.Process(target=client, args=(url, path_fn, seconds, clients // 2, q))
             for _ in range(2)]
    for p in procs:
        p.start()
    lat = []
    for _ in procs:
        lat += q.get()
    for p in procs:
        p.join()
    return lat


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


def bucket_scan(path):
    """Min/max per second over the whole table: the request (answered from
    the stream's rollup table) and the same query as a GROUP BY over the
    rows (what a log without a rollup costs), timed; the answers must agree."""
    import urllib.request

    from pyb_bridge import logdb
    from pyb_bridge.server import make_server, stop_server, store

    server = make_server(path, port=0)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        rows = sqlite3.connect(path).execute("SELECT MAX(rowid) FROM stream_1").fetchone()[0]
        t0 = time.perf_counter()
        with urllib.request.urlopen(server.url + "api/streams/stream_1/readings?bucket=1000000"
                                    "&limit=10000", timeout=600) as r:
            body = json.load(r)
        dt = time.perf_counter() - t0
    finally:
        stop_server(server)
    db = logdb.connect(path)
    info = store.stream(db, "stream_1")
    t0 = time.perf_counter()
    raw = store.buckets(db, info, ["x1", "x2"], 1000000, limit=10000, raw=True)
    dt_raw = time.perf_counter() - t0
    assert [r[0] for r in raw] == body["t"] and [r[1] for r in raw] == body["n"]
    return rows, len(body["t"]), dt, dt_raw


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per scenario")
    ap.add_argument("--clients", type=int, default=8, help="concurrent connections")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="pyb-bridge-bench-")
    path = os.path.join(tmp, "bench.sqlite")
    stop, ready = mp.Event(), mp.Event()
    counter = mp.Value("q", 0)
    w = mp.Process(target=writer, args=(path, stop, counter, ready))
    w.start()
    ready.wait(60)
    time.sleep(2.0)  # some rows first
    t0, r0 = time.monotonic(), counter.value
    time.sleep(2.0)
    alone = (counter.value - r0) / (time.monotonic() - t0)
    srv = subprocess.Popen([sys.executable, "-m", "pyb_bridge.cli", "serve", "--db", path,
                            "--port", "0"], stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host")))
    url = re.search(r"(http://\S+/)", srv.stdout.readline()).group(1)
    results = {"writer_rows_per_s_alone": round(alone), "clients": args.clients,
               "cpus": os.cpu_count(), "scenarios": []}
    try:
        for name, fn in (("readings, last 1000 rows", tail_1000),
                         ("readings, last 100 rows", tail_100),
                         ("stats", stats_only)):
            t0, r0 = time.monotonic(), counter.value
            lat = load(url, fn, args.seconds, args.clients)
            dt = time.monotonic() - t0
            results["scenarios"].append({
                "request": name, "requests_per_s": round(len(lat) / args.seconds),
                "median_ms": round(pct(lat, 0.5) * 1000, 2),
                "p99_ms": round(pct(lat, 0.99) * 1000, 2),
                "writer_rows_per_s": round((counter.value - r0) / dt)})
    finally:
        srv.terminate()
        srv.wait(10)
        stop.set()
        w.join(60)
    rows, n, dt, dt_raw = bucket_scan(path)
    results["bucket_scan"] = {"rows": rows, "buckets": n, "seconds": round(dt_raw, 3),
                              "rows_per_s": round(rows / dt_raw),
                              "rollup_seconds": round(dt, 4)}
    week = 7 * 86400 * 1000
    print("REST API under load: %d connections, %s CPUs, %g s per row; the writer alone: "
          "%d rows/s" % (args.clients, os.cpu_count(), args.seconds, alone))
    print()
    print("| request | requests/s | median | p99 | writer meanwhile |")
    print("|---|---|---|---|---|")
    for s in results["scenarios"]:
        print("| %s | %d | %.1f ms | %.1f ms | %d rows/s |" % (
            s["request"], s["requests_per_s"], s["median_ms"], s["p99_ms"],
            s["writer_rows_per_s"]))
    print()
    b = results["bucket_scan"]
    print("min/max per second over the whole table (bucket=1000000): %d rows, %d buckets: "
          "%.1f ms from the rollup; as a GROUP BY over the rows (a log without rollups) "
          "%.2f s, %.1f M rows/s, so a week at 1 kHz (%.0f M rows) in about %.0f s "
          "(bench/long_log.py measures the week from the rollup)"
          % (b["rows"], b["buckets"], b["rollup_seconds"] * 1000, b["seconds"],
             b["rows_per_s"] / 1e6, week / 1e6, week / b["rows_per_s"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
