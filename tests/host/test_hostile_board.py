"""Hostile and unlucky boards: one test per case. The end-to-end cases run
the real ``pyb-bridge log`` on a pseudo-terminal (tests/host/hostile_support.py);
the others feed the decoder the bytes such a board sends. Frames are made by
the board's own encoder (pyb_lib.stream), then damaged, replayed, reordered
or cut as the case says."""

import random
import sqlite3
import struct
import zlib

from hostile_support import LogRun, record
from vboard_support import needs_vboard

from pyb_bridge.decoder import T_DATA, FrameDecoder, Streams
from pyb_bridge.decoder import decode as decode_bytes

TEMP = (("temp", "h", "cC"),)
PRESSURE = (("pressure", "I", "Pa"),)


def decode(chunks, dec=None, streams=None):
    """Feed ``chunks`` (a list of bytes); (decoder, streams, [(schema name,
    channel names, row values)])."""
    dec = dec or FrameDecoder(warn=lambda line: None)
    streams = streams or Streams(warn=lambda line: None)
    rows = []
    for c in chunks:
        batches, _ = streams.feed(dec.feed(c))
        for b in batches:
            rows += [(b.schema.name, b.schema.names, v) for v in zip(*b.columns, strict=True)]
    return dec, streams, rows


def flip(frame, offset, bit=0):
    b = bytearray(frame)
    b[offset] ^= 1 << bit
    return bytes(b)


def channel_rows(db, channel):
    """The values logged under the channel named ``channel`` (any table)."""
    out = []
    for table, column in db.execute('SELECT "table", "column" FROM "_channels" '
                                    'WHERE "channel" = ? ORDER BY rowid', (channel,)).fetchall():
        out += [r[0] for r in db.execute('SELECT "%s" FROM "%s" ORDER BY rowid'
                                         % (column, table))]
    return out


# --- protocol version 2: schema and boot in every frame ---------------------------

def test_restart_with_other_channels_and_a_damaged_descriptor(tmp_path):
    """A board re-flashed with other channels under the same stream id and
    name, whose first descriptor after the restart is hit by a bit flip:
    no pressure reading lands in the temperature table, none is lost."""
    before = record(TEMP, [(2000 + k,) for k in range(20)], name="env", frame_bytes=40)
    after = record(PRESSURE, [(45556 + k,) for k in range(40)], name="env", frame_bytes=40,
                   descriptor_every=4)
    after[0] = flip(after[0], 30)  # the restart's descriptor: its CRC fails
    run = LogRun(tmp_path)
    run.send(b"".join(before) + b"".join(after))
    run.wait_for(lambda db: len(channel_rows(db, "pressure")) == 40)
    assert run.stop() == 0, run.stderr
    db = sqlite3.connect(run.out)
    assert channel_rows(db, "temp") == [2000 + k for k in range(20)]
    assert channel_rows(db, "pressure") == [45556 + k for k in range(40)]
    c = run.counters()
    assert c["restarts"] == 1 and c["crc_errors"] == 1 and c["held"] == 4, c


def test_held_frames_are_decoded_only_with_their_own_descriptor():
    """A flood of frames of a restarted board before its descriptor: held
    (bounded), never decoded with the descriptor of the boot before; the
    ones held decoded with their own when it comes, the rest counted."""
    before = record(TEMP, [(k,) for k in range(10)], name="env", frame_bytes=40)
    after = record(PRESSURE, [(100000 + k,) for k in range(900)], name="env", frame_bytes=40,
                   descriptor_every=300)  # 3 records a frame: a repeat after 300 frames
    assert after[301][3] == 1  # the repeated descriptor
    streams = Streams(hold=100, warn=lambda line: None)
    dec, streams, rows = decode(before + after[1:302], streams=streams)
    temps = [v[0] for name, names, v in rows if names == ("temp",)]
    pressures = [v[0] for name, names, v in rows if names == ("pressure",)]
    assert temps == list(range(10))
    assert pressures == [100000 + k for k in range(600, 900)]  # the newest 100 frames held
    assert streams.held == 300 and streams.held_dropped == 200 and dec.restarts == 1


