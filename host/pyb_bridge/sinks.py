"""Where decoded readings go: SQLite (default), CSV or JSONL.

A sink takes ``Batch`` objects (see ``pyb_bridge.decoder``) with the host
time they arrived at and the board they came from, and writes one row per
record: the board (its USB serial number or port name), sequence number of
the frame, board time (µs, unwrapped), host time (Unix seconds) and one
column per channel. ``flush()`` makes everything written so far durable; it runs
every ``flush_interval`` seconds from ``write`` and from ``close()``.
"""

import bisect
import csv
import glob
import json
import math
import os
import re
import sqlite3
import time
from itertools import repeat

FORMATS = ("sqlite", "csv", "jsonl")
EXTENSIONS = {".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite", ".csv": "csv",
              ".jsonl": "jsonl", ".json": "jsonl"}
ROLLUP_US = 1000000  # board time per row of a stream's rollup table (SqliteSink)
BASE_COLUMNS = ("board", "seq", "board_time_us", "host_time")
_SQL_TYPES = {"f": "REAL"}


def format_of(path, fmt=None):
    """The format for ``path``: ``fmt`` when given, else from the extension;
    a ValueError listing the known extensions for any other."""
    if fmt is not None:
        return fmt
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise ValueError("%s: unknown extension %r: use one of %s, or give --format (%s)"
                         % (path, ext or "(none)", " ".join(EXTENSIONS), ", ".join(FORMATS)))
    return EXTENSIONS[ext]


def output_files(path, fmt=None):
    """The files a log at ``path`` consists of, those that exist: the file
    itself, SQLite's journal files, the other streams' CSV/JSONL files."""
    fmt = format_of(path, fmt)
    out = [path]
    if fmt == "sqlite":
        out += [path + x for x in ("-wal", "-shm", "-journal")]
    else:
        stem, ext = os.path.splitext(path)
        folder = os.path.dirname(os.path.abspath(path))
        base = os.path.basename(stem) + "."
        if os.path.isdir(folder):
            out += sorted(os.path.join(os.path.dirname(path), f) for f in os.listdir(folder)
                          if f.startswith(base) and f.endswith(ext) and f != os.path.basename(
                              path))
    return [f for f in out if os.path.exists(f)]


def open_sink(path, fmt=None, flush_interval=1.0):
    """A sink for ``path``; the format defaults from its extension (one of
    ``EXTENSIONS``: any other is a ValueError)."""
    fmt = format_of(path, fmt)
    if fmt not in FORMATS:
        raise ValueError("unknown format %r: one of %s" % (fmt, ", ".join(FORMATS)))
    cls = {"sqlite": SqliteSink, "csv": CsvSink, "jsonl": JsonlSink}[fmt]
    return cls(path, flush_interval=flush_interval)


def column_names(schema, reserved=BASE_COLUMNS):
    """Channel names made unique and distinct from the base columns
    (``reserved``; kept verbatim but for NUL: U+FFFD), for formats whose
    header holds the bridge's columns and the channels side by side (CSV, an
    MQTT batch)."""
    seen = set(reserved)
    out = []
    for name in schema.names:
        n = name.replace("\0", "\ufffd") or "ch"
        while n in seen:
            n += "_"
        seen.add(n)
        out.append(n)
    return out


def channel_keys(schema):
    """The channel names as keys of one ``values`` object (JSONL, MQTT rows):
    a name given twice gets ``_`` appended until it is unique; they never
    share an object with the bridge's own keys."""
    seen = set()
    out = []
    for name in schema.names:
        n = name
        while n in seen:
            n += "_"
        seen.add(n)
        out.append(n)
    return out


