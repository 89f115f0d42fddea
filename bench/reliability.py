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
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "host"), ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from pyb_sim.reliability import run_case, run_kill, run_mqtt  # noqa: E402

BEGIN_MARK = "<!-- faults:begin -->"
END_MARK = "<!-- faults:end -->"


KILL_HEAD = ("| kills | files intact | gapless from the start | rows lost per kill: mean "
             "| max | max in seconds of data |\n|---:|---:|---:|---:|---:|---:|")


def kill_row(r):
    lost = r["lost"]
    return "| %d | %d | %d | %.0f | %d | %.2f s |" % (
        r["kills"], r["intact"], r["prefix"], sum(lost) / len(lost), max(lost),
        max(lost) / r["rows_per_s"])


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
