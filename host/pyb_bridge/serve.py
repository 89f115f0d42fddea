"""``pyb-bridge serve``: the REST API and the live dashboard over a SQLite
log, read-only (docs/api.md).

    pyb-bridge serve [--db demo.sqlite] [--host 127.0.0.1] [--port 8000]

It binds to the loopback interface unless ``--host`` says otherwise; there
is no authentication, so ``--host 0.0.0.0`` shows the log to the network.
``pyb-bridge log --serve`` logs and serves in one process (the helpers at
the end of this module).
"""

import argparse
import os
import sys

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _warn_public(host, prog):
    if host not in LOOPBACK:
        print("%s: listening on %s: anyone who reaches this host can read the log "
              "(no authentication)" % (prog, host), file=sys.stderr)


def main(argv=None):
    from pyb_bridge.server import THREADS, make_server

    ap = argparse.ArgumentParser(prog="pyb-bridge serve", description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="demo.sqlite", help="SQLite log (default demo.sqlite)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=8000, help="TCP port (default 8000, 0: any)")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help="worker threads (default %d); half of them at most serve live "
                         "event streams" % THREADS)
    args = ap.parse_args(argv)
    if not os.path.isfile(args.db):
        print("pyb-bridge serve: no such file: %s" % args.db, file=sys.stderr)
        return 1
    try:
        server = make_server(args.db, args.host, args.port, threads=max(2, args.threads))
    except OSError as e:
        print("pyb-bridge serve: cannot listen on %s port %d: %s" % (args.host, args.port, e),
              file=sys.stderr)
        return 1
    _warn_public(args.host, "pyb-bridge serve")
    print("pyb-bridge serve: %s (%s, read-only; Ctrl-C stops)" % (server.url, args.db),
          flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


# ``pyb-bridge log --serve``

def add_log_arguments(parser):
    parser.add_argument("--serve", action="store_true",
                        help="also serve the SQLite --out: REST API and live dashboard")
    parser.add_argument("--serve-host", default="127.0.0.1",
                        help="address for --serve (default 127.0.0.1)")
    parser.add_argument("--serve-port", type=int, default=8000,
                        help="TCP port for --serve (default 8000, 0: any)")


def start_for_log(args, sinks):
    """With ``--serve``: serve the first SQLite sink from a thread of the
    logger (the logger writes, the server reads: WAL allows both). Returns
    the server (``.url``) or None."""
    if not getattr(args, "serve", False):
        return None
    from pyb_bridge.server import serve_in_thread
    from pyb_bridge.sinks import SqliteSink

    db = next((s for s in sinks if isinstance(s, SqliteSink)), None)
    if db is None:
        raise OSError("--serve needs a SQLite --out")
    db.flush()
    server = serve_in_thread(db.path, args.serve_host, args.serve_port)
    server.sink = db
    _warn_public(args.serve_host, "pyb-bridge log")
    print("pyb-bridge log: serving %s at %s" % (db.path, server.url), file=sys.stderr,
          flush=True)
    return server


def tick(server, lg, interval=1.0):
    """While serving: keep the counters in the SQLite log current (every
    ``interval`` s) so that the API and the dashboard show them live."""
    import time

    now = time.monotonic()
    if now - getattr(server, "_counters_at", 0.0) < interval:
        return
    server._counters_at = now
    total, per = lg.counters()
    server.sink.record_counters(total, per)
