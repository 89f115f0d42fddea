"""pyb-bridge: log the board's framed stream to SQLite, CSV or JSONL.

    pyb-bridge ports
    pyb-bridge log --port auto --out readings.db [--format sqlite|csv|jsonl]
                   [--duration S] [--script FILE]
    pyb-bridge deploy [--port auto] [--mpy] [--dest /flash/lib/pyb_lib]
    pyb-bridge vboard [--link /tmp/pyboard] [--flash DIR] [--wiring FILE] [--fast] ...
"""

import argparse
import signal
import sys
import time

from pyb_bridge import deploy
from pyb_bridge.link import Board, ports
from pyb_bridge.sinks import FORMATS, open_sink


def cmd_ports(args):
    found = ports()
    if not found:
        print("no serial ports")
    for p in found:
        ids = "%04X:%04X" % (p.vid, p.pid) if p.vid is not None else "-"
        print("%-24s %-10s %s%s" % (p.device, ids, p.description,
                                    "  <- PyBoard" if p.pyboard else ""))
    return 0


def status_line(board, sink, start):
    c = board.counters()
    dt = max(time.monotonic() - start, 1e-9)
    return ("%7.1f s  %9d rows  %8.0f rows/s  %6d frames  lost %d  crc errors %d  "
            "resyncs %d  reconnects %d" % (dt, sink.rows, sink.rows / dt, c["frames"],
                                           c["frames_lost"], c["crc_errors"], c["resyncs"],
                                           c["reconnects"]))


def cmd_log(args):
    script = None
    if args.script:
        with open(args.script) as f:
            script = f.read()
    stop = []

    def on_signal(signum, frame):
        stop.append(signum)

    old = signal.signal(signal.SIGTERM, on_signal)
    sink = open_sink(args.out, args.format, flush_interval=args.flush_interval)
    start = time.monotonic()
    last_status = 0.0
    live = sys.stderr.isatty() and not args.quiet
    try:
        with Board(args.port, baudrate=args.baudrate, script=script) as board:
            end = None if args.duration is None else start + args.duration
            try:
                while not stop and (end is None or time.monotonic() < end):
                    batches, schemas, now = board.poll()
                    if batches or schemas:
                        sink.write_all(batches, now, schemas)
                    elif sink.rows:
                        sink.write_all((), now)  # flush on the interval when idle
                    t = time.monotonic()
                    if not args.quiet and t - last_status >= 0.5:
                        last_status = t
                        line = status_line(board, sink, start)
                        if live:
                            sys.stderr.write("\r" + line)
                        else:
                            print(line, file=sys.stderr)
            except KeyboardInterrupt:
                pass
            line = status_line(board, sink, start)
            counters = board.counters()
            sink.record_counters(counters)
    finally:
        sink.close()
        signal.signal(signal.SIGTERM, old)
    if live:
        sys.stderr.write("\n")
    print("pyb-bridge: %s -> %s (%s)" % (args.port, args.out, args.format or "by extension"))
    print("  " + line.strip())
    print("  " + ", ".join("%s %d" % kv for kv in sorted(counters.items())))
    return 0


def version_line():
    from pyb_bridge import __version__
    from pyb_bridge.decoder import VERSION

    return "pyb-bridge %s (pyb_lib %s, stream protocol %d)" % (__version__, __version__, VERSION)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["vboard"]:  # its own options: see docs/vboard.md
        from pyb_sim import vboard

        return vboard.main(argv[1:], prog="pyb-bridge vboard")
    if argv[:1] in (["plot"], ["demo"]):  # their own options: --help
        from importlib import import_module

        return import_module("pyb_bridge." + argv[0]).main(argv[1:])
    ap = argparse.ArgumentParser(prog="pyb-bridge", description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="version", version=version_line())
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ports", help="list serial ports, marking PyBoards")
    lg = sub.add_parser("log", help="log the board's stream to a file")
    lg.add_argument("--port", default="auto",
                    help="device path, 'auto' (USB VID 0xF055) or a pyserial URL")
    lg.add_argument("--out", required=True, help="output file")
    lg.add_argument("--format", choices=FORMATS, default=None,
                    help="default: from the file extension (.csv, .jsonl), else sqlite")
    lg.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    lg.add_argument("--script", help="Python file to start on the board through the raw REPL")
    lg.add_argument("--baudrate", type=int, default=115200)
    lg.add_argument("--flush-interval", type=float, default=1.0, help="seconds between commits")
    lg.add_argument("--quiet", action="store_true", help="no live status line")
    dp = sub.add_parser("deploy", help="copy pyb_lib to /flash/lib/pyb_lib on the board")
    deploy.add_arguments(dp)
    sub.add_parser("vboard", help="start a virtual PyBoard on a pseudo-terminal "
                                  "(pyb-bridge vboard --help)")
    sub.add_parser("plot", help="plot a SQLite log to a PNG (pyb-bridge plot --help)")
    sub.add_parser("demo", help="stream, log, summarise and plot on a virtual or real board "
                                "(pyb-bridge demo --help)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "deploy":
            return deploy.run(args)
        return cmd_ports(args) if args.cmd == "ports" else cmd_log(args)
    except OSError as e:
        print("pyb-bridge: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
