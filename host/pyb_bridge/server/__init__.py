"""``pyb-bridge serve``: a read-only REST API and a live dashboard over a
SQLite log (docs/api.md).

    from pyb_bridge.server import create_app, serve
    serve("demo.sqlite", host="127.0.0.1", port=8000)

Flask for the application, waitress (a pure-Python production WSGI server)
to serve it. The database is opened read-only for every request, so the
logger can keep writing (WAL journal) while readers read.
"""

import hmac
import json
import math
import os
import re
import sqlite3
import threading
import time

from flask import Flask, Response, g, jsonify, request, send_from_directory

from pyb_bridge import logdb
from pyb_bridge.server import store
from pyb_bridge.server.openapi import spec

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_LIMIT = 10000
MAX_INT = 2 ** 62
THREADS = 16  # waitress worker threads
SSE_CLIENTS = 8  # event streams at once: the other threads stay free for requests
SSE_POLL_S = 0.15  # how often an event stream looks for new rows
SSE_KEEPALIVE_S = 5.0
SSE_MAX_AGE_S = 600.0  # then the browser reconnects (Last-Event-ID): threads recycle
TOKEN_COOKIE = "pyb_bridge_token"  # set when a browser came with ?token=: its page's requests


def token_ok(token, given):
    """Whether ``given`` (str or None) is ``token``, compared in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(token.encode("utf-8"), given.encode("utf-8", "replace"))


def _given_token():
    """The token a request carries: ``Authorization: Bearer``, ``?token=``
    or the page's cookie; (token, where)."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), "header"
    if "token" in request.args:
        return request.args.get("token"), "query"
    return request.cookies.get(TOKEN_COOKIE), "cookie"


class ApiError(Exception):
    def __init__(self, status, message, parameter=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


def _int_arg(name, default=None, lo=-MAX_INT, hi=MAX_INT):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, "%s must be an integer, not %r" % (name, raw), name) from None
    if not lo <= v <= hi:
        raise ApiError(400, "%s must be in %d..%d, not %d" % (name, lo, hi, v), name)
    return v


def _channels_arg(info):
    """The channel columns asked for with ``channels=`` (comma-separated
    column ids such as ``ch0``, or declared names that hold no comma and
    name one channel only), all of them by default."""
    cols = [c["column"] for c in info["channels"]]
    by_name = {}
    for c in info["channels"]:
        by_name.setdefault(c["name"], []).append(c["column"])
    raw = request.args.get("channels")
    if raw is None or raw == "":
        return cols
    want, bad = [], []
    for part in raw.split(","):
        if part in cols:
            want.append(part)
        elif len(by_name.get(part, ())) == 1:
            want.append(by_name[part][0])
        else:
            bad.append(part)
    if bad:
        raise ApiError(400, "channels: no %s in stream %s (its columns: %s)" % (
            ", ".join(repr(c) for c in bad), info["name"], ", ".join(cols)), "channels")
    return list(dict.fromkeys(want))


def _board_arg(info):
    b = request.args.get("board")
    if b is None:
        return None
    if not info["board"]:
        raise ApiError(400, "stream %s has no board column (a log of one board)"
                       % info["name"], "board")
    return b


