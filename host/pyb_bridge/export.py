"""Export a SQLite log written by ``pyb-bridge log`` for analysis tools:
CSV (the csv module) or Parquet (pyarrow), one file per stream table.

    pyb-bridge export demo.sqlite --to parquet            # demo.parquet, demo.<table>.parquet
    pyb-bridge export demo.sqlite --to csv -o out.csv [--table stream_1]

The first table goes to OUT (default: FILE with the new extension), the
others next to it as ``OUT-stem.<table>.<ext>``, as the CSV sink names its
files. Parquet columns keep their types (board TEXT -> string, INTEGER ->
int64, REAL -> double); a channel's field is its column (``ch0``, ...), and
the name the board declared, its unit and struct type are in the field
metadata (``name``, ``unit``, ``type``), the stream and period in the
schema's. A CSV header names the channels as declared; text cells that a
spreadsheet would take for a formula are neutralised (``'`` before them).
Rows are read and written in chunks, so a log larger than memory exports.
"""

import csv
import os
import sqlite3

from pyb_bridge import logdb
from pyb_bridge.errors import ExportError
from pyb_bridge.sinks import csv_text

FORMATS = ("csv", "parquet")
CHUNK = 65536


def tables(db):
    """The data tables of a log, in the order they were created."""
    try:
        logdb.channels(db)
    except sqlite3.DatabaseError as e:
        raise ExportError("not a pyb-bridge SQLite log (%s)" % e) from None
    return logdb.data_tables(db)


def out_paths(out, names, ext):
    stem = os.path.splitext(out)[0]
    return {t: out if i == 0 else "%s.%s%s" % (stem, t, ext) for i, t in enumerate(names)}


def _rows(db, table):
    cur = db.execute('SELECT * FROM "%s" ORDER BY rowid' % table)
    while True:
        chunk = cur.fetchmany(CHUNK)
        if not chunk:
            return
        yield chunk


def _declared(db, table):
    """{column: (declared channel name, struct type, unit)} of a table."""
    return {c: (n, t, u) for _, c, _, t, u, _, n in logdb.channels(db, table)}


def to_csv(db, table, path):
    """The header names the bridge's columns and the channels as the board
    declared them (a name equal to one before it gets ``_`` appended);
    text cells a spreadsheet would run as a formula are neutralised."""
    cols = [r[1] for r in db.execute('PRAGMA table_info("%s")' % table)]
    meta = _declared(db, table)
    header, seen = [], set()
    for c in cols:
        name = meta[c][0] if c in meta else c
        while name in seen:
            name += "_"
        seen.add(name)
        header.append(csv_text(name))
    text = [i for i, r in enumerate(db.execute('PRAGMA table_info("%s")' % table))
            if r[2].upper() == "TEXT"]
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for chunk in _rows(db, table):
            if text:
                chunk = [[csv_text(v) if i in text else v for i, v in enumerate(r)]
                         for r in chunk]
            w.writerows(chunk)
            n += len(chunk)
    return n


def to_parquet(db, table, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    info = db.execute('PRAGMA table_info("%s")' % table).fetchall()
    meta = _declared(db, table)
    stream, period = next(((st, p) for _, _, st, _, _, p, _ in logdb.channels(db, table)),
                          (table, 0))
    types = {"TEXT": pa.string(), "REAL": pa.float64()}
    fields = []
    for _, name, decl, *_ in info:
        md = None
        if name in meta:  # a channel column: its declared name is a value
            md = {"name": meta[name][0], "type": meta[name][1], "unit": meta[name][2] or ""}
        fields.append(pa.field(name, types.get(decl.upper(), pa.int64()), metadata=md))
    schema = pa.schema(fields, metadata={"stream": stream, "period_us": str(period),
                                         "source": "pyb-bridge"})
    n = 0
    with pq.ParquetWriter(path, schema) as w:
        for chunk in _rows(db, table):
            cols = list(zip(*chunk, strict=True))
            w.write_table(pa.Table.from_arrays(
                [pa.array(c, type=f.type) for c, f in zip(cols, fields, strict=True)],
                schema=schema))
            n += len(chunk)
    return n


def export(path, fmt, out=None, table=None):
    """Export the log at ``path``; return [(table, out path, rows)]."""
    if fmt not in FORMATS:
        raise ExportError("unknown format %r: one of %s" % (fmt, ", ".join(FORMATS)))
    if not os.path.exists(path):
        raise ExportError("no such file: %s" % path)
    ext = "." + fmt
    out = out or os.path.splitext(path)[0] + ext
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        names = tables(db)
        if table is not None:
            if table not in names:
                raise ExportError("no table %s in %s (it has: %s)" % (
                    table, path, ", ".join(names) or "none"))
            names = [table]
        if not names:
            raise ExportError("%s holds no stream" % path)
        write = to_csv if fmt == "csv" else to_parquet
        done = []
        for t, p in out_paths(out, names, ext).items():
            done.append((t, p, write(db, t, p)))
        return done
    finally:
        db.close()