def finite_columns(schema, columns):
    """``columns`` with NaN and +-infinity of float channels as None (JSON
    null: JSON has no such numbers)."""
    out = []
    for c, col in zip(schema.channels, columns, strict=True):
        if c.type == "f":
            col = [v if math.isfinite(v) else None for v in col]
        out.append(col)
    return out


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text):
    """A text cell neutralised as OWASP advises against CSV injection: one
    that starts with ``= + - @``, tab or CR gets a leading ``'`` so that a
    spreadsheet shows it as text instead of running it as a formula."""
    if isinstance(text, str) and text.startswith(_FORMULA):
        return "'" + text
    return text


class Sink:
    def __init__(self, path, flush_interval=1.0):
        self.path = path
        self.flush_interval = flush_interval
        self.rows = 0
        self._last_flush = time.monotonic()
        self._closed = False

    def describe(self, schema, board=None):
        """Prepare the table/file of a stream whose descriptor just arrived
        (so that streams get their files in the order they started)."""

    def write(self, batch, host_time, board=None):
        self._write(batch, host_time, board)
        self.rows += len(batch.times)
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def write_all(self, batches, host_time, schemas=(), board=None):
        for schema in schemas:
            self.describe(schema, board)
        for b in batches:
            self._write(b, host_time, board)
            self.rows += len(b.times)
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self):
        self._flush()
        self._last_flush = time.monotonic()

    def record_counters(self, counters, per_board=None):
        """Keep the link's counters beside the data (SQLite only):
        ``counters`` summed over the boards, ``per_board`` {board: counters}."""

    def close(self):
        if not self._closed:
            self._closed = True
            self.flush()
            self._close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SqliteSink(Sink):
    """A table per stream schema, WAL journal, one transaction per flush: a
    killed logger leaves every row up to the last flush.

    Names are data, never identifiers: whatever a board declares (any
    Unicode, any case, SQL keywords, names equal to the bridge's own
    columns), a stream's table is ``stream_N`` and its channel columns are
    ``ch0``, ``ch1``, ... in descriptor order, beside the bridge's own
    ``board``, ``seq``, ``board_time_us``, ``host_time``. The declared names
    are kept in a catalogue:

    - ``_streams`` (table, stream, stream_id, period_us, version): one row
      per table; ``version`` counts the tables of one stream name (a stream
      whose channels, types or units change gets a new table, version + 1,
      and its older rows keep their own names and units);
    - ``_channels`` (table, column, stream, type, unit, period_us, channel,
      position): one row per channel column, ``channel`` its declared name.

    ``_counters`` (name, value) holds the link's counters (frames, frames
    lost, CRC errors, ...) as of the end of the run, summed over the
    boards, and ``_board_counters`` (board, name, value) each board's own.

    Each stream table ``T`` has a rollup table ``_rollup_T``, listed in
    ``_rollups`` (table, rollup, bucket_us): per board (``''`` for rows
    without one) and per ``ROLLUP_US`` of board time (``k`` = board_time_us
    / bucket_us), the rows (``n``), their first and last row id (``r0``,
    ``r1``) and the minimum and maximum of every channel (``c0_min``,
    ``c0_max``, ... in the order of the table's channel columns; NULL
    values and NaN, which SQLite stores as NULL, are left out as SQL's
    MIN and MAX leave them out). It is kept in the same transaction as the
    rows, so a reader sees both or neither: the server draws long logs from
    it and finds time ranges through its row ids."""

    def __init__(self, path, flush_interval=1.0):
        super().__init__(path, flush_interval)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._tables = {}  # schema -> insert statement
        self._unnamed = {}  # schema -> insert statement for rows without a board name
        self._rollups = {}  # schema -> (upsert statement, pending {(board, k): entry})
        self._names = {}  # schema -> its table
        self._in_tx = False
        self.db.execute('CREATE TABLE IF NOT EXISTS "_channels" ("table" TEXT, "column" TEXT, '
                        '"stream" TEXT, "type" TEXT, "unit" TEXT, "period_us" INTEGER, '
                        '"channel" TEXT, "position" INTEGER, '
                        'PRIMARY KEY ("table", "column"))')
        have = [r[1] for r in self.db.execute('PRAGMA table_info("_channels")')]
        for col, typ in (("channel", "TEXT"), ("position", "INTEGER")):
            if col not in have:  # a log written before the catalogue: its names are its columns
                self.db.execute('ALTER TABLE "_channels" ADD COLUMN "%s" %s' % (col, typ))
                self.db.execute('UPDATE "_channels" SET "channel" = "column" '
                                'WHERE "channel" IS NULL')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_streams" ("table" TEXT PRIMARY KEY, '
                        '"stream" TEXT, "stream_id" INTEGER, "period_us" INTEGER, '
                        '"version" INTEGER)')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_counters" '
                        '("name" TEXT PRIMARY KEY, "value" INTEGER)')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_board_counters" ("board" TEXT, '
                        '"name" TEXT, "value" INTEGER, PRIMARY KEY ("board", "name"))')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_rollups" ("table" TEXT PRIMARY KEY, '
                        '"rollup" TEXT, "bucket_us" INTEGER)')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_runs" ("run" INTEGER PRIMARY KEY, '
                        '"start" REAL, "end" REAL, "boards" TEXT)')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_run_rows" ("run" INTEGER, "table" TEXT, '
                        '"first_row" INTEGER, "last_row" INTEGER, PRIMARY KEY ("run", "table"))')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_run_counters" ("run" INTEGER, '
                        '"board" TEXT, "name" TEXT, "value" INTEGER, '
                        'PRIMARY KEY ("run", "board", "name"))')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_board_text" ("run" INTEGER, '
                        '"board" TEXT, "host_time" REAL, "text" TEXT)')
        self.run = None  # this run's id in _runs, made by start_run or the first row
        self._run_rows = {}  # table -> [first row id, last row id] of this run

    def _find_table(self, schema, want):
        """The table already made for ``schema`` (same stream name, period,
        channel names, types and units, same columns), or None."""
        chans = [(c.name, c.type, c.unit) for c in schema.channels]
        for (table,) in self.db.execute(
                'SELECT "table" FROM "_streams" WHERE "stream" = ? AND "period_us" = ? '
                'ORDER BY rowid', (schema.name, schema.period_us)).fetchall():
            got = self.db.execute('SELECT "channel", "type", "unit" FROM "_channels" WHERE '
                                  '"table" = ? ORDER BY "position"', (table,)).fetchall()
            cols = [r[1] for r in self.db.execute('PRAGMA table_info("%s")' % table)]
            if [tuple(r) for r in got] == chans and cols == want:
                return table
        return None

    def table_for(self, schema):
        sql = self._tables.get(schema)
        if sql is not None:
            return sql
        cols = ["ch%d" % i for i in range(len(schema.channels))]
        types = [_SQL_TYPES.get(c.type, "INTEGER") for c in schema.channels]
        want = list(BASE_COLUMNS) + cols
        name = self._find_table(schema, want)
        if name is None:
            taken = {r[0].lower() for r in self.db.execute("SELECT name FROM sqlite_master")}
            n = 1
            while "stream_%d" % n in taken:
                n += 1
            name = "stream_%d" % n
            version = self.db.execute('SELECT COUNT(*) FROM "_streams" WHERE "stream" = ?',
                                      (schema.name,)).fetchone()[0] + 1
            defs = ", ".join('"%s" %s' % (c, t) for c, t in zip(
                want, ["TEXT", "INTEGER", "INTEGER", "REAL"] + types, strict=True))
            self.db.execute('CREATE TABLE "%s" (%s)' % (name, defs))
            self.db.execute('INSERT INTO "_streams" VALUES (?, ?, ?, ?, ?)',
                            (name, schema.name, schema.stream_id, schema.period_us, version))
            self.db.executemany(
                'INSERT OR REPLACE INTO "_channels" VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                [(name, col, schema.name, c.type, c.unit, schema.period_us, c.name, i)
                 for i, (col, c) in enumerate(zip(cols, schema.channels, strict=True))])
        sql = 'INSERT INTO "%s" VALUES (%s)' % (name, ", ".join("?" * len(want)))
        # Rows of a board without a name leave "board" NULL by not naming it:
        # binding a NULL per row costs a third of the insert rate.
        self._unnamed[schema] = 'INSERT INTO "%s" (%s) VALUES (%s)' % (
            name, ", ".join('"%s"' % c for c in want[1:]), ", ".join("?" * (len(want) - 1)))
        self._rollups[schema] = (self._rollup_table(name, len(cols)), {})
        self._names[schema] = name
        self._tables[schema] = sql
        return sql

    def _rollup_table(self, name, nch):
        """Create (or find) the rollup of table ``name``; its upsert statement.
        A table that has rows but no rollup yet (a log written before rollups
        existed, appended to now) gets it computed from its rows once."""
        rollup = "_rollup_" + name
        q = '"%s"' % rollup.replace('"', '""')
        t = '"%s"' % name.replace('"', '""')
        chans = ["c%d_min" % i for i in range(nch)], ["c%d_max" % i for i in range(nch)]
        stats = [c for pair in zip(*chans, strict=True) for c in pair]
        fresh = self.db.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                                (rollup,)).fetchone() is None
        if fresh:
            self.db.execute('CREATE TABLE %s ("k" INTEGER NOT NULL, "board" TEXT NOT NULL, '
                            '"n" INTEGER, "r0" INTEGER, "r1" INTEGER%s, '
                            'PRIMARY KEY ("k", "board"))'
                            % (q, "".join(", %s" % c for c in stats)))
            self.db.execute('INSERT OR REPLACE INTO "_rollups" VALUES (?, ?, ?)',
                            (name, rollup, ROLLUP_US))
            cols = [r[1] for r in self.db.execute("PRAGMA table_info(%s)" % t)]
            src = ['"%s"' % c.replace('"', '""') for c in cols[len(BASE_COLUMNS):]]
            self.db.execute(
                "INSERT INTO %s SELECT board_time_us / %d, COALESCE(board, ''), COUNT(*), "
                "MIN(rowid), MAX(rowid)%s FROM %s WHERE 1 GROUP BY 1, 2"
                % (q, ROLLUP_US, "".join(", MIN(%s), MAX(%s)" % (c, c) for c in src), t))
        upd = ["n = n + excluded.n", "r0 = MIN(r0, excluded.r0)", "r1 = MAX(r1, excluded.r1)"]
        for lo, hi in zip(*chans, strict=True):
            for c, f in ((lo, "MIN"), (hi, "MAX")):
                upd.append("%s = %s(COALESCE(%s, excluded.%s), COALESCE(excluded.%s, %s))"
                           % (c, f, c, c, c, c))
        return ("INSERT INTO %s VALUES (%s) ON CONFLICT (k, board) DO UPDATE SET %s"
                % (q, ", ".join("?" * (5 + 2 * nch)), ", ".join(upd)))

    def start_run(self, boards=()):
        """Begin a run: a row of ``_runs`` (start time, the boards' names);
        the rows this sink writes from now on are listed per table in
        ``_run_rows`` and the counters recorded at the end in
        ``_run_counters``. Returns the run id."""
        cur = self.db.execute('INSERT INTO "_runs" ("start", "end", "boards") VALUES (?, ?, ?)',
                              (time.time(), None, "\n".join(boards)))
        self.run = cur.lastrowid
        self._run_rows = {}
        return self.run

    def write_text(self, board, host_time, lines):
        """Keep lines the board printed between frames in ``_board_text``
        (run, board, host time, text), committed with the rows."""
        if self.run is None:
            self.start_run()
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True
        self.db.executemany('INSERT INTO "_board_text" VALUES (?, ?, ?, ?)',
                            [(self.run, board, host_time, line) for line in lines])

    def describe(self, schema, board=None):
        self.table_for(schema)

    def table_name(self, schema):
        self.table_for(schema)
        return self._names[schema]

    def _write(self, batch, host_time, board=None):
        sql = self.table_for(batch.schema)
        if self.run is None:
            self.start_run()
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True
        if board is None:
            self.db.executemany(self._unnamed[batch.schema], zip(
                repeat(batch.seq), batch.times, repeat(host_time), *batch.columns, strict=False))
        else:
            self.db.executemany(sql, zip(repeat(board), repeat(batch.seq), batch.times,
                                         repeat(host_time), *batch.columns, strict=False))
        n = len(batch.times)
        if n:
            last = self.db.execute("SELECT last_insert_rowid()").fetchone()[0]
            _roll(self._rollups[batch.schema][1], "" if board is None else board,
                  batch.times, batch.columns, last - n + 1)
            span = self._run_rows.get(self._names[batch.schema])
            if span is None:
                self._run_rows[self._names[batch.schema]] = [last - n + 1, last]
            else:
                span[1] = last

    def _flush(self):
        if self._in_tx:
            for sql, pending in self._rollups.values():
                if pending:
                    self.db.executemany(sql, _rollup_rows(pending))
                    pending.clear()
            if self.run is not None:
                self.db.executemany('INSERT OR REPLACE INTO "_run_rows" VALUES (?, ?, ?, ?)',
                                    [(self.run, t, a, b) for t, (a, b) in
                                     self._run_rows.items()])
                self.db.execute('UPDATE "_runs" SET "end" = ? WHERE "run" = ?',
                                (time.time(), self.run))
            self.db.execute("COMMIT")
            self._in_tx = False

    def record_counters(self, counters, per_board=None):
        self.flush()
        self.db.executemany('INSERT OR REPLACE INTO "_counters" VALUES (?, ?)',
                            sorted(counters.items()))
        self.db.executemany('INSERT OR REPLACE INTO "_board_counters" VALUES (?, ?, ?)',
                            [(b, k, v) for b, c in sorted((per_board or {}).items())
                             for k, v in sorted(c.items())])
        if self.run is None:
            self.start_run(sorted(per_board or ()))
        # this run's own, beside the totals above (which are the last run's)
        self.db.executemany('INSERT OR REPLACE INTO "_run_counters" VALUES (?, ?, ?, ?)',
                            [(self.run, "", k, v) for k, v in sorted(counters.items())]
                            + [(self.run, b, k, v) for b, c in sorted((per_board or {}).items())
                               for k, v in sorted(c.items())])
        self.db.execute('UPDATE "_runs" SET "end" = ? WHERE "run" = ?', (time.time(), self.run))

    def _close(self):
        self.db.close()


