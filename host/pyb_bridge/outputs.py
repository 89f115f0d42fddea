"""An ``--out`` and its sink: the format from the file's extension, the
files a log consists of, and the sink that writes it (SQLite:
``pyb_bridge.logdb``; CSV, JSONL: ``pyb_bridge.sinks``)."""

import os

from pyb_bridge.logdb import SqliteSink
from pyb_bridge.sinks import CsvSink, JsonlSink

FORMATS = ("sqlite", "csv", "jsonl")
EXTENSIONS = {".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite", ".csv": "csv",
              ".jsonl": "jsonl", ".json": "jsonl"}


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