def test_replayed_stream_gives_no_duplicate_rows_and_no_false_counters(tmp_path):
    """The same frames sent twice, and an old boot's frames after a new
    boot: one row per reading; duplicates and replays counted as such."""
    one = record(TEMP, [(k,) for k in range(30)], name="env", frame_bytes=40)
    two = record(TEMP, [(1000 + k,) for k in range(30)], name="env", frame_bytes=40)
    run = LogRun(tmp_path)
    run.send(b"".join(one) + b"".join(one) + b"".join(two) + b"".join(one[:5]))
    run.wait_for(lambda db: len(channel_rows(db, "temp")) == 60)
    assert run.stop() == 0, run.stderr
    db = sqlite3.connect(run.out)
    assert channel_rows(db, "temp") == list(range(30)) + [1000 + k for k in range(30)]
    c = run.counters()
    assert c["duplicates"] == len(one) and c["replays"] == 5 and c["restarts"] == 1, c
    assert c["frames_lost"] == 0, c


def test_reordered_frames_are_logged_and_not_counted_lost():
    frames = record(TEMP, [(k,) for k in range(40)], frame_bytes=40)
    frames[3], frames[5] = frames[5], frames[3]
    dec, _, rows = decode(frames)
    assert sorted(v[0] for _, _, v in rows) == list(range(40))
    assert dec.frames_lost == 0 and dec.reordered == 2 and dec.duplicates == 0


# --- resync that holds nothing hostage -----------------------------------------------

def test_a_flipped_length_bit_on_a_slow_stream_loses_one_frame(tmp_path):
    """One flipped high bit in a length field (the frame now claims 8 KB
    more than the whole rest of the stream): the frames behind it are
    logged while the log runs, not held until exit; one damaged frame,
    one lost."""
    frames = record(TEMP, [(k,) for k in range(300)], frame_bytes=30)
    data = [f for f in frames if f[3] == T_DATA]
    assert len(data) == 300
    k = frames.index(data[10])
    frames[k] = flip(frames[k], 7, 5)  # length + 8192
    run = LogRun(tmp_path)
    run.send(b"".join(frames))
    run.wait_for(lambda db: len(channel_rows(db, "temp")) == 299)
    assert run.stop() == 0, run.stderr
    c = run.counters()
    assert c["crc_errors"] == 1 and c["frames_lost"] == 1, c


def test_an_incomplete_last_frame_is_given_up_after_a_bounded_time():
    now = [0.0]
    dec = FrameDecoder(warn=lambda line: None, clock=lambda: now[0])
    frames = record(TEMP, [(k,) for k in range(5)], frame_bytes=30)
    bad = flip(frames[2], 7, 5)
    out = dec.feed(b"".join(frames[:2]) + bad)
    assert len(out) == 2 and dec.crc_errors == 0  # waiting: it might still come
    now[0] += 1.0
    assert dec.feed(b"") == [] and dec.crc_errors == 0
    now[0] += 1.0  # max_wait_s: 2 s
    assert dec.feed(b"") == [] and dec.crc_errors == 1
    out = dec.feed(b"".join(frames[3:]))  # the frames behind decode at once
    assert len(out) == len(frames) - 3 and dec.frames_lost == 1


def test_crc_errors_count_damaged_frames():
    """Single bit flips in random frames (past the sync, version and type
    bytes, which make the frame no frame at all): ``crc_errors`` is the
    number of frames hit, in every trial."""
    rnd = random.Random(17)
    frames = record(TEMP + PRESSURE, [(k, 3 * k) for k in range(400)], frame_bytes=60,
                    period_us=0)
    for trial in range(200):
        hit = sorted(rnd.sample(range(1, len(frames)), rnd.randint(1, 12)))
        data = list(frames)
        for i in hit:
            data[i] = flip(data[i], rnd.randrange(4, len(data[i])), rnd.randrange(8))
        dec = FrameDecoder(warn=lambda line: None)
        out = dec.feed(b"".join(data)) + dec.feed(b"", final=True)
        assert dec.crc_errors == len(hit), (trial, hit, dec.counters())
        assert len(out) == len(frames) - len(hit)


