"""The MQTT sink against a real Mosquitto broker on a loopback port: what a
subscriber receives equals the rows sent, also when the broker is stopped
while logging (the spool holds the messages) and started again (drained,
in order); retained descriptors; user/password; with a SQLite sink."""

import os
import sqlite3
import time

import pytest
from test_link import FakeBoard, micropython
from test_sinks import board_data

from pyb_bridge import cli, logdb
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.mqtt import MqttSink, parse_url, topic_part
from pyb_sim.harness import MISSING, Mosquitto, Subscriber, free_port, mosquitto_path

pytestmark = pytest.mark.needs("mosquitto", "mosquitto_passwd")


def need_mosquitto():
    """The broker is there (tests/conftest.py stopped the run otherwise)."""
    assert mosquitto_path() is not None, MISSING


@pytest.fixture
def broker(tmp_path):
    need_mosquitto()
    b = Mosquitto(tmp_path / "broker", persistence=True).start()
    yield b
    b.stop()


def batches_of(data, chunk=2000):
    """[(batches, schemas)] as the logger sees them, chunk by chunk."""
    dec, streams = FrameDecoder(), Streams()
    return [streams.feed(dec.feed(data[i:i + chunk])) for i in range(0, len(data), chunk)]


def expected_rows(steps, board):
    rows = {}
    for batches, _ in steps:
        for b in batches:
            rows.setdefault((board, b.schema.name), []).extend(
                [list(r) for r in zip(b.times, *b.columns, strict=False)])
    return rows


def received_rows(messages):
    """Rows per (board, stream) from batch messages, a message repeated by
    QoS 1 (same board, stream and frame sequence number) counted once."""
    rows, seen = {}, set()
    for topic, m, _ in messages:
        if topic.endswith("/schema"):
            continue
        key = (m["board"], m["stream"], m["seq"])
        if key in seen:
            continue
        seen.add(key)
        rows.setdefault((m["board"], m["stream"]), []).extend(m["rows"])
    return rows


def rows_diff(got, want):
    """Where two rows-per-stream dicts part (for an assertion's message):
    per stream, the lengths and the first index at which they differ."""
    out = []
    for k in sorted(set(got) | set(want)):
        g, w = got.get(k, []), want.get(k, [])
        if g != w:
            pairs = enumerate(zip(g, w, strict=False))
            i = next((i for i, (a, b) in pairs if a != b), min(len(g), len(w)))
            out.append("%s: %d rows for %d, first difference at %d: %r for %r"
                       % (k, len(g), len(w), i, g[i:i + 2], w[i:i + 2]))
    return "; ".join(out)


def n_rows(messages):
    """Rows received, a message QoS 1 delivered twice counted once (the
    count a subscriber waits for: with the repeats, it could reach the total
    before the last messages came)."""
    return sum(len(v) for v in received_rows(messages).values())


def test_url_and_topics():
    assert parse_url("mqtt://broker.lan/lab/bench") == (
        "broker.lan", 1883, "lab/bench", False, None, None)
    assert parse_url("mqtts://u%40x:p%3Aw@h:9000") == ("h", 9000, "pyb", True, "u@x", "p:w")
    with pytest.raises(ValueError, match="not an MQTT URL"):
        parse_url("http://h/x")
    assert topic_part("/dev/ttyACM0") == "%2Fdev%2FttyACM0"
    assert topic_part("a+b#c") == "a%2Bb%23c" and topic_part("a_b") == "a%5Fb"
    assert topic_part("\u6e29\u5ea6") == "%E6%B8%A9%E5%BA%A6" and topic_part("") == "_"


def test_messages_received_equal_rows_sent(broker, tmp_path):
    sub = Subscriber(broker, "lab/#")
    data, na, nb = board_data(3000)
    steps = batches_of(data)
    sink = MqttSink(broker.url + "/lab", spool=str(tmp_path / "spool.sqlite"))
    try:
        assert sink.wait_connected()
        for batches, schemas in steps:
            sink.write_all(batches, 1700000000.25, schemas, board="/dev/ttyACM0")
        sink.close()
        assert sink.left_in_spool == 0 and not os.path.exists(str(tmp_path / "spool.sqlite"))
        assert sink.published == sum(len(b) for b, _ in steps) + 2  # and 2 descriptors
        assert sub.wait_for(lambda ms: n_rows(ms) >= na + nb)
    finally:
        sub.close()
    got = received_rows(sub.messages)
    assert got == expected_rows(steps, "/dev/ttyACM0")
    assert len(got[("/dev/ttyACM0", "adc")]) == na
    topics = {t for t, _, _ in sub.messages}
    dev = "lab/%2Fdev%2FttyACM0"
    assert topics == {dev + "/adc", dev + "/env", dev + "/adc/schema", dev + "/env/schema"}
    first = next(m for t, m, _ in sub.messages if t == dev + "/adc")
    assert first["columns"] == ["board_time_us", "x", "y"] and first["host_time"] == 1700000000.25
    # a subscriber that comes later still learns the channels: retained descriptors
    late = Subscriber(broker, "lab/+/+/schema")
    try:
        assert late.wait_for(lambda ms: len(ms) == 2, 5)
    finally:
        late.close()
    desc = {m["stream"]: (m, retain) for _, m, retain in late.messages}
    assert desc["adc"][1] is True
    assert desc["adc"][0]["channels"] == [{"name": "x", "type": "H", "unit": "raw"},
                                          {"name": "y", "type": "h", "unit": "mV"}]
    assert desc["env"][0]["columns"] == ["board_time_us", "temp", "seq_"]


