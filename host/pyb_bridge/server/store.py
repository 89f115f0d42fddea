"""The server's read-only queries on a SQLite log written by ``pyb-bridge
log`` (the format is ``pyb_bridge.logdb``'s).

Layout (see ``pyb_bridge.logdb``): a table per stream schema with ``seq``,
``board_time_us``, ``host_time``, an optional ``board`` column (logs of
several boards) and a column per channel (``ch0``, ``ch1``, ...);
``_channels`` maps each channel column to the name the board declared,
and ``_counters`` holds the link's counters.

No SQL is built from user input except identifiers that were first looked
up in ``_channels`` (and in the table's own columns) and are then quoted.
Values always go as parameters.
"""

from pyb_bridge.logdb import (
    channels,
    counters,
    has_table,
    quote,
    rollup,
    run_starts,
    table_columns,
)

BASE = ("seq", "board_time_us", "host_time")


class NotFound(Exception):
    """An unknown stream."""


def streams(db):
    """{table: info} for every stream table described in ``_channels``, in
    the order they were first logged. info: name (the table: a generated
    identifier, ``stream_N``), stream (the board's stream name), period_us,
    channels [{name (as the board declared it), column (its column in the
    table), type, unit}], board (whether rows carry a ``board`` column).
    The board's names are values here, never keys."""
    if not has_table(db, "_channels"):
        return {}
    out = {}
    for table, column, stream, typ, unit, period, channel in channels(db):
        info = out.get(table)
        if info is None:
            tcols = table_columns(db, table)
            if not tcols:
                continue  # described but not created (yet)
            info = out[table] = {"name": table, "stream": stream, "period_us": period or 0,
                                 "channels": [], "board": "board" in tcols,
                                 "_cols": set(tcols)}
        if column in info["_cols"]:
            info["channels"].append({"name": channel, "column": column, "type": typ,
                                     "unit": unit or ""})
    return out


def public(info):
    return {k: v for k, v in info.items() if not k.startswith("_")}


def stream(db, name):
    info = streams(db).get(name)
    if info is None:
        raise NotFound(name)
    return info


RECENT = 100000  # rows looked at per stream to find its boards


def boards(db, infos):
    """{board: [tables]} by board name: the boards the logger counted (``_board_counters``)
    and those in the last ``RECENT`` rows of each stream that carries a
    ``board`` column (a bounded look, not a scan of a long log)."""
    out = {}
    if has_table(db, "_board_counters"):
        for (b,) in db.execute('SELECT DISTINCT "board" FROM "_board_counters" '
                               'WHERE "board" IS NOT NULL ORDER BY rowid'):
            out[b] = []
    for table, info in infos.items():
        if info["board"]:
            for (b,) in db.execute("SELECT DISTINCT board FROM (SELECT board FROM %s "
                                   "ORDER BY rowid DESC LIMIT ?) WHERE board IS NOT NULL"
                                   % quote(table), (RECENT,)):
                out.setdefault(b, []).append(table)
    return dict(sorted(out.items(), key=lambda kv: str(kv[0])))