def test_a_version_1_board_is_told_in_one_line(tmp_path):
    """A board with the version 1 library: one line naming both versions."""
    def frame(typ, seq, payload):
        head = b"\xa5\xd3" + struct.pack("<BBBBHII", 1, typ, 1, 0, len(payload), seq, seq)
        return head + payload + struct.pack("<I", zlib.crc32(head + payload))

    desc = struct.pack("<BBI", 1, 1, 1000) + b"\x03env" + b"h\x04temp\x02cC"
    data = frame(1, 0, desc) + b"".join(frame(2, k + 1, struct.pack("<h", k))
                                        for k in range(50))
    run = LogRun(tmp_path)
    run.send(data)
    line = run.wait_line(lambda ln: "protocol" in ln)
    assert run.stop() == 0
    assert line.startswith("pyb-bridge: the board sends stream protocol 1; ") and \
        "understands protocol 2 only" in line
    assert [ln for ln in run.lines if "protocol" in ln] == [line]
    assert run.counters()["older_frames"] == 51


# --- names are data --------------------------------------------------------------------

def log_frames(path, frames, board="A"):
    """Decode ``frames`` and write them to the sink for ``path``."""
    from pyb_bridge.outputs import open_sink

    with open_sink(str(path), flush_interval=0.0) as sink:
        batches, schemas = decode_bytes(b"".join(frames))
        sink.write_all(batches, 1.0, schemas, board=board)
    return str(path)


def test_names_sqlite_cannot_hold_as_identifiers_stop_nothing(tmp_path):
    """Channels named like the bridge's own columns (any case), two that
    differ only in case, a stream named like SQLite's own tables, and one
    named like another's rollup before it: every reading logged, by the
    real ``pyb-bridge log``, each under its declared name."""
    frames = (record((("SEQ", "h", ""), ("Board", "h", ""), ("Host_Time", "h", ""),
                      ("a", "h", ""), ("A", "h", "")), [(1, 2, 3, 4, 5)], name="x",
                     stream_id=1)
              + record(TEMP, [(6,)], name="sqlite_x", stream_id=2)
              + record(TEMP, [(7,)], name="_rollup_adc", stream_id=3)
              + record(TEMP, [(8,)], name="adc", stream_id=4))
    run = LogRun(tmp_path)
    run.send(b"".join(frames))
    run.wait_for(lambda db: db.execute('SELECT COUNT(*) FROM "_streams"').fetchone()[0] == 4
                 and all(db.execute('SELECT COUNT(*) FROM "%s"' % t).fetchone()[0] == 1
                         for (t,) in db.execute('SELECT "table" FROM "_streams"')))
    assert run.stop() == 0, run.stderr
    db = sqlite3.connect(run.out)
    from pyb_bridge import logdb

    assert logdb.select(db, "x", "SEQ", "Board", "Host_Time", "a", "A", "seq") == [
        (1, 2, 3, 4, 5, 1)]
    for name, v in (("sqlite_x", 6), ("_rollup_adc", 7), ("adc", 8)):
        assert logdb.select(db, name, "temp") == [(v,)]


def test_a_channel_named_rowid_or_row_is_a_channel_in_the_api(tmp_path):
    from pyb_bridge.server import create_app

    path = log_frames(tmp_path / "log.db", record((("rowid", "h", ""), ("row", "h", "")),
                                                   [(100 + k, 200 + k) for k in range(5)]))
    client = create_app(path).test_client()
    (info,) = client.get("/api/streams").get_json()["streams"]
    assert [c["name"] for c in info["channels"]] == ["rowid", "row"]
    page = client.get("/api/streams/%s/readings" % info["name"]).get_json()
    cols = {c["name"]: page["columns"].index(c["column"]) for c in info["channels"]}
    assert [r[cols["rowid"]] for r in page["rows"]] == [100, 101, 102, 103, 104]
    assert [r[cols["row"]] for r in page["rows"]] == [200, 201, 202, 203, 204]
    assert [r[0] for r in page["rows"]] == [1, 2, 3, 4, 5]  # the server's own row ids


