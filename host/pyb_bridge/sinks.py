"""Where decoded readings go: the ``Sink`` interface, CSV and JSONL (the
SQLite log is ``pyb_bridge.logdb``'s, which alone knows its format; an
``--out`` is opened by ``pyb_bridge.outputs.open_sink``).

A sink takes ``Batch`` objects (see ``pyb_bridge.decoder``) with the host
time they arrived at and the board they came from, and writes one row per
record: the board (its USB serial number or port name), sequence number of
the frame, board time (µs, unwrapped), host time (Unix seconds) and one
column per channel. ``flush()`` makes everything written so far durable; it runs
every ``flush_interval`` seconds from ``write`` and from ``close()``.
"""

import csv
import glob
import json
import math
import os
import re
import time
from itertools import repeat

BASE_COLUMNS = ("board", "seq", "board_time_us", "host_time")


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