def _finite(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


class EventStream:
    """The body of an event-stream response: new rows of one table as
    Server-Sent Events, found by polling ``MAX(rowid)`` on the server.

    At most ``limit`` of these run at once (each holds a worker thread);
    ``close()`` (called by the WSGI server when the client goes away or the
    stream ends) gives the slot back."""

    def __init__(self, path, info, channels, after, board, slots, max_age):
        self.path, self.info, self.channels = path, info, channels
        self.after, self.board, self.slots = after, board, slots
        self.deadline = time.monotonic() + max_age
        self._gen = self._events()
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def close(self):
        if not self._closed:
            self._closed = True
            self._gen.close()
            self.slots.release()

    def _events(self):
        db = logdb.connect(self.path)
        try:
            yield b"retry: 1000\n\n"
            last_send = last_stats = 0.0
            while time.monotonic() < self.deadline:
                now = time.monotonic()
                if store.last_row(db, self.info["name"]) > self.after:
                    names, rows, last = store.readings(
                        db, self.info, self.channels, after=self.after, limit=MAX_LIMIT,
                        board=self.board)
                    if last is not None:
                        self.after = last
                        yield _event("rows", {"columns": names, "rows": [
                            [_finite(v) for v in r] for r in rows], "run_starts":
                            logdb.run_starts(db, self.info, rows[0][0], last)}, last)
                        last_send = now
                    else:  # rows of other boards only
                        self.after = store.last_row(db, self.info["name"])
                if now - last_stats >= 1.0:
                    last_stats = now
                    st = store.stats(db, self.info, self.board)
                    st["streams"] = list(store.streams(db))  # the page's picker
                    yield _event("stats", st)
                    last_send = now
                elif now - last_send >= SSE_KEEPALIVE_S:
                    last_send = now
                    yield b": keepalive\n\n"  # also finds clients that left
                time.sleep(SSE_POLL_S)
        except sqlite3.Error as e:
            yield _event("error", {"error": str(e)})
        finally:
            db.close()


def _event(kind, data, ident=None):
    head = "event: %s\n" % kind + ("id: %d\n" % ident if ident is not None else "")
    return (head + "data: %s\n\n" % json.dumps(data, separators=(",", ":"))).encode()


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def host_allowed(host_header, allowed):
    """Whether a request's ``Host`` header names one of ``allowed`` (names
    compared without case and without the port; ``*`` allows any)."""
    if "*" in allowed:
        return True
    h = (host_header or "").strip().lower()
    if h.startswith("["):  # [::1]:8000
        h = h[1:h.find("]")] if "]" in h else h
    elif h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".") in allowed