def test_a_channel_named_stream_does_not_replace_the_stream_name(tmp_path):
    path = log_frames(tmp_path / "log.jsonl", record((("stream", "h", ""), ("board", "h", "")),
                                                      [(1, 2)], name="env"), board="B")
    import json

    with open(path) as f:
        (rec,) = [json.loads(line) for line in f]
    assert rec["stream"] == "env" and rec["board"] == "B"
    assert rec["values"] == {"stream": 1, "board": 2}


def test_streams_whose_names_differ_in_punctuation_get_their_own_tables(tmp_path):
    from pyb_bridge import logdb

    path = log_frames(tmp_path / "log.db", record(TEMP, [(1,)], name="a-b", stream_id=1)
                      + record(TEMP, [(2,)], name="a b", stream_id=2))
    db = sqlite3.connect(path)
    assert logdb.select(db, "a-b", "temp") == [(1,)] and logdb.select(db, "a b", "temp") == [(2,)]


def test_a_unit_or_type_change_makes_a_new_table_version(tmp_path):
    """The older rows keep their unit: a change of unit or type under the
    same names is a new table, version 2 and 3 in ``_streams``."""
    from pyb_bridge import logdb

    path = log_frames(tmp_path / "log.db",
                      record((("t", "h", "cC"),), [(2150,)], name="env", stream_id=1)
                      + record((("t", "h", "mC"),), [(21500,)], name="env", stream_id=1)
                      + record((("t", "f", "C"),), [(21.5,)], name="env", stream_id=1))
    db = sqlite3.connect(path)
    got = [(logdb.select(db, "env", "t", version=v),
            db.execute('SELECT "unit", "type" FROM "_channels" WHERE "table" = ?',
                       (logdb.table(db, "env", v),)).fetchone()) for v in (1, 2, 3)]
    assert got == [([(2150,)], ("cC", "h")), ([(21500,)], ("mC", "h")), ([(21.5,)], ("C", "f"))]


def test_nan_and_infinity_are_valid_json_everywhere(tmp_path):
    """JSONL, an MQTT message and the live event stream: strict JSON
    (NaN and +-infinity as null)."""
    import json
    from types import SimpleNamespace

    from pyb_bridge.mqtt import MqttSink
    from pyb_bridge.server import create_app

    nan, inf = float("nan"), float("inf")
    frames = record((("v", "f", "V"),), [(1.5,), (nan,), (inf,), (-inf,)], name="f")

    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest_fail(c))

    path = log_frames(tmp_path / "log.jsonl", frames)
    with open(path) as f:
        assert [strict(line)["values"]["v"] for line in f] == [1.5, None, None, None]
    sent = []
    batches, _ = decode_bytes(b"".join(frames))
    for payload in ("batch", "row"):
        fake = SimpleNamespace(payload=payload, prefix="lab", describe=lambda *a: None,
                               _send=lambda topic, data, retain=False: sent.append(data))
        fake.topic = lambda board, stream, fake=fake: MqttSink.topic(fake, board, stream)
        for b in batches:
            MqttSink._write(fake, b, 1.0, board="A")
    assert [strict(m.decode()) for m in sent]
    db = log_frames(tmp_path / "log.db", frames)
    client = create_app(db).test_client()
    resp = client.get("/api/streams/stream_1/events?after=0", buffered=False)
    body = b""
    for chunk in resp.response:
        body += chunk
        if b"event: rows" in body and body.endswith(b"\n\n") and b"id:" in body:
            break
    resp.close()
    data = [ln[6:] for ln in body.decode().splitlines() if ln.startswith("data: ")]
    rows = strict(data[0])["rows"]
    assert [r[-1] for r in rows] == [1.5, None, None, None]


def pytest_fail(constant):
    raise AssertionError("not JSON: %s" % constant)