def test_broker_restart_spools_then_drains_in_order(broker, tmp_path):
    sub = Subscriber(broker, "lab/#", client_id="watcher", persistent=True)
    data, na, nb = board_data(6000)
    steps = batches_of(data, 1000)
    spool = str(tmp_path / "spool.sqlite")
    sink = MqttSink(broker.url + "/lab", spool=spool, reconnect_delay=(0.05, 0.2))
    third = len(steps) // 3
    try:
        assert sink.wait_connected()
        for batches, schemas in steps[:third]:
            sink.write_all(batches, 1.0, schemas, board="A")
        assert sink.drain(5) and sink.spooled == 0
        # The broker holds nothing for the subscriber when it stops: what is
        # checked below is the sink's spool, not the broker's persistence.
        first = sum(len(b.times) for bs, _ in steps[:third] for b in bs)
        assert sub.wait_for(lambda ms: n_rows(ms) >= first)
        broker.stop()
        t0 = time.monotonic()
        while sink.connected and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        for batches, schemas in steps[third:2 * third]:
            sink.write_all(batches, 2.0, schemas, board="A")  # the broker is away
        spooled = sink.spooled
        assert spooled > 10 and sink.pending() >= spooled
        db = sqlite3.connect(spool)
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == spooled
        db.close()
        broker.start()
        for batches, schemas in steps[2 * third:]:
            sink.write_all(batches, 3.0, schemas, board="A")  # behind the spool
        assert sink.drain(10), "the spool was not drained: %d pending" % sink.pending()
        sink.close()
        assert sink.left_in_spool == 0
        assert sub.wait_for(lambda ms: n_rows(ms) >= na + nb)
    finally:
        sub.close()
        sink.close()
    assert received_rows(sub.messages) == expected_rows(steps, "A")  # nothing lost, in order


def test_spool_is_kept_when_the_broker_never_comes_and_sent_by_the_next_run(broker, tmp_path):
    data, na, nb = board_data(2000)
    steps = batches_of(data)
    spool = str(tmp_path / "spool.sqlite")
    broker.stop()
    sink = MqttSink(broker.url + "/lab", spool=spool, close_timeout=0.2)
    for batches, schemas in steps:
        sink.write_all(batches, 1.0, schemas, board="A")
    sink.close()
    assert sink.left_in_spool == sink.spooled > 0 and sink.published == 0
    broker.start()
    sub = Subscriber(broker, "lab/#")
    try:
        again = MqttSink(broker.url + "/lab", spool=spool)
        assert again.wait_connected()
        assert again.drain(5)
        again.close()
        assert again.left_in_spool == 0 and again.published == sink.spooled
        assert sub.wait_for(lambda ms: n_rows(ms) >= na + nb)
    finally:
        sub.close()
    assert received_rows(sub.messages) == expected_rows(steps, "A")


def test_user_and_password(tmp_path, monkeypatch):
    need_mosquitto()
    pw = tmp_path / "passwd"
    import subprocess

    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), "logger", "s3cret"], check=True,
                   capture_output=True)
    os.chmod(pw, 0o600)
    b = Mosquitto(tmp_path / "auth", extra=["password_file %s" % pw])
    with open(b.conf) as f:
        conf = f.read().replace("allow_anonymous true", "allow_anonymous false")
    with open(b.conf, "w") as f:
        f.write(conf)
    b.start()
    try:
        wrong = MqttSink(b.url + "/lab", spool=str(tmp_path / "w.sqlite"), username="logger",
                         password="nope", close_timeout=0)
        t0 = time.monotonic()
        while wrong.last_error is None and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        assert not wrong.connected and "refused" in (wrong.last_error or "")
        wrong.close()
        sub = Subscriber(b, "lab/#", username="logger", password="s3cret")
        steps = batches_of(board_data(500)[0])
        monkeypatch.setenv("PYB_MQTT_PASSWORD", "s3cret")
        from pyb_bridge.cli.log import open_sinks

        args = cli_args(["--out", b.url + "/lab", "--mqtt-user", "logger", "--mqtt-spool",
                         str(tmp_path / "s.sqlite")])
        (sink,) = open_sinks(args)
        assert sink.wait_connected()
        for batches, schemas in steps:
            sink.write_all(batches, 1.0, schemas, board="A")
        sink.close()
        assert sub.wait_for(lambda ms: n_rows(ms) >= 500)
        sub.close()
    finally:
        b.stop()