def named_views(db):
    """On the connection ``db`` to a SQLite log, a temporary view per stream
    table named after the stream, with its channels under their declared
    names, for reading a log by hand: ``named_views(con)`` then
    ``SELECT x1 FROM adc``. A stream's later schemas are ``NAME_2``, ...;
    a name already taken (SQLite names ignore case) gets ``#2``, ``#3``.
    The views live on this connection only: the log is not changed.
    Returns {view: table}."""
    made = {}
    taken = {r[0].lower() for r in db.execute("SELECT name FROM sqlite_master")}
    for table, stream, version in db.execute(
            'SELECT "table", "stream", "version" FROM "_streams" ORDER BY rowid').fetchall():
        chans = db.execute('SELECT "column", "channel" FROM "_channels" WHERE "table" = ? '
                           'ORDER BY "position"', (table,)).fetchall()
        cols, seen = [], {"board", "seq", "board_time_us", "host_time"}
        for col, name in chans:
            n = name
            while n.lower() in seen:
                n += "_"
            seen.add(n.lower())
            cols.append('"%s" AS "%s"' % (col, n.replace('"', '""')))
        view = stream if version == 1 else "%s_%d" % (stream, version)
        base, k = view, 1
        while view.lower() in taken:
            k += 1
            view = "%s#%d" % (base, k)
        taken.add(view.lower())
        db.execute('CREATE TEMP VIEW "%s" AS SELECT "board", "seq", "board_time_us", '
                   '"host_time"%s FROM "%s"' % (view.replace('"', '""'),
                                                "".join(", " + c for c in cols), table))
        made[view] = table
    return made