def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path):
    import csv

    path = log_frames(tmp_path / "log.csv", record(
        (("=HYPERLINK(\"http://x\")", "h", ""), ("@A1", "h", ""), ("-x", "h", ""),
         ("\tt", "h", ""), ("\rr", "h", ""), ("+1", "h", ""), ("ok", "h", "")),
        [(1, -2, 3, 4, 5, 6, 7)]), board="=cmd")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][5:] == ["'=HYPERLINK(\"http://x\")", "'@A1", "'-x", "'\tt", "'\rr", "'+1",
                           "ok"]
    assert rows[1][1] == "'=cmd" and rows[1][5:] == ["1", "-2", "3", "4", "5", "6", "7"]


# --- the server -----------------------------------------------------------------------

def test_a_bad_last_event_id_is_a_400_naming_it(tmp_path):
    from pyb_bridge.server import create_app

    path = log_frames(tmp_path / "log.db", record(TEMP, [(1,)]))
    client = create_app(path).test_client()
    for bad in ("\u00b2", "9" * 5000, "-1", "1.5", " 7", ""):
        r = client.get("/api/streams/stream_1/events", headers={"Last-Event-ID": bad})
        assert r.status_code == 400, (bad, r.status_code)
        assert r.get_json()["parameter"] == "Last-Event-ID"
    r = client.get("/api/streams/stream_1/events", headers={"Last-Event-ID": "0"},
                   buffered=False)
    assert r.status_code == 200
    r.close()


# --- runs ------------------------------------------------------------------------------

