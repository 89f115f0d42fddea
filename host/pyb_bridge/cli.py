"""pyb-bridge: log the board's framed stream to SQLite, CSV or JSONL.

    pyb-bridge ports
    pyb-bridge log --port auto --out readings.db [--format sqlite|csv|jsonl]
                   [--duration S] [--script FILE] [--plot [PNG]]
                   [--port B ...] [--out mqtt://HOST:PORT/PREFIX ...]
    pyb-bridge export readings.db --to csv|parquet [-o OUT]
    pyb-bridge serve [--db FILE] [--host 127.0.0.1] [--port 8000]
    pyb-bridge deploy [--port auto] [--mpy] [--dest /flash/lib/pyb_lib]
    pyb-bridge vboard [--link /tmp/pyboard] [--flash DIR] [--wiring FILE] [--fast] ...
    pyb-bridge vboard --reset /tmp/pyboard
"""

import argparse
import os
import sys

from pyb_bridge import deploy, logger
from pyb_bridge.link import ports


def cmd_ports(args):
    found = ports()
    if not found:
        print("no serial ports")
    for p in found:
        ids = "%04X:%04X" % (p.vid, p.pid) if p.vid is not None else "-"
        mark = "  <- PyBoard (virtual)" if p.virtual else "  <- PyBoard" if p.pyboard else ""
        print("%-24s %-10s %s%s" % (p.device, ids, p.description, mark))
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
    if argv[:1] in (["plot"], ["demo"], ["export"], ["serve"], ["faultlink"]):  # own options
        from importlib import import_module

        return import_module("pyb_bridge." + argv[0]).main(argv[1:])
    ap = argparse.ArgumentParser(prog="pyb-bridge", description=__doc__.splitlines()[0])
    ap.add_argument("--version", action="version", version=version_line())
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("ports", help="list serial ports, marking PyBoards (virtual ones too)")
    lg = sub.add_parser("log", help="log the stream of one or several boards to files "
                                    "and/or an MQTT broker")
    logger.add_arguments(lg)
    dp = sub.add_parser("deploy", help="copy pyb_lib to /flash/lib/pyb_lib on the board")
    deploy.add_arguments(dp)
    sub.add_parser("vboard", help="start a virtual PyBoard on a pseudo-terminal "
                                  "(pyb-bridge vboard --help)")
    sub.add_parser("plot", help="plot a SQLite log to a PNG (pyb-bridge plot --help)")
    sub.add_parser("serve", help="REST API and live dashboard over a SQLite log, read-only "
                                 "(pyb-bridge serve --help)")
    sub.add_parser("demo", help="stream, log, summarise and plot on a virtual or real board "
                                "(pyb-bridge demo --help)")
    sub.add_parser("export", help="a SQLite log to CSV or Parquet (pyb-bridge export --help)")
    sub.add_parser("faultlink", help="a faulty link between a board's port and the bridge, "
                                     "for testing (pyb-bridge faultlink --help)")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "deploy":
            return deploy.run(args)
        return cmd_ports(args) if args.cmd == "ports" else logger.run(args)
    except OSError as e:
        print("pyb-bridge: %s" % e, file=sys.stderr)
        return 1
    except Exception as e:  # never a traceback for the user; PYB_BRIDGE_DEBUG=1 shows it
        if os.environ.get("PYB_BRIDGE_DEBUG"):
            raise
        print("pyb-bridge: unexpected error: %s: %s (PYB_BRIDGE_DEBUG=1 shows where; "
              "please report it)" % (type(e).__name__, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
