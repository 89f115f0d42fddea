"""MQTT benchmarks: messages per second through a real Mosquitto broker on
this machine (pyb-bridge's MQTT sink publishing, a paho subscriber
receiving), and the spool's recovery after a broker restart. Also the host
side of several boards: MicroPython processes streaming into ptys, all
logged by one ``pyb_bridge.logger.Logger`` into one SQLite file. Starts its
own broker on a loopback port; prints the figures.

    python bench/mqtt.py [--messages N] [--outage S] [--boards 1,2,4]
"""

import argparse
import os
import platform
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "host"), ROOT, os.path.join(ROOT, "tests", "host")]

import pyb_sim  # noqa: E402

pyb_sim.install()  # ``micropython.const`` for the board code on CPython

from mqtt_support import MISSING, Mosquitto, Subscriber, mosquitto_path  # noqa: E402

from pyb_bridge.decoder import FrameDecoder, Streams  # noqa: E402
from pyb_bridge.mqtt import MqttSink  # noqa: E402
from pyb_lib.stream import Stream  # noqa: E402
from pyb_sim.capture import Capture  # noqa: E402


def frames(n_records, latency_records):
    """Batches of a 2-channel stream at 1 kHz, ``latency_records`` records
    per frame (100: the default 100 ms latency at 1 kHz)."""
    port = Capture()
    t = [0]

    def clock():
        t[0] += 1000
        return t[0]

    s = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), port, name="adc", period_us=1000,
               clock=clock, frame_bytes=20 + 4 * latency_records, max_latency_ms=10 ** 6)
    s.start()
    for k in range(n_records):
        s.add(k & 0xFFF, 4095 - (k & 0xFFF))
    s.stop()
    batches, schemas = Streams().feed(FrameDecoder().feed(bytes(port.data)))
    return batches, schemas


def count_rows(messages):
    return sum(len(m["rows"]) if "rows" in m else 1
               for t, m, _ in messages if not t.endswith("/schema"))


def throughput(broker, tmp, n_messages, qos, payload, records):
    batches, schemas = frames(n_messages * records if payload == "batch" else n_messages,
                              records if payload == "batch" else 100)
    rows = sum(len(b.times) for b in batches)
    n = len(batches) if payload == "batch" else rows
    sub = Subscriber(broker, "bench/#")
    sink = MqttSink(broker.url + "/bench", spool=os.path.join(tmp, "t.sqlite"), qos=qos,
                    payload=payload)
    sink.wait_connected()
    t0 = time.perf_counter()
    step = 50
    for i in range(0, len(batches), step):
        sink.write_all(batches[i:i + step], time.time(), schemas if i == 0 else (), board="B1")
    t_handed = time.perf_counter() - t0
    sink.drain(60)
    t_acked = time.perf_counter() - t0
    ok = sub.wait_for(lambda ms: count_rows(ms) >= rows, 60)
    t_recv = time.perf_counter() - t0
    sink.close()
    sub.close()
    assert ok, "the subscriber did not get every row"
    return {"messages": n, "rows": rows, "handed_s": t_handed, "acked_s": t_acked,
            "received_s": t_recv, "msg_per_s": n / t_recv, "rows_per_s": rows / t_recv}


def restart(broker, tmp, rate, outage, records):
    """Publish ``rate`` messages/s; the broker is stopped for ``outage``
    seconds and started again; how long until the spool is empty."""
    sub = Subscriber(broker, "bench/#", client_id="bench-watch", persistent=True)
    total_s = outage + 6.0
    batches, schemas = frames(int(rate * total_s + rate) * records, records)
    sink = MqttSink(broker.url + "/bench", spool=os.path.join(tmp, "r.sqlite"))
    sink.wait_connected()
    t0 = time.monotonic()
    sent = 0
    marks = {}
    stopped = started = False
    while True:
        now = time.monotonic() - t0
        due = min(int(now * rate) + 1, len(batches))
        if due > sent:
            sink.write_all(batches[sent:due], time.time(), schemas if sent == 0 else (),
                           board="B1")
            sent = due
        else:
            sink.pump()
        if not stopped and now >= 1.0:
            broker.stop()
            stopped = True
            marks["stop"] = now
        if stopped and not started and now >= 1.0 + outage:
            marks["spooled_at_restart"] = sink.spooled
            marks["pending_at_restart"] = sink.pending()
            target = sink.published + sink.pending()  # all written before the restart
            broker.start()
            started = True
            marks["start"] = time.monotonic() - t0
        if started and "reconnected" not in marks and sink.connected:
            marks["reconnected"] = time.monotonic() - t0
        if "reconnected" in marks and "drained" not in marks and sink.published >= target:
            marks["drained"] = time.monotonic() - t0
        if "drained" in marks and now >= marks["drained"] + 0.5:
            break
        if now > total_s + 20:
            break
        time.sleep(0.002)
    rows = sum(len(b.times) for b in batches[:sent])
    ok = sub.wait_for(lambda ms: count_rows(ms) >= rows, 20)
    got = count_rows(sub.messages)
    sink.close()
    sub.close()
    marks.update(sent=sent, rows=rows, received_rows=got, complete=ok,
                 spooled=sink.spooled, left=sink.left_in_spool)
    return marks


