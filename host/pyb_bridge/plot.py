"""Plot a log written by ``pyb-bridge log`` (SQLite, CSV or JSONL): one
panel per unit, board time on the x axis, lost frames shown as gaps in the
lines. A log of several boards gets a line per board and channel, each
board's time from its own first reading (board clocks are unrelated).

    pyb-bridge plot demo.sqlite -o demo.png [--channels x1,temp] [--since 5]
    pyb-bridge plot readings.csv        # or readings.jsonl

A CSV file is one stream (the file's name); its channels have no unit. A
JSONL file holds each row's stream and channels by name.
"""

import csv
import json
import os
import sqlite3
from collections import OrderedDict

from pyb_bridge import logdb
from pyb_bridge.errors import PlotError


def load_channels(db):
    """[(table, column, stream, unit, period_us, channel)] in the order they
    were logged; ``channel`` is the name the board declared."""
    try:
        return [(t, c, st, u, p, ch) for t, c, st, _, u, p, ch in logdb.channels(db)]
    except sqlite3.DatabaseError as e:
        raise PlotError("not a pyb-bridge SQLite log (%s)" % e) from None


def open_log(path):
    """A read-only connection to a SQLite log, or an in-memory one that
    holds a CSV or JSONL log in the SQLite sink's layout."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".jsonl", ".json"):
        return sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            streams = _csv_rows(path, f) if ext == ".csv" else _jsonl_rows(path, f)
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as e:
        raise PlotError("cannot read %s: %s" % (path, e)) from None
    db = sqlite3.connect(":memory:")
    db.execute('CREATE TABLE "_channels" ("table" TEXT, "column" TEXT, "stream" TEXT, '
               '"type" TEXT, "unit" TEXT, "period_us" INTEGER, "channel" TEXT, '
               '"position" INTEGER)')
    db.execute('CREATE TABLE "_run_rows" ("run" INTEGER, "table" TEXT, "first_row" INTEGER)')
    for k, (stream, names, rows, runs) in enumerate(streams.values(), 1):
        table = "stream_%d" % k
        cols = ["ch%d" % i for i in range(len(names))]
        db.execute('CREATE TABLE "%s" ("board" TEXT, "seq" INTEGER, "board_time_us" INTEGER, '
                   '"host_time" REAL%s)' % (table, "".join(', "%s" REAL' % c for c in cols)))
        db.executemany('INSERT INTO "_channels" VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                       [(table, c, stream, "f", "", 0, n, i)
                        for i, (c, n) in enumerate(zip(cols, names, strict=True))])
        db.executemany('INSERT INTO "%s" VALUES (%s)' % (table, ", ".join("?" * (4 + len(cols)))),
                       rows)
        # where each run starts (row ids from 1 in insertion order): never joined
        db.executemany('INSERT INTO "_run_rows" VALUES (?, ?, ?)',
                       [(run, table, i + 1) for i, run in enumerate(runs)
                        if i == 0 or run != runs[i - 1]])
    return db


def _number(text):
    if text in ("", None):
        return None
    return float(text)


def _csv_rows(path, f):
    """{stream: (stream, channel names, rows, the run of each row)} of a CSV
    log (one stream; a file from before runs: all run 1)."""
    r = csv.reader(f)
    header = next(r, None)
    k = 1 if header and header[:1] == ["run"] else 0
    if not header or header[k:k + 4] != ["board", "seq", "board_time_us", "host_time"]:
        raise ValueError("not a pyb-bridge CSV log (its header is not run, board, seq, "
                         "board_time_us, host_time, channels...)")
    names = [n[1:] if n[:1] == "'" and n[1:2] in ("=", "+", "-", "@", "\t", "\r") else n
             for n in header[k + 4:]]  # cells the sink neutralised (sinks.csv_text)
    rows, runs = [], []
    for row in r:
        if row:
            runs.append(int(row[0]) if k else 1)
            rows.append([row[k] or None, int(row[k + 1]), int(row[k + 2]), float(row[k + 3])]
                        + [_number(v) for v in row[k + 4:]])
    stream = os.path.splitext(os.path.basename(path))[0]
    return {stream: (stream, names, rows, runs)}


def _jsonl_rows(path, f):
    """{stream: (stream, channel names, rows, the run of each row)} of a
    JSONL log."""
    out = {}
    for line in f:
        if not line.strip():
            continue
        rec = json.loads(line)
        stream, values = rec["stream"], rec["values"]
        entry = out.get(stream)
        if entry is None:
            entry = out[stream] = (stream, list(values), [], [])
        entry[2].append([rec.get("board"), rec.get("seq"), rec["board_time_us"],
                         rec.get("host_time")] + [values.get(n) for n in entry[1]])
        entry[3].append(rec.get("run", 1))
    return out


_ALL = object()  # every board: no filter


def _where(board):
    return (' WHERE "board" IS ?', (board,)) if board is not _ALL else ("", ())


def boards(db, table):
    """The boards in ``table`` (a log without a board column: one, None)."""
    cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % table)]
    if "board" not in cols:
        return [_ALL]
    return [r[0] for r in db.execute('SELECT DISTINCT "board" FROM "%s"' % table)] or [_ALL]


def start_time(db, tables, board=_ALL):
    """The earliest board time (µs) of the given tables (of one board): the plot's zero."""
    where, params = _where(board)
    firsts = [db.execute('SELECT MIN("board_time_us") FROM "%s"%s' % (t, where),
                         params).fetchone()[0] for t in set(tables)]
    firsts = [f for f in firsts if f is not None]
    return min(firsts) if firsts else 0


