"""``pyb-bridge log``: the stream of one or several boards into files
and/or an MQTT broker (docs/bridge.md). The work is ``pyb_bridge.logger``'s;
this module holds the options, what is printed and the exit status.

    pyb-bridge log --port auto --out readings.sqlite
    pyb-bridge log --port /dev/ttyACM0 --port /dev/ttyACM1 --out both.sqlite \\
                   --out mqtt://broker:1883/lab --plot
"""

import errno
import os
import signal
import sqlite3
import sys
import time

from pyb_bridge.cli import serve
from pyb_bridge.errors import BridgeError, need
from pyb_bridge.logdb import SqliteSink
from pyb_bridge.logger import STOP_TIMEOUT_S, Logger, expand_ports
from pyb_bridge.outputs import FORMATS, open_sink

HELP = "log the stream of one or several boards to files and/or an MQTT broker"
COUNTER_NAMES = ("frames", "frames_lost", "crc_errors", "resyncs", "reconnects")
PAYLOADS = ("batch", "row")  # pyb_bridge.mqtt.PAYLOADS


def status_line(lg, start):
    c, _ = lg.counters()
    dt = max(time.monotonic() - start, 1e-9)
    line = ("%7.1f s  %9d rows  %8.0f rows/s  %6d frames  lost %d  crc errors %d  "
            "resyncs %d  reconnects %d" % (dt, lg.rows, lg.rows / dt, c["frames"],
                                           c["frames_lost"], c["crc_errors"], c["resyncs"],
                                           c["reconnects"]))
    if len(lg.boards) > 1:
        line += "  boards %d" % len(lg.boards)
    for s in lg.sinks:
        extra = getattr(s, "status", None)
        if extra:
            line += "  " + extra()
    return line


def open_sinks(args):
    sinks = []
    try:
        for out in args.out:
            if out.startswith(("mqtt://", "mqtts://")):
                sinks.append(mqtt_sink(out, args))
            else:
                sinks.append(open_sink(out, args.format, flush_interval=args.flush_interval))
    except BaseException:
        for s in sinks:
            s.close()
        raise
    return sinks


class LivePlot:
    """Redraws ``png`` from the SQLite log every ``interval`` seconds."""

    def __init__(self, sink, png, interval):
        self.sink = sink
        self.png = png
        self.interval = interval
        self.last = time.monotonic()
        self.drawn = 0
        self.error = None

    def draw(self):
        from pyb_bridge.plot import PlotError, plot

        self.sink.flush()  # the plot reads what is committed
        self.last = time.monotonic()
        try:
            plot(self.sink.path, self.png + ".tmp.png", title=self.sink.path)
            os.replace(self.png + ".tmp.png", self.png)
            self.drawn += 1
            self.error = None
        except PlotError as e:  # nothing logged yet
            self.error = str(e)

    def maybe(self):
        if time.monotonic() - self.last >= self.interval:
            self.draw()


class LogError(Exception):
    """What stops ``pyb-bridge log``: one line saying what to do; ``code``
    is the exit status; ``remove``: the output files this run made are
    removed (nothing was logged into them)."""

    def __init__(self, message, code=1, remove=False):
        super().__init__(message)
        self.code = code
        self.remove = remove


