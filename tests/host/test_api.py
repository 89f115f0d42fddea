"""pyb_bridge.server: the REST API over a SQLite log written by the real sink
from frames encoded by pyb_lib.stream (Flask's test client), the event
stream, and Schemathesis against the OpenAPI description."""

import json
import sqlite3
import threading
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from test_sinks import board_data, log

from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.outputs import open_sink
from pyb_bridge.server import create_app, make_server, stop_server

NA = 3000  # rows of "adc" (x = k, y = -k, a record every 100 µs); "env" every third


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("api") / "log.db")
    data, na, nb = board_data(NA)
    log(data, open_sink(path, flush_interval=0.0))
    db = sqlite3.connect(path)
    db.executemany('INSERT INTO "_counters" VALUES (?, ?)',
                   [("frames", 40), ("frames_lost", 2), ("crc_errors", 1)])
    db.commit()
    db.close()
    return path


@pytest.fixture(scope="module")
def client(db_path):
    return create_app(db_path).test_client()


def get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    return r.get_json()


def test_streams_with_their_channel_schema(client):
    s = get(client, "/api/streams")["streams"]
    assert [x["name"] for x in s] == ["stream_1", "stream_2"]
    adc = s[0]
    assert adc["stream"] == "adc" and adc["period_us"] == 100
    assert adc["channels"] == [{"name": "x", "column": "ch0", "type": "H", "unit": "raw"},
                               {"name": "y", "column": "ch1", "type": "h", "unit": "mV"}]
    # a channel named "seq" keeps its name: a value, beside the bridge's own keys
    assert [c["name"] for c in s[1]["channels"]] == ["temp", "seq"]
    assert get(client, "/api/streams/stream_2")["channels"][0] == {
        "name": "temp", "column": "ch0", "type": "f", "unit": "C"}


def test_readings_page_by_cursor_through_every_row(client):
    seen, after, pages = [], 0, 0
    while True:
        page = get(client, "/api/streams/stream_1/readings?channels=x&limit=700&after=%d" % after)
        x = page["columns"].index("ch0")
        seen += [r[x] for r in page["rows"]]
        pages += 1
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == list(range(NA)) and pages == 5


def test_readings_by_board_time_and_channel(client):
    page = get(client, "/api/streams/stream_1/readings?channels=y,x&since=1030&until=1530")
    cols = page["columns"]
    assert cols[:3] == ["row", "board_time_us", "host_time"] and cols[-2:] == ["ch1", "ch0"]
    t = [r[1] for r in page["rows"]]
    assert len(t) == 5 and all(1030 <= v < 1530 for v in t)
    assert [r[-1] for r in page["rows"]] == [-r[-2] for r in page["rows"]]
    assert page["next"] is None