def series(db, table, column, since_s=None, t0=None, board=_ALL):
    """(times in s from ``t0``, default the table's first row, values) with
    None at gaps; only the rows of ``board`` when given.

    A gap is a step in board time of more than twice the usual step (the
    median), which is what frames lost on the wire leave behind, and the
    start of another run of ``pyb-bridge log`` (``_run_rows``): runs are
    never joined by a line."""
    where, params = _where(board)
    rows = db.execute('SELECT "board_time_us", "%s", rowid FROM "%s"%s ORDER BY rowid'
                      % (column.replace('"', '""'), table, where), params).fetchall()
    if not rows:
        return [], []
    try:
        starts = {r[0] for r in db.execute('SELECT "first_row" FROM "_run_rows" WHERE '
                                           '"table" = ?', (table,))}
    except sqlite3.Error:  # a log from before runs, or a CSV/JSONL one
        starts = set()
    runs = []  # the run each row belongs to, counted from the first
    k = 0
    for _, _, rowid in rows:
        if rowid in starts and runs:
            k += 1
        runs.append(k)
    rows = [(t, v) for t, v, _ in rows]
    if t0 is None:
        t0 = rows[0][0]
    steps = sorted(b[0] - a[0] for a, b in zip(rows, rows[1:], strict=False))
    usual = steps[len(steps) // 2] if steps else 0
    xs, ys = [], []
    prev = None
    for i, (t, v) in enumerate(rows):
        if since_s is not None and (t - t0) / 1e6 < since_s:
            prev = t
            continue
        if prev is not None and i and runs[i] != runs[i - 1]:
            xs.append((t - t0) / 1e6)
            ys.append(None)  # another run: not joined to the one before
        elif prev is not None and usual > 0 and t - prev > 2 * usual:
            xs.append((prev - t0) / 1e6 + usual / 1e6)
            ys.append(None)  # matplotlib leaves a gap at None/NaN
        xs.append((t - t0) / 1e6)
        ys.append(v)
        prev = t
    return xs, ys


def plot(path, out, channels=None, since_s=None, title=None):
    """Write a PNG of the log at ``path`` to ``out``; return the channels drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    db = open_log(path)
    try:
        chans = load_channels(db)
        if channels:  # as the plot labels them (stream.channel) or the channel alone
            known = {c[5] for c in chans} | {"%s.%s" % (c[2], c[5]) for c in chans}
            missing = [c for c in channels if c not in known]
            if missing:
                raise PlotError("no channel %s in %s (it has: %s)" % (
                    ", ".join(missing), path,
                    ", ".join(sorted("%s.%s" % (c[2], c[5]) for c in chans)) or "none"))
            chans = [c for c in chans if c[5] in channels or "%s.%s" % (c[2], c[5]) in channels]
        panels = OrderedDict()
        tables = [c[0] for c in chans]
        per_table = {t: boards(db, t) for t in set(tables)}
        several = len({b for bs in per_table.values() for b in bs}) > 1
        t0s = {}
        for table, column, stream, unit, _period, channel in chans:
            for board in per_table[table]:
                if board not in t0s:
                    t0s[board] = start_time(db, tables, board)
                xs, ys = series(db, table, column, since_s, t0s[board], board)
                if xs:
                    label = "%s.%s" % (stream, channel)
                    if several:
                        label += " @%s" % board
                    label = label.replace("$", r"\$")  # names as text, never mathtext
                    panels.setdefault((unit or "(no unit)").replace("$", r"\$"), []).append(
                        (label, xs, [float("nan") if y is None else y for y in ys]))
    finally:
        db.close()
    if not panels:
        raise PlotError("%s has no rows to plot" % path)
    fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False,
                             figsize=(10, 2.6 * len(panels) + 0.6))
    drawn = []
    for ax, (unit, lines) in zip(axes[:, 0], panels.items(), strict=True):
        for label, xs, ys in lines:
            ax.plot(xs, ys, label=label, linewidth=0.8)
            drawn.append(label)
        ax.set_ylabel(unit)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    axes[-1, 0].set_xlabel("board time (s)" + (", each board from its first reading"
                                               if several else ""))
    fig.suptitle(title or path)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return drawn
