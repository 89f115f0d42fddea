"""What ``@micropython.native`` gains on the per-sample paths
(pyb_lib/_native.py: ``Stream.add`` and ``Stream.add_row`` with 4
channels, the Sampler's 4-channel timer callback): the same functions as machine code and as
bytecode (the module's source without its decorators), side by side in one
interpreter.

- On the unix port at the PC's speed, with C functions for the clock and
  the reads (no simulation in the path): ns a call, the least of ``--runs``.
- On the virtual board at ``--cpu pyboard`` (its own native emitter, the
  simulated clock and ADC): board us a call timed by the board's clock,
  native and bytecode alternated ``--runs`` times, the median.

    python bench/native.py [--runs 5] [--calls 100000] [--dry-run]

Merges the figures into bench/results.json and writes the table between the
native markers of docs/performance.md.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

import board
from e2e import make_flash
from report import merge_results, write_block

from pyb_bridge.deploy import without_native

ROOT = board.ROOT
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
NATIVE = os.path.join(ROOT, "pyb_lib", "_native.py")

# Both timing loops, for the unix port and the board: %(setup)s makes the
# stream's clock and the sampler's four sources.
PROGRAM = """
import gc, time
from pyb_lib.stream import Stream
from pyb_lib.sampler import Sampler
from pyb_lib._native import sampler_tick, stream_add, stream_add_row
%(setup)s
g = {}
exec(%(bytecode)r, g)
N = %(calls)d
CH = tuple(('a%%d' %% i, 'H', 'raw') for i in range(4))

class Null:
    def write(self, b):
        return len(b)

class Native(Stream):
    add = stream_add
    add_row = stream_add_row

class Bytecode(Stream):
    add = g['stream_add']
    add_row = g['stream_add_row']

def add(cls):
    s = cls(CH, Null(), name='bench', period_us=100, clock=CLOCK)
    s.start()
    gc.collect()
    t0 = NOW()
    for k in range(N):
        v = k & 0xFFF
        s.add(v, v + 1, v + 2, v + 3)
    return time.ticks_diff(NOW(), t0) * SCALE / N

def add_row(cls):
    s = cls(CH, Null(), name='bench', period_us=100, clock=CLOCK)
    s.start()
    row = [0, 0, 0, 0]
    gc.collect()
    t0 = NOW()
    for k in range(N):
        v = k & 0xFFF
        row[0] = v
        row[1] = v + 1
        row[2] = v + 2
        row[3] = v + 3
        s.add_row(row)
    return time.ticks_diff(NOW(), t0) * SCALE / N

smp = Sampler(Stream(CH, name='bench', period_us=100), SOURCES, 10000)
smp._next_chunk()

def tick(fn):
    gc.collect()
    t0 = NOW()
    for i in range(N):
        if smp._off == smp._end:
            smp._rc = smp._k  # as if the main loop had sent the chunk
        fn(smp, None)
    t1 = NOW()
    for i in range(N):  # the loop alone
        if smp._off == smp._end:
            smp._rc = smp._k
    return (2 * time.ticks_diff(t1, t0) - time.ticks_diff(NOW(), t0)) * SCALE / N

for r in range(%(runs)d):
    print('RUN', add(Native), add(Bytecode), tick(sampler_tick), tick(g['sampler_tick']),
          add_row(Native), add_row(Bytecode))
