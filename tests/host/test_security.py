"""The security table of docs/security.md, one test per row: the board (or
anything on its port) and the network are untrusted.

Hostile descriptor strings, the server's access token, MQTT with a password
and TLS, and memory bounds against floods. Frames are built here byte by
byte (docs/protocol.md) so that they can say what a real board never would.
"""

import ast
import csv
import glob
import json
import os
import re
import sqlite3
import struct
import subprocess
import sys
import time
import tracemalloc
import urllib.error
import urllib.request
import zlib

import pytest

from pyb_bridge import cli, logdb
from pyb_bridge.cli import serve
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.decoder import decode as decode_bytes
from pyb_bridge.outputs import open_sink
from pyb_bridge.server import create_app, serve_in_thread, stop_server

BIN = os.path.dirname(sys.executable)
SYNC = b"\xa5\xd3"
HDR = struct.Struct("<BBBBHIIII")
BOOT = 7
_SCHEMA = {}  # stream id -> the schema id of the last descriptor built for it


# --- frames as a hostile board sends them ----------------------------------

def frame(typ, stream, seq, payload, t=0, version=2, flags=0, length=None, schema=None,
          boot=BOOT):
    """A version 2 frame; a descriptor's schema id is the CRC-32 of its
    payload, and other frames take the last one built for their stream."""
    if schema is None:
        if typ == 1:
            schema = _SCHEMA[stream] = zlib.crc32(payload)
        else:
            schema = _SCHEMA.get(stream, 0)
    head = SYNC + HDR.pack(version, typ, stream, flags,
                           len(payload) + 8 if length is None else length, seq, t, schema, boot)
    body = head + payload
    return body + struct.pack("<I", zlib.crc32(body))


def text(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return bytes([len(b)]) + b


def descriptor(name, channels, period_us=100, n=None):
    """``channels``: [(type code, name, unit)]."""
    p = struct.pack("<BBI", 2, len(channels) if n is None else n, period_us) + text(name)
    for code, cname, unit in channels:
        p += code.encode() + text(cname) + text(unit)
    return p


def data(values, code="h"):
    return struct.pack("<%d%s" % (len(values), code), *values)


def decode(stream_bytes, chunk=4096):
    dec, st = FrameDecoder(), Streams()
    batches, schemas = decode_bytes(stream_bytes, chunk, dec, st)
    return batches, schemas, dec, st


# --- 2. the server: loopback by default, a token anywhere else --------------

def small_log(path):
    wire = frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")])) + frame(
        2, 0, 1, data([1, 2, 3]))
    batches, schemas, _, _ = decode(wire)
    with open_sink(str(path), flush_interval=0.0) as sink:
        sink.write_all(batches, 1.0, schemas, board="A")
    return str(path)


TOKEN = "s3cret-token-\u00e9"
PATHS = ["/", "/static/dashboard.js", "/static/dashboard.css", "/api/openapi.json",
         "/api/streams", "/api/boards", "/api/streams/stream_1",
         "/api/streams/stream_1/readings", "/api/streams/stream_1/stats",
         "/api/streams/stream_1/events", "/api/nothing"]


