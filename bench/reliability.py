"""The stream through a faulty link into ``pyb-bridge log``: what is lost,
what is counted, and that nothing corrupted is ever written.

A writer (pyb_lib.stream on CPython, one frame per write) streams readings
into a board pseudo-terminal; ``pyb_bridge.faultlink`` sits between that
port and the bridge's; ``pyb-bridge log`` (a separate process) writes SQLite.
Every reading carries its own index ``k`` and two values derived from it,
and the writer records the sequence number and the readings of every frame
it sent, so the truth is known: a logged row is correct only if its frame,
index and values all match what was sent.

The first frame (the descriptor) and the last ones (the final data frame
and the status frame) pass without faults, so the real loss is exactly the
data frames sent but not logged, and the bridge's sequence-gap count
(``frames_lost``) must equal it.

    python bench/reliability.py [--seconds S] [--rate R] [--disconnects N]

Prints the table and writes it between the markers of docs/reliability.md.
"""

import argparse
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "host"), ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import pyb_sim  # noqa: E402

pyb_sim.install()  # ``micropython.const`` for the board code on CPython
from pyb_bridge.faultlink import FaultLink, even_rates  # noqa: E402
from pyb_bridge.logdb import named_views  # noqa: E402
from pyb_lib.stream import Stream  # noqa: E402

BEGIN_MARK = "<!-- faults:begin -->"
END_MARK = "<!-- faults:end -->"
CHANNELS = (("k", "I", ""), ("x", "H", ""), ("y", "h", ""))
_HDR = struct.Struct("<BBBBBBHII")  # the first 16 bytes; the length counts 8 more (ids)


def x_of(k):
    return (k * 40503) & 0xFFFF


def y_of(k):
    return ((k * 7919) & 0xFFFF) - 32768


class Recorder:
    """The board's port: writes go to the pty; each frame's header is kept."""

    def __init__(self, fd):
        self.fd = fd
        self.frames = []  # (seq, type, length)
        self.bytes = 0

    def write(self, data):
        data = bytes(data)
        _, _, _, typ, _, _, length, seq, _ = _HDR.unpack_from(data)
        self.frames.append((seq, typ, length - 8))  # payload bytes
        done = 0
        while done < len(data):
            done += os.write(self.fd, data[done:])
        self.bytes += len(data)
        return len(data)


def bridge_has_open(pid, name):
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == name:
                return True
        except OSError:
            pass
    return False


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise RuntimeError("timed out waiting for %s" % what)
        time.sleep(0.005)


