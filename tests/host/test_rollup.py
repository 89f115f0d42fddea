"""The SQLite sink's rollup tables (min/max/count per channel per second of
board time, per board) and the server's use of them: they must equal a
GROUP BY over the raw rows, and the API must answer the same with them as
without them."""

import array
import math
import random
import shutil
import sqlite3

from test_sinks import board_data

from pyb_bridge import logdb
from pyb_bridge.decoder import Batch, FrameDecoder, Streams
from pyb_bridge.logdb import ROLLUP_US
from pyb_bridge.outputs import open_sink
from pyb_bridge.server import create_app, store


def schemas():
    """The schemas of "adc" (x: H, y: h, every 100 µs) and "env" (temp: f,
    seq: i, stamped per record), as the decoder makes them."""
    data, _, _ = board_data(30)
    _, found = Streams().feed(FrameDecoder().feed(data))
    return {s.name: s for s in found}


def random_log(path, seed, flush_every=7):
    """Rows of 3 boards interleaved, with gaps (lost frames), batches across
    bucket boundaries, NaN and infinities in float columns, a record out of
    order, several flushes; returns the sink's row count."""
    rng = random.Random(seed)
    sch = schemas()
    sink = open_sink(path, flush_interval=3600)
    clock = {b: rng.randrange(0, 5 * ROLLUP_US) for b in ("A", "B", None)}
    for i in range(300):
        board = rng.choice(list(clock))
        t = clock[board]
        if rng.random() < 0.1:
            t += rng.randrange(ROLLUP_US, 4 * ROLLUP_US)  # a gap
        n = rng.randrange(1, 80)
        if rng.random() < 0.5:
            s = sch["adc"]
            times = range(t, t + n * 100 * 73, 100 * 73)
            cols = [array.array("H", [rng.randrange(65536) for _ in range(n)]),
                    [rng.randrange(-32768, 32768) for _ in range(n)]]
        else:
            s = sch["env"]
            times = sorted(t + rng.randrange(0, 3 * ROLLUP_US) for _ in range(n))
            if rng.random() < 0.2:
                times[-1] = max(0, times[0] - 5)  # went back in time
            temp = [rng.choice([rng.uniform(-40, 85), math.nan, math.inf, -math.inf])
                    if rng.random() < 0.2 else rng.uniform(-40, 85) for _ in range(n)]
            cols = [temp, [rng.randrange(-2 ** 31, 2 ** 31) for _ in range(n)]]
        sink.write_all([Batch(s, i & 255, times, cols)], 1.0, [s], board=board)
        clock[board] = max(times) + 1
        if i % flush_every == 0:
            sink.flush()
    sink.close()
    return sink.rows


def raw_rollup(db, table):
    cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % table)][4:]
    aggs = "".join(', MIN("%s"), MAX("%s")' % (c, c) for c in cols)
    return db.execute("SELECT board_time_us / %d, COALESCE(board, ''), COUNT(*), MIN(rowid), "
                      'MAX(rowid)%s FROM "%s" GROUP BY 1, 2 ORDER BY 1, 2'
                      % (ROLLUP_US, aggs, table)).fetchall()


def test_rollup_equals_a_group_by_over_the_rows(tmp_path):
    for seed in range(3):
        path = str(tmp_path / ("log%d.db" % seed))
        rows = random_log(path, seed, flush_every=1 + 5 * seed)
        db = sqlite3.connect(path)
        assert db.execute('SELECT "table", "rollup", "bucket_us" FROM _rollups ORDER BY 1'
                          ).fetchall() == [("stream_1", "_rollup_stream_1", ROLLUP_US),
                                           ("stream_2", "_rollup_stream_2", ROLLUP_US)]
        total = 0
        for table in ("stream_1", "stream_2"):
            want = raw_rollup(db, table)
            got = db.execute('SELECT * FROM "_rollup_%s" ORDER BY 1, 2' % table).fetchall()
            assert got == want
            total += sum(r[2] for r in got)
        assert total == rows


def test_a_log_without_rollups_gets_them_when_appended_to(tmp_path):
    path = str(tmp_path / "old.db")
    random_log(path, 7)
    db = sqlite3.connect(path)
    db.execute('DROP TABLE "_rollup_stream_2"')
    db.execute("DELETE FROM _rollups WHERE \"table\" = 'stream_2'")
    db.commit()
    random_log(path, 8)  # the same tables, more rows
    assert db.execute('SELECT * FROM "_rollup_stream_2" ORDER BY 1, 2').fetchall() == raw_rollup(
        db, "stream_2")
    assert db.execute('SELECT * FROM "_rollup_stream_1" ORDER BY 1, 2').fetchall() == raw_rollup(
        db, "stream_1")


def test_the_api_answers_the_same_with_and_without_rollups(tmp_path):
    path = str(tmp_path / "log.db")
    random_log(path, 3)
    bare = str(tmp_path / "bare.db")
    shutil.copy(path, bare)
    db = sqlite3.connect(bare)
    db.execute("DROP TABLE _rollups")  # what the server sees in a log without rollups
    db.commit()
    db.close()
    fast, slow = create_app(path).test_client(), create_app(bare).test_client()
    db = logdb.connect(path)
    info = store.stream(db, "stream_1")
    assert logdb.rollup(db, info)[:2] == ("_rollup_stream_1", ROLLUP_US)
    assert logdb.rollup(logdb.connect(bare), store.stream(logdb.connect(bare), "stream_1")) is None
    s = ROLLUP_US
    queries = []
    for stream in ("stream_1", "stream_2"):
        for q in ("bucket=%d" % s, "bucket=%d" % (3 * s), "bucket=%d&since=%d&until=%d"
                  % (2 * s, 4 * s, 9 * s), "bucket=%d&board=A&channels=%s" % (
                      s, "y" if stream == "stream_1" else "temp"), "bucket=%d&board=B&limit=3" % s,
                  "bucket=%d&since=%d" % (s, 3 * s + 1),  # not aligned: rows
                  "bucket=1500000", "since=%d&until=%d&limit=10000" % (2 * s + 17, 6 * s),
                  "since=%d&board=B&limit=50" % (5 * s), "until=%d&board=A" % (4 * s + 3),
                  "since=0&until=1&board=nobody"):
            queries.append("/api/streams/%s/readings?%s" % (stream, q))
    for url in queries:
        a, b = fast.get(url), slow.get(url)
        assert a.status_code == b.status_code == 200, (url, a.get_data(as_text=True))
        assert a.get_json() == b.get_json(), url
    some = fast.get("/api/streams/stream_1/readings?bucket=%d" % s).get_json()
    assert sum(some["n"]) > 1000 and some["next_since"] is None


def test_rollup_buckets_equal_raw_buckets_in_the_store(tmp_path):
    path = str(tmp_path / "log.db")
    random_log(path, 5)
    db = logdb.connect(path)
    for name in ("stream_1", "stream_2"):
        info = store.stream(db, name)
        chans = [c["column"] for c in info["channels"]]
        for board in (None, "A", ""):
            for bucket in (ROLLUP_US, 2 * ROLLUP_US, 60 * ROLLUP_US):
                args = (db, info, chans, bucket, None, None, 10000, board)
                assert store.buckets(*args) == store.buckets(*args, raw=True)
