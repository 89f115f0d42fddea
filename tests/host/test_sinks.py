"""pyb_bridge.sinks: every row sent is written; SQLite stays readable after
a clean stop and after kill -9."""

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from pyb_bridge import logdb
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.outputs import open_sink
from pyb_lib.stream import Stream
from pyb_sim.capture import Capture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def board_data(n=3000):
    port = Capture()
    t = [0]

    def clock():  # the board's clock: a reading of "adc" every 100 us
        return t[0]

    a = Stream((("x", "H", "raw"), ("y", "h", "mV")), port, name="adc", period_us=100,
               clock=clock)
    b = Stream((("temp", "f", "C"), ("seq", "i", "")), port, name="env", stream_id=2,
               clock=clock, frame_bytes=200)
    a.start()
    b.start()
    for k in range(n):
        t[0] = 10 + 100 * k
        a.add(k, -k)
        if k % 3 == 0:
            b.add(k / 8, k)
    a.stop()
    b.stop()
    return bytes(port.data), n, (n + 2) // 3


def log(data, sink, chunk=1000):
    dec = FrameDecoder()
    streams = Streams()
    for i in range(0, len(data), chunk):
        batches, schemas = streams.feed(dec.feed(data[i:i + chunk]))
        sink.write_all(batches, time.time(), schemas)
    sink.close()


def test_sqlite_rows_and_integrity(tmp_path):
    data, na, nb = board_data()
    path = str(tmp_path / "log.db")
    sink = open_sink(path, flush_interval=0.0)
    log(data, sink)
    assert sink.rows == na + nb
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    adc, env = logdb.table(db, "adc"), logdb.table(db, "env")
    assert (adc, env) == ("stream_1", "stream_2")  # generated names, never the board's
    cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % adc)]
    assert cols == ["board", "seq", "board_time_us", "host_time", "ch0", "ch1"]
    # a channel named "seq" is a column of its own, beside the bridge's seq
    assert logdb.columns(db, env) == {"temp": "ch0", "seq": "ch1"}
    rows = logdb.select(db, "adc", "x", "y", "board_time_us")
    assert [(x, y) for x, y, _ in rows] == [(k, -k) for k in range(na)]
    assert logdb.select(db, "env", "temp", "seq") == [(k / 8, k) for k in range(0, na, 3)]


def test_a_stream_that_changes_its_channels_gets_a_new_table(tmp_path):
    path = str(tmp_path / "log.db")
    for chans in ((("a", "H", ""),), (("a", "H", ""), ("b", "H", ""))):
        port = Capture()
        with Stream(chans, port, name="s", period_us=10) as s:
            s.add(1, 2)
        log(bytes(port.data), open_sink(path))
    db = sqlite3.connect(path)
    names = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    assert names == ["_board_counters", "_board_text", "_channels", "_counters",
                     "_rollup_stream_1", "_rollup_stream_2", "_rollups", "_run_counters",
                     "_run_rows", "_runs", "_streams", "stream_1", "stream_2"]
    chans = db.execute('SELECT "table", "column", "channel", "type" FROM _channels '
                       'ORDER BY 1, 2').fetchall()
    assert chans == [("stream_1", "ch0", "a", "H"), ("stream_2", "ch0", "a", "H"),
                     ("stream_2", "ch1", "b", "H")]
    assert db.execute('SELECT "table", "stream", "version" FROM "_streams" ORDER BY 1'
                      ).fetchall() == [("stream_1", "s", 1), ("stream_2", "s", 2)]


def test_csv_rows(tmp_path):
    data, na, nb = board_data()
    path = str(tmp_path / "log.csv")
    sink = open_sink(path)
    log(data, sink)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["run", "board", "seq", "board_time_us", "host_time", "x", "y"]
    assert [(int(r[5]), int(r[6])) for r in rows[1:]] == [(k, -k) for k in range(na)]
    assert {r[0] for r in rows[1:]} == {"1"}
    with open(str(tmp_path / "log.env.csv"), newline="") as f:
        assert len(list(csv.reader(f))) == nb + 1


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_an_appended_run_gets_the_next_run_id_in_every_file(tmp_path, ext):
    """The second run appended to a CSV or JSONL log is run 2 in the file
    it shares and in the per-stream file beside it; the plot never joins
    the two runs."""
    from pyb_bridge.plot import open_log, series

    path = str(tmp_path / ("log" + ext))
    for expect in (1, 2):
        data, na, nb = board_data()
        sink = open_sink(path)
        assert sink.start_run() == expect
        log(data, sink)
    for p in (path, str(tmp_path / ("log.env" + ext))):
        with open(p, newline="") as f:
            if ext == ".csv":
                runs = [r[0] for r in csv.reader(f)][1:]
            else:
                runs = [str(json.loads(line)["run"]) for line in f]
        n = na if p == path else nb
        assert runs == ["1"] * n + ["2"] * n
    db = open_log(path)
    table = db.execute('SELECT "table" FROM "_channels" WHERE "channel" = \'x\'').fetchone()[0]
    col = db.execute('SELECT "column" FROM "_channels" WHERE "channel" = \'x\'').fetchone()[0]
    xs, ys = series(db, table, col)
    assert ys.count(None) == 1 and ys.index(None) == na  # a break between the runs


def test_jsonl_rows(tmp_path):
    data, na, nb = board_data()
    path = str(tmp_path / "log.jsonl")
    log(data, open_sink(path))
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == na and rows[5]["values"] == {"x": 5, "y": -5}
    assert rows[0]["stream"] == "adc" and set(rows[0]) == {
        "stream", "board", "seq", "board_time_us", "host_time", "run", "values"}
    assert {r["run"] for r in rows} == {1}
    with open(str(tmp_path / "log.env.jsonl")) as f:
        assert sum(1 for _ in f) == nb


KILLED_LOGGER = """
import sys, time
sys.path[:0] = [%r, %r]
import pyb_sim
pyb_sim.install()
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.outputs import open_sink
from pyb_lib.stream import Stream

from pyb_sim.capture import Capture

port = Capture()
s = Stream((("x", "H", ""), ("y", "H", "")), port, name="adc", period_us=100)
s.start()
sink = open_sink(%r, flush_interval=0.02)
dec = FrameDecoder()
streams = Streams()
k = 0
told = False
while True:
    for _ in range(2000):
        s.add(k & 0xFFFF, 7)
        k += 1
    batches, _ = streams.feed(dec.feed(bytes(port.data)))
    port.data = bytearray()
    sink.write_all(batches, time.time())
    if sink.rows > 20000 and not told:
        sink.flush()  # committed: these rows must survive the kill
        print(sink.rows, flush=True)
        told = True
"""


def test_sqlite_is_readable_after_kill_9(tmp_path):
    path = str(tmp_path / "killed.db")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOGGER % (os.path.join(ROOT, "host"), ROOT, path)],
        stdout=subprocess.PIPE, text=True)
    try:
        committed = int(proc.stdout.readline())  # then killed while it writes on
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    xs = [r[0] for r in logdb.select(db, "adc", "x")]
    assert len(xs) >= committed > 20000
    assert xs == [k & 0xFFFF for k in range(len(xs))]  # every row up to the last commit