def described(db, table="rel"):
    """True once the bridge's log declares the stream ``table``."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=0.1)
        try:
            return bool(con.execute('SELECT 1 FROM "_streams" WHERE "stream" = ?',
                                    (table,)).fetchone())
        finally:
            con.close()
    except sqlite3.Error:  # not there yet, or being written
        return False


def resend(stream):
    stream.send_descriptor()
    time.sleep(0.5)
    return False


def run_case(rate=0.0, disconnects=0, seconds=3.0, rows_per_s=20000, seed=1, stall=0.0,
             frame_bytes=1024, workdir=None):
    """One run; returns a dict of figures (see ``TABLE``)."""
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="pyb-reliability-")
    link = os.path.join(workdir, "ttyFAULTY")
    db = os.path.join(workdir, "log.sqlite")
    bm, bs = os.openpty()
    tty.setraw(bm)
    tty.setraw(bs)
    rates = even_rates(rate) if rate else {}
    if stall:
        rates["stall"] = stall
    fl = FaultLink(os.ttyname(bs), link, rates=rates, seed=seed, stall_s=0.02, gap_s=0.03)
    fl.enabled = False
    fl.start()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(ROOT, "host"), ROOT, os.environ.get("PYTHONPATH", "")]))
    bridge = subprocess.Popen(
        [sys.executable, "-m", "pyb_bridge.cli", "log", "--port", link, "--out", db,
         "--quiet", "--flush-interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rec = Recorder(bm)
    try:
        wait_for(lambda: bridge_has_open(bridge.pid, fl.slave_name), 20, "the bridge to open")
        s = Stream(CHANNELS, rec, name="rel", period_us=50, descriptor_every=1 << 30,
                   frame_bytes=frame_bytes,
                   descriptor_ms=1 << 19,
                   clock=lambda: int(time.monotonic() * 1e6) & ((1 << 30) - 1))
        s.start()
        # pyserial empties the input when it opens a port, so a descriptor
        # that came just as the bridge opened it is gone: send it again (as
        # a board does every few seconds) until the bridge has the stream
        # in its log. Faults start only then.
        sent_at = time.monotonic()
        wait_for(lambda: described(db) or (time.monotonic() - sent_at > 0.5 and resend(s)),
                 20, "the bridge to learn the stream")
        wait_for(lambda: fl.bytes_in >= rec.bytes and fl.idle(), 5, "the descriptor")
        fl.enabled = True
        n = int(rows_per_s * seconds)
        t0 = time.monotonic()
        unplug_at = [seconds * (i + 0.5) / disconnects for i in range(disconnects)]
        k = 0
        while k < n:
            for _ in range(200):
                if k < n:
                    s.add(k, x_of(k), y_of(k))
                    k += 1
            dt = time.monotonic() - t0
            while unplug_at and dt >= unplug_at[0]:
                unplug_at.pop(0)
                fl.disconnect()
            ahead = k / rows_per_s - dt
            if ahead > 0:
                time.sleep(ahead)
        # Let the proxy pass on everything, then the end cleanly.
        wait_for(lambda: fl.bytes_in >= rec.bytes and fl.idle(), 10, "the proxy to drain")
        fl.enabled = False
        wait_for(lambda: fl.disconnects == disconnects, 10, "the disconnects")
        wait_for(lambda: bridge_has_open(bridge.pid, fl.slave_name), 10, "the last reconnect")
        time.sleep(0.1)
        s.stop()
        wait_for(lambda: fl.bytes_in >= rec.bytes and fl.idle(), 5, "the last frames")
        time.sleep(0.4)
    finally:
        bridge.send_signal(signal.SIGTERM)
        try:
            out, err = bridge.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            bridge.kill()
            out, err = bridge.communicate()
        fl.stop()
        os.close(bm)
        os.close(bs)
    # (the board's own text, faults included, is shown prefixed by its port)
    if bridge.returncode != 0 or any(ln.startswith("Traceback") for ln in err.splitlines()):
        raise RuntimeError("pyb-bridge log failed (%s): %s" % (bridge.returncode, err))
    result = check(db, rec.frames, n)
    result.update(rate=rate, disconnects=disconnects, proxy=fl.counters(), seconds=seconds,
                  frame_bytes=frame_bytes)
    if own:
        for f in os.listdir(workdir):
            os.remove(os.path.join(workdir, f))
        os.rmdir(workdir)
    return result


def check(db, sent, n_rows):
    """Compare the log with what was sent."""
    con = sqlite3.connect(db)
    named_views(con)  # the stream "rel" under its own name
    counters = dict(con.execute('SELECT name, value FROM "_counters"'))
    rows = con.execute('SELECT seq, k, x, y FROM "rel"').fetchall()
    con.close()
    size = struct.calcsize("<IHh")
    first_k = {}
    k = 0
    data_seqs = []
    for seq, typ, length in sent:
        if typ == 2:
            first_k[seq] = (k, length // size)
            k += length // size
            data_seqs.append(seq)
    assert k == n_rows
    corrupted = 0
    seen = set()
    logged_frames = set()
    for seq, kk, x, y in rows:
        span = first_k.get(seq)
        ok = (span is not None and span[0] <= kk < span[0] + span[1] and x == x_of(kk)
              and y == y_of(kk) and kk not in seen)
        if ok:
            seen.add(kk)
            logged_frames.add(seq)
        else:
            corrupted += 1
    # Whole frames only: every logged frame has all its rows.
    partial = sum(1 for s in logged_frames
                  if sum(1 for kk in range(first_k[s][0], first_k[s][0] + first_k[s][1])
                         if kk in seen) != first_k[s][1])
    lost = len(data_seqs) - len(logged_frames)
    return {
        "frames_sent": len(sent), "data_frames_sent": len(data_seqs),
        "frames_logged": len(logged_frames), "rows_sent": n_rows, "rows_logged": len(rows),
        "real_lost": lost, "counted_lost": counters.get("frames_lost", -1),
        "corrupted_rows": corrupted, "partial_frames": partial,
        "crc_errors": counters.get("crc_errors", 0), "resyncs": counters.get("resyncs", 0),
        "reconnects": counters.get("reconnects", 0), "duplicates": counters.get("duplicates", 0),
        "restarts": counters.get("restarts", 0),
    }


def kill_once(db, rows_per_s, flush_interval, kill_at):
    """Stream ``rows_per_s`` readings/s into ``pyb-bridge log`` writing
    ``db`` and kill it with SIGKILL after ``kill_at`` s; the readings the
    board had sent by then."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(ROOT, "host"), ROOT, os.environ.get("PYTHONPATH", "")]))
    bm, bs = os.openpty()
    tty.setraw(bm)
    tty.setraw(bs)
    slave = os.ttyname(bs)
    bridge = subprocess.Popen(
        [sys.executable, "-m", "pyb_bridge.cli", "log", "--port", slave, "--out", db,
         "--quiet", "--flush-interval", str(flush_interval)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rec = Recorder(bm)
    try:
        wait_for(lambda: bridge_has_open(bridge.pid, slave), 20, "the bridge to open")
        s = Stream(CHANNELS, rec, name="rel", period_us=1000000 // rows_per_s,
                   descriptor_every=1 << 30, descriptor_ms=1 << 19, max_latency_ms=50,
                   clock=lambda: int(time.monotonic() * 1e6) & ((1 << 30) - 1))
        s.start()
        sent_at = time.monotonic()
        wait_for(lambda: described(db) or (time.monotonic() - sent_at > 0.5 and resend(s)),
                 20, "the bridge to learn the stream")
        t0 = time.monotonic()
        k = 0
        while time.monotonic() - t0 < kill_at:
            s.add(k, x_of(k), y_of(k))
            k += 1
            s.poll()  # a frame at least every max_latency_ms
            ahead = k / rows_per_s - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    finally:
        bridge.kill()
        bridge.wait()
        os.close(bm)
        os.close(bs)
    size = struct.calcsize("<IHh")
    return sum(length // size for _, typ, length in rec.frames if typ == 2)


def run_kill(kills=10, rows_per_s=1000, flush_interval=1.0, seed=1, workdir=None):
    """``pyb-bridge log`` killed with SIGKILL ``kills`` times, each at a
    random moment 1.5..3.5 s into a clean stream of ``rows_per_s``
    readings/s: what the SQLite file holds then. The rows lost are those
    the board had sent but the file does not hold (committed rows must be
    a gapless prefix of what was sent)."""
    import random
    import shutil

    rnd = random.Random(seed)
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="pyb-reliability-kill-")
    lost, intact, prefix = [], 0, 0
    for trial in range(kills):
        db = os.path.join(workdir, "kill%d.sqlite" % trial)
        sent = kill_once(db, rows_per_s, flush_interval, rnd.uniform(1.5, 3.5))
        con = sqlite3.connect(db)
        intact += con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        named_views(con)
        ks = [r[0] for r in con.execute('SELECT k FROM "rel" ORDER BY rowid')]
        con.close()
        prefix += ks == list(range(len(ks)))
        lost.append(sent - len(ks))
    if own:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"kills": kills, "intact": intact, "prefix": prefix, "lost": lost,
            "rows_per_s": rows_per_s, "flush_interval": flush_interval}


KILL_HEAD = ("| kills | files intact | gapless from the start | rows lost per kill: mean "
             "| max | max in seconds of data |\n|---:|---:|---:|---:|---:|---:|")


def kill_row(r):
    lost = r["lost"]
    return "| %d | %d | %d | %.0f | %d | %.2f s |" % (
        r["kills"], r["intact"], r["prefix"], sum(lost) / len(lost), max(lost),
        max(lost) / r["rows_per_s"])


def run_mqtt(restarts=5, seconds=3.0, rate=200, outage=0.3, workdir=None):
    """Batches published by the MQTT sink (QoS 1, spool) to a real Mosquitto
    restarted ``restarts`` times meanwhile; a subscriber with a persistent
    session counts what arrives. Every message carries its own ``seq``."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "host"))
    from array import array

    from mqtt_support import Mosquitto, Subscriber

    from pyb_bridge.decoder import Batch, Channel, Schema
    from pyb_bridge.mqtt import MqttSink

    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="pyb-reliability-mqtt-")
    broker = Mosquitto(os.path.join(workdir, "broker"), persistence=True).start()
    sub = Subscriber(broker, "rel/#", client_id="rel-watcher", persistent=True)
    sink = MqttSink(broker.url + "/rel", spool=os.path.join(workdir, "spool.sqlite"),
                    reconnect_delay=(0.05, 0.2))
    schema = Schema(1, "rel", 1000, [Channel("k", "I", "")])
    n = int(seconds * rate)
    restart_at = [int(n * (i + 0.5) / restarts) for i in range(restarts)]
    done = 0
    try:
        sink.wait_connected()
        t0 = time.monotonic()
        for seq in range(n):
            batch = Batch(schema, seq, range(seq * 10000, seq * 10000 + 10000, 1000),
                          [array("I", range(seq * 10, seq * 10 + 10))])
            sink.write_all([batch], time.time(), [schema] if seq == 0 else (), board="A")
            if restart_at and seq == restart_at[0]:
                restart_at.pop(0)
                broker.stop()
                time.sleep(outage)
                broker.start()
                done += 1
            ahead = (seq + 1) / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        if not sink.drain(20):
            print("mqtt: not drained: connected %s, pending %d, %s" % (
                sink.connected, sink.pending(), sink.last_error), file=sys.stderr)
        sink.close()
        sub.wait_for(lambda ms: len({m["seq"] for t, m, _ in ms
                                     if not t.endswith("/schema")}) >= n, 20)
    finally:
        sub.close()
        sink.close()
        broker.stop()
    seqs = [m["seq"] for t, m, _ in sub.messages if not t.endswith("/schema")]
    rows_ok = all(m["rows"] == [[m["seq"] * 10000 + 1000 * i, m["seq"] * 10 + i]
                                for i in range(10)]
                  for t, m, _ in sub.messages if not t.endswith("/schema"))
    if own:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return {"published": n, "received": len(set(seqs)), "duplicates": len(seqs) - len(set(seqs)),
            "lost": n - len(set(seqs) & set(range(n))), "restarts": done,
            "in_order": seqs == sorted(seqs), "rows_ok": rows_ok, "spooled": sink.spooled,
            "left_in_spool": sink.left_in_spool}


MQTT_HEAD = ("| broker restarts | messages published | received by a subscriber | duplicates "
             "| lost | went through the spool |\n|---:|---:|---:|---:|---:|---:|")


def mqtt_row(m):
    return "| %d | %d | %d | %d | %d | %d |" % (m["restarts"], m["published"], m["received"],
                                                m["duplicates"], m["lost"], m["spooled"])


TABLE_HEAD = ("| link | frames sent | frames logged | frames counted lost | real loss "
              "| gap count = real loss | corrupted rows logged | CRC errors | resyncs "
              "| reconnects survived |\n"
              "|---|---:|---:|---:|---:|---|---:|---:|---:|---|")


def table_row(r):
    what = ("byte error rate %g" % r["rate"]) if r["rate"] else "clean"
    if r["disconnects"]:
        what = "%d forced disconnects" % r["disconnects"] + (
            ", byte error rate %g" % r["rate"] if r["rate"] else "")
    if r["frame_bytes"] != 1024:
        what += " (%d-byte frames)" % r["frame_bytes"]
    survived = "%d of %d" % (r["reconnects"], r["disconnects"]) if r["disconnects"] else "-"
    return "| %s | %d | %d | %d | %d | %s | %d | %d | %d | %s |" % (
        what, r["data_frames_sent"], r["frames_logged"], r["counted_lost"], r["real_lost"],
        "yes" if r["counted_lost"] == r["real_lost"] else "NO", r["corrupted_rows"],
        r["crc_errors"], r["resyncs"], survived)


def write_doc(text):
    path = os.path.join(ROOT, "docs", "reliability.md")
    with open(path) as f:
        doc = f.read()
    a = doc.index(BEGIN_MARK) + len(BEGIN_MARK)
    b = doc.index(END_MARK)
    with open(path, "w") as f:
        f.write(doc[:a] + "\n" + text + "\n" + doc[b:])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="streaming time per case")
    ap.add_argument("--rows-per-s", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-doc", action="store_true", help="print only")
    ap.add_argument("--no-mqtt", dest="mqtt", action="store_false",
                    help="without the MQTT broker-restart case (needs mosquitto)")
    args = ap.parse_args(argv)
    cases = [dict(rate=1e-4), dict(rate=1e-3), dict(rate=1e-2), dict(rate=1e-2, frame_bytes=128),
             dict(disconnects=20), dict(rate=1e-3, stall=1e-4, disconnects=20)]
    lines = [TABLE_HEAD]
    bad = []
    for c in cases:
        r = run_case(seconds=args.seconds, rows_per_s=args.rows_per_s, seed=args.seed, **c)
        lines.append(table_row(r))
        print(lines[-1], flush=True)
        if r["corrupted_rows"] or r["partial_frames"] or r["counted_lost"] != r["real_lost"] \
                or r["reconnects"] != r["disconnects"]:
            bad.append(lines[-1])
    text = "\n".join(lines)
    text += ("\n\n%d readings/s of 3 channels (u32 index, u16, i16: 8 bytes), 124 readings per "
             "1024-byte frame (the default; 12 per 128-byte frame), stream protocol 2, "
             "%.0f s per case, seed %d; "
             "faults split evenly over bit flips, "
             "drops, duplicates, inserted bytes and inserted REPL text; the "
             "last row adds stalls of 20 ms at 1e-4 per byte. Each disconnect closes the bridge's "
             "pty for 30 ms; what the board sends until the bridge has reopened it is lost. "
             "`make bench-reliability` (`python bench/reliability.py`)."
             % (args.rows_per_s, args.seconds, args.seed))
    kill = run_kill(seed=args.seed)
    text += ("\n\n`pyb-bridge log` killed with SIGKILL at a random moment 1.5..3.5 s into "
             "a clean stream of %d readings/s, `--flush-interval %g`, %d times; rows lost "
             "are those the board had sent and the SQLite file does not hold:\n\n"
             % (kill["rows_per_s"], kill["flush_interval"], kill["kills"])
             + KILL_HEAD + "\n" + kill_row(kill))
    if kill["intact"] != kill["kills"] or kill["prefix"] != kill["kills"]:
        bad.append(kill_row(kill))
    if args.mqtt:
        m = run_mqtt(restarts=5, seconds=args.seconds)
        text += "\n\nThe MQTT path (`--out mqtt://...`, QoS 1, the spool) across 5 restarts " \
                "of a real Mosquitto (0.3 s away each, persistence on, the subscriber with a " \
                "persistent session), 200 messages/s of 10 readings:\n\n" + MQTT_HEAD + "\n" \
                + mqtt_row(m)
        if m["lost"] or not m["rows_ok"] or m["restarts"] != 5:
            bad.append(mqtt_row(m))
    print()
    print(text)
    if not args.no_doc:
        write_doc(text)
    if bad:
        print("FAILED:", *bad, sep="\n", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