def _lohi(chunks):
    """(min, max) of a column given in pieces, as SQL's MIN and MAX see it:
    NaN (stored as NULL by SQLite) left out; (None, None) if nothing is left."""
    lo = hi = None
    for c in chunks:
        if not len(c):
            continue
        if getattr(c, "typecode", "f") in "fd" and any(x != x for x in c):  # NaN != NaN
            c = [x for x in c if x == x]
            if not c:
                continue
        a, b = min(c), max(c)
        if lo is None or a < lo:
            lo = a
        if hi is None or b > hi:
            hi = b
    return lo, hi


def _add(pending, key, n, r0, r1, cols):
    e = pending.get(key)
    if e is None:
        pending[key] = [n, r0, r1, [[c] for c in cols]]
        return
    e[0] += n
    e[1] = min(e[1], r0)
    e[2] = max(e[2], r1)
    for acc, c in zip(e[3], cols, strict=True):
        acc.append(c)


def _rollup_rows(pending):
    """The rows to upsert from ``pending`` (see ``_roll``): whole buckets'
    columns reduced at once, not batch by batch."""
    out = []
    for key, (n, r0, r1, cols) in sorted(pending.items()):
        row = [*key, n, r0, r1]
        for chunks in cols:
            row += _lohi(chunks)
        out.append(row)
    return out