def check_output(path):
    """A LogError unless a file can be made at ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise LogError("--out %s is a folder: give a file name in it" % path, 2)
    probe = folder
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise LogError("--out %s: %s is a file, not a folder: choose another --out"
                       % (path, probe), 2)
    if probe != folder:
        raise LogError("--out %s: the folder %s does not exist: create it (mkdir -p %s) or "
                       "choose another --out" % (path, folder, folder), 2)
    if not os.access(folder, os.W_OK) or (os.path.exists(path)
                                          and not os.access(path, os.W_OK)):
        raise LogError("--out %s: no permission to write there: choose another --out "
                       "or fix the permissions" % path, 2)


def run(args):
    """``pyb-bridge log`` (arguments from ``add_arguments``): the exit
    status; a failure is one line on stderr, never a traceback."""
    files = [o for o in args.out if not o.startswith(("mqtt://", "mqtts://"))]
    created = [o for o in files if not os.path.exists(o) or args.overwrite]
    try:
        return _run(args, files)
    except LogError as e:
        if e.remove:
            for o in created:
                for f in (o, o + "-wal", o + "-shm", o + "-journal"):
                    if os.path.exists(f):
                        os.remove(f)
        print("pyb-bridge log: %s" % e, file=sys.stderr)
        return e.code


def read_script(path):
    """The text of a --script, checked for syntax errors on the host."""
    try:
        with open(path) as f:
            script = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise LogError("cannot read the script %s: %s" % (path, getattr(e, "strerror", e) or e),
                       2) from None
    try:
        compile(script, path, "exec")
    except SyntaxError as e:
        raise LogError("%s line %s: %s: %s: fix the script (it was not started)"
                       % (path, e.lineno, type(e).__name__, e.msg), 2) from None
    return script


def _close_sinks(sinks):
    """Close every sink; the first write error as a LogError (None if none)."""
    first = None
    for s in sinks:
        try:
            s.close()
        except (OSError, sqlite3.Error) as e:
            first = first or e
    return first


def _out_hint(e):
    """What to do about a write error ``e``, by what it is."""
    text = str(e).lower()
    if getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "full" in text:
        return "free some space (or choose another --out)"
    if getattr(e, "errno", None) in (errno.EACCES, errno.EPERM, errno.EROFS) or \
            "readonly" in text or "read-only" in text or "permission" in text:
        return "fix the permissions (or choose another --out)"
    return "choose another --out"


def write_error(e, files):
    return LogError("writing %s failed: %s: %s and start again; the rows written before "
                    "are kept" % (", ".join(files) or "the output", e, _out_hint(e)))


def serve_error(e, args):
    """The one line for a --serve that cannot start."""
    where = "%s:%s" % (args.serve_host, args.serve_port)
    if getattr(e, "errno", None) == errno.EADDRINUSE:
        return ("--serve: cannot listen on %s: the port is in use (another server?): choose "
                "another --serve-port" % where)
    if getattr(e, "errno", None) in (errno.EACCES, errno.EPERM):
        return ("--serve: no permission to listen on %s (ports below 1024 need root): choose "
                "another --serve-port" % where)
    return "--serve: %s" % (getattr(e, "strerror", None) or e)


def check_existing(files, args):
    """A LogError for an --out that exists unless --append or --overwrite
    says what to do with it; with --overwrite its files are removed."""
    from pyb_bridge.outputs import output_files

    if args.append and args.overwrite:
        raise LogError("--append and --overwrite: choose one", 2)
    for o in files:
        have = output_files(o, args.format)
        if not have:
            continue
        if args.overwrite:
            for f in have:
                os.remove(f)
        elif not args.append:
            raise LogError("--out %s exists: add --append to add this run to it, or "
                           "--overwrite to replace it" % o, 2)


def _run(args, files):
    from pyb_bridge.outputs import format_of

    if args.keep_running and not args.script:
        raise LogError("--keep-running is for a --script that log starts", 2)
    if args.serve:
        need("flask", "serve", "--serve")
        need("waitress", "serve", "--serve")
    if args.plot is not None:
        need("matplotlib", "plot", "--plot")
    if len(files) < len(args.out):
        need("paho.mqtt.client", "mqtt", "--out mqtt://...")
    script = read_script(args.script) if args.script else None
    for o in files:
        check_output(o)
        try:
            format_of(o, args.format)
        except ValueError as e:
            raise LogError("--out %s" % e, 2) from None
    check_existing(files, args)
    try:
        ports = expand_ports(args.port)
    except OSError as e:
        raise LogError(str(e)) from None
    live_plot = None
    if args.plot is not None:
        sq = [o for o in files if format_of(o, args.format) == "sqlite"]
        if not sq:
            print("pyb-bridge log: --plot needs a SQLite --out", file=sys.stderr)
            return 2
    stop = []

    def on_signal(signum, frame):
        stop.append(signum)

    from pyb_bridge.mqtt import MqttError

    try:
        sinks = open_sinks(args)
    except MqttError as e:  # a refused login or a TLS failure: the line says what to check
        raise LogError("MQTT %s" % e, remove=True) from None
    except (OSError, sqlite3.Error) as e:
        raise LogError("cannot write %s: %s: %s" % (", ".join(files), e, _out_hint(e)),
                       remove=True) from None
    old = signal.signal(signal.SIGTERM, on_signal)
    if args.plot is not None:
        db = next(s for s in sinks if isinstance(s, SqliteSink))
        png = args.plot or os.path.splitext(db.path)[0] + ".png"
        live_plot = LivePlot(db, png, args.plot_interval)
    start = time.monotonic()
    last_status = 0.0
    live = sys.stderr.isatty() and not args.quiet
    lg = Logger(ports, sinks, baudrate=args.baudrate, script=script)
    quiet = {}  # port -> [bytes read so far, since when, said]
    server = None
    gone = {}
    failed = None
    try:
        try:
            server = start_server(args, sinks)  # --serve
        except OSError as e:
            raise LogError(serve_error(e, args), remove=True) from None
        try:
            lg.__enter__()
        except KeyboardInterrupt:  # while a board was opened or its script started
            lg.close()
            raise LogError("interrupted before logging started (nothing logged)", 130,
                           remove=True) from None
        except (OSError, BridgeError) as e:
            msg = getattr(e, "strerror", None) or str(e)
            if not msg.startswith(tuple(ports)):
                msg = "%s: %s" % (", ".join(ports), msg)
            raise LogError(msg, remove=True) from None
        try:
            end = None if args.duration is None else start + args.duration
            try:
                while not stop and (end is None or time.monotonic() < end):
                    if script is not None and all(b.script_ended for b in lg.boards):
                        break  # every board's script has ended: its rows are in
                    lg.step(0.05)
                    if live_plot:
                        live_plot.maybe()
                    if server:
                        serve_tick(server, lg)
                    t = time.monotonic()
                    if not args.quiet and t - last_status >= 0.5:
                        last_status = t
                        line = status_line(lg, start)
                        if live:
                            sys.stderr.write("\r" + line)
                        else:
                            print(line, file=sys.stderr)
                    for p, b in zip(ports, lg.boards, strict=True):
                        _watch_port(p, b, gone, live)
                    _show_text(lg, live)
                    _watch_silence(ports, lg, quiet, args.silence, live)
            except KeyboardInterrupt:
                pass
            if script is not None and not args.keep_running:
                try:
                    still = lg.stop_scripts()
                except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                    still = [n for n, b in zip(lg.names, lg.boards, strict=True)
                             if not b.script_ended]
                for name in still:
                    print("pyb-bridge log: %s: the script did not stop within %g s of a "
                          "Ctrl-C: it runs on (press the board's reset button)"
                          % (name, STOP_TIMEOUT_S), file=sys.stderr)
        finally:
            lg.close()
            _show_text(lg, live)
        line = status_line(lg, start)
        counters, per_board = lg.counters()
        if live_plot:
            live_plot.draw()
    except (OSError, sqlite3.Error) as e:  # the disk is full, the folder went away...
        failed = write_error(e, files)
    finally:
        closing = _close_sinks(sinks)
        signal.signal(signal.SIGTERM, old)
    if failed or closing:
        raise failed or write_error(closing, files)
    if live:
        sys.stderr.write("\n")
    from pyb_bridge.mqtt import redact

    runs = ["run %d" % s.run for s in sinks if getattr(s, "run", None) is not None]
    print("pyb-bridge: %s -> %s (%s)%s" % (", ".join(ports), ", ".join(map(redact, args.out)),
                                           args.format or "by extension",
                                           (", " + ", ".join(runs)) if runs else ""))
    print("  " + line.strip())
    if script is not None:
        running = [p for p, b in zip(ports, lg.boards, strict=True) if not b.script_ended]
        stopped = [p for p, b in zip(ports, lg.boards, strict=True)
                   if b.script_ended and b.asked_to_stop]
        if running:
            print("  the script is still running on %s" % ", ".join(running))
        elif stopped:
            print("  the script was stopped at the end (Ctrl-C)%s" % (
                " on " + ", ".join(stopped) if len(stopped) < len(ports) else ""))
        else:
            print("  the script ended")
    print("  " + ", ".join("%s %d" % kv for kv in sorted(counters.items())))
    if len(ports) > 1:
        for name in lg.names:
            c = per_board[name]
            print("  %s: %d rows, %s" % (name, lg.rows_by_board[name], ", ".join(
                "%s %d" % (k, c[k]) for k in COUNTER_NAMES)))
    if live_plot:
        print("  plot: %s (%s)" % (live_plot.png, live_plot.error or
                                   "redrawn %d times" % live_plot.drawn))
    for s in sinks:
        if hasattr(s, "published"):
            print("  %s: %d messages acknowledged, %d went through the spool, %d left in %s"
                  % (s.path, s.published, s.spooled, s.left_in_spool, s.spool_path))
    for (name, stream), n in sorted(lg.undescribed.items()):
        print("pyb-bridge log: %s: %d frames of stream %d came without its descriptor (the "
              "board never described the stream): not logged, counted in held_dropped"
              % (name, n, stream), file=sys.stderr)
    asked = {n for n, b in zip(lg.names, lg.boards, strict=True) if b.asked_to_stop}
    failed_tbs = [(n, tb) for n, tb in lg.tracebacks.items()
                  if not (n in asked and tb[-1].startswith("KeyboardInterrupt"))]
    if script is not None and failed_tbs:
        name, tb = failed_tbs[0]
        raise LogError("%s: the script stopped with %s (its traceback is above); the rows "
                       "received before are in %s" % (name, tb[-1], ", ".join(args.out)), 4)
    still = [p for p in ports if p in gone]
    if still:
        raise LogError("%s went away during the run and did not come back: plug the board "
                       "back in (pyb-bridge ports lists the ports); the rows received before "
                       "are in %s" % (", ".join(still), ", ".join(args.out)), 3)
    return 0


def _show_text(lg, live):
    """Print what the boards printed between frames, a line each, on stderr."""
    lines = lg.take_text()
    if lines:
        print("%s%s" % ("\n" if live else "", "\n".join(
            "%s: %s" % (name, line) for name, _, line in lines)), file=sys.stderr)


def _watch_silence(ports, lg, quiet, after_s, live):
    """Say once per silence when a board has sent nothing for ``after_s`` s."""
    now = time.monotonic()
    for p, b in zip(ports, lg.boards, strict=True):
        n = b.decoder.bytes
        q = quiet.get(p)
        if q is None or q[0] != n:
            quiet[p] = [n, now, False]
        elif not q[2] and after_s and now - q[1] >= after_s:
            q[2] = True
            print("%spyb-bridge log: %s: nothing from the board for %g s: is its program "
                  "running and streaming (pyb_lib.stream)? Give it with --script FILE, or "
                  "check main.py" % ("\n" if live else "", p, after_s), file=sys.stderr)


def _watch_port(port, board, gone, live):
    """Say once when a board's port goes away and when it is back."""
    if not board.link.connected and port not in gone:
        gone[port] = time.monotonic()
        print("%spyb-bridge log: %s went away (unplugged?); waiting for it to come back"
              % ("\n" if live else "", port), file=sys.stderr)
    elif board.link.connected and port in gone:
        print("%spyb-bridge log: %s is back after %.1f s" % (
            "\n" if live else "", port, time.monotonic() - gone.pop(port)), file=sys.stderr)


