"""The SQLite log: the one module that knows its format. Writing
(``SqliteSink``, with the rollups), reading it by the names the board
declared (``table``, ``columns``, ``select``, ``named_views``), and the
catalogue, counters and rollups the server and the plots read.

Layout: a table per stream schema, ``stream_N``, with the bridge's own
columns ``board``, ``seq``, ``board_time_us``, ``host_time`` and a column
per channel, ``ch0``, ``ch1``, ...; the catalogue ``_streams`` and
``_channels`` maps them to the names the board declared; ``_counters`` and
``_board_counters`` hold the link's counters; ``_runs``, ``_run_rows`` and
``_run_counters`` the runs of ``pyb-bridge log``; ``_rollup_stream_N``
(listed in ``_rollups``) the per-second minimum and maximum of each
channel; ``_board_text`` what the boards printed. See ``SqliteSink``.
"""

import bisect
import pathlib
import sqlite3
import time
from itertools import repeat

from pyb_bridge.sinks import BASE_COLUMNS, Sink

ROLLUP_US = 1000000  # board time per row of a stream's rollup table (SqliteSink)
_SQL_TYPES = {"f": "REAL"}


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




# --- reading --------------------------------------------------------------------------

def connect(path):
    """A read-only connection (the logger may be writing: WAL lets both)."""
    uri = pathlib.Path(path).absolute().as_uri() + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
    db.execute("PRAGMA query_only=1")
    return db


def quote(name):
    return '"%s"' % name.replace('"', '""')


def has_table(db, name):
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                      (name,)).fetchone() is not None


def table_columns(db, table):
    return [r[1] for r in db.execute("PRAGMA table_info(%s)" % quote(table))]


def counters(db, board=None):
    """The link's counters: summed over the boards, or of one board."""
    if board is not None:
        if not has_table(db, "_board_counters"):
            return {}
        return dict(db.execute('SELECT "name", "value" FROM "_board_counters" WHERE '
                               '"board" = ?', (board,)).fetchall())
    if not has_table(db, "_counters"):
        return {}
    return dict(db.execute('SELECT "name", "value" FROM "_counters"').fetchall())


def rollup(db, info):
    """(rollup table, its bucket in µs, {channel: index}) of a stream table
    (see ``SqliteSink``), or None for a log written without rollups."""
    if "_rollup" not in info:
        found = None
        if has_table(db, "_rollups"):
            r = db.execute('SELECT "rollup", "bucket_us" FROM "_rollups" WHERE "table" = ?',
                           (info["name"],)).fetchone()
            if r is not None and has_table(db, r[0]):
                cols = table_columns(db, info["name"])
                chans = cols[cols.index("host_time") + 1:]  # the sink's order
                found = (r[0], r[1], {c: i for i, c in enumerate(chans)})
        info["_rollup"] = found
    return info["_rollup"]


def run_starts(db, info, first, last):
    """The row ids between ``first`` and ``last`` where a run of
    ``pyb-bridge log`` begins (from ``_run_rows``): a chart never joins a
    row to the one before it there."""
    if first is None or not has_table(db, "_run_rows"):
        return []
    return [r[0] for r in db.execute(
        'SELECT "first_row" FROM "_run_rows" WHERE "table" = ? AND "first_row" BETWEEN ? AND ? '
        'ORDER BY "first_row"', (info["name"], first, last))]




def channels(db, table=None):
    """The catalogue: [(table, column, stream, type, unit, period_us,
    channel)] in the order they were logged (of ``table`` alone when
    given); ``channel`` is the name the board declared (a log from before
    the catalogue had none: its column). sqlite3.DatabaseError when ``db``
    is no log."""
    cols = table_columns(db, "_channels")
    if not cols:
        raise sqlite3.DatabaseError("no _channels table")
    named = '"channel"' if "channel" in cols else '"column"'
    where, params = ('WHERE "table" = ? ', (table,)) if table is not None else ("", ())
    return db.execute('SELECT "table", "column", "stream", "type", "unit", "period_us", %s '
                      'FROM "_channels" %sORDER BY rowid' % (named, where), params).fetchall()


def data_tables(db):
    """The stream tables of a log, in the order they were created."""
    return [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' "
        "ESCAPE '\\' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]


# reading by the names the board declared (docs/bridge.md, "Names are data")

def table(db, stream, version=1):
    """The table of ``stream`` (its ``version``-th schema in the log)."""
    row = db.execute('SELECT "table" FROM "_streams" WHERE "stream" = ? AND "version" = ?',
                     (stream, version)).fetchone()
    assert row is not None, "no stream %r (version %d) in the log" % (stream, version)
    return row[0]


def columns(db, table_name):
    """{declared channel name: column} of a table."""
    return dict(db.execute('SELECT "channel", "column" FROM "_channels" WHERE "table" = ? '
                           'ORDER BY "position"', (table_name,)).fetchall())


def select(db, stream, *names, where="", params=(), version=1):
    """Rows of ``stream`` (the bridge's own columns and channels by their
    declared names), in the order they were logged."""
    t = table(db, stream, version)
    cols = columns(db, t)
    sql = ", ".join('"%s"' % cols.get(n, n) for n in names)
    return db.execute('SELECT %s FROM "%s"%s ORDER BY rowid' % (sql, t, where),
                      params).fetchall()


def views(db):
    """``named_views`` on ``db``: ``SELECT x FROM adc``
    reads the log as the board named it. Returns the connection."""
    named_views(db)
    return db
