"""The whole job in one command (``make demo``): a board streams sensor
readings, the PC logs them to SQLite, summarises and plots them.

    pyb-bridge demo                       # on a virtual PyBoard
    pyb-bridge demo --port /dev/ttyACM0   # on a real one
    pyb-bridge demo --serve [PORT]        # and the live dashboard while it logs

Steps, each the command a user would type:
1. ``pyb-bridge vboard`` (unless ``--port`` names a board),
2. ``pyb-bridge deploy --mpy --port PORT``,
3. ``pyb-bridge log --port PORT --out demo.sqlite --script
   examples/stream_sensors.py --plot demo.png``, the script set to stream
   ``--seconds`` of board time (its ``duration_s``; a copy of it is run) and
   the log ending with it, so the log holds all of them however slow the
   PC: demo.png is redrawn
   from demo.sqlite by ``pyb_bridge.plot`` every 2 s while logging, and once
   more at the end (``pyb-bridge plot demo.sqlite -o demo.png`` draws the
   same afterwards),
4. a summary read back from demo.sqlite.
"""

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

from pyb_bridge import logdb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
HELP = "stream, log, summarise and plot on a virtual or real board"


def default_script():
    """examples/stream_sensors.py: the checkout's, else the installed copy
    (the wheel carries the examples as pyb_bridge/examples)."""
    here = os.path.join(ROOT, "examples", "stream_sensors.py")
    if os.path.isfile(here):
        return here
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples", "stream_sensors.py")


def timed_script(path, seconds, folder):
    """(script to run, log --duration): a script with a ``duration_s = N``
    line gets a copy in ``folder`` set to ``seconds`` (board time), and log
    ends when it does (the duration only a deadline); any other script runs
    as it is, stopped after ``seconds``."""
    with open(path) as f:
        text = f.read()
    new, n = re.subn(r"^duration_s = [\d.]+$", "duration_s = %r" % seconds, text, count=1,
                     flags=re.M)
    if not n:
        return path, seconds
    copy = os.path.join(folder, os.path.basename(path))
    with open(copy, "w") as f:
        f.write(new)
    return copy, max(120.0, 20 * seconds)


def bridge_command():
    exe = os.path.join(os.path.dirname(sys.executable), "pyb-bridge")
    if os.path.exists(exe):
        return [exe]
    found = shutil.which("pyb-bridge")
    return [found] if found else [sys.executable, "-m", "pyb_bridge.cli"]


def step(title, argv):
    print("\n== %s\n$ %s" % (title, " ".join(os.path.basename(a) if i == 0 else a
                                            for i, a in enumerate(argv))), flush=True)
    subprocess.run(argv, check=True)


def start_vboard(args):
    """Start a virtual board; return (process, port)."""
    cmd = [sys.executable, "-m", "pyb_sim.vboard"]
    if args.link:
        cmd += ["--link", args.link]
    print("== a virtual PyBoard\n$ pyb-bridge vboard%s" % (
        " --link " + args.link if args.link else ""), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line:
        proc.wait(timeout=10)
        raise SystemExit("pyb-bridge demo: the virtual board did not start (exit %s)"
                         % proc.returncode)
    print("virtual PyBoard on %s (process %d)" % (line, proc.pid), flush=True)
    return proc, args.link or line


def summary(path):
    """Lines describing what the log holds: rows and rate per channel, losses."""
    db = sqlite3.connect(path)
    try:
        lines = []
        for table, column, stream, _, unit, _, channel in logdb.channels(db):
            n, t0, t1 = db.execute('SELECT COUNT("%s"), MIN(board_time_us), MAX(board_time_us) '
                                   'FROM "%s"' % (column, table)).fetchone()
            span = (t1 - t0) / 1e6 if n and n > 1 else 0.0
            rate = (n - 1) / span if span > 0 else 0.0
            lines.append("  %-22s %7d rows  %9.1f Hz  over %.2f s (%s)"
                         % ("%s.%s" % (stream, channel), n, rate, span, unit or "-"))
        counters = logdb.counters(db)
    finally:
        db.close()
    lines.append("  frames %d, frames lost %d, CRC errors %d, resyncs %d" % (
        counters.get("frames", 0), counters.get("frames_lost", 0),
        counters.get("crc_errors", 0), counters.get("resyncs", 0)))
    return lines, counters


def add_arguments(ap):
    ap.add_argument("--port", help="a real board's serial port (default: a virtual board)")
    ap.add_argument("--link", help="with a virtual board: also a symlink to its port")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to log (s)")
    ap.add_argument("--out", default="demo.sqlite", help="SQLite log to write")
    ap.add_argument("--png", default="demo.png", help="plot to write")
    ap.add_argument("--script", default=default_script(),
                    help="the board script that streams (default: examples/stream_sensors.py)")
    ap.add_argument("--serve", nargs="?", type=int, const=8000, default=None, metavar="PORT",
                    help="serve the dashboard on 127.0.0.1:PORT (default 8000) while "
                         "logging (pyb-bridge log --serve) and print its URL")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace an existing --out (default: refuse it)")


def run(args):
    from pyb_bridge.cli.vboard import need_interpreter
    from pyb_bridge.errors import need

    need("matplotlib", "plot", "the demo's plot")
    if not args.port:
        need_interpreter()
    if not os.path.isfile(args.script):
        print("pyb-bridge demo: no board script %s (the examples come with a checkout): give "
              "--script FILE" % args.script, file=sys.stderr)
        return 2
    bridge = bridge_command()
    vboard = None
    old = [p for p in (args.out, args.out + "-wal", args.out + "-shm") if os.path.exists(p)]
    if old and not args.overwrite:
        print("pyb-bridge demo: %s exists: add --overwrite to replace it, or choose another "
              "--out" % args.out, file=sys.stderr)
        return 2
    for path in old:
        print("pyb-bridge demo: replacing %s" % path)
        os.remove(path)
    try:
        if args.port:
            port = args.port
        else:
            vboard, port = start_vboard(args)
        # Compiled with mpy-cross, as on a board short of RAM: compiling the
        # stream and sampler modules from source needs more than a 100 KB heap.
        step("copy pyb_lib to the board", bridge + ["deploy", "--mpy", "--port", port])
        serve = []
        if args.serve is not None:
            serve = ["--serve", "--serve-port", str(args.serve)]
            print("\n== dashboard while logging: http://127.0.0.1:%d/" % args.serve, flush=True)
        with tempfile.TemporaryDirectory(prefix="pyb-demo-") as tmp:
            script, deadline = timed_script(args.script, args.seconds, tmp)
            step("log %g s of readings" % args.seconds,
                 bridge + ["log", "--port", port, "--out", args.out, "--duration",
                           "%g" % deadline, "--script", script, "--plot", args.png,
                           "--plot-interval", "2"] + serve)
        lines, counters = summary(args.out)
        print("\n== summary of %s" % args.out)
        print("\n".join(lines))
    except subprocess.CalledProcessError as e:
        print("pyb-bridge demo: step failed (exit %d): %s" % (e.returncode, " ".join(e.cmd)),
              file=sys.stderr)
        return 1
    finally:
        if vboard is not None:
            vboard.send_signal(signal.SIGTERM)
            try:
                vboard.wait(timeout=10)
            except subprocess.TimeoutExpired:
                vboard.kill()
    ok = counters.get("frames_lost", 0) == 0 and counters.get("crc_errors", 0) == 0
    print("\ndemo %s: %s and %s" % ("done" if ok else "done WITH LOSSES", args.out, args.png))
    return 0 if ok else 1

