"""MicroPython's perf_bench (tests/perf_bench, run with its own
tests/run-perfbench.py) against the virtual board's serial port at
``--cpu pyboard``, as on a real board: ``run-perfbench.py -t PORT 168 100``.
Each test's score is compared with the PYBv1.1's published score.

The suite is not part of this project: give a MicroPython clone with
``--repo DIR`` (or ``MICROPYTHON_REPO``); its tests/ and tools/pyboard.py are
exported with ``git archive`` into a temporary folder and run there.

    python bench/perfbench.py --repo ~/src/micropython [--average 1] [--cpu pyboard]
    python bench/perfbench.py --parse run.txt     # ratios of an earlier run's output

A run merges vboard_perfbench_* keys (``--cpu host``: vboard_host_perfbench_*)
into bench/results.json and writes its table between the perfbench markers
of docs/performance.md.
"""

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# A PYBv1.1's scores with ``run-perfbench.py 168 100`` (higher is better), as
# MicroPython's tests/README.md publishes them (commit
# 1c3c201149f37fe8d81246191b3127bb198d6306, the example of ``-s``).
PYBV11 = {
    "bm_chaos": 352.9, "bm_fannkuch": 77.5, "bm_fft": 2516.8, "bm_float": 5749.3,
    "bm_hexiom": 42.2, "bm_nqueens": 4407.6, "bm_pidigits": 638.1,
    "core_import_mpy_multi": 477.7, "core_import_mpy_single": 58.7, "core_qstr": 63.1,
    "core_yield_from": 357.6, "misc_aes": 397.3, "misc_mandel": 3375.7,
    "misc_pystone": 2265.4, "misc_raytrace": 367.6, "viper_call0": 605.9,
    "viper_call1a": 576.8, "viper_call1b": 452.5, "viper_call1c": 457.4,
    "viper_call2a": 561.4, "viper_call2b": 389.5,
}
LINE = re.compile(r"^perf_bench/(\w+)\.py: ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)\s*$", re.M)


def ratios(output):
    """{test: score / PYBv1.1 score} for the tests both have, and their geometric mean."""
    r = {}
    for m in LINE.finditer(output):
        name, score = m.group(1), float(m.group(4))
        if name in PYBV11 and score > 0:
            r[name] = score / PYBV11[name]
    geo = math.exp(sum(math.log(v) for v in r.values()) / len(r)) if r else 0.0
    return r, geo


def export_suite(repo, dst):
    """tests/ and tools/pyboard.py of the MicroPython clone ``repo`` into ``dst``."""
    git = ["git", "-C", repo] if os.path.isdir(os.path.join(repo, ".git")) else \
        ["git", "--git-dir", repo]
    data = subprocess.run(git + ["archive", "HEAD", "tests", "tools/pyboard.py"],
                          capture_output=True, check=True).stdout
    subprocess.run(["tar", "x", "-C", dst], input=data, check=True)


def run_on_board(repo, cpu, average, tests=()):
    import board

    work = tempfile.mkdtemp(prefix="perfbench-")
    flash = os.path.join(work, "flash")
    os.mkdir(flash)
    try:
        export_suite(repo, work)
        proc, port = board.start_board(flash, "--cpu", cpu, who="bench/perfbench.py")
        try:
            out = subprocess.run(
                [sys.executable, "run-perfbench.py", "-t", port, "-a", str(average), "168",
                 "100", *tests], cwd=os.path.join(work, "tests"), capture_output=True,
                text=True, timeout=3600)
        finally:
            board.stop_board(proc)
        return out.stdout + out.stderr
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(r, geo):
    rows = ["| test | PYBv1.1 | virtual board | ratio |", "|---|---:|---:|---:|"]
    for name in sorted(r):
        rows.append("| %s | %.1f | %.1f | %.2f |" % (name, PYBV11[name], r[name] * PYBV11[name],
                                                  r[name]))
    rows.append("| **geometric mean** | | | **%.2f** |" % geo)
    return "\n".join(rows)


def save(r, geo, cpu, command):
    from report import merge_results, write_block

    prefix = "vboard_perfbench" if cpu == "pyboard" else "vboard_host_perfbench"
    figures = {"%s_vs_pyboard_geomean" % prefix: {"value": round(geo, 2), "unit": "x"}}
    for name, v in r.items():
        figures["%s_%s_vs_pyboard" % (prefix, name)] = {"value": round(v, 2), "unit": "x"}
    merge_results(figures)
    write_block("perfbench-%s" % cpu, "perf_bench on the virtual board (--cpu %s)" % cpu,
                "MicroPython's own perf_bench against the virtual board's serial port "
                "at `--cpu %s` (`%s`), each score over the PYBv1.1's published score "
                "(1.0: as fast as a PYBv1.1; docs/virtual-board.md says how to read it):"
                "\n\n%s" % (cpu, command, table(r, geo)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=os.environ.get("MICROPYTHON_REPO"),
                    help="a MicroPython clone (or bare repository) with tests/perf_bench")
    ap.add_argument("--cpu", default="pyboard", choices=("pyboard", "host"))
    ap.add_argument("--average", type=int, default=1, help="runs per test (run-perfbench -a)")
    ap.add_argument("--parse", help="only compute the ratios of this run-perfbench output")
    ap.add_argument("tests", nargs="*", help="perf_bench/NAME.py files (default: all)")
    args = ap.parse_args(argv)
    if args.parse:
        with open(args.parse) as f:
            out = f.read()
    else:
        if not args.repo:
            ap.error("give a MicroPython clone with --repo or MICROPYTHON_REPO "
                     "(git clone https://github.com/micropython/micropython)")
        out = run_on_board(args.repo, args.cpu, args.average, args.tests)
        print(out)
    r, geo = ratios(out)
    if not r:
        sys.exit("bench/perfbench.py: no perf_bench scores in the output")
    print(table(r, geo))
    if not args.parse:
        save(r, geo, args.cpu, "python bench/perfbench.py --cpu %s --average %d"
             % (args.cpu, args.average))
    return 0


if __name__ == "__main__":
    sys.exit(main())
