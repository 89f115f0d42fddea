"""pyb-bridge: the command line. One module per command in this package
(``add_arguments(parser)``, ``run(args) -> exit status``; ``vboard`` has
its own ``main(argv)``); only the chosen command's module is imported.
Every print, stderr line and exit status of pyb-bridge is here; the
library modules of pyb_bridge raise ``pyb_bridge.errors.BridgeError``.

    pyb-bridge ports
    pyb-bridge log --port auto --out readings.db [--duration S] [--script FILE] ...
    pyb-bridge deploy [--port auto] [--mpy] [--dest /flash/lib/pyb_lib]
    pyb-bridge plot readings.db [-o PNG] [--channels adc.x1,...]
    pyb-bridge export readings.db --to csv|parquet [-o OUT]
    pyb-bridge serve [--db FILE] [--host 127.0.0.1] [--port 8000]
    pyb-bridge demo [--port PORT] [--serve [PORT]]
    pyb-bridge vboard [--link /tmp/pyboard] [--flash DIR] ...
    pyb-bridge faultlink --source PORT --link PATH [--rate R]

Exit status: 0 done, 1 failed, 2 bad arguments or a missing extra
(``pip install 'pyb-bridge[plot]'``), 4 a ``log --script`` that stopped
with a traceback, 130 interrupted (Ctrl-C).
"""

import argparse
import importlib
import os
import sys

from pyb_bridge.errors import BridgeError, MissingExtra

# name -> one line of help (the command's module says the same in HELP)
COMMANDS = {
    "ports": "list serial ports, marking PyBoards (virtual ones too)",
    "log": "log the stream of one or several boards to files and/or an MQTT broker",
    "deploy": "copy pyb_lib to /flash/lib/pyb_lib on the board",
    "plot": "plot a log (SQLite, CSV or JSONL) to a PNG",
    "export": "a SQLite log to CSV or Parquet",
    "serve": "REST API and live dashboard over a SQLite log, read-only",
    "demo": "stream, log, summarise and plot on a virtual or real board",
    "vboard": "start a virtual PyBoard on a pseudo-terminal (pyb-bridge vboard --help)",
    "faultlink": "a faulty link between a board's port and the bridge, for testing",
}
INTERRUPTED = 130


def version_line():
    from pyb_bridge import __version__
    from pyb_bridge.decoder import VERSION

    return "pyb-bridge %s (pyb_lib %s, stream protocol %d)" % (__version__, __version__, VERSION)


def _top_parser():
    ap = argparse.ArgumentParser(
        prog="pyb-bridge", description="The PC side of pyb_lib: log a PyBoard's stream, copy "
        "pyb_lib to it, plot, export and serve the logs, run a virtual PyBoard.")
    ap.add_argument("--version", action="version", version=version_line())
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name, text in COMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    return ap


def main(argv=None):
    """Run the command in ``argv`` (default: the process's); its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    name = argv[0] if argv and argv[0] in COMMANDS else None
    if name is None:  # --help, --version, a wrong command: argparse says and exits
        _top_parser().parse_args(argv)
        return 2
    prog = "pyb-bridge " + name
    try:
        mod = importlib.import_module("pyb_bridge.cli." + name)
        if hasattr(mod, "main"):
            return mod.main(argv[1:])
        ap = argparse.ArgumentParser(prog=prog, description=mod.HELP)
        mod.add_arguments(ap)
        return mod.run(ap.parse_args(argv[1:]))
    except KeyboardInterrupt:
        print("\n%s: interrupted" % prog, file=sys.stderr)
        return INTERRUPTED
    except MissingExtra as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 2
    except (BridgeError, OSError) as e:
        print("%s: %s" % (prog, getattr(e, "strerror", None) or e), file=sys.stderr)
        return 1
    except Exception as e:  # never a traceback for the user; PYB_BRIDGE_DEBUG=1 shows it
        if os.environ.get("PYB_BRIDGE_DEBUG"):
            raise
        print("%s: unexpected error: %s: %s (PYB_BRIDGE_DEBUG=1 shows where; please "
              "report it)" % (prog, type(e).__name__, e), file=sys.stderr)
        return 1