def _roll(pending, board, times, columns, row0):
    """Fold one batch (its rows ``row0``...) into the rollup entries
    ``pending`` {(k, board): [n, r0, r1, [pieces of each column]]}. A batch
    usually lies in one bucket (its columns are kept whole); one that spans
    several is cut where its (sorted) times cross a bucket boundary."""
    b = ROLLUP_US
    n = len(times)
    if isinstance(times, range):  # a fixed-rate stream: times go up
        k0, k1 = times[0] // b, times[-1] // b
    else:
        k0, k1 = min(times) // b, max(times) // b
    if k0 == k1:
        _add(pending, (k0, board), n, row0, row0 + n - 1, columns)
        return
    if isinstance(times, range) or all(x <= y for x, y in zip(times, times[1:], strict=False)):
        i = 0
        while i < n:
            k = times[i] // b
            j = bisect.bisect_left(times, (k + 1) * b, i)
            _add(pending, (k, board), j - i, row0 + i, row0 + j - 1,
                 [col[i:j] for col in columns])
            i = j
        return
    for i, t in enumerate(times):  # out of order (a board that went back in time)
        _add(pending, (t // b, board), 1, row0 + i, row0 + i, [col[i:i + 1] for col in columns])


def _last_line(path):
    """The last non-empty line of a text file ('' when none or unreadable)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            f.seek(max(0, end - 65536))
            tail = f.read().rstrip(b"\r\n")
    except OSError:
        return ""
    return tail[tail.rfind(b"\n") + 1:].decode("utf-8", "replace")


class _FileSink(Sink):
    """``run``: this run's id, one more than the highest run in the files
    of ``path`` (the file itself and the per-stream files beside it) when
    they are appended to, else 1; a value of every row."""

    def __init__(self, path, flush_interval=1.0):
        super().__init__(path, flush_interval)
        self._files = {}  # schema -> (file, writer)
        self._paths = set()
        self.run = None

    def start_run(self, boards=()):
        """Begin a run (see ``run``); returns its id."""
        stem, ext = os.path.splitext(self.path)
        last = 0
        for p in [self.path] + sorted(glob.glob(glob.escape(stem) + ".*" + glob.escape(ext))):
            last = max(last, self._run_of(_last_line(p)))
        self.run = last + 1
        return self.run

    def _path_for(self, schema):
        if not self._files and self._fits(self.path, schema):
            return self.path
        stem, ext = os.path.splitext(self.path)
        # letters, digits and _ only (no separator, no dot): next to ``path``
        base = "%s.%s" % (stem, re.sub(r"\W", "_", schema.name)[:40] or "stream")
        p = base + ext
        k = 1
        while p in self._paths or not self._fits(p, schema):
            k += 1
            p = "%s_%d%s" % (base, k, ext)
        return p

    def _fits(self, path, schema):
        """Whether rows of ``schema`` may be appended to ``path`` (a file
        that is not there fits)."""
        return True

    def _file(self, schema):
        entry = self._files.get(schema)
        if entry is None:
            if self.run is None:
                self.start_run()
            path = self._path_for(schema)
            self._paths.add(path)
            f = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
            entry = self._files[schema] = (f, self._start(f, schema))
        return entry

    def describe(self, schema, board=None):
        self._file(schema)

    def _flush(self):
        for f, _ in self._files.values():
            f.flush()
            os.fsync(f.fileno())

    def _close(self):
        for f, _ in self._files.values():
            f.close()


class CsvSink(_FileSink):
    """One CSV file per stream (the first one at ``path``, others next to
    it), header row ``board,seq,board_time_us,host_time,<channels>``. Text
    cells (the header's names, board names) that a spreadsheet would take
    for a formula are neutralised (``csv_text``)."""

    @staticmethod
    def _header(schema):
        return ["run"] + list(BASE_COLUMNS) + [
            csv_text(n) for n in column_names(schema, ("run",) + BASE_COLUMNS)]

    @staticmethod
    def _run_of(line):
        try:
            return int(line.split(",", 1)[0])
        except ValueError:  # the header, another file
            return 0

    def _fits(self, path, schema):
        """A CSV file fits when it is empty or absent, or its header is this
        schema's: an appended run never puts values under another header."""
        try:
            with open(path, newline="", encoding="utf-8") as f:
                first = next(csv.reader(f), None)
        except FileNotFoundError:
            return True
        except (OSError, UnicodeDecodeError, csv.Error):
            return False
        return first is None or first == self._header(schema)

    def _start(self, f, schema):
        w = csv.writer(f)
        if f.tell() == 0:
            w.writerow(self._header(schema))
        return w

    def _write(self, batch, host_time, board=None):
        _, w = self._file(batch.schema)
        w.writerows(zip(repeat(self.run), repeat(csv_text(board)), repeat(batch.seq), batch.times,
                        repeat(host_time), *batch.columns, strict=False))


class JsonlSink(_FileSink):
    """One JSON object per line: ``stream``, ``board``, ``seq``,
    ``board_time_us``, ``host_time``, ``run`` and ``values``, the channels by name
    (``channel_keys``): names are values of the bridge's keys, never keys
    beside them. NaN and +-infinity are written as null."""

    def _start(self, f, schema):
        return channel_keys(schema)

    @staticmethod
    def _run_of(line):
        try:
            run = json.loads(line).get("run", 0)
        except (ValueError, AttributeError):
            return 0
        return run if isinstance(run, int) else 0

    def _write(self, batch, host_time, board=None):
        f, keys = self._file(batch.schema)
        name = batch.schema.name
        dumps = json.dumps
        cols = finite_columns(batch.schema, batch.columns)
        f.writelines(dumps({"stream": name, "board": board, "seq": batch.seq,
                            "board_time_us": t, "host_time": host_time, "run": self.run,
                            "values": dict(zip(keys, vals, strict=True))},
                           allow_nan=False) + "\n"
                     for t, *vals in zip(batch.times, *cols, strict=False))