def test_an_unknown_output_extension_is_an_error_listing_the_known_ones(tmp_path, capsys):
    from pyb_bridge import cli

    out = tmp_path / "x.parquet"
    assert cli.main(["log", "--port", "loop://", "--out", str(out), "--duration", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown extension '.parquet'" in err[0]
    assert ".sqlite .sqlite3 .db .csv .jsonl .json" in err[0] and "--format" in err[0]
    assert not out.exists()


def test_an_existing_log_is_refused_unless_append_or_overwrite(tmp_path, capsys):
    from pyb_bridge import cli

    out = tmp_path / "log.sqlite"
    out.write_bytes(b"keep me")
    assert cli.main(["log", "--port", "loop://", "--out", str(out), "--duration", "0"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == ("pyb-bridge log: --out %s exists: add --append to add this run to it, or "
                    "--overwrite to replace it" % out)
    assert out.read_bytes() == b"keep me"
    assert cli.main(["log", "--port", "loop://", "--out", str(out), "--duration", "0",
                     "--overwrite", "--quiet"]) == 0
    assert sqlite3.connect(str(out)).execute('SELECT COUNT(*) FROM "_runs"').fetchone() == (1,)


def test_each_run_has_its_id_rows_and_counters(tmp_path):
    """Two runs appended to one log: each in _runs, with its own rows
    (_run_rows) and counters (_run_counters); nothing mixed."""
    first = record(TEMP, [(k,) for k in range(20)], name="env", frame_bytes=40)
    second = record(TEMP, [(100 + k,) for k in range(30)], name="env", frame_bytes=40)
    second[3] = flip(second[3], 30)  # one damaged frame in the second run only
    for frames, n, args in ((first, 20, ()), (second, 24, ("--append",))):
        run = LogRun(tmp_path, args=args)
        run.send(b"".join(frames))
        want = n + (20 if args else 0)
        run.wait_for(lambda db, want=want: len(channel_rows(db, "temp")) >= want)
        assert run.stop() == 0, run.stderr
    db = sqlite3.connect(run.out)
    assert [r[0] for r in db.execute('SELECT "run" FROM "_runs" ORDER BY 1')] == [1, 2]
    spans = db.execute('SELECT "run", "first_row", "last_row" FROM "_run_rows" ORDER BY 1'
                       ).fetchall()
    assert spans == [(1, 1, 20), (2, 21, 44)]  # 6 readings a frame, one frame damaged
    crc = dict(db.execute('SELECT "run", "value" FROM "_run_counters" WHERE "board" = \'\' '
                          'AND "name" = \'crc_errors\''))
    assert crc == {1: 0, 2: 1}


def test_a_csv_appended_by_a_run_with_other_channels_gets_its_own_file(tmp_path):
    import csv

    out = tmp_path / "log.csv"
    log_frames(out, record(TEMP, [(1,)], name="env"))
    log_frames(out, record(PRESSURE, [(2,)], name="env"))  # an appending run
    with open(out, newline="") as f:
        assert list(csv.reader(f))[0][5:] == ["temp"]
    with open(tmp_path / "log.env.csv", newline="") as f:  # beside it, as another stream
        rows = list(csv.reader(f))
    assert rows[0][5:] == ["pressure"] and rows[1][5:] == ["2"]


def test_plot_reads_csv_and_jsonl(tmp_path):
    from pyb_bridge.plot import plot

    frames = record((("x1", "H", "raw"), ("=t", "h", "cC")), [(k, -k) for k in range(50)],
                    name="adc")
    for ext in ("csv", "jsonl"):
        path = log_frames(tmp_path / ("log." + ext), frames)
        png = tmp_path / ("log_%s.png" % ext)
        want = ["log.x1", "log.=t"] if ext == "csv" else ["adc.x1", "adc.=t"]
        assert plot(path, str(png)) == want
        assert png.stat().st_size > 1000


# --- the board's words ----------------------------------------------------------------

def test_text_the_board_prints_between_frames_is_shown_and_logged(tmp_path):
    """print() output and a traceback between frames: each line on the
    terminal, named by board, and in the log's _board_text; the frames
    around them are logged."""
    frames = record(TEMP, [(k,) for k in range(10)], frame_bytes=40)
    text = (b"starting the sampler\r\n"
            b"Traceback (most recent call last):\r\n"
            b'  File "main.py", line 7, in <module>\r\n'
            b"MemoryError: memory allocation failed, allocating 4096 bytes\r\n")
    run = LogRun(tmp_path)
    run.send(b"".join(frames[:2]) + text + b"".join(frames[2:]))
    run.wait_line(lambda ln: ln.endswith("MemoryError: memory allocation failed, allocating "
                                         "4096 bytes"))
    run.wait_for(lambda db: len(channel_rows(db, "temp")) == 10)
    assert run.stop() == 0, run.stderr  # no --script: the board's own program
    board = run.board.link
    shown = [ln for ln in run.lines if ln.startswith(board + ": ")]
    assert shown == [board + ": " + t for t in text.decode().splitlines()]
    db = sqlite3.connect(run.out)
    assert [r[0] for r in db.execute('SELECT "text" FROM "_board_text" ORDER BY rowid')] == \
        text.decode().splitlines()


def test_a_silent_board_gets_a_one_line_hint(tmp_path):
    run = LogRun(tmp_path, args=("--silence", "0.5"))
    run.board.wait_opened()
    line = run.wait_line(lambda ln: "nothing from the board" in ln)
    assert run.stop() == 0
    assert line == ("pyb-bridge log: %s: nothing from the board for 0.5 s: is its program "
                    "running and streaming (pyb_lib.stream)? Give it with --script FILE, or "
                    "check main.py" % run.board.link)
    assert [ln for ln in run.lines if "nothing from the board" in ln] == [line]  # once


@needs_vboard
def test_a_script_that_dies_makes_log_exit_non_zero_with_its_traceback(tmp_path):
    """``log --script`` with a script that raises: its traceback on the
    terminal and exit status 4 naming the error (it used to be 0 rows,
    exit 0, no message)."""
    import subprocess
    import sys

    from vboard_support import env, start_vboard, stop_vboard

    script = tmp_path / "bad.py"
    script.write_text("print('about to fail')\nraise MemoryError('no room for the buffer')\n")
    proc, port = start_vboard(tmp_path / "flash", "--fast")
    try:
        r = subprocess.run([sys.executable, "-m", "pyb_bridge.cli", "log", "--port", port,
                            "--out", str(tmp_path / "log.db"), "--script", str(script),
                            "--duration", "3", "--quiet"],
                           capture_output=True, text=True, env=env(), timeout=120)
    finally:
        stop_vboard(proc)
    assert r.returncode == 4, r.stdout + r.stderr
    err = r.stderr.splitlines()
    assert "%s: about to fail" % port in err, err
    assert "%s: Traceback (most recent call last):" % port in err
    assert "%s: MemoryError: no room for the buffer" % port in err
    assert err[-1].startswith("pyb-bridge log: %s: the script stopped with MemoryError: no "
                              "room for the buffer (its traceback is above)" % port), err[-1]


def test_a_host_header_not_allowed_is_a_403(tmp_path):
    """A page from another site resolved to 127.0.0.1 (DNS rebinding) sends
    its own name as Host: refused, unless --allow-host names it."""
    from pyb_bridge.server import create_app

    path = log_frames(tmp_path / "log.db", record(TEMP, [(1,)]))
    client = create_app(path).test_client()
    for ok in ("localhost", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."):
        assert client.get("/api/streams", headers={"Host": ok}).status_code == 200, ok
    r = client.get("/api/streams", headers={"Host": "rebind.attacker.example:8000"})
    assert r.status_code == 403 and "--allow-host" in r.get_json()["error"]
    allowed = create_app(path, allow_hosts=["lab.local"]).test_client()
    assert allowed.get("/api/streams", headers={"Host": "lab.local:8000"}).status_code == 200
    assert allowed.get("/", headers={"Host": "other.local"}).status_code == 403


def test_idle_connections_do_not_lock_clients_out(tmp_path):
    """150 connections that send nothing from one client (127.0.0.2: more
    than waitress' default limit of 100): another client still gets its
    answer, that client's connections past PER_CLIENT are closed at once,
    and the idle ones after IDLE_TIMEOUT_S."""
    import socket
    import urllib.request

    from pyb_bridge.server import IDLE_TIMEOUT_S, PER_CLIENT, serve_in_thread, stop_server

    path = log_frames(tmp_path / "log.db", record(TEMP, [(1,)]))
    server = serve_in_thread(path, "127.0.0.1", 0, threads=4)
    idle = []
    try:
        port = server.effective_port
        for _ in range(150):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=30,
                                                  source_address=("127.0.0.2", 0)))
        with urllib.request.urlopen(server.url + "api/streams", timeout=5) as r:
            assert r.status == 200
        idle[-1].settimeout(10)
        assert idle[-1].recv(1) == b""  # past PER_CLIENT: closed by the server at once
        idle[0].settimeout(IDLE_TIMEOUT_S + 20)
        assert idle[0].recv(1) == b""  # closed by the server, not by us
        assert PER_CLIENT < 150
    finally:
        for s in idle:
            s.close()
        stop_server(server)


def test_a_busy_serve_port_is_said_as_such(tmp_path, capsys):
    """--serve on a TCP port another program holds: one line about the
    port, not about disk space; no log file left."""
    import socket

    from pyb_bridge import cli

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    out = tmp_path / "log.sqlite"
    try:
        rc = cli.main(["log", "--port", "loop://", "--out", str(out), "--serve",
                       "--serve-port", str(port), "--duration", "0", "--quiet"])
    finally:
        held.close()
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and line == ("pyb-bridge log: --serve: cannot listen on 127.0.0.1:%d: the "
                                "port is in use (another server?): choose another --serve-port"
                                % port)
    assert not out.exists()


def test_plots_do_not_join_runs(tmp_path):
    """Two runs appended to one log (the second board time right after the
    first, so no gap in time would show it): the plot's line breaks
    between them."""
    from pyb_bridge.outputs import open_sink
    from pyb_bridge.plot import series

    path = str(tmp_path / "log.db")
    frames = record(TEMP, [(k,) for k in range(10)], frame_bytes=40)
    for _ in range(2):
        with open_sink(path, flush_interval=0.0) as sink:
            sink.start_run(["A"])
            batches, schemas = decode_bytes(b"".join(frames))
            sink.write_all(batches, 1.0, schemas, board="A")
    xs, ys = series(sqlite3.connect(path), "stream_1", "ch0")
    assert ys == list(range(10)) + [None] + list(range(10))