def test_bucket_gives_min_and_max_per_bucket(client, db_path):
    page = get(client, "/api/streams/stream_1/readings?bucket=10000&channels=x,y")
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT board_time_us, ch0, ch1 FROM stream_1").fetchall()
    want = {}
    for t, x, y in rows:
        want.setdefault(t // 10000 * 10000, []).append((x, y))
    assert page["t"] == sorted(want)
    assert page["n"] == [len(want[k]) for k in page["t"]]
    assert page["min"]["ch0"] == [min(v[0] for v in want[k]) for k in page["t"]]
    assert page["max"]["ch1"] == [max(v[1] for v in want[k]) for k in page["t"]]
    assert sum(page["n"]) == NA and page["next_since"] is None
    two = get(client, "/api/streams/stream_1/readings?bucket=10000&limit=2")
    assert two["t"] == page["t"][:2] and two["next_since"] == page["t"][1] + 10000


def test_stats(client):
    s = get(client, "/api/streams/stream_1/stats")
    assert s["rows"] == NA and s["last_row"] == NA
    assert s["frames_lost"] == 2 and s["crc_errors"] == 1 and s["frames"] == 40
    span = (s["last_board_time_us"] - s["first_board_time_us"]) / 1e6
    assert s["rate_hz"] == pytest.approx((NA - 1) / span, rel=1e-3)
    assert s["nominal_rate_hz"] == 10000.0
    assert get(client, "/api/streams/stream_2/stats")["nominal_rate_hz"] is None


@pytest.mark.parametrize("query, parameter", [
    ("limit=0", "limit"), ("limit=10001", "limit"), ("limit=ten", "limit"),
    ("since=1.5", "since"), ("until=x", "until"), ("until=", "until"), ("after=-1", "after"),
    ("channels=x,nope", "channels"), ("channels=seq", "channels"),
    ("channels=x%22%3B%20DROP%20TABLE%20adc%3B--", "channels"),
    ("bucket=0", "bucket"), ("bucket=100&after=5", "after"),
    ("since=%d" % 2 ** 63, "since")])
def test_bad_parameters_are_400_naming_the_parameter(client, query, parameter):
    body = get(client, "/api/streams/stream_1/readings?" + query, 400)
    assert body["parameter"] == parameter and parameter in body["error"]


def test_unknown_streams_are_404(client):
    for url in ("/api/streams/nope", "/api/streams/nope/readings", "/api/streams/nope/stats",
                "/api/streams/nope/events", "/api/streams/_channels/readings",
                "/api/streams/sqlite_master/stats"):
        assert get(client, url, 404)["error"].startswith("no stream")
    assert get(client, "/api/nothing", 404)["error"] == "no such path: /api/nothing"


def test_a_log_of_one_board_has_no_boards(client):
    assert get(client, "/api/boards") == {"boards": []}
    if get(client, "/api/streams/stream_1")["board"]:  # the sink's board column holds NULL
        assert get(client, "/api/streams/stream_1/readings?board=A")["rows"] == []
    else:
        assert get(client, "/api/streams/stream_1/readings?board=A", 400)["parameter"] == "board"


def test_boards_of_a_multi_board_log(tmp_path):
    """Rows tagged with the board (a ``board`` column): listed, filtered."""
    path = str(tmp_path / "multi.db")
    data, _, _ = board_data(300)
    log(data, open_sink(path, flush_interval=0.0))
    db = sqlite3.connect(path)
    for table in ("stream_1", "stream_2"):
        cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % table)]
        if "board" not in cols:  # a sink without boards: add the column the same way
            db.execute('ALTER TABLE "%s" ADD COLUMN board TEXT' % table)
        n = db.execute('SELECT COUNT(*) FROM "%s"' % table).fetchone()[0]
        db.execute('UPDATE "%s" SET board = \'A\'' % table)
        db.execute('INSERT INTO "%s" SELECT * FROM "%s"' % (table, table))
        db.execute('UPDATE "%s" SET board = \'B\' WHERE rowid > ?' % table, (n,))
    db.commit()
    db.close()
    c = create_app(path).test_client()
    assert get(c, "/api/boards")["boards"] == [{"board": "A", "streams": ["stream_1", "stream_2"]},
                                              {"board": "B", "streams": ["stream_1", "stream_2"]}]
    page = get(c, "/api/streams/stream_1/readings?board=B&limit=10000")
    b = page["columns"].index("board")
    assert len(page["rows"]) == 300 and {r[b] for r in page["rows"]} == {"B"}


