"""``pyb-bridge export``: a SQLite log to CSV or Parquet (docs/bridge.md)."""

import sqlite3
import sys

HELP = "a SQLite log to CSV or Parquet"


def add_arguments(ap):
    from pyb_bridge.export import FORMATS

    ap.add_argument("file", help="SQLite log written by pyb-bridge log")
    ap.add_argument("--to", choices=FORMATS, required=True, help="output format")
    ap.add_argument("-o", "--out", help="output file (default: FILE with the new extension)")
    ap.add_argument("--table", help="only this stream table (default: all)")


def run(args):
    from pyb_bridge.errors import ExportError, need
    from pyb_bridge.export import export

    if args.to == "parquet":
        need("pyarrow", "parquet", "--to parquet")

    try:
        done = export(args.file, args.to, args.out, args.table)
    except (ExportError, sqlite3.Error, OSError) as e:
        print("pyb-bridge export: %s" % e, file=sys.stderr)
        return 2
    for t, p, n in done:
        print("pyb-bridge export: %s -> %s (%d rows)" % (t, p, n))
    return 0