def add_arguments(lg):
    lg.add_argument("--port", action="append", default=None,
                    help="device path, 'auto' (every board with USB VID 0xF055) or a pyserial "
                         "URL; repeat for several boards (default: auto)")
    lg.add_argument("--out", action="append", required=True,
                    help="output file, or mqtt://HOST:PORT/TOPIC-PREFIX; repeat for several")
    lg.add_argument("--format", choices=FORMATS, default=None,
                    help="default: from the file extension (.sqlite .sqlite3 .db, .csv, "
                         ".jsonl .json; any other is an error)")
    lg.add_argument("--append", action="store_true",
                    help="add this run to an existing --out (SQLite: a new run in _runs)")
    lg.add_argument("--overwrite", action="store_true",
                    help="replace an existing --out (default: refuse it)")
    lg.add_argument("--duration", type=float, default=None,
                    help="seconds (default: until Ctrl-C, or until --script has ended on "
                         "every board)")
    lg.add_argument("--script", help="Python file to start on each board through the raw REPL; "
                                     "log ends when it has ended, and stops it (Ctrl-C) at "
                                     "the end of --duration or on Ctrl-C")
    lg.add_argument("--keep-running", action="store_true",
                    help="leave the --script running on the board at the end")
    lg.add_argument("--baudrate", type=int, default=115200)
    lg.add_argument("--silence", type=float, default=5.0, metavar="S",
                    help="say so when a board sends nothing for S seconds (default 5; 0: "
                         "never)")
    lg.add_argument("--flush-interval", type=float, default=1.0, help="seconds between commits")
    lg.add_argument("--quiet", action="store_true", help="no live status line")
    lg.add_argument("--plot", nargs="?", const="", default=None, metavar="PNG",
                    help="keep a plot of the SQLite --out up to date (default: OUT.png)")
    lg.add_argument("--plot-interval", type=float, default=5.0,
                    help="seconds between redraws of --plot (default 5)")
    add_mqtt_arguments(lg)
    add_serve_arguments(lg)