def create_app(db_path, sse_clients=SSE_CLIENTS, sse_max_age=SSE_MAX_AGE_S, token=None,
               allow_hosts=()):
    """The Flask application serving the log at ``db_path`` (read-only).

    With ``token`` every request (API, event stream, page and its files)
    must carry it (``Authorization: Bearer TOKEN`` or ``?token=TOKEN``; a
    browser that opened ``/?token=TOKEN`` gets it as a same-site cookie for
    the page's own requests) or gets 401.

    Every request must name this server in its ``Host`` header: one of the
    loopback names (``localhost``, ``127.0.0.1``, ``::1``) or of
    ``allow_hosts`` (``*``: any), else 403. A page from another site whose
    name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own
    name, so it cannot read the log."""
    allowed = {h.lower().strip("[]").rstrip(".") for h in (*LOOPBACK_NAMES, *allow_hosts)}
    app = Flask(__name__, static_folder=None)
    app.config["DB_PATH"] = os.path.abspath(db_path)
    app.json.sort_keys = False
    slots = threading.BoundedSemaphore(sse_clients)

    def db():
        if "db" not in g:
            try:
                g.db = logdb.connect(app.config["DB_PATH"])
            except sqlite3.Error as e:
                raise ApiError(503, "cannot open %s: %s" % (db_path, e)) from None
        return g.db

    @app.teardown_appcontext
    def close_db(exc):
        d = g.pop("db", None)
        if d is not None:
            d.close()

    @app.errorhandler(ApiError)
    def api_error(e):
        body = {"error": e.message}
        if e.parameter:
            body["parameter"] = e.parameter
        resp = jsonify(body)
        resp.status_code = e.status
        if e.status == 503:
            resp.headers["Retry-After"] = "2"
        return resp

    @app.errorhandler(store.NotFound)
    def not_found(e):
        return jsonify(error="no stream %r" % e.args[0]), 404

    @app.errorhandler(404)
    def no_route(e):
        return jsonify(error="no such path: %s" % request.path), 404

    @app.errorhandler(405)
    def bad_method(e):
        return jsonify(error="method %s not allowed here" % request.method), 405

    @app.errorhandler(sqlite3.Error)
    def db_error(e):
        return jsonify(error="database: %s" % e), 503

    @app.before_request
    def check_host():
        if not host_allowed(request.headers.get("Host"), allowed):
            resp = jsonify(error="403 forbidden: Host %r is not one this server answers to; "
                                 "start it with --allow-host NAME to allow it"
                                 % (request.headers.get("Host") or "")[:100])
            resp.status_code = 403
            return resp
        return None

    @app.before_request
    def check_token():
        if token is None:
            return None
        given, where = _given_token()
        if not token_ok(token, given):
            resp = jsonify(error="401 unauthorized: this server needs its access token "
                                 "(Authorization: Bearer TOKEN, or ?token=TOKEN)")
            resp.status_code = 401
            resp.headers["WWW-Authenticate"] = 'Bearer realm="pyb-bridge"'
            return resp
        g.token_from_query = where == "query"
        return None

    @app.after_request
    def no_sniff(resp):
        resp.headers["X-Content-Type-Options"] = "nosniff"
        if token is not None and g.get("token_from_query"):
            resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
        return resp

    @app.get("/")
    def index():
        return send_from_directory(STATIC, "index.html", max_age=0)

    @app.get("/static/<path:name>")
    def static_file(name):
        return send_from_directory(STATIC, name, max_age=0)

    @app.get("/api/openapi.json")
    def openapi():
        return jsonify(spec())

    @app.get("/api/streams")
    def list_streams():
        infos = store.streams(db())
        return jsonify(streams=[store.public(i) for i in infos.values()])

    @app.get("/api/boards")
    def list_boards():
        found = store.boards(db(), store.streams(db()))
        return jsonify(boards=[{"board": b, "streams": t} for b, t in found.items()])

    @app.get("/api/streams/<name>")
    def one_stream(name):
        return jsonify(store.public(store.stream(db(), name)))

    @app.get("/api/streams/<name>/readings")
    def readings(name):
        info = store.stream(db(), name)
        channels = _channels_arg(info)
        since = _int_arg("since")
        until = _int_arg("until")
        limit = _int_arg("limit", 1000, 1, MAX_LIMIT)
        board = _board_arg(info)
        bucket = _int_arg("bucket", None, 1, MAX_INT)
        after = _int_arg("after", 0, 0, MAX_INT)
        if bucket is not None:
            if "after" in request.args:
                raise ApiError(400, "after pages raw rows; with bucket, page with since",
                               "after")
            rows = store.buckets(db(), info, channels, bucket, since, until, limit, board)
            out = {"stream": name, "bucket_us": bucket, "channels": channels,
                   "t": [r[0] for r in rows], "n": [r[1] for r in rows],
                   "min": {c: [_finite(r[2 + 2 * i]) for r in rows]
                           for i, c in enumerate(channels)},
                   "max": {c: [_finite(r[3 + 2 * i]) for r in rows]
                           for i, c in enumerate(channels)},
                   "next_since": rows[-1][0] + bucket if len(rows) == limit else None}
            return jsonify(out)
        names, rows, last = store.readings(db(), info, channels, since, until, after, limit,
                                           board)
        return jsonify(stream=name, columns=names,
                       rows=[[_finite(v) for v in r] for r in rows],
                       run_starts=logdb.run_starts(db(), info, rows[0][0] if rows else None,
                                                   last),
                       next=last if len(rows) == limit else None)

    @app.get("/api/streams/<name>/stats")
    def stats(name):
        info = store.stream(db(), name)
        return jsonify(store.stats(db(), info, _board_arg(info)))

    @app.get("/api/streams/<name>/events")
    def events(name):
        info = store.stream(db(), name)
        channels = _channels_arg(info)
        board = _board_arg(info)
        after = _int_arg("after", None, 0, MAX_INT)
        last_id = request.headers.get("Last-Event-ID")
        if last_id is not None:  # a browser reconnecting goes on where it was
            if not re.fullmatch(r"[0-9]{1,18}", last_id):
                raise ApiError(400, "Last-Event-ID must be a row id (1 to 18 digits 0-9), "
                               "not %r" % last_id[:40], "Last-Event-ID")
            after = int(last_id)
        if after is None:
            after = store.last_row(db(), name)
        if not slots.acquire(blocking=False):
            raise ApiError(503, "too many event streams (%d); try again later" % sse_clients)
        body = EventStream(app.config["DB_PATH"], info, channels, after, board, slots,
                           sse_max_age)
        return Response(body, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


IDLE_TIMEOUT_S = 10  # a connection that sends and receives nothing this long is closed
CONNECTION_LIMIT = 1000  # connections open at once (waitress' default: 100)
PER_CLIENT = 32  # connections open at once from one client address


def _limit_per_client(server, limit):
    """Make ``server`` (waitress) close a new connection at once when its
    client address already has ``limit`` open, so one client cannot take
    every connection."""
    make = server.channel_class

    def channel(srv, conn, addr, adj, map=None):
        host = addr[0] if isinstance(addr, tuple) else addr
        mine = sum(1 for ch in list((map or {}).values())
                   if isinstance(ch, make) and isinstance(ch.addr, tuple) and ch.addr[0] == host)
        if mine >= limit:
            conn.close()
            return None
        return make(srv, conn, addr, adj, map=map)

    server.channel_class = channel


def make_server(db_path, host="127.0.0.1", port=8000, threads=THREADS, sse_clients=None,
                token=None, allow_hosts=()):
    """A waitress server for ``db_path``, listening; ``.url`` is its address,
    ``.run()`` serves until interrupted. Half the worker threads at most go
    to event streams, so plain requests always find one. ``token`` and
    ``allow_hosts``: see ``create_app``; the address it listens on is
    allowed too. Idle or slow connections (nothing sent or received for
    ``IDLE_TIMEOUT_S``: an event stream writes every second) are closed,
    up to ``CONNECTION_LIMIT`` may be open and ``PER_CLIENT`` from one
    client address, so idle connections cannot lock other clients out."""
    from waitress import create_server

    if sse_clients is None:
        sse_clients = max(1, threads // 2)
    hosts = list(allow_hosts)
    if host not in ("", "0.0.0.0", "::"):
        hosts.append(host)
    app = create_app(db_path, sse_clients=sse_clients, token=token, allow_hosts=hosts)
    server = create_server(app, host=host, port=port, threads=threads, ident="pyb-bridge",
                           channel_timeout=IDLE_TIMEOUT_S, connection_limit=CONNECTION_LIMIT,
                           cleanup_interval=2)
    if hasattr(server, "channel_class"):  # one listening socket (not a multi-socket server)
        _limit_per_client(server, PER_CLIENT)
    h, p = server.effective_host, server.effective_port
    server.url = "http://%s:%s/" % ("[%s]" % h if ":" in h else h, p)
    return server


def serve_in_thread(db_path, host="127.0.0.1", port=8000, **kw):
    """Start serving in a daemon thread (``pyb-bridge log --serve``); return
    the server."""
    server = make_server(db_path, host, port, **kw)
    threading.Thread(target=server.run, name="pyb-bridge-serve", daemon=True).start()
    return server


def stop_server(server, timeout=5.0):
    """Stop a server that runs in another thread: its sockets are closed by
    its own loop (so that the loop ends instead of failing on closed
    sockets), then the worker threads finish."""
    from waitress import wasyncore

    done = threading.Event()

    def close_all():
        wasyncore.close_all(server._map)
        done.set()

    server.trigger.pull_trigger(close_all)
    done.wait(timeout)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