def test_serve_binds_to_loopback_by_default():
    import argparse

    from pyb_bridge.cli import log

    ap = argparse.ArgumentParser()
    log.add_serve_arguments(ap)
    assert ap.parse_args([]).serve_host == "127.0.0.1"
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1")
    assert serve.is_loopback("localhost") and serve.is_loopback("127.0.0.2")
    for public in ("0.0.0.0", "::", "", "192.168.1.10", "example.org"):
        assert not serve.is_loopback(public), public


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_serve_refuses_a_public_address_without_a_token(tmp_path, monkeypatch, capsys, host):
    monkeypatch.delenv(serve.TOKEN_ENV, raising=False)
    db = small_log(tmp_path / "log.sqlite")
    # refused before anything listens: nothing is bound to the public address
    assert cli.main(["serve", "--db", db, "--host", host, "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "refusing to listen on %s without an access token" % host in err[0]
    assert "--token" in err[0] and serve.TOKEN_ENV in err[0]


def test_serve_takes_the_token_from_the_option_or_the_environment(monkeypatch):
    monkeypatch.delenv(serve.TOKEN_ENV, raising=False)
    assert serve.resolve_token("0.0.0.0", "abc", "p") == ("abc", None)
    assert serve.resolve_token("127.0.0.1", None, "p") == (None, None)
    monkeypatch.setenv(serve.TOKEN_ENV, "fromenv")
    assert serve.resolve_token("0.0.0.0", None, "p") == ("fromenv", None)
    assert serve.resolve_token("0.0.0.0", "opt", "p") == ("opt", None)


def test_log_serve_refuses_a_public_address_without_a_token(tmp_path):
    env = dict(os.environ)
    env.pop(serve.TOKEN_ENV, None)
    out = subprocess.run([os.path.join(BIN, "pyb-bridge"), "log", "--port", "loop://",
                          "--out", str(tmp_path / "run.sqlite"), "--serve", "--serve-host",
                          "0.0.0.0", "--duration", "0.2", "--quiet"],
                         capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert "refusing to listen on 0.0.0.0 without an access token" in out.stderr


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    db = small_log(tmp_path_factory.mktemp("sec") / "log.sqlite")
    return create_app(db, token=TOKEN, sse_max_age=0.3).test_client()


@pytest.mark.parametrize("path", PATHS)
def test_every_endpoint_needs_the_token(guarded, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "},
                    {"Authorization": "Basic " + TOKEN}, {"Authorization": "Bearer " + TOKEN[:-1]}):
        r = guarded.get(path, headers=headers)
        assert r.status_code == 401, (path, headers)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "access token" in r.get_json()["error"]
    r = guarded.get(path + ("&" if "?" in path else "?") + "token=nope")
    assert r.status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_every_endpoint_answers_with_the_token(guarded, path):
    want = 404 if path == "/api/nothing" else 200
    r = guarded.get(path, headers={"Authorization": "Bearer " + TOKEN})
    assert r.status_code == want, (path, r.get_data(as_text=True)[:200])
    r.close()
    guarded._cookies.clear()
    sep = "&" if "?" in path else "?"
    r = guarded.get(path + sep + "token=" + urllib.request.quote(TOKEN))
    assert r.status_code == want
    r.close()


def test_the_browser_page_passes_its_token_on_as_a_same_site_cookie(guarded):
    guarded._cookies.clear()
    r = guarded.get("/?token=" + urllib.request.quote(TOKEN))
    assert r.status_code == 200
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # the page's own requests (scripts, fetch, EventSource) carry it
    assert guarded.get("/static/dashboard.js").status_code == 200
    assert guarded.get("/api/streams").status_code == 200
    guarded._cookies.clear()
    assert guarded.get("/api/streams").status_code == 401


def test_the_token_is_compared_in_constant_time():
    import inspect

    from pyb_bridge import server

    src = inspect.getsource(server.token_ok)
    assert "hmac.compare_digest" in src
    assert server.token_ok("abc", "abc") and not server.token_ok("abc", "abd")
    assert not server.token_ok("abc", None) and not server.token_ok("abc", "\udcff")


def test_the_database_is_opened_read_only(tmp_path):
    from pyb_bridge import logdb

    db = logdb.connect(small_log(tmp_path / "log.sqlite"))
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        db.execute('DELETE FROM "stream_1"')
    db.close()


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read(400)
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_a_real_server_enforces_the_token(tmp_path):
    db = small_log(tmp_path / "log.sqlite")
    server = serve_in_thread(db, "127.0.0.1", 0, token=TOKEN, threads=4)
    try:
        for path in ("", "api/streams", "api/streams/stream_1/events", "static/dashboard.js"):
            assert _get(server.url + path)[0] == 401, path
            assert _get(server.url + path, {"Authorization": "Bearer x" + TOKEN})[0] == 401
        status, body = _get(server.url + "api/streams",
                            {"Authorization": "Bearer " + TOKEN})
        assert status == 200 and b"adc" in body
        status, body = _get(server.url + "?token=" + urllib.request.quote(TOKEN))
        assert status == 200 and body.startswith(b"<!doctype html>")
    finally:
        stop_server(server)


# --- 1. descriptor strings from the board -----------------------------------

HOSTILE = {
    "quotes": "it's \"quoted\" `back`",
    "sql": 'x"; DROP TABLE "_channels"; --',
    "sql2": "'); DELETE FROM adc; --",
    "html": "<script>window.__pwned=1</script>",
    "attr": '"><img src=x onerror="window.__pwned=2">',
    "path": "../../etc/x",
    "control": "ctl\x00\x01\t\n\r\x1b[2J\x7f",
    "math": "$\\frac{1}{$ 100%",
    "long": "\u00e9" * 127,  # 254 bytes: the most one string can carry (a length byte)
}
HOSTILE_NAMES = list(HOSTILE.values())


def stored(name):
    """A channel name in a CSV header: verbatim, NUL as U+FFFD."""
    return name.replace("\0", "\ufffd")


def hostile_wire(stream_name="<b>adc</b> ../x\"'", n_rows=5):
    chans = [("h", name, name) for name in HOSTILE_NAMES]
    out = frame(1, 0, 0, descriptor(stream_name, chans))
    for seq in range(1, n_rows + 1):
        out += frame(2, 0, seq, data([seq * 10 + k for k in range(len(chans))]),
                     t=seq * 100)
    return out


def log_hostile(path, stream_name="<b>adc</b> ../x\"'", board="A"):
    batches, schemas, _, _ = decode(hostile_wire(stream_name))
    with open_sink(str(path), flush_interval=0.0) as sink:
        sink.write_all(batches, 1.0, schemas, board=board)
    return str(path)


def test_hostile_names_are_stored_verbatim_in_sqlite(tmp_path):
    path = log_hostile(tmp_path / "log.sqlite", board='b"; DROP TABLE x; --')
    db = sqlite3.connect(path)
    tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    # generated identifiers, beside the sink's own; the names are values
    table = "stream_1"
    assert {table, "_board_counters", "_channels", "_counters", "_streams"} <= set(tables)
    assert all(re.fullmatch(r"\w+", t) for t in tables), tables
    cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % table)]
    assert cols == ["board", "seq", "board_time_us", "host_time"] + [
        "ch%d" % k for k in range(len(HOSTILE))]
    meta = db.execute('SELECT "channel", "stream", "unit" FROM "_channels"').fetchall()
    assert meta == [(n, "<b>adc</b> ../x\"'", n) for n in HOSTILE_NAMES]  # verbatim, NUL too
    rows = db.execute('SELECT * FROM "%s" ORDER BY rowid' % table).fetchall()
    assert [r[0] for r in rows] == ['b"; DROP TABLE x; --'] * 5
    assert [list(r[4:]) for r in rows] == [[s * 10 + k for k in range(len(HOSTILE))]
                                           for s in range(1, 6)]


def test_hostile_names_come_out_of_the_api_verbatim_as_json(tmp_path):
    client = create_app(log_hostile(tmp_path / "log.sqlite")).test_client()
    r = client.get("/api/streams")
    assert r.mimetype == "application/json"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    (info,) = r.get_json()["streams"]
    assert [c["name"] for c in info["channels"]] == HOSTILE_NAMES
    assert [c["unit"] for c in info["channels"]] == HOSTILE_NAMES
    assert info["stream"] == "<b>adc</b> ../x\"'"
    name = urllib.request.quote(info["name"])
    cols = {c["name"]: c["column"] for c in info["channels"]}
    want = [cols[HOSTILE["sql"]], cols[HOSTILE["html"]]]
    r = client.get("/api/streams/%s/readings?channels=%s" % (
        name, urllib.request.quote(",".join(want))))
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["columns"][-2:] == want and len(body["rows"]) == 5
    # a declared name without a comma selects its channel too
    r2 = client.get("/api/streams/%s/readings?channels=%s" % (
        name, urllib.request.quote(HOSTILE["html"])))
    assert r2.get_json()["columns"][-1] == cols[HOSTILE["html"]]
    # verbatim, in a body no browser renders as a page (JSON, nosniff)
    r = client.get("/api/streams")
    assert r.mimetype == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" in r.get_data()
    assert client.get("/api/streams/%s/stats" % name).status_code == 200


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_file_names_from_stream_names_stay_in_the_output_folder(tmp_path, ext):
    out = tmp_path / "out"
    out.mkdir()
    wire = b""
    names = ["first", "../../etc/x", "/abs/path", "..", "a\\b", "\u00e9" * 127,
             "nul\0/x", HOSTILE["html"]]
    for sid, name in enumerate(names):
        wire += frame(1, sid, 0, descriptor(name, [("h", name, "u")])) + frame(
            2, sid, 1, data([sid]))
    batches, schemas, _, _ = decode(wire)
    with open_sink(str(out / ("log." + ext)), flush_interval=0.0) as sink:
        sink.write_all(batches, 1.0, schemas, board="A")
    assert os.listdir(tmp_path) == ["out"]  # nothing written beside or above it
    files = sorted(os.listdir(out))
    assert len(files) == len(names)
    for f in files:
        assert re.fullmatch(r"log(\.\w{1,40}(_\d+)?)?\.%s" % ext, f), f
        assert len(f.encode()) < 255
    if ext == "csv":
        with open(out / "log.csv", newline="", encoding="utf-8") as f:
            assert next(csv.reader(f))[-1] == "first"
        hdrs = []
        for f in glob.glob(str(out / "log.*.csv")):
            with open(f, newline="", encoding="utf-8") as fh:
                hdrs.append(next(csv.reader(fh))[-1])
        assert sorted(hdrs) == sorted(stored(n) for n in names[1:])
    else:
        keys = set()
        for f in glob.glob(str(out / "*.jsonl")):
            with open(f, encoding="utf-8") as fh:
                rec = json.loads(fh.readline())
            keys.add(list(rec["values"])[-1])
            assert rec["stream"] in names
        assert keys == set(names)


def test_mqtt_topics_carry_no_wildcards_or_levels_from_names():
    from types import SimpleNamespace
    from urllib.parse import unquote

    from pyb_bridge.mqtt import MqttSink, topic_part

    names = HOSTILE_NAMES + ["+", "#", "a/+/#", "/", "", "$SYS/x", "\u00e9", "\u6e29\u5ea6",
                             "\u6e7f\u5ea6", "a-b", "a b", "a_b", "a%20b", "_", "%"]
    parts = [topic_part(n) for n in names]
    for name, part in zip(names, parts, strict=True):
        assert part and re.fullmatch(r"[A-Za-z0-9.%-]+|_", part), (name, part)
        assert name == "" or unquote(part) == name  # the name comes back
        topic = MqttSink.topic(SimpleNamespace(prefix="lab"), name, name)
        assert topic.count("/") == 2 and not set("+#\0") & set(topic), topic
    assert len(set(parts)) == len(names)  # distinct names, distinct topics


@pytest.mark.filterwarnings("ignore:Glyph")  # control characters have no glyph: drawn empty
def test_plots_draw_hostile_names_as_text(tmp_path):
    from pyb_bridge.plot import plot

    path = log_hostile(tmp_path / "log.sqlite")
    drawn = plot(path, str(tmp_path / "p.png"))
    assert len(drawn) == len(HOSTILE)
    assert os.path.getsize(tmp_path / "p.png") > 1000


def test_malformed_descriptors_are_refused_with_a_clear_error_and_logging_goes_on():
    said = []
    good = frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")])) + frame(2, 0, 1, data([7]))
    bad = [descriptor("s", [("h", "x", "u")], n=200),  # claims more channels than it has
           descriptor("s", [("s", "x", "u")]),  # a struct code that is not a type
           descriptor("s", [("9", "x", "u")] * 9 + [("x", "y", "u")]),  # a repeat count
           b"", descriptor("s", [])]
    dec, st = FrameDecoder(), Streams(warn=said.append)
    batches = []
    for sid, p in enumerate(bad, start=1):
        batches += st.feed(dec.feed(frame(1, sid, 0, p) + frame(2, sid, 1, b"\x01" * 16)))[0]
    batches += st.feed(dec.feed(good))[0]
    assert [(b.schema.name, list(b.rows())) for b in batches] == [("adc", [(0, 7)])]
    assert st.bad_descriptors == 5 and len(said) == 5
    assert "stream 1 is truncated" in said[0]
    assert "stream 2: channel 0 has type 's', not one of bBhHiIf" in said[1]
    assert "stream 5: no channels" in said[4]
    # a data frame whose length does not fit its schema is dropped, not decoded
    b, _ = st.feed(dec.feed(frame(2, 0, 2, b"\x01\x02\x03")))
    assert b == [] and st.bad_frames == 1


def test_nothing_from_the_stream_is_executed_on_the_host():
    """No eval/exec (compile() only checks a --script's syntax), no
    pickle/marshal/shelve, no shell=True in the bridge (``t.eval``/``t.exec``
    in deploy.py run code on the board)."""
    root = os.path.join(os.path.dirname(__file__), "..", "..", "host", "pyb_bridge")
    files = glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
    assert len(files) > 10
    for path in files:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec", "__import__"), (
                    path, node.lineno)
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "marshal", "shelve", "dill"} & set(mods), path
            if isinstance(node, ast.keyword) and node.arg == "shell":
                assert not (isinstance(node.value, ast.Constant) and node.value.value), path
            if isinstance(node, ast.Attribute) and node.attr == "load":
                assert getattr(node.value, "id", None) != "yaml", path


