"""Reading a SQLite log the way its catalogue says (docs/bridge.md, "Names
are data"): a stream's table and its channel columns are found by the
names the board declared, in ``_streams`` and ``_channels``."""


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
    """``pyb_bridge.sinks.named_views`` on ``db``: ``SELECT x FROM adc``
    reads the log as the board named it. Returns the connection."""
    from pyb_bridge.sinks import named_views

    named_views(db)
    return db