def test_a_log_without_a_board_column(tmp_path):
    """Logs written before rows carried the board: no boards, board= is a 400."""
    path = str(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE "_channels" ("table" TEXT, "column" TEXT, "stream" TEXT, '
               '"type" TEXT, "unit" TEXT, "period_us" INTEGER)')
    db.execute('CREATE TABLE "adc" (seq INTEGER, board_time_us INTEGER, host_time REAL, '
               'x1 INTEGER)')
    db.execute("INSERT INTO _channels VALUES ('adc', 'x1', 'adc', 'H', 'raw', 1000)")
    db.executemany("INSERT INTO adc VALUES (0, ?, 0.0, ?)", [(k * 1000, k) for k in range(5)])
    db.commit()
    db.close()
    c = create_app(path).test_client()
    assert get(c, "/api/streams")["streams"][0]["board"] is False
    assert get(c, "/api/boards") == {"boards": []}
    page = get(c, "/api/streams/adc/readings")
    assert page["columns"] == ["row", "board_time_us", "host_time", "x1"]
    assert get(c, "/api/streams/adc/readings?board=A", 400)["parameter"] == "board"
    assert get(c, "/api/streams/adc/stats")["frames_lost"] == 0  # no _counters table


def test_dashboard_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and b"dashboard.js" in page.data
    js = client.get("/static/dashboard.js")
    assert js.status_code == 200 and b"EventSource" in js.data
    for ref in (b"http://", b"https://"):  # nothing from elsewhere at run time
        assert ref not in page.data and ref not in js.data


def read_events(resp, want, timeout=30.0, stats=0):
    """Parse Server-Sent Events from a streamed response until ``want`` rows
    events (and ``stats`` stats events) arrived."""
    events, buf = [], b""
    end = time.monotonic() + timeout
    it = iter(resp.response)
    while time.monotonic() < end and (sum(e[0] == "rows" for e in events) < want
                                      or sum(e[0] == "stats" for e in events) < stats):
        buf += next(it)
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.decode().splitlines()
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                events.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
    return events


def test_events_push_new_rows_as_they_are_logged(tmp_path):
    path = str(tmp_path / "live.db")
    data, _, _ = board_data(3000)
    dec, streams = FrameDecoder(), Streams()
    sink = open_sink(path, flush_interval=0.0)
    batches, schemas = streams.feed(dec.feed(data[:len(data) // 2]))
    sink.write_all(batches, time.time(), schemas)
    sink.flush()
    app = create_app(path)
    c = app.test_client()
    resp = c.get("/api/streams/stream_1/events?channels=x", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    before = get(c, "/api/streams/stream_1/stats")["last_row"]
    assert before > 0

    def writer():  # the stream started after ``before``: it sends only what comes now
        b, s = streams.feed(dec.feed(data[len(data) // 2:]))
        sink.write_all(b, time.time(), s)
        sink.close()

    t = threading.Thread(target=writer)
    t.start()
    events = read_events(resp, 1, stats=1)
    t.join()
    rows = [e for e in events if e[0] == "rows"]
    assert rows, events
    _, body, ident = rows[0]
    assert body["columns"][-1] == "ch0"
    assert body["rows"][0][0] == before + 1  # only what was logged after connecting
    assert int(ident) == body["rows"][-1][0]
    stats = [e[1] for e in events if e[0] == "stats"]
    assert stats and stats[0]["stream"] == "stream_1"
    assert stats[0]["streams"] == ["stream_1", "stream_2"]
    resp.close()


def test_event_streams_are_bounded(db_path):
    c = create_app(db_path, sse_clients=2).test_client()
    a = c.get("/api/streams/stream_1/events", buffered=False)
    b = c.get("/api/streams/stream_1/events", buffered=False)
    third = c.get("/api/streams/stream_1/events")
    assert (a.status_code, b.status_code, third.status_code) == (200, 200, 503)
    assert "too many" in third.get_json()["error"] and third.headers["Retry-After"]
    a.close()  # a client leaves: its slot is free again
    d = c.get("/api/streams/stream_1/events", buffered=False)
    assert d.status_code == 200
    b.close()
    d.close()


def test_openapi_description(client):
    spec = get(client, "/api/openapi.json")
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/api/streams", "/api/boards", "/api/streams/{name}",
                                  "/api/streams/{name}/readings", "/api/streams/{name}/stats",
                                  "/api/streams/{name}/events"}


def test_waitress_serves_it_on_loopback(db_path):
    import urllib.request

    server = make_server(db_path, port=0)
    assert server.url.startswith("http://127.0.0.1:")
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        with urllib.request.urlopen(server.url + "api/streams/stream_1/stats", timeout=5) as r:
            assert json.load(r)["rows"] == NA
    finally:
        stop_server(server)
    t.join(5)
    assert not t.is_alive()


def test_api_conforms_to_its_openapi_description(db_path):
    """Schemathesis: requests generated from the description, valid and
    invalid ones, every response checked against it (status codes, content
    types, schemas, no server error, invalid input rejected). Stream names
    are random (404) or the log's "stream_1" (the parameters exercised); channel
    names valid for the schema need not exist in the log, so a 400 for one
    is right there. The event stream never ends: left out."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", create_app(db_path))
    ops = [r.ok() for r in schema.exclude(path_regex="events").get_all_operations()]
    assert len(ops) == 5
    runs = [(op, GenerationMode.POSITIVE, None) for op in ops]
    for op in ops:
        if "{name}" in op.path:
            runs.append((op, GenerationMode.POSITIVE, "stream_1"))
            if op.path.endswith(("readings", "stats")):  # query parameters to get wrong
                runs.append((op, GenerationMode.NEGATIVE, "stream_1"))
    assert len(runs) == 10
    for op, mode, name in runs:
        excluded = [positive_data_acceptance] if name else None

        @given(case=op.as_strategy(mode, path_parameters=name and {"name": name}))
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(excluded_checks=excluded)  # noqa: B023 (run at once)

        check()
