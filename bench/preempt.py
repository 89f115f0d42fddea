"""How the virtual board's interrupt callbacks pre-empt a busy loop
(pyb_sim.preempt), measured in the board's interpreter (the unix port):

- how late on the wall clock a 1 kHz Timer callback runs after its tick,
  while the program spins in a pure-Python loop (the interrupt controller
  thread's sleep, the scheduler's next pending check, the dispatch);
- what the pre-emption costs the loop: its iterations per second without a
  timer and with a 1 kHz timer whose callback only counts;
- the interpreter's thread model (``sys.implementation._thread``).

Host speed (no CPU model), on a shared host: printed, not kept. ``make bench-preempt``.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

CODE = """
import sys, time, array
import pyb_sim
pyb = pyb_sim.install()
from pyb_sim import preempt, vboard_agent
board = pyb_sim.board
wall = vboard_agent._realtime(board)
preempt.start(board, wall, lambda: None)
print('thread model', sys.implementation._thread)

N = 2000
c = [0]

# lateness: the wall clock (ns) against the tick's board time, read in the
# callback with the heap locked, so through a preallocated array
stamp = array.array('l', [0] * N)
due = array.array('l', [0] * N)
t0 = time.ticks_us()
def cb2(t):
    k = c[0]
    if k < N:
        stamp[k] = time.ticks_diff(time.ticks_us(), t0)
        due[k] = board.now // 1000
        c[0] = k + 1
tim = pyb.Timer(4, freq=1000, callback=cb2)
n = 0
while c[0] < N:
    n += 1
tim.deinit()
# board time and the ticks_us clock both follow the wall clock: their offset
# is the least lateness seen (a callback is never early)
d = [stamp[i] - due[i] for i in range(N)]
low = min(d)
d = sorted(x - low for x in d)
print('late_us median %d p99 %d max %d' % (d[N // 2], d[N * 99 // 100], d[-1]))

def rate(with_timer):
    if with_timer:
        tim = pyb.Timer(4, freq=1000, callback=lambda t: None)
    t = time.ticks_ms()
    n = 0
    while time.ticks_diff(time.ticks_ms(), t) < 300:
        k = 0
        while k < 1000:
            k += 1
        n += 1
    if with_timer:
        tim.deinit()
    return n * 1000 * 1000 // 300

# the best of five alternating runs each: the host is shared
base = timed = 0
for i in range(5):
    base = max(base, rate(False))
    timed = max(timed, rate(True))
print('loop_per_s %d with_1kHz_timer %d cost %.1f%%' % (base, timed, 100.0 * (base - timed) / base))
"""


def main():
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "host"))
    proc = subprocess.run([MICROPYTHON, "-X", "heapsize=4M", "-c", CODE], capture_output=True,
                          timeout=120, env=env)
    if proc.returncode:
        sys.exit(proc.stderr.decode() + proc.stdout.decode())
    print(proc.stdout.decode(), end="")


if __name__ == "__main__":
    main()
