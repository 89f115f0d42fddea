"""``pyb-bridge serve``: the REST API and the live dashboard over a SQLite
log, read-only (docs/api.md).

    pyb-bridge serve [--db demo.sqlite] [--host 127.0.0.1] [--port 8000]

It binds to the loopback interface unless ``--host`` says otherwise. Any
other address needs an access token (``--token`` or the environment
variable ``PYB_BRIDGE_TOKEN``), which every request must then carry
(``Authorization: Bearer TOKEN`` or ``?token=TOKEN``): without one the
command refuses to start. ``pyb-bridge log --serve`` logs and serves in one
process (the helpers at the end of this module).
"""

import ipaddress
import os
import sys

LOOPBACK = ("127.0.0.1", "::1", "localhost")
TOKEN_ENV = "PYB_BRIDGE_TOKEN"
HELP = "REST API and live dashboard over a SQLite log, read-only"


def is_loopback(host):
    """Whether ``host`` (an address or ``localhost``) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(host, token, prog):
    """(token, error): the token to serve with (``token``, else the
    environment's ``PYB_BRIDGE_TOKEN``, else None) and the one-line error
    when ``host`` is not loopback and there is no token."""
    if not token:
        token = os.environ.get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        return None, ("%s: refusing to listen on %s without an access token: anyone on the "
                      "network could read the log; give --token TOKEN (or set %s), or "
                      "listen on 127.0.0.1" % (prog, host, TOKEN_ENV))
    return token, None


def warn_public(host, prog):
    if not is_loopback(host):
        print("%s: listening on %s: requests need the access token" % (prog, host),
              file=sys.stderr)


def add_arguments(ap):
    from pyb_bridge.errors import need

    need("flask", "serve")
    need("waitress", "serve")
    from pyb_bridge.server import THREADS

    ap.add_argument("--db", default="demo.sqlite", help="SQLite log (default demo.sqlite)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=8000, help="TCP port (default 8000, 0: any)")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help="worker threads (default %d); half of them at most serve live "
                         "event streams" % THREADS)
    ap.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="a name the server answers to in the Host header besides the "
                         "loopback names and the --host address (repeat it; '*': any)")
    ap.add_argument("--token", default=None,
                    help="access token every request must carry (default: the %s "
                         "environment variable); required unless --host is loopback"
                         % TOKEN_ENV)


def run(args):
    from pyb_bridge.server import make_server

    token, error = resolve_token(args.host, args.token, "pyb-bridge serve")
    if error:
        print(error, file=sys.stderr)
        return 2
    if not os.path.isfile(args.db):
        print("pyb-bridge serve: no such file: %s" % args.db, file=sys.stderr)
        return 1
    try:
        server = make_server(args.db, args.host, args.port, threads=max(2, args.threads),
                             token=token, allow_hosts=args.allow_host)
    except OSError as e:
        print("pyb-bridge serve: cannot listen on %s port %d: %s" % (args.host, args.port, e),
              file=sys.stderr)
        return 1
    warn_public(args.host, "pyb-bridge serve")
    print("pyb-bridge serve: %s (%s, read-only; Ctrl-C stops)" % (server.url, args.db),
          flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