def add_mqtt_arguments(ap):
    g = ap.add_argument_group("MQTT (--out mqtt://HOST:PORT/PREFIX or mqtts://...)")
    g.add_argument("--mqtt-user", help="user name (or in the URL: mqtt://USER@HOST/...)")
    g.add_argument("--mqtt-password",
                   help="password (default: the PYB_MQTT_PASSWORD environment variable)")
    g.add_argument("--mqtt-cafile", help="CA certificate file: connect with TLS")
    g.add_argument("--mqtt-cert", help="client certificate file (TLS)")
    g.add_argument("--mqtt-key", help="client key file (TLS)")
    g.add_argument("--mqtt-insecure", action="store_true",
                   help="TLS without checking the broker's certificate (testing only)")
    g.add_argument("--mqtt-qos", type=int, choices=(0, 1, 2), default=1, help="default 1")
    g.add_argument("--mqtt-payload", choices=PAYLOADS, default="batch",
                   help="a JSON message per batch (default) or per reading")
    g.add_argument("--mqtt-spool", default="mqtt-spool.sqlite",
                   help="SQLite file holding messages while the broker is away "
                        "(default mqtt-spool.sqlite; removed when empty at the end)")
    g.add_argument("--mqtt-client-id", default="", help="default: chosen by the broker")


