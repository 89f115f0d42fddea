"""The CPU model's pacer with its stops spent spinning (the default) against
spent asleep: the calibration workload (``pyb_sim.cpu.WORKLOAD``) run by
the unix port under the pacer at this machine's slowdown, alternately one
way and the other, ``--runs`` times each. Reports what one iteration took
of board time (the wall clock while paced) and of the interpreter's CPU,
against the PYBv1.1's ``PYB_NS_PER_ITER``.

    python bench/cpuspin.py [--runs 3] [--iters 20000] [--dry-run]

Merges cpu_pacer_spin_board_ns_per_iter, cpu_pacer_sleep_board_ns_per_iter
and their ratio into bench/results.json and writes the table between the
cpuspin markers of docs/performance.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from report import merge_results, write_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "host"))
from pyb_sim import cpu  # noqa: E402

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
# waits for a line on stdin before it starts, so the pacer is attached first
SCRIPT = cpu.WORKLOAD.replace("work(int(sys.argv[1]))",
                              "print('ready')\nsys.stdin.readline()\nwork(int(sys.argv[1]))")


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def one_run(script, slowdown, iters, spin):
    """(board ns, CPU ns) per iteration of one paced run."""
    throttle = cpu.Throttle(slowdown, spin=spin)
    proc = subprocess.Popen([MICROPYTHON, script, str(iters)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "ready":
            sys.exit("bench/cpuspin.py: the workload did not start")
        throttle.attach(proc.pid, 0)  # no counters: all of it is board code
        c0, t0 = cpu_ns(proc.pid), time.monotonic_ns()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        c1 = c0
        while proc.poll() is None:
            c1 = cpu_ns(proc.pid)  # the last reading before it ends
            time.sleep(0.001)
        wall = time.monotonic_ns() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        throttle.close()
    if proc.returncode:
        sys.exit("bench/cpuspin.py: the workload failed (%d)" % proc.returncode)
    return wall / iters, (c1 - c0) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20000)
    ap.add_argument("--dry-run", action="store_true", help="print only")
    args = ap.parse_args()
    cal = cpu.calibrate(MICROPYTHON)
    k = cal["slowdown"]
    got = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="cpuspin-") as d:
        script = os.path.join(d, "work.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        for _ in range(args.runs):
            for spin in (True, False):
                got[spin].append(one_run(script, k, args.iters, spin))
                print("%s: board %.0f ns, CPU %.0f ns an iteration"
                      % ("spin" if spin else "sleep", *got[spin][-1]), file=sys.stderr)
    med = {s: (statistics.median(b for b, _ in got[s]), statistics.median(c for _, c in got[s]))
           for s in got}
    lines = [
        "The calibration workload under the CPU model's pacer at this machine's slowdown "
        "(%.1fx, %.0f ns an iteration unpaced), %d runs each way, alternated, median "
        "(`python bench/cpuspin.py --runs %d`). A PYBv1.1 takes %d ns an iteration."
        % (k, cal["host_ns_per_iter"], args.runs, args.runs, cpu.PYB_NS_PER_ITER),
        "",
        "| the pacer's stops | board time an iteration | interpreter CPU an iteration |",
        "|---|---:|---:|",
    ]
    for spin in (True, False):
        lines.append("| %s | %.0f ns | %.0f ns |" % (
            "spent spinning (default)" if spin else "spent asleep", med[spin][0], med[spin][1]))
    ratio = med[False][0] / med[True][0]
    lines += ["", "Asleep / spinning: %.2fx the board time." % ratio]
    body = "\n".join(lines)
    print(body)
    if args.dry_run:
        return 0
    write_block("cpuspin", "The CPU model's pacer: spinning through stops", body)
    merge_results({
        "cpu_pacer_spin_board_ns_per_iter": {"value": round(med[True][0]), "unit": "ns"},
        "cpu_pacer_sleep_board_ns_per_iter": {"value": round(med[False][0]), "unit": "ns"},
        "cpu_pacer_sleep_vs_spin_ratio": {"value": round(ratio, 2), "unit": "x"},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
