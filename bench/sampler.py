"""The Sampler at a PYBv1.1's speed: for 1, 2 and 4 ADC channels, the
highest rate at which a virtual PyBoard (``--cpu pyboard``, ``--link-speed
usb-fs``) samples with ``pyb_lib.sampler.Sampler`` for ``--seconds`` of
board time with 0 overruns and every sample in SQLite
(``pyb-bridge log --script``).

Rates are tried from the highest the Sampler takes (10 kHz) down; the first
that passes is the figure. A run passes when the board counted no overrun,
SQLite holds as many rows as the board sampled, their times are one period
apart with no gap, and the link lost no frame.

    python bench/sampler.py [--seconds S] [--cpu pyboard|host] [--channels 1,2,4]

Merges board_sampler_max_hz_Nch (``--cpu pyboard``) or
host_sampler_max_hz_Nch (``--cpu host``, the PC's speed) into
bench/results.json and writes the table between the sampler (or
sampler-host) markers of docs/performance.md.
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import board
from e2e import bridge_cmd, bridge_env, make_flash
from report import merge_results, write_block

from pyb_bridge.logdb import named_views

RATES = (10000, 8000, 5000, 4000, 2500, 2000, 1000, 500)  # Hz, divisors of 1 MHz
PINS = ("X1", "X2", "X3", "X4")
COUNT_FILE = "sampler_count.txt"
BAR_4CH = 10000

SAMPLER_BOARD = """
from pyb_lib.stream import Stream
from pyb_lib.sampler import Sampler
N = %(n)d
RATE = %(rate)d
s = Stream(tuple(('a%%d' %% i, 'H', 'raw') for i in range(N)), name='smp',
           period_us=1000000 // RATE)
smp = Sampler(s, %(pins)r[:N], RATE)
smp.run(%(ms)d)
with open('/flash/%(count)s', 'w') as f:
    f.write('%%d %%d' %% (smp.samples, smp.overruns))
"""


def run_rate(flash, tmp, cpu, n, rate, seconds):
    """One Sampler run; (samples, overruns, problems)."""
    script = os.path.join(tmp, "sampler_board.py")
    with open(script, "w") as f:
        f.write(SAMPLER_BOARD % {"n": n, "rate": rate, "pins": PINS,
                                 "ms": int(seconds * 1000), "count": COUNT_FILE})
    db = os.path.join(tmp, "sampler.sqlite")
    proc, port = board.start_board(flash, "--link-speed", "usb-fs", "--cpu", cpu,
                                   who="bench/sampler.py")
    try:
        # The log ends when the script does; the duration only bounds a hang.
        # The board's clock leaves out the host time spent in the simulation
        # (docs/virtual-board.md), so its seconds can take several of the PC's.
        bound = 10 * seconds + 60
        log = subprocess.run(
            bridge_cmd() + ["log", "--port", port, "--out", db, "--script", script,
                            "--duration", str(bound), "--quiet"],
            capture_output=True, text=True, env=bridge_env(), timeout=bound + 60)
        if log.returncode != 0:
            sys.exit("bench/sampler.py: pyb-bridge log failed (%d): %s"
                     % (log.returncode, log.stderr[-800:]))
    finally:
        board.stop_board(proc)
    path = os.path.join(flash, COUNT_FILE)
    if not os.path.exists(path):
        sys.exit("bench/sampler.py: the board's program did not finish (%d ch, %d Hz):\n%s%s"
                 % (n, rate, log.stdout[-1500:], log.stderr[-800:]))
    with open(path) as f:
        samples, overruns = (int(x) for x in f.read().split())
    os.remove(path)
    problems = []
    con = sqlite3.connect(db)
    named_views(con)
    try:
        rows = con.execute("SELECT COUNT(*) FROM smp").fetchone()[0]
        period = 1000000 // rate
        gaps = con.execute(
            "SELECT COUNT(*) FROM (SELECT board_time_us - LAG(board_time_us) OVER "
            "(ORDER BY rowid) AS d FROM smp) WHERE d IS NOT NULL AND d != ?",
            (period,)).fetchone()[0]
        counters = dict(con.execute("SELECT name, value FROM _counters").fetchall())
    finally:
        con.close()
        os.remove(db)
    if overruns:
        problems.append("%d overruns" % overruns)
    if rows != samples:
        problems.append("%d rows for %d samples" % (rows, samples))
    if gaps:
        problems.append("%d gaps in the times" % gaps)
    for k in ("frames_lost", "crc_errors"):
        if counters.get(k):
            problems.append("%s %d" % (k, counters[k]))
    return samples, overruns, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="board time per run")
    ap.add_argument("--cpu", choices=("pyboard", "host"), default="pyboard")
    ap.add_argument("--channels", default="1,2,4", help="channel counts to measure")
    ap.add_argument("--dry-run", action="store_true", help="print only")
    args = ap.parse_args()
    counts = [int(c) for c in args.channels.split(",")]
    flash = make_flash()
    tmp = tempfile.mkdtemp(prefix="bench-sampler-")
    best = {}
    tried = []
    try:
        for n in counts:
            best[n] = 0
            for rate in RATES:
                t0 = time.monotonic()
                samples, overruns, problems = run_rate(flash, tmp, args.cpu, n, rate,
                                                       args.seconds)
                tried.append((n, rate, samples, overruns, problems,
                              time.monotonic() - t0))
                print("%d ch at %d Hz: %d samples, %d overruns%s" % (
                    n, rate, samples, overruns,
                    ("; " + "; ".join(problems)) if problems else ""), flush=True)
                if not problems:
                    best[n] = rate
                    break
    finally:
        shutil.rmtree(flash, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)

    prefix = "board" if args.cpu == "pyboard" else "host"
    speed = ("a PYBv1.1's speed (`--cpu pyboard`)" if args.cpu == "pyboard"
             else "the PC's speed (`--cpu host`, not a board's)")
    lines = [
        "`pyb_lib.sampler.Sampler` (a Timer callback reading the ADC pins X1..X4 into a "
        "ring, the main loop sending its frames) on a virtual board at %s and "
        "`--link-speed usb-fs`, into SQLite by `pyb-bridge log --script`: the highest rate "
        "with 0 overruns over %.0f s of board time and every sample in SQLite, one period "
        "apart (`python bench/sampler.py%s`). Rates tried from 10 kHz down:"
        % (speed, args.seconds, ("" if args.cpu == "pyboard" else " --cpu host")
           + ("" if args.seconds == 60 else " --seconds %g" % args.seconds)),
        "",
        "| channels | rate | samples | overruns | other problems |",
        "|---:|---:|---:|---:|---|",
    ]
    for n, rate, samples, overruns, problems, _ in tried:
        other = "; ".join(p for p in problems if "overruns" not in p) or "none"
        lines.append("| %d | %d Hz | %d | %d | %s |" % (n, rate, samples, overruns, other))
    lines.append("")
    lines.append("Highest rate with none lost: " + ", ".join(
        "%d ch %d Hz" % (n, best[n]) for n in counts) + ".")
    if args.cpu == "pyboard" and 4 in best:
        lines.append("")
        lines.append("Bar: 4 channels at >= %d Hz: %s." % (
            BAR_4CH, "met" if best[4] >= BAR_4CH else "NOT met"))
    table = "\n".join(lines)
    print(table)
    if not args.dry_run:
        merge_results({"%s_sampler_max_hz_%dch" % (prefix, n): {"value": best[n], "unit": "Hz"}
                       for n in counts})
        write_block("sampler" if args.cpu == "pyboard" else "sampler-host",
                    "The Sampler at %s" % ("a PYBv1.1's speed" if args.cpu == "pyboard"
                                           else "the PC's speed"), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