def mqtt_sink(url, args):
    from pyb_bridge.mqtt import MqttError, MqttSink

    password = args.mqtt_password
    if password is None:
        password = os.environ.get("PYB_MQTT_PASSWORD")
    sink = MqttSink(url, spool=args.mqtt_spool, qos=args.mqtt_qos, payload=args.mqtt_payload,
                    username=args.mqtt_user, password=password, cafile=args.mqtt_cafile,
                    certfile=args.mqtt_cert, keyfile=args.mqtt_key,
                    insecure=args.mqtt_insecure, client_id=args.mqtt_client_id,
                    flush_interval=args.flush_interval)
    # A wrong password or a certificate that does not verify stops the run
    # at once (an absent broker does not: the spool is for that).
    end = time.monotonic() + FIRST_CONNECT_S
    while not sink.connected and sink.last_error is None and time.monotonic() < end:
        time.sleep(0.01)
    if sink.fatal_error:
        error = sink.fatal_error
        sink.close_timeout = 0
        sink.close()
        raise MqttError(error)
    return sink


FIRST_CONNECT_S = 5.0  # how long the command waits for the first answer of the broker


# --serve: logging and serving in one process

def add_serve_arguments(parser):
    parser.add_argument("--serve", action="store_true",
                        help="also serve the SQLite --out: REST API and live dashboard")
    parser.add_argument("--serve-host", default="127.0.0.1",
                        help="address for --serve (default 127.0.0.1)")
    parser.add_argument("--serve-port", type=int, default=8000,
                        help="TCP port for --serve (default 8000, 0: any)")
    parser.add_argument("--serve-allow-host", action="append", default=[], metavar="NAME",
                        help="a name --serve answers to in the Host header besides the "
                             "loopback names and --serve-host (repeat it; '*': any)")
    parser.add_argument("--serve-token", default=None,
                        help="access token for --serve (default: the %s environment "
                             "variable); required unless --serve-host is loopback"
                             % serve.TOKEN_ENV)


def start_server(args, sinks):
    """With ``--serve``: serve the first SQLite sink from a thread of the
    logger (the logger writes, the server reads: WAL allows both). Returns
    the server (``.url``) or None."""
    if not getattr(args, "serve", False):
        return None
    token, error = serve.resolve_token(args.serve_host, getattr(args, "serve_token", None),
                                 "pyb-bridge log")
    if error:
        raise OSError(error.split(": ", 1)[1])
    from pyb_bridge.logdb import SqliteSink
    from pyb_bridge.server import serve_in_thread

    db = next((s for s in sinks if isinstance(s, SqliteSink)), None)
    if db is None:
        raise OSError("--serve needs a SQLite --out")
    db.flush()
    server = serve_in_thread(db.path, args.serve_host, args.serve_port, token=token,
                             allow_hosts=getattr(args, "serve_allow_host", []))
    server.sink = db
    serve.warn_public(args.serve_host, "pyb-bridge log")
    print("pyb-bridge log: serving %s at %s" % (db.path, server.url), file=sys.stderr,
          flush=True)
    return server


def serve_tick(server, lg, interval=1.0):
    """While serving: keep the counters in the SQLite log current (every
    ``interval`` s) so that the API and the dashboard show them live."""
    import time

    now = time.monotonic()
    if now - getattr(server, "_counters_at", 0.0) < interval:
        return
    server._counters_at = now
    total, per = lg.counters()
    server.sink.record_counters(total, per)
