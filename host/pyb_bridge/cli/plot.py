"""``pyb-bridge plot``: a PNG of a log (SQLite, CSV or JSONL)."""

import sqlite3
import sys

HELP = "plot a log (SQLite, CSV or JSONL) to a PNG"


def add_arguments(ap):
    ap.add_argument("file", help="log written by pyb-bridge log (SQLite, .csv or .jsonl)")
    ap.add_argument("-o", "--out", default=None, help="PNG to write (default: FILE.png)")
    ap.add_argument("--channels",
                    help="comma-separated channels as the plot labels them (stream.channel) "
                         "or by channel name alone (default: all)")
    ap.add_argument("--since", type=float, help="leave out the first SINCE seconds")


def run(args):
    from pyb_bridge.errors import PlotError, need
    from pyb_bridge.plot import plot

    need("matplotlib", "plot")
    out = args.out or args.file.rsplit(".", 1)[0] + ".png"
    try:
        drawn = plot(args.file, out, args.channels.split(",") if args.channels else None,
                     args.since)
    except (PlotError, sqlite3.Error) as e:
        print("pyb-bridge plot: %s" % e, file=sys.stderr)
        return 2
    print("pyb-bridge plot: %s -> %s (%s)" % (args.file, out, ", ".join(drawn)))
    return 0