"""

HOST_SETUP = """
import sys
sys.path.insert(0, %r)
CLOCK = time.ticks_us
NOW = time.ticks_us
SCALE = 1000  # ns
SOURCES = (time.ticks_ms,) * 4
""" % ROOT

BOARD_SETUP = """
import pyb
CLOCK = None  # pyb.micros
NOW = pyb.micros
SCALE = 1  # us
SOURCES = ('X1', 'X2', 'X3', 'X4')
"""


def bytecode_source():
    with open(NATIVE) as f:
        return without_native(f.read())


def runs_of(out, who):
    rows = [[float(x) for x in m.split()] for m in re.findall(r"^RUN (.*)$", out, re.M)]
    if not rows:
        sys.exit("bench/native.py: %s printed no result:\n%s" % (who, out[-1500:]))
    return rows


def host_runs(runs, calls):
    code = PROGRAM % {"setup": HOST_SETUP, "bytecode": bytecode_source(), "calls": calls,
                      "runs": runs}
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "host"))
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=1M", "-c", "import pyb_sim\n"
                        "pyb_sim.install()\n" + code], capture_output=True, text=True,
                       env=env, timeout=600)
    return runs_of(p.stdout + p.stderr, "the unix port")


def board_runs(runs, calls):
    flash = make_flash()
    try:
        r = board.run_module(flash, "nativebench",
                             PROGRAM % {"setup": BOARD_SETUP, "bytecode": bytecode_source(),
                                        "calls": calls, "runs": runs},
                             "--cpu", "pyboard", who="bench/native.py", timeout=1800)
    finally:
        shutil.rmtree(flash, ignore_errors=True)
    return runs_of(r.stdout + r.stderr, "the virtual board")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--dry-run", action="store_true", help="print only")
    args = ap.parse_args()
    host = host_runs(args.runs, args.calls * 3)
    best = [min(r[i] for r in host) for i in range(6)]
    brd = board_runs(args.runs, args.calls)
    for r in brd:
        print("board run: add %.1f / %.1f us, tick %.1f / %.1f us, add_row %.1f / %.1f us "
              "(native / bytecode)" % tuple(r), file=sys.stderr)
    med = [statistics.median(r[i] for r in brd) for i in range(6)]
    names = ("`Stream.add` (4 channels)", "the Sampler's timer callback (4 channels)",
             "`Stream.add_row` (4 channels, a list)")
    lines = [
        "The per-sample paths of pyb_lib/_native.py as machine code (`@micropython.native`) "
        "and as bytecode (the same source without its decorators), in one interpreter "
        "(`python bench/native.py --runs %d --calls %d`). Unix port: the PC's speed, C "
        "functions for the clock and the reads, the least of %d runs of %d calls. Virtual "
        "board: `--cpu pyboard`, the simulated clock and ADC, board time by `pyb.micros()`, "
        "native and bytecode alternated, the median of %d runs of %d calls (the board's "
        "figures move by tens of percent from run to run)."
        % (args.runs, args.calls, args.runs, args.calls * 3, args.runs, args.calls),
        "",
        "| path | unix port, native | bytecode | native / bytecode | virtual board, native "
        "| bytecode | native / bytecode |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for j, name in enumerate(names):
        n, b = best[2 * j], best[2 * j + 1]
        bn, bb = med[2 * j], med[2 * j + 1]
        lines.append("| %s | %.0f ns | %.0f ns | %.2f | %.1f us | %.1f us | %.2f |"
                     % (name, n, b, n / b, bn, bb, bn / bb))
    body = "\n".join(lines)
    print(body)
    if args.dry_run:
        return 0
    write_block("native", "Native code (@micropython.native)", body)
    merge_results({
        "native_add_host_ns": {"value": round(best[0]), "unit": "ns"},
        "bytecode_add_host_ns": {"value": round(best[1]), "unit": "ns"},
        "native_tick_4ch_host_ns": {"value": round(best[2]), "unit": "ns"},
        "bytecode_tick_4ch_host_ns": {"value": round(best[3]), "unit": "ns"},
        "board_native_add_us": {"value": round(med[0], 1), "unit": "us"},
        "board_bytecode_add_us": {"value": round(med[1], 1), "unit": "us"},
        "board_native_tick_4ch_us": {"value": round(med[2], 1), "unit": "us"},
        "board_bytecode_tick_4ch_us": {"value": round(med[3], 1), "unit": "us"},
        "native_add_row_host_ns": {"value": round(best[4]), "unit": "ns"},
        "bytecode_add_row_host_ns": {"value": round(best[5]), "unit": "ns"},
        "board_native_add_row_us": {"value": round(med[4], 1), "unit": "us"},
        "board_bytecode_add_row_us": {"value": round(med[5], 1), "unit": "us"},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
