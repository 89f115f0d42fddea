"""Where decoded readings go: SQLite (default), CSV or JSONL.

A sink takes ``Batch`` objects (see ``pyb_bridge.decoder``) with the host
time they arrived at and the board they came from, and writes one row per
record: the board (its USB serial number or port name), sequence number of
the frame, board time (µs, unwrapped), host time (Unix seconds) and one
column per channel. ``flush()`` makes everything written so far durable; it runs
every ``flush_interval`` seconds from ``write`` and from ``close()``.
"""

import csv
import json
import os
import re
import sqlite3
import time
from itertools import repeat

FORMATS = ("sqlite", "csv", "jsonl")
BASE_COLUMNS = ("board", "seq", "board_time_us", "host_time")
_SQL_TYPES = {"f": "REAL"}


def open_sink(path, fmt=None, flush_interval=1.0):
    """A sink for ``path``; the format defaults from its extension."""
    if fmt is None:
        ext = os.path.splitext(path)[1].lower()
        fmt = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}.get(ext, "sqlite")
    if fmt not in FORMATS:
        raise ValueError("unknown format %r: one of %s" % (fmt, ", ".join(FORMATS)))
    cls = {"sqlite": SqliteSink, "csv": CsvSink, "jsonl": JsonlSink}[fmt]
    return cls(path, flush_interval=flush_interval)


def column_names(schema):
    """Channel names made unique and distinct from the base columns (kept
    verbatim but for NUL, which SQLite names cannot hold: U+FFFD)."""
    seen = set(BASE_COLUMNS)
    out = []
    for name in schema.names:
        n = name.replace("\0", "\ufffd") or "ch"
        while n in seen:
            n += "_"
        seen.add(n)
        out.append(n)
    return out


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
    """A table per stream (named after it), WAL journal, one transaction per
    flush: a killed logger leaves every row up to the last flush.

    Two more tables describe the data: ``_channels`` (table, column, stream,
    struct type, unit, period in µs) from each descriptor, and ``_counters``
    (name, value) with the link's counters (frames, frames lost, CRC errors,
    ...) as of the end of the run, summed over the boards, and
    ``_board_counters`` (board, name, value) with each board's own."""

    def __init__(self, path, flush_interval=1.0):
        super().__init__(path, flush_interval)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._tables = {}  # schema -> insert statement
        self._in_tx = False
        self.db.execute('CREATE TABLE IF NOT EXISTS "_channels" ("table" TEXT, "column" TEXT, '
                        '"stream" TEXT, "type" TEXT, "unit" TEXT, "period_us" INTEGER, '
                        'PRIMARY KEY ("table", "column"))')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_counters" '
                        '("name" TEXT PRIMARY KEY, "value" INTEGER)')
        self.db.execute('CREATE TABLE IF NOT EXISTS "_board_counters" ("board" TEXT, '
                        '"name" TEXT, "value" INTEGER, PRIMARY KEY ("board", "name"))')

    def table_for(self, schema):
        sql = self._tables.get(schema)
        if sql is not None:
            return sql
        cols = column_names(schema)
        base = re.sub(r"\W", "_", schema.name) or "stream"
        types = [_SQL_TYPES.get(c.type, "INTEGER") for c in schema.channels]
        want = list(BASE_COLUMNS) + cols
        name = base
        k = 1
        while True:
            have = [r[1] for r in self.db.execute('PRAGMA table_info("%s")' % name)]
            if not have or have == want:
                break
            k += 1
            name = "%s_%d" % (base, k)  # the stream changed its channels
        defs = ", ".join('"%s" %s' % (c.replace('"', '""'), t) for c, t in zip(
            want, ["TEXT", "INTEGER", "INTEGER", "REAL"] + types, strict=True))
        self.db.execute('CREATE TABLE IF NOT EXISTS "%s" (%s)' % (name, defs))
        self.db.executemany(
            'INSERT OR REPLACE INTO "_channels" VALUES (?, ?, ?, ?, ?, ?)',
            [(name, col, schema.name, c.type, c.unit, schema.period_us)
             for col, c in zip(cols, schema.channels, strict=True)])
        sql = 'INSERT INTO "%s" VALUES (%s)' % (name, ", ".join("?" * len(want)))
        self._tables[schema] = sql
        return sql

    def describe(self, schema, board=None):
        self.table_for(schema)

    def table_name(self, schema):
        return self.table_for(schema).split('"')[1]

    def _write(self, batch, host_time, board=None):
        sql = self.table_for(batch.schema)
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True
        self.db.executemany(sql, zip(repeat(board), repeat(batch.seq), batch.times,
                                     repeat(host_time), *batch.columns, strict=False))

    def _flush(self):
        if self._in_tx:
            self.db.execute("COMMIT")
            self._in_tx = False

    def record_counters(self, counters, per_board=None):
        self.flush()
        self.db.executemany('INSERT OR REPLACE INTO "_counters" VALUES (?, ?)',
                            sorted(counters.items()))
        self.db.executemany('INSERT OR REPLACE INTO "_board_counters" VALUES (?, ?, ?)',
                            [(b, k, v) for b, c in sorted((per_board or {}).items())
                             for k, v in sorted(c.items())])

    def _close(self):
        self.db.close()


class _FileSink(Sink):
    def __init__(self, path, flush_interval=1.0):
        super().__init__(path, flush_interval)
        self._files = {}  # schema -> (file, writer)
        self._paths = set()

    def _path_for(self, schema):
        if not self._files:
            return self.path
        stem, ext = os.path.splitext(self.path)
        # letters, digits and _ only (no separator, no dot): next to ``path``
        base = "%s.%s" % (stem, re.sub(r"\W", "_", schema.name)[:40] or "stream")
        p = base + ext
        k = 1
        while p in self._paths:
            k += 1
            p = "%s_%d%s" % (base, k, ext)
        return p

    def _file(self, schema):
        entry = self._files.get(schema)
        if entry is None:
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
    it), header row ``board,seq,board_time_us,host_time,<channels>``."""

    def _start(self, f, schema):
        w = csv.writer(f)
        if f.tell() == 0:
            w.writerow(list(BASE_COLUMNS) + column_names(schema))
        return w

    def _write(self, batch, host_time, board=None):
        _, w = self._file(batch.schema)
        w.writerows(zip(repeat(board), repeat(batch.seq), batch.times, repeat(host_time),
                        *batch.columns, strict=False))


class JsonlSink(_FileSink):
    """One JSON object per line: stream, board, seq, board_time_us,
    host_time and the channels by name."""

    def _start(self, f, schema):
        return ["stream"] + list(BASE_COLUMNS) + column_names(schema)

    def _write(self, batch, host_time, board=None):
        f, keys = self._file(batch.schema)
        name = batch.schema.name
        dumps = json.dumps
        f.writelines(dumps(dict(zip(keys, row, strict=True))) + "\n" for row in zip(
            repeat(name), repeat(board), repeat(batch.seq), batch.times, repeat(host_time),
            *batch.columns, strict=False))