def several_boards(counts, seconds):
    """Rows/s one Logger takes from N MicroPython writers on ptys."""
    from test_link import FakeBoard, micropython

    from pyb_bridge.logger import Logger
    from pyb_bridge.outputs import open_sink

    if not micropython():
        return None
    out = {}
    for n in counts:
        with tempfile.TemporaryDirectory() as d:
            links = [os.path.join(d, "tty%d" % i) for i in range(n)]
            fakes = [FakeBoard(p).start(-1) for p in links]
            sink = open_sink(os.path.join(d, "n.sqlite"))
            try:
                lg = Logger(links, [sink])
                with lg:
                    t_end = time.monotonic() + 0.5
                    while time.monotonic() < t_end:
                        lg.step(0.02)
                    r0, t0 = lg.rows, time.monotonic()
                    c0 = os.times()
                    while time.monotonic() - t0 < seconds:
                        lg.step(0.02)
                    rows, dt = lg.rows - r0, time.monotonic() - t0
                    c1 = os.times()
                    lost = lg.counters()[0]["frames_lost"]
            finally:
                for f in fakes:
                    f.unplug()
                sink.close()
            cpu = (c1.user - c0.user + c1.system - c0.system) / dt
            out[n] = {"rows_per_s": rows / dt, "per_board": rows / dt / n,
                      "bridge_cpu": cpu, "frames_lost": lost}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000, help="messages per throughput run")
    ap.add_argument("--outage", type=float, default=3.0, help="seconds the broker is away")
    ap.add_argument("--rate", type=float, default=200.0,
                    help="messages/s during the restart run (default 200: 20 boards at "
                         "1 kHz in 100 ms batches)")
    ap.add_argument("--boards", default="1,2,4", help="board counts for the pty run")
    args = ap.parse_args()
    if mosquitto_path() is None:
        raise SystemExit(MISSING)
    import paho.mqtt

    print("# pyb-bridge MQTT benchmark: %s, %d CPUs, Python %s, paho-mqtt %s, %s" % (
        platform.machine(), os.cpu_count(), platform.python_version(), paho.mqtt.__version__,
        os.popen(mosquitto_path() + " -h").readline().strip()))
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(os.path.join(tmp, "broker"), persistence=True).start()
        try:
            print("\n## Through the broker (publisher -> mosquitto -> subscriber, loopback)")
            print("%-34s %9s %9s %11s %11s" % ("payload", "messages", "rows", "messages/s",
                                               "rows/s"))
            for label, qos, payload, records in (
                    ("batch of 100 rows, QoS 1", 1, "batch", 100),
                    ("batch of 100 rows, QoS 0", 0, "batch", 100),
                    ("batch of 250 rows, QoS 1", 1, "batch", 250),
                    ("one row per message, QoS 1", 1, "row", 100),
                    ("one row per message, QoS 0", 0, "row", 100)):
                r = throughput(broker, tmp, args.messages, qos, payload, records)
                print("%-34s %9d %9d %11.0f %11.0f" % (label, r["messages"], r["rows"],
                                                       r["msg_per_s"], r["rows_per_s"]))
            print("\n## Broker restart: %.0f messages/s (100 rows each), broker away %.1f s"
                  % (args.rate, args.outage))
            m = restart(broker, tmp, args.rate, args.outage, 100)
            print("spooled while away:        %d messages (%d pending at the restart)"
                  % (m["spooled_at_restart"], m["pending_at_restart"]))
            print("reconnected after restart: %.2f s" % (m["reconnected"] - m["start"]))
            print("spool drained after restart: %.2f s (%.2f s after reconnecting, "
                  "%.0f messages/s)" % (m["drained"] - m["start"],
                                        m["drained"] - m["reconnected"],
                                        m["pending_at_restart"] / max(
                                            m["drained"] - m["reconnected"], 1e-9)))
            print("rows sent %d, received %d, complete %s, left in spool %d"
                  % (m["rows"], m["received_rows"], m["complete"], m["left"]))
        finally:
            broker.stop()
    counts = [int(x) for x in args.boards.split(",") if x]
    if counts:
        print("\n## Several boards: MicroPython writers on ptys, one logger, one SQLite file")
        res = several_boards(counts, 3.0)
        if res is None:
            print("(micropython interpreter missing)")
        else:
            print("%-7s %11s %15s %12s %12s" % ("boards", "rows/s", "rows/s/board",
                                                "bridge CPU", "frames lost"))
            for n, r in res.items():
                print("%-7d %11.0f %15.0f %11.0f%% %12d" % (
                    n, r["rows_per_s"], r["per_board"], 100 * r["bridge_cpu"],
                    r["frames_lost"]))


if __name__ == "__main__":
    main()