def cli_args(extra):
    import argparse

    from pyb_bridge.cli import log as logger

    ap = argparse.ArgumentParser()
    logger.add_arguments(ap)
    return ap.parse_args(extra)


def test_cli_logs_a_board_to_sqlite_and_mqtt(broker, tmp_path, capsys):
    assert micropython(), "the micropython interpreter is missing"
    sub = Subscriber(broker, "bench/#")
    link = str(tmp_path / "ttyPYB")
    out = str(tmp_path / "log.sqlite")
    fake = FakeBoard(link).start(1500)
    try:
        assert cli.main(["log", "--port", link, "--out", out, "--out", broker.url + "/bench",
                         "--mqtt-spool", str(tmp_path / "spool.sqlite"), "--duration", "1.5",
                         "--quiet"]) == 0
        assert sub.wait_for(lambda ms: n_rows(ms) >= 1500)
    finally:
        fake.unplug()
        sub.close()
    text = capsys.readouterr().out
    assert "1500 rows" in text and "0 left in" in text, text
    db = logdb.views(sqlite3.connect(out))
    want = [list(r) for r in db.execute("SELECT board_time_us, k, x FROM pty ORDER BY rowid")]
    got = received_rows(sub.messages)
    assert got == {(link, "pty"): want}


def test_tls_with_a_ca_file(tmp_path):
    need_mosquitto()
    import subprocess

    d = str(tmp_path)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for cmd in (["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
                 "-subj", "/CN=pyb-bridge test CA"],
                ["req", *ec, "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=127.0.0.1"],
                ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext"]):
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        subprocess.run(["openssl", *cmd], cwd=d, check=True, capture_output=True)
    tls_port = free_port()
    b = Mosquitto(tmp_path / "tls", extra=[
        "listener %d 127.0.0.1" % tls_port, "cafile %s/ca.crt" % d,
        "certfile %s/server.crt" % d, "keyfile %s/server.key" % d]).start()
    try:
        sub = Subscriber(b, "lab/#")  # on the plain listener
        steps = batches_of(board_data(300)[0])
        sink = MqttSink("mqtts://127.0.0.1:%d/lab" % tls_port, spool=str(tmp_path / "s.sqlite"),
                        cafile=os.path.join(d, "ca.crt"))
        assert sink.wait_connected(), sink.last_error
        for batches, schemas in steps:
            sink.write_all(batches, 1.0, schemas, board="A")
        sink.close()
        assert sink.left_in_spool == 0
        assert sub.wait_for(lambda ms: n_rows(ms) >= 300)
        sub.close()
    finally:
        b.stop()
    got, want = received_rows(sub.messages), expected_rows(steps, "A")
    assert got == want, rows_diff(got, want)


def test_messages_unacknowledged_at_close_go_to_the_spool_in_front(broker, tmp_path):
    """The broker hangs (SIGSTOP): published messages get no acknowledgement;
    closing keeps them in the spool, ahead of what was spooled, and the
    next run sends them first."""
    import signal

    sub = Subscriber(broker, "lab/#", client_id="w", persistent=True)
    data, na, nb = board_data(2000)
    steps = batches_of(data, 1000)
    spool = str(tmp_path / "spool.sqlite")
    sink = MqttSink(broker.url + "/lab", spool=spool, close_timeout=0.3)
    assert sink.wait_connected()
    half = len(steps) // 2
    broker.proc.send_signal(signal.SIGSTOP)
    try:
        for batches, schemas in steps[:half]:
            sink.write_all(batches, 1.0, schemas, board="A")
        held = sink.pending()
        assert sink.spooled == 0 and held > 0  # handed over, not acknowledged
        sink.close()
    finally:
        broker.proc.send_signal(signal.SIGCONT)
    assert sink.left_in_spool == held and sink.published == 0
    again = MqttSink(broker.url + "/lab", spool=spool)
    try:
        assert again.wait_connected()
        for batches, schemas in steps[half:]:
            again.write_all(batches, 2.0, schemas, board="A")  # behind the spool
        assert again.drain(5)
        again.close()
        assert again.left_in_spool == 0
        assert sub.wait_for(lambda ms: n_rows(ms) >= na + nb)
    finally:
        sub.close()
    assert received_rows(sub.messages) == expected_rows(steps, "A")
