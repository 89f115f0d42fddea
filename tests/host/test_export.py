"""pyb-bridge export: a SQLite log to CSV and Parquet, every row and value
kept (row counts and values round-trip), a file per stream."""

import csv
import sqlite3
import time

import pyarrow.parquet as pq
import pytest
from test_sinks import board_data

from pyb_bridge import cli
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.export import ExportError, export
from pyb_bridge.outputs import open_sink


def logged(tmp_path):
    data, na, nb = board_data(2000)
    path = str(tmp_path / "log.sqlite")
    sink = open_sink(path)
    streams = Streams()
    dec = FrameDecoder()
    for i, k in enumerate(range(0, len(data), 1500)):
        batches, schemas = streams.feed(dec.feed(data[k:k + 1500]))
        sink.write_all(batches, time.time(), schemas, board="B%d" % (i % 2))
    sink.record_counters({"frames": 1})
    sink.close()
    return path, na, nb


def table_rows(path, table):
    db = sqlite3.connect(path)
    return db.execute('SELECT * FROM "%s" ORDER BY rowid' % table).fetchall()


def test_csv_round_trip(tmp_path, capsys):
    path, na, nb = logged(tmp_path)
    out = str(tmp_path / "x.csv")
    assert cli.main(["export", path, "--to", "csv", "-o", out]) == 0
    text = capsys.readouterr().out
    env_csv = str(tmp_path / "x.stream_2.csv")
    assert "stream_1 -> %s (%d rows)" % (out, na) in text
    assert "stream_2 -> %s (%d rows)" % (env_csv, nb) in text
    for table, p, conv, chans in (
            ("stream_1", out, (str, int, int, float, int, int), ["x", "y"]),
            ("stream_2", env_csv, (str, int, int, float, float, int), ["temp", "seq_"])):
        with open(p, newline="") as f:
            rows = list(csv.reader(f))
        # the channels by their declared names ("seq" made distinct from the bridge's)
        assert rows[0] == ["board", "seq", "board_time_us", "host_time"] + chans
        want = table_rows(path, table)
        assert len(rows) - 1 == len(want)
        assert [tuple(c(v) for c, v in zip(conv, r, strict=True)) for r in rows[1:]] == want


def test_parquet_round_trip_with_types_and_units(tmp_path):
    path, na, nb = logged(tmp_path)
    done = export(path, "parquet")
    assert [(t, n) for t, _, n in done] == [("stream_1", na), ("stream_2", nb)]
    assert done[0][1] == str(tmp_path / "log.parquet")
    for table, p, _ in done:
        t = pq.read_table(p)
        assert [tuple(r.values()) for r in t.to_pylist()] == table_rows(path, table)
    t = pq.read_table(done[0][1])
    assert str(t.schema.field("board").type) == "string"
    assert str(t.schema.field("ch0").type) == "int64"
    assert t.schema.field("ch1").metadata == {b"name": b"y", b"type": b"h", b"unit": b"mV"}
    assert t.schema.metadata[b"stream"] == b"adc" and t.schema.metadata[b"period_us"] == b"100"
    env = pq.read_table(done[1][1])
    assert str(env.schema.field("ch0").type) == "double"
    assert env.schema.field("ch1").metadata[b"name"] == b"seq"
    assert set(env.column("board").to_pylist()) == {"B0", "B1"}


def test_one_table_and_errors(tmp_path, capsys):
    path, na, nb = logged(tmp_path)
    done = export(path, "csv", table="stream_2")
    assert [(t, n) for t, _, n in done] == [("stream_2", nb)]
    with pytest.raises(ExportError, match="no table nope .*it has: stream_1, stream_2"):
        export(path, "csv", table="nope")
    bad = tmp_path / "bad.sqlite"
    sqlite3.connect(str(bad)).execute("CREATE TABLE t (a)")
    assert cli.main(["export", str(bad), "--to", "parquet"]) == 2
    assert "not a pyb-bridge SQLite log" in capsys.readouterr().err
    assert cli.main(["export", str(tmp_path / "missing.sqlite"), "--to", "csv"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_csv_export_neutralises_formulas_in_names(tmp_path):
    """A channel or board name that a spreadsheet would run as a formula
    (OWASP: a cell starting with = + - @, tab or CR) is exported as text."""
    from pyb_bridge.decoder import Batch, Channel, Schema

    schema = Schema(1, "s", 1000, [Channel('=HYPERLINK("http://x","y")', "h", ""),
                                   Channel("@SUM(A1)", "h", ""), Channel("-2+3", "h", "")])
    path = str(tmp_path / "log.sqlite")
    with open_sink(path) as sink:
        sink.write_all([Batch(schema, 1, range(0, 2000, 1000), [[1, -2], [3, 4], [5, 6]])],
                       1.0, [schema], board="+cmd|' /C calc'!A0")
    export(path, "csv")
    with open(str(tmp_path / "log.csv"), newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][4:] == ["'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(A1)", "'-2+3"]
    assert rows[1][0] == "'+cmd|' /C calc'!A0" and rows[1][4:] == ["1", "3", "5"]
    assert rows[2][4] == "-2"  # numbers stay numbers
