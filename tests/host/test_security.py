"""The security table of docs/security.md, one test per row: the board (or
anything on its port) and the network are untrusted.

Hostile descriptor strings, the server's access token, MQTT with a password
and TLS, and memory bounds against floods. Frames are built here byte by
byte (docs/protocol.md) so that they can say what a real board never would.
"""

import os
import sqlite3
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zlib

import pytest

from pyb_bridge import serve
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.server import create_app, serve_in_thread, stop_server
from pyb_bridge.sinks import open_sink

BIN = os.path.dirname(sys.executable)
SYNC = b"\xa5\xd3"
HDR = struct.Struct("<BBBBHII")


# --- frames as a hostile board sends them ----------------------------------

def frame(typ, stream, seq, payload, t=0, version=1, flags=0, length=None):
    head = SYNC + HDR.pack(version, typ, stream, flags,
                           len(payload) if length is None else length, seq, t)
    body = head + payload
    return body + struct.pack("<I", zlib.crc32(body))


def text(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return bytes([len(b)]) + b


def descriptor(name, channels, period_us=100, n=None):
    """``channels``: [(type code, name, unit)]."""
    p = struct.pack("<BBI", 1, len(channels) if n is None else n, period_us) + text(name)
    for code, cname, unit in channels:
        p += code.encode() + text(cname) + text(unit)
    return p


def data(values, code="h"):
    return struct.pack("<%d%s" % (len(values), code), *values)


def decode(stream_bytes, chunk=4096):
    dec, st = FrameDecoder(), Streams()
    batches, schemas = [], []
    for i in range(0, len(stream_bytes), chunk):
        b, s = st.feed(dec.feed(stream_bytes[i:i + chunk]))
        batches += b
        schemas += s
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
         "/api/streams", "/api/boards", "/api/streams/adc", "/api/streams/adc/readings",
         "/api/streams/adc/stats", "/api/streams/adc/events", "/api/nothing"]


def test_serve_binds_to_loopback_by_default():
    import argparse

    ap = argparse.ArgumentParser()
    serve.add_log_arguments(ap)
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
    assert serve.main(["--db", db, "--host", host, "--port", "0"]) == 2
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
    from pyb_bridge.server import store

    db = store.connect(small_log(tmp_path / "log.sqlite"))
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        db.execute('DELETE FROM "adc"')
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
        for path in ("", "api/streams", "api/streams/adc/events", "static/dashboard.js"):
            assert _get(server.url + path)[0] == 401, path
            assert _get(server.url + path, {"Authorization": "Bearer x" + TOKEN})[0] == 401
        status, body = _get(server.url + "api/streams",
                            {"Authorization": "Bearer " + TOKEN})
        assert status == 200 and b"adc" in body
        status, body = _get(server.url + "?token=" + urllib.request.quote(TOKEN))
        assert status == 200 and body.startswith(b"<!doctype html>")
    finally:
        stop_server(server)
