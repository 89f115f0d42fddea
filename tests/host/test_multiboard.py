"""Several boards in one process: two MicroPython interpreters stream into
two ptys, ``pyb-bridge log --port A --port B`` logs both into one SQLite
file with a board column; one board unplugged and plugged back reconnects on
its own while the other goes on."""

import os
import sqlite3
import threading
import time

import pytest
from test_link import FakeBoard, micropython

from pyb_bridge import cli, logdb, logger, ports
from pyb_bridge.outputs import open_sink
from pyb_bridge.plot import plot, series, start_time


def test_two_boards_into_one_sqlite_with_a_live_plot(tmp_path, capsys):
    assert micropython(), "the micropython interpreter is missing"
    a, b = str(tmp_path / "ttyA"), str(tmp_path / "ttyB")
    out, png = str(tmp_path / "two.sqlite"), str(tmp_path / "two.png")
    fa = FakeBoard(a).start(1500)
    fb = FakeBoard(b).start(1000)
    try:
        assert cli.main(["log", "--port", a, "--port", b, "--out", out, "--duration", "1.5",
                         "--quiet", "--plot", png, "--plot-interval", "0.5"]) == 0
    finally:
        fa.unplug()
        fb.unplug()
    text = capsys.readouterr().out
    assert "2500 rows" in text and "%s: 1500 rows" % a in text, text
    db = logdb.views(sqlite3.connect(out))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    by_board = dict(db.execute("SELECT board, count(*) FROM pty GROUP BY board"))
    assert by_board == {a: 1500, b: 1000}
    for name, n in ((a, 1500), (b, 1000)):
        ks = [r[0] for r in db.execute("SELECT k FROM pty WHERE board = ? ORDER BY rowid",
                                       (name,))]
        assert ks == list(range(n))
    per = dict(((bd, k), v) for bd, k, v in db.execute("SELECT * FROM _board_counters"))
    total = dict(db.execute("SELECT name, value FROM _counters"))
    assert per[(a, "frames")] + per[(b, "frames")] == total["frames"] > 0
    assert total["frames_lost"] == 0
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "plot: %s (redrawn" % png in text
    assert not os.path.exists(png + ".tmp.png")
    # a line per board and channel (in the order the boards' rows came),
    # each board from its own first reading
    assert sorted(plot(out, str(tmp_path / "again.png"))) == [
        "pty.k @%s" % a, "pty.k @%s" % b, "pty.x @%s" % a, "pty.x @%s" % b]
    xs, ys = series(db, "pty", "k", t0=start_time(db, ["pty"], b), board=b)
    assert xs[0] == 0.0 and ys == list(range(1000))


def test_each_board_reconnects_on_its_own(tmp_path):
    assert micropython(), "the micropython interpreter is missing"
    a, b = str(tmp_path / "ttyA"), str(tmp_path / "ttyB")
    out = str(tmp_path / "log.sqlite")
    fa = FakeBoard(a).start(-1)  # streams until unplugged
    fb = FakeBoard(b).start(-1)
    sink = open_sink(out, flush_interval=0.1)
    again = None
    lg = logger.Logger([a, b], [sink], backoff=(0.05, 0.2))
    try:
        with lg:
            def until(cond, limit=60):
                t0 = time.monotonic()
                while not cond():
                    assert time.monotonic() - t0 < limit, "still waiting after %d s" % limit
                    lg.step(0.02)

            until(lambda: lg.rows_by_board[a] > 1000 and lg.rows_by_board[b] > 1000)
            fa.unplug()
            until(lambda: lg.boards[0].link.connected is False)
            b_at_unplug = lg.rows_by_board[b]
            until(lambda: lg.rows_by_board[b] > b_at_unplug + 500)
            a_at_unplug = lg.rows_by_board[a]  # what A sent before is written by now
            until(lambda: lg.rows_by_board[b] > b_at_unplug + 1500)  # B goes on alone
            assert lg.rows_by_board[a] == a_at_unplug
            again = FakeBoard(a)
            until(lambda: lg.boards[0].link.reconnects > 0)
            again.start(2000)
            until(lambda: lg.rows_by_board[a] >= a_at_unplug + 2000)
    finally:
        fb.unplug()
        fa.proc.poll() is None and fa.unplug()
        if again:
            again.unplug()
        sink.close()
    assert lg.boards[0].link.reconnects == 1 and lg.boards[1].link.reconnects == 0
    db = logdb.views(sqlite3.connect(out))
    ka = [r[0] for r in db.execute("SELECT k FROM pty WHERE board = ? ORDER BY rowid", (a,))]
    restart = ka.index(0, 1)
    assert ka[:restart] == list(range(restart))
    assert ka[restart:] == list(range(2000))  # the second session of A, whole
    kb = [r[0] for r in db.execute("SELECT k FROM pty WHERE board = ? ORDER BY rowid", (b,))]
    assert kb == list(range(len(kb)))  # B never interrupted
    per = dict(((bd, k), v) for bd, k, v in db.execute("SELECT * FROM _board_counters"))
    assert per[(a, "restarts")] == 1 and per[(b, "restarts")] == 0
    assert per[(a, "reconnects")] == 1


def test_port_auto_finds_every_pyboard_and_tags_rows_by_serial_number(monkeypatch, tmp_path):
    dev = tmp_path / "ttyACM7"
    dev.write_text("")
    alias = tmp_path / "pyb-by-id"
    alias.symlink_to(dev)
    found = [ports.PortInfo("/dev/ttyS0", "serial", None, None, False),
             ports.PortInfo("/dev/ttyACM1", "Pyboard", 0xF055, 0x9800, True, "3276375E3433"),
             ports.PortInfo(str(dev), "Pyboard", 0xF055, 0x9802, True, "2061306A4D4E")]
    monkeypatch.setattr(ports, "ports", lambda: found)
    assert logger.expand_ports(["auto"]) == ["/dev/ttyACM1", str(dev)]
    assert logger.expand_ports(["/dev/ttyUSB0", "auto", "/dev/ttyACM1"]) == [
        "/dev/ttyUSB0", "/dev/ttyACM1", str(dev)]
    assert logger.expand_ports(None) == ["/dev/ttyACM1", str(dev)]
    # the serial number, also through a symlink; the port name without one
    assert logger.board_names([str(alias), "/dev/ttyACM1", "/dev/ttyUSB0", str(dev)]) == [
        "2061306A4D4E", "3276375E3433", "/dev/ttyUSB0", "2061306A4D4E#2"]
    assert ports.board_id("socket://host:4000") == "socket://host:4000"
    monkeypatch.setattr(ports, "ports", lambda: found[:1])
    with pytest.raises(OSError, match="no PyBoard found"):
        logger.expand_ports(["auto"])


def test_a_failing_port_is_an_error_before_anything_is_logged(tmp_path, capsys):
    out = str(tmp_path / "x.sqlite")
    assert cli.main(["log", "--port", str(tmp_path / "nothing"), "--out", out,
                     "--duration", "0.2", "--quiet"]) == 1
    assert "nothing" in capsys.readouterr().err


def test_reader_errors_reach_the_main_thread(tmp_path):
    class Broken:
        stopped = False

        def poll(self):
            raise ValueError("decoder broke")

    q = logger.queue.Queue()
    r = logger._Reader(Broken(), "x", q)
    r.start()
    r.join(2)
    lg = logger.Logger([], [])
    lg._queue = q
    with pytest.raises(ValueError, match="decoder broke"):
        lg.step(1)
    assert threading.active_count() >= 1