def test_the_dashboard_never_puts_data_into_html():
    js = os.path.join(os.path.dirname(__file__), "..", "..", "host", "pyb_bridge", "server",
                      "static", "dashboard.js")
    with open(js, encoding="utf-8") as f:
        src = f.read()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setTimeout(\"", "srcdoc", ".href ="):
        assert sink not in src, sink
    assert src.count("textContent") >= 5


# --- 4. resource limits -------------------------------------------------------

GOOD_N = 50


def good_frames(seq0=1):
    out = frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")]))
    for k in range(GOOD_N):
        out += frame(2, 0, seq0 + k, data([k]), t=(seq0 + k) * 100)
    return out


def pipeline(sink_path):
    dec, st = FrameDecoder(), Streams(warn=lambda line: None)
    sink = open_sink(str(sink_path), flush_interval=0.0)

    def feed(chunk):
        batches, schemas = st.feed(dec.feed(chunk))
        sink.write_all(batches, 1.0, schemas, board="A")
    return dec, st, sink, feed


def flood_peak(tmp_path, chunks, chunk_count):
    """Feed ``chunk_count`` chunks from ``chunks(i)`` then good frames
    through decoder, streams and a SQLite sink; (peak traced bytes during
    the flood, rows of the good frames logged, decoder)."""
    dec, st, sink, feed = pipeline(tmp_path / "log.sqlite")
    feed(good_frames(1))  # warm up: table created, statements cached
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(chunk_count):
            feed(chunks(i))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    feed(good_frames(10 ** 6)[len(frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")]))):])
    # the end of the input: a header still waiting for the length it claims
    # gives up, and the frames behind it come out (a running link gets there
    # once that many bytes have come)
    batches, schemas = st.feed(dec.feed(b"", final=True))
    sink.write_all(batches, 1.0, schemas, board="A")
    sink.close()
    db = sqlite3.connect(str(tmp_path / "log.sqlite"))
    rows = logdb.select(db, "adc", "seq", where=" WHERE seq >= 1000000").__len__()
    db.close()
    return peak, rows, dec, st


CHUNK = 1 << 16  # what Link.read takes at most at once
# the decoder's buffer holds at most one read and one whole frame (MAX_PAYLOAD + 20)
BUFFER = CHUNK + 16384 + 20
BOUND = 2 * BUFFER  # a flood that decodes to nothing: the buffer and a read in flight


def test_an_endless_line_without_newline_keeps_memory_bounded(tmp_path):
    line = b"x" * CHUNK  # 16 MB of one line: REPL chatter, a board printing forever
    peak, rows, dec, _ = flood_peak(tmp_path, lambda i: line, 256)
    print("endless line: peak %d bytes" % peak)
    assert peak < BOUND, peak
    assert rows == GOOD_N and dec.skipped_bytes >= 256 * CHUNK


def test_a_header_claiming_a_huge_length_is_skipped(tmp_path):
    huge = SYNC + HDR.pack(2, 2, 0, 0, 0xFFFF, 1, 0, 0, BOOT)  # more than MAX_PAYLOAD: not a frame
    most = SYNC + HDR.pack(2, 2, 0, 0, 16384, 1, 0, 0, BOOT)  # the most a frame may carry
    good = good_frames(500)[len(frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")]))):]
    chunks = [huge + good, most + good]
    (tmp_path / "clean").mkdir()
    clean, _, _, _ = flood_peak(tmp_path / "clean", lambda i: good * 10, 20)
    peak, rows, dec, _ = flood_peak(tmp_path, lambda i: chunks[i % 2] * 10, 20)
    print("huge length: peak %d bytes, %d without the lying headers" % (peak, clean))
    # a lying header holds back the frames behind it until 16 kB came, so
    # one read may decode up to 16 kB more of them: bounded by twice what
    # the same good frames take, plus the decoder's buffer
    assert peak < 2 * clean + BUFFER, (peak, clean)
    assert rows == GOOD_N, rows
    assert dec.crc_errors > 0 and dec.resyncs > 0, dec.counters()
    db = sqlite3.connect(str(tmp_path / "log.sqlite"))
    # every good frame behind the lying headers was logged too (once: duplicates drop)
    seqs = logdb.select(db, "adc", "seq", where=" WHERE seq BETWEEN 500 AND 549")
    assert len(set(seqs)) == GOOD_N


def test_a_descriptor_with_thousands_of_channels(tmp_path):
    # 255 channels is what a count byte can say; 5000 entries make more than
    # MAX_PAYLOAD, so that is no frame at all
    chans = [("h", "c%04d" % k, "u") for k in range(5000)]
    too_many = frame(1, 1, 0, descriptor("wide", chans, n=255))
    widest = frame(1, 2, 0, descriptor("widest", chans[:255])) + frame(
        2, 2, 1, data(range(255)))
    wire = [too_many, widest]
    peak, rows, dec, st = flood_peak(tmp_path, lambda i: wire[i % 2] * 4, 20)
    print("wide descriptor: peak %d bytes" % peak)
    assert peak < BOUND + 1024 * 1024, peak
    assert rows == GOOD_N
    assert 1 not in st.schemas and len(st.schemas[2].channels) == 255
    db = sqlite3.connect(str(tmp_path / "log.sqlite"))
    widest = logdb.table(db, "widest")
    assert len(db.execute('PRAGMA table_info("%s")' % widest).fetchall()) == 4 + 255
    assert logdb.select(db, "widest", "c0254")[0] == (254,)


def test_a_flood_of_tiny_frames_keeps_memory_bounded(tmp_path):
    # empty data frames of 256 streams that never describe themselves are
    # held for their descriptor: at most Streams.hold_bytes (4 MB) of them
    def tiny(i):
        return b"".join(frame(2, sid, i * 4 + r, b"") for r in range(4) for sid in range(256))
    peak, rows, dec, st = flood_peak(tmp_path, tiny, 24)
    print("tiny frames: peak %d bytes" % peak)
    assert peak < st.hold_bytes + BOUND, peak
    assert st.held_dropped > 0 and rows == GOOD_N


def test_a_flood_of_tiny_frames_is_logged_whole(tmp_path):
    """20,000 frames of 30 bytes (one 16-bit value each, the most frames a
    second USB full speed can carry): every one decoded and logged, in
    order. How fast that goes against the link's rate is measured by
    ``make bench`` (bench/stream.py), not here."""
    wire = b"".join(frame(2, 0, k, data([k % 30000]), t=k * 100) for k in range(1, 20001))
    db = tmp_path / "log.sqlite"
    dec, st, sink, feed = pipeline(db)
    feed(frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")])))
    for i in range(0, len(wire), 4096):
        feed(wire[i:i + 4096])
    sink.flush()
    sink.close()
    assert dec.frames == 20001 and dec.crc_errors == 0 and dec.frames_lost == 0
    con = sqlite3.connect(str(db))
    assert [r[0] for r in logdb.select(con, "adc", "x")] == [k % 30000 for k in range(1, 20001)]



def test_a_board_that_keeps_changing_its_channels_gets_a_bounded_number_of_tables(tmp_path):
    said = []
    dec, st = FrameDecoder(), Streams(warn=said.append, max_schemas=40)
    with open_sink(str(tmp_path / "log.sqlite"), flush_interval=0.0) as sink:
        for k in range(100):  # stream 0 changes its channel's name every time
            wire = frame(1, 0, 2 * k, descriptor("churn", [("h", "c%d" % k, "u")])) + frame(
                2, 0, 2 * k + 1, data([k]))
            if k == 50:  # a new stream is still taken
                wire += frame(1, 1, 0, descriptor("adc", [("h", "x", "raw")])) + frame(
                    2, 1, 1, data([7]))
            batches, schemas = st.feed(dec.feed(wire))
            sink.write_all(batches, 1.0, schemas, board="A")
    db = sqlite3.connect(str(tmp_path / "log.sqlite"))
    tables = [r[0] for r in db.execute("SELECT \"table\" FROM \"_streams\" "
                                       "WHERE stream = 'churn'")]
    assert len(tables) == 41  # the first schema and 40 changes
    assert st.bad_descriptors == 100 - 41 and st.bad_frames == 100 - 41
    assert len(said) == 1 and "stream 0 changed its channels after 40 changes" in said[0]
    assert logdb.select(db, "adc", "x") == [(7,)]


# --- 3. MQTT: a password and TLS, no silent fallback ---------------------------

def _openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)


def make_ca(d, name):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(d, "req", "-x509", *ec, "-keyout", name + ".key", "-out", name + ".crt", "-days",
             "1", "-subj", "/CN=pyb-bridge test %s" % name)
    return os.path.join(d, name + ".crt")


def make_server_cert(d, ca):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    _openssl(d, "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj",
             "/CN=127.0.0.1")
    _openssl(d, "x509", "-req", "-in", "server.csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
             "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext")


needs_secure_broker = pytest.mark.needs("mosquitto", "mosquitto_passwd", "openssl")


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory):
    """Mosquitto with a password file (user ``logger``, password ``s3cret``,
    no anonymous clients), a plain listener and a TLS one whose certificate
    a test CA signed; a second CA signed nothing of it."""
    from pyb_sim.harness import Mosquitto, free_port

    d = str(tmp_path_factory.mktemp("mqtt-tls"))
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_server_cert(d, "ca")
    pw = os.path.join(d, "passwd")
    subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "logger", "s3cret"], check=True,
                   capture_output=True)
    os.chmod(pw, 0o600)
    tls_port = free_port()
    b = Mosquitto(os.path.join(d, "broker"), extra=[
        "password_file %s" % pw,
        "listener %d 127.0.0.1" % tls_port, "cafile %s/ca.crt" % d,
        "certfile %s/server.crt" % d, "keyfile %s/server.key" % d])
    with open(b.conf) as f:
        conf = f.read().replace("allow_anonymous true", "allow_anonymous false")
    with open(b.conf, "w") as f:
        f.write(conf)
    b.start()
    b.tls_port, b.certs = tls_port, d
    yield b
    b.stop()


def mqtt_log(args, tmp_path):
    """``pyb-bridge log`` to MQTT from a loop:// port: (exit code, stderr)."""
    from pyb_bridge import cli

    return cli.main(["log", "--port", "loop://", "--duration", "0.3", "--quiet",
                     "--mqtt-spool", str(tmp_path / "spool.sqlite")] + args)


@needs_secure_broker
def test_mqtt_wrong_password_is_a_clear_error(secure_broker, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PYB_MQTT_PASSWORD", raising=False)
    url = "mqtt://127.0.0.1:%d/lab" % secure_broker.port
    for extra in (["--mqtt-user", "logger", "--mqtt-password", "nope"], []):
        assert mqtt_log(["--out", url] + extra, tmp_path) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "Traceback" not in err, err
        assert "pyb-bridge log: MQTT 127.0.0.1:" in err and "choose another" not in err, err
        assert "the broker refused the connection: Not authorized" in err, err
        assert "--mqtt-password" in err
    assert not os.path.exists(tmp_path / "spool.sqlite")


@needs_secure_broker
def test_mqtt_password_over_tls_is_accepted(secure_broker, tmp_path):
    from pyb_bridge.mqtt import MqttSink
    from pyb_sim.harness import Subscriber

    sub = Subscriber(secure_broker, "lab/#", username="logger", password="s3cret")
    sink = MqttSink("mqtts://logger:s3cret@127.0.0.1:%d/lab" % secure_broker.tls_port,
                    spool=str(tmp_path / "s.sqlite"),
                    cafile=os.path.join(secure_broker.certs, "ca.crt"))
    try:
        assert sink.wait_connected(), sink.last_error
        batches, schemas, _, _ = decode(hostile_wire())
        sink.write_all(batches, 1.0, schemas, board="A")
        sink.close()
        assert sink.left_in_spool == 0
        assert sub.wait_for(lambda ms: any(not t.endswith("/schema") for t, _, _ in ms))
    finally:
        sub.close()
    schema = next(m for t, m, _ in sub.messages if t.endswith("/schema"))
    assert [c["unit"] for c in schema["channels"]] == HOSTILE_NAMES  # verbatim in JSON


@pytest.mark.parametrize("ca", ["other-ca.crt", None])
@needs_secure_broker
def test_mqtt_certificate_that_does_not_verify_is_a_clear_error(secure_broker, tmp_path,
                                                                 capsys, ca):
    url = "mqtts://logger:s3cret@127.0.0.1:%d/lab" % secure_broker.tls_port
    extra = ["--mqtt-cafile", os.path.join(secure_broker.certs, ca)] if ca else []
    assert mqtt_log(["--out", url] + extra, tmp_path) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert "the broker's TLS certificate does not verify" in err and "--mqtt-cafile" in err


def test_mqtt_tls_never_falls_back_to_plain_text(secure_broker, tmp_path, capsys):
    # mqtts:// (or a CA file) to the plain listener: the handshake fails and
    # nothing is sent in the clear, the password least of all
    ca = os.path.join(secure_broker.certs, "ca.crt")
    for url, extra in (("mqtts://logger:s3cret@127.0.0.1:%d/lab" % secure_broker.port, []),
                       ("mqtt://logger:s3cret@127.0.0.1:%d/lab" % secure_broker.port,
                        ["--mqtt-cafile", ca])):
        assert mqtt_log(["--out", url] + extra, tmp_path) == 1
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "TLS handshake failed" in err, err


def test_mqtt_password_is_never_printed(secure_broker, tmp_path, capsys):
    url = "mqtts://logger:s3cret@127.0.0.1:%d/lab" % secure_broker.tls_port
    assert mqtt_log(["--out", url, "--mqtt-cafile",
                     os.path.join(secure_broker.certs, "ca.crt")], tmp_path) == 0
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err
    assert "mqtts://logger:***@127.0.0.1" in out


# --- 1. (browser) the dashboard shows hostile names as text --------------------

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.mark.needs("chromium", "chromedriver")
def test_the_dashboard_runs_no_script_from_names_in_chromium(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    db = log_hostile(tmp_path / "log.sqlite")
    server = serve_in_thread(db, "127.0.0.1", 0, token=TOKEN, threads=4)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update",
              "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=1200,800"):
        opts.add_argument(a)
    drv = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    drv.set_page_load_timeout(20)
    try:
        # any alert() from a name would make every later script call fail
        drv.get(server.url + "?token=" + urllib.request.quote(TOKEN))
        end = time.monotonic() + 15
        units = []
        while time.monotonic() < end and len(units) < len(HOSTILE):
            units = drv.execute_script(
                "return [...document.querySelectorAll('.chart h2')].map(e => e.textContent)")
            time.sleep(0.05)
        assert sorted(units) == sorted(HOSTILE_NAMES)
        legend = drv.execute_script(
            "return [...document.querySelectorAll('.legend span')].map(e => e.textContent)")
        assert sorted(legend) == sorted("\u25a0 " + n for n in HOSTILE_NAMES)
        assert drv.execute_script("return window.__pwned === undefined")
        assert drv.execute_script("return document.images.length") == 0
        assert drv.execute_script(
            "return [...document.scripts].every(s => s.src.endsWith('dashboard.js'))")
        drv.save_screenshot(str(tmp_path / "hostile.png"))
    finally:
        drv.quit()
        stop_server(server)


def test_the_log_keeps_count_of_what_it_refused(tmp_path):
    """bad_descriptors and bad_frames go to the log's counters beside
    frames_lost and crc_errors."""
    import serial

    from pyb_bridge.link import Board

    port = serial.serial_for_url("loop://", timeout=0.05)
    board = Board("loop://", serial_port=port)
    port.write(frame(1, 1, 0, descriptor("s", [("s", "x", "u")])) + good_frames(1)
               + frame(2, 0, 99, b"\x01"))
    said = []
    board.streams._newer.warn = said.append
    rows = 0
    end = time.monotonic() + 5
    while rows < GOOD_N and time.monotonic() < end:
        batches, _, _ = board.poll()
        rows += sum(len(b.times) for b in batches)
    board.poll()
    c = board.counters()
    board.close()
    assert rows == GOOD_N and c["bad_descriptors"] == 1 and c["bad_frames"] == 1, c
    assert len(said) == 1


def test_a_writer_slower_than_the_board_costs_bounded_memory(tmp_path):
    """The reader thread stops reading while more than ``backlog_bytes``
    it decoded wait for the writer: the bytes stay on the link (a real
    board is held back by USB), nothing is lost, memory stays bounded."""
    import threading

    from pyb_bridge.logger import Logger

    n = 20000
    wire = frame(1, 0, 0, descriptor("adc", [("h", "x", "raw")])) + b"".join(
        frame(2, 0, k, data([k % 30000]), t=k * 100) for k in range(1, n + 1))
    limit = 32 * 1024
    sent = [0]  # bytes the board got onto the link
    seen = []

    class StuckSink:
        """Writes nothing until the reader has stopped for it once."""
        rows = 0

        def write_all(self, batches, host_time, schemas=(), board=None):
            if not seen:
                end = time.monotonic() + 30
                while lg.backlog.holds == 0:
                    assert time.monotonic() < end, "the reader never stopped for the writer"
                    time.sleep(0.01)
                seen.append(sent[0])
            self.rows += sum(len(b.times) for b in batches)

        def record_counters(self, *a):
            pass

    sink = StuckSink()
    with Logger(["loop://"], [sink], backlog_bytes=limit) as lg:
        port = lg.boards[0].link.serial

        def board():  # loop:// holds 4 kB: the writer waits as a board would
            for i in range(0, len(wire), 1024):
                port.write(wire[i:i + 1024])
                sent[0] = i + 1024
        threading.Thread(target=board, daemon=True).start()
        end = time.monotonic() + 60
        while sink.rows < n and time.monotonic() < end:
            lg.step(0.05)
        assert sink.rows == n  # every row written, in the end
        # While the reader waited, the board could not get its data onto the
        # link: at most the backlog, one read (64 kB) and what loop:// holds.
        assert seen and seen[0] <= limit + (1 << 16) + 4096 + 1024 < len(wire), seen
        # one read (at most 64 kB) beyond the limit, never the 440 kB sent
        assert lg.backlog.peak <= limit + (1 << 16), lg.backlog.peak
        assert port.in_waiting == 0
