"""Board time a call on a virtual board at a PYBv1.1's speed (``--cpu
pyboard``): ``len()``, ``machine.ADC.read_u16()``, ``pyb.micros()`` and
the 4-channel Sampler's timer callback, each a loop of ``--calls`` calls
timed by the board's own clock (``pyb.micros()``), and what one interrupt
of a 10 kHz Timer with an empty callback takes from the program (a loop of
``--calls`` turns with the timer, against the same loop without it). A first ``len()`` loop
takes the pacer's stops for compiling the program and is not reported.
Loops of 200,000 calls, by default: a loop of 20,000 calls takes about as
long as the board time the pacer lets a board make up after the host kept
it waiting (20 ms), and such loops came out up to 4 times too fast.

    python bench/callcost.py [--runs 6] [--calls 200000] [--cpu pyboard|host]

Prints each run and the medians; writes no file (docs/virtual-board.md,
"Where the model is off", quotes its figures).
"""

import argparse
import os
import statistics
import sys

import board
from e2e import make_flash

NAMES = ("len", "read_u16", "micros", "sampler_tick_4ch", "timer_irq_empty")
PROGRAM = """
import gc, machine, pyb
from pyb_lib.stream import Stream
from pyb_lib.sampler import Sampler
N = %(calls)d
g = {}
adc = machine.ADC(pyb.Pin('X1'))
smp = Sampler(Stream(tuple(('a%%d' %% i, 'H', 'raw') for i in range(4)), name='smp',
                     period_us=100), ('X1', 'X2', 'X3', 'X4'), 10000)
smp._next_chunk()

def ln(n):
    for i in range(n):
        len(g)

def u16(n):
    r = adc.read_u16
    for i in range(n):
        r()

def clk(n):
    m = pyb.micros
    for i in range(n):
        m()

def tick(n):
    t = smp._tick
    for i in range(n):
        if smp._off == smp._end:
            smp._rc = smp._k  # as if the main loop had sent the chunk
        t(None)

def loop(n):
    for i in range(n):
        if smp._off == smp._end:
            smp._rc = smp._k

def spin(n):
    for i in range(n):
        pass

def nothing(t):
    pass

out = []
for f in (ln, ln, u16, clk, tick, loop):
    gc.collect()
    t0 = pyb.micros()
    f(N)
    out.append(pyb.elapsed_micros(t0) / N)
# a 10 kHz Timer with an empty callback: what each interrupt takes from a
# loop, against the same loop before and after without it
spun = []
for rate in (0, 10000, 0):
    tim = pyb.Timer(4, freq=rate, callback=nothing) if rate else None
    gc.collect()
    t0 = pyb.micros()
    spin(N)
    spun.append(pyb.elapsed_micros(t0))
    if tim:
        tim.deinit()
out.append((spun[1] - (spun[0] + spun[2]) / 2) / (spun[1] * 10000 / 1000000))
with open('/flash/callcost.txt', 'w') as f:
    f.write(' '.join('%%.2f' %% x for x in out))
"""


def run_once(flash, cpu, calls):
    """One board, one program: board us a call for NAMES."""
    r = board.run_module(flash, "callcost", PROGRAM % {"calls": calls}, "--cpu", cpu,
                         who="bench/callcost.py")
    path = os.path.join(flash, "callcost.txt")
    if r.returncode != 0 or not os.path.exists(path):
        sys.exit("bench/callcost.py: the board's program failed:\n%s%s"
                 % (r.stdout[-1500:], r.stderr[-800:]))
    with open(path) as f:
        _, ln, u16, clk, tick, loop, irq = (float(x) for x in f.read().split())
    os.remove(path)
    return {"len": ln, "read_u16": u16, "micros": clk, "sampler_tick_4ch": tick - loop,
            "timer_irq_empty": irq}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--calls", type=int, default=200000)
    ap.add_argument("--cpu", choices=("pyboard", "host"), default="pyboard")
    args = ap.parse_args()
    flash = make_flash()
    runs = []
    for i in range(args.runs):
        r = run_once(flash, args.cpu, args.calls)
        runs.append(r)
        print("run %d: %s" % (i + 1, ", ".join("%s %.2f us" % (k, r[k]) for k in NAMES)))
    print("board time a call at --cpu %s, %d runs of %d calls (min / median / max, us):"
          % (args.cpu, args.runs, args.calls))
    for k in NAMES:
        v = [r[k] for r in runs]
        print("  %-18s %7.2f %7.2f %7.2f" % (k, min(v), statistics.median(v), max(v)))


if __name__ == "__main__":
    main()