def row_range(db, info, since, until, board):
    """(first, last) row ids that can hold rows of board time since..until
    (of ``board``), from the rollup's row ids per bucket; None when there is
    no rollup or no range was asked for."""
    r = rollup(db, info)
    if r is None or (since is None and until is None) or board == "":
        return None  # (the rollup's board '' stands for rows without one)
    table, b, _ = r
    conds, params = [], []
    if since is not None:
        conds.append("k >= ?")
        params.append(since // b)
    if until is not None:
        conds.append("k <= ?")
        params.append((until - 1) // b)
    if board is not None:
        conds.append("board = ?")
        params.append(board)
    lo, hi = db.execute("SELECT MIN(r0), MAX(r1) FROM %s WHERE %s"
                        % (quote(table), " AND ".join(conds)), params).fetchone()
    return (1, 0) if lo is None else (lo, hi)


def _where(since, until, board, after=None, rows=None):
    conds, params = [], []
    if rows is not None:
        conds.append("rowid BETWEEN ? AND ?")
        params += rows
    if after is not None:
        conds.append("rowid > ?")
        params.append(after)
    if since is not None:
        conds.append("board_time_us >= ?")
        params.append(since)
    if until is not None:
        conds.append("board_time_us < ?")
        params.append(until)
    if board is not None:
        conds.append("board = ?")
        params.append(board)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def readings(db, info, channels, since=None, until=None, after=0, limit=1000, board=None):
    """(columns, rows, last row id) of up to ``limit`` rows after row id
    ``after``, in the order they were logged."""
    cols = ["rowid", "board_time_us", "host_time"] + (["board"] if info["board"] else [])
    cols += channels
    where, params = _where(since, until, board, after, row_range(db, info, since, until, board))
    sql = "SELECT %s FROM %s%s ORDER BY rowid LIMIT ?" % (
        ", ".join(quote(c) if c != "rowid" else c for c in cols), quote(info["name"]), where)
    rows = db.execute(sql, params + [limit]).fetchall()
    names = ["row"] + cols[1:]
    return names, rows, (rows[-1][0] if rows else None)


def buckets(db, info, channels, bucket, since=None, until=None, limit=1000, board=None,
            raw=False):
    """Min/max of each channel per ``bucket`` µs of board time, aggregated
    by SQLite (GROUP BY on the bucket number): columns t (bucket start),
    n (rows), then min and max of every channel.

    From the stream's rollup when ``bucket``, ``since`` and ``until`` are
    multiples of its bucket (the same answer from far fewer rows), else
    (or with ``raw``) from the rows themselves."""
    r = None if raw or board == "" else rollup(db, info)
    if r is not None and all(v is None or v % r[1] == 0 for v in (bucket, since, until)):
        return _rollup_buckets(db, r, channels, bucket, since, until, limit, board)
    aggs = []
    for c in channels:
        aggs += ["MIN(%s)" % quote(c), "MAX(%s)" % quote(c)]
    rows = None if raw else row_range(db, info, since, until, board)
    where, params = _where(since, until, board, rows=rows)
    sql = ("SELECT board_time_us / ? AS k, COUNT(*)%s FROM %s%s GROUP BY k ORDER BY k LIMIT ?"
           % ("".join(", " + a for a in aggs), quote(info["name"]), where))
    rows = db.execute(sql, [bucket] + params + [limit]).fetchall()
    return [(r[0] * bucket,) + tuple(r[1:]) for r in rows]


def _rollup_buckets(db, r, channels, bucket, since, until, limit, board):
    table, b, index = r
    m = bucket // b
    aggs = []
    for c in channels:
        i = index[c]
        aggs += ["MIN(c%d_min)" % i, "MAX(c%d_max)" % i]
    conds, params = [], []
    if since is not None:
        conds.append("k >= ?")
        params.append(since // b)
    if until is not None:
        conds.append("k < ?")
        params.append(until // b)
    if board is not None:
        conds.append("board = ?")
        params.append(board)
    where = (" WHERE " + " AND ".join(conds)) if conds else ""
    sql = ("SELECT k / ? AS kk, SUM(n)%s FROM %s%s GROUP BY kk ORDER BY kk LIMIT ?"
           % ("".join(", " + a for a in aggs), quote(table), where))
    rows = db.execute(sql, [m] + params + [limit]).fetchall()
    return [(k * bucket,) + tuple(v[1:]) for v in rows for k in (v[0],)]


def stats(db, info, board=None):
    t = quote(info["name"])
    first = db.execute("SELECT rowid, board_time_us, host_time FROM %s ORDER BY rowid LIMIT 1"
                       % t).fetchone()
    last = db.execute("SELECT rowid, board_time_us, host_time FROM %s ORDER BY rowid DESC "
                      "LIMIT 1" % t).fetchone()
    c = counters(db, board)
    out = {"stream": info["name"], "rows": 0, "last_row": 0, "first_board_time_us": None,
           "last_board_time_us": None, "last_host_time": None, "rate_hz": 0.0,
           "nominal_rate_hz": (1e6 / info["period_us"]) if info["period_us"] else None,
           "frames": c.get("frames", 0), "frames_lost": c.get("frames_lost", 0),
           "crc_errors": c.get("crc_errors", 0), "counters": c}
    if first is None:
        return out
    # The sink only appends: row ids run 1..n without holes.
    n = last[0] - first[0] + 1
    # the rate of the last run (board clocks restart between runs)
    starts = run_starts(db, info, first[0] + 1, last[0])
    r0 = first if not starts else db.execute(
        "SELECT rowid, board_time_us FROM %s WHERE rowid = ?" % t, (starts[-1],)).fetchone()
    span = (last[1] - r0[1]) / 1e6
    out.update(rows=n, last_row=last[0], first_board_time_us=first[1],
               last_board_time_us=last[1], last_host_time=last[2],
               rate_hz=round((last[0] - r0[0]) / span, 3) if span > 0 else 0.0)
    return out


def last_row(db, table):
    r = db.execute("SELECT MAX(rowid) FROM %s" % quote(table)).fetchone()
    return r[0] or 0
