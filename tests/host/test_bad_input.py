"""The bad-input table of docs/reliability.md, row by row: each bad input
gives one line on stderr that says what to do, a non-zero exit status, no
traceback, and no partial or corrupt output file."""

import errno
import os
import sqlite3
import subprocess
import sys
import threading
import time
import tty

import pytest
import serial
from pty_support import wait_open, watch_open

import pyb_sim
from pyb_bridge import cli, logdb, outputs, ports, raw_repl

pyb_sim.install()  # micropython.const for pyb_lib on CPython
from pyb_lib.stream import Stream  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT_USER = os.geteuid() == 0


class StreamingPty:
    """A board on a pty behind a symlink, streaming readings (k, k & 0xFFFF)
    until ``vanish()`` (the pty closed and the symlink removed)."""

    def __init__(self, path, rate=20000):
        self.path = path
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), path)
        watch_open(self.master)
        self.rate = rate
        self.stop = False
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def write(self, data):
        try:
            return os.write(self.master, bytes(data))
        except OSError:
            return 0

    def _run(self):
        if not wait_open(self.master, timeout=60, cancelled=lambda: self.stop):
            return  # the bridge opens the port first
        s = Stream((("k", "I", ""), ("x", "H", "")), self, name="t", period_us=50,
                   clock=lambda: int(time.monotonic() * 1e6) & ((1 << 30) - 1))
        s.start()
        t0 = time.monotonic()
        while not self.stop:
            for _ in range(100):
                s.add(self.sent, self.sent & 0xFFFF)
                self.sent += 1
            ahead = self.sent / self.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def vanish(self):
        self.stop = True
        self.thread.join()
        if os.path.lexists(self.path):
            os.remove(self.path)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def run_cli(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    return rc, err.strip().splitlines()


def one_line(lines, *words):
    errors = [ln for ln in lines if ln.startswith("pyb-bridge")]
    assert len(errors) == 1, lines
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def rows_ok(path):
    """The log is a sound SQLite file whose rows are all readings as sent."""
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        logdb.views(con)
        bad = con.execute("SELECT count(*) FROM t WHERE x != (k & 65535)").fetchone()[0]
        n = con.execute("SELECT count(*) FROM t").fetchone()[0]
        assert bad == 0
        return n
    finally:
        con.close()


def test_a_port_that_does_not_exist_in_a_real_process(tmp_path):
    out = tmp_path / "a.sqlite"
    r = subprocess.run([sys.executable, "-m", "pyb_bridge.cli", "log", "--port",
                        str(tmp_path / "ttyNONE"), "--out", str(out), "--duration", "1"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host")))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "no such serial port" in r.stderr and "pyb-bridge ports" in r.stderr
    assert not out.exists()


def test_a_busy_port(tmp_path, capsys):
    board = StreamingPty(str(tmp_path / "tty"))
    other = serial.Serial(board.path, exclusive=True)  # another program has it
    try:
        rc, lines = run_cli(capsys, "log", "--port", board.path, "--out",
                            str(tmp_path / "a.sqlite"), "--duration", "1", "--quiet")
    finally:
        other.close()
        board.vanish()
    assert rc == 1
    one_line(lines, "busy", "close it")
    assert not (tmp_path / "a.sqlite").exists()


def test_a_port_without_permission(tmp_path, capsys):
    e = serial.SerialException(errno.EACCES, "could not open port: Permission denied")
    assert "dialout" in ports.port_error(str(tmp_path), e)
    board = StreamingPty(str(tmp_path / "tty"))
    os.chmod(os.path.realpath(board.path), 0)
    argv = ["log", "--port", board.path, "--out", str(tmp_path / "a.sqlite"),
            "--duration", "1", "--quiet"]
    try:
        if ROOT_USER:
            # root opens any device whatever its mode (CAP_DAC_OVERRIDE): run
            # the bridge without that capability, as a user without the group.
            r = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                                sys.executable, "-c", "import sys; from pyb_bridge.cli import "
                                "main; sys.exit(main())", *argv], capture_output=True,
                               text=True, timeout=60,
                               env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host")))
            assert "Traceback" not in r.stdout + r.stderr, r.stderr
            rc, lines = r.returncode, r.stderr.strip().splitlines()
        else:
            rc, lines = run_cli(capsys, *argv)
    finally:
        board.vanish()
    assert rc == 1
    one_line(lines, "permission denied", "dialout")


def test_a_port_that_vanishes_mid_run(tmp_path, capsys):
    board = StreamingPty(str(tmp_path / "tty"))
    threading.Timer(0.8, board.vanish).start()
    out = str(tmp_path / "a.sqlite")
    try:
        rc, lines = run_cli(capsys, "log", "--port", board.path, "--out", out,
                            "--duration", "1.6", "--quiet")
    finally:
        board.vanish()
    assert rc == 3
    assert any("went away (unplugged?)" in ln for ln in lines), lines
    assert "did not come back" in lines[-1] and "plug the board back in" in lines[-1]
    assert rows_ok(out) > 1000  # what came before is kept, whole


def test_an_output_folder_that_is_missing_or_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for out, words in ((tmp_path / "nodir" / "a.sqlite", ("does not exist", "mkdir -p")),
                       (tmp_path / "file" / "a.sqlite", ("is a file, not a folder",)),
                       (tmp_path / "file" / "a.csv", ("is a file, not a folder",)),
                       (tmp_path, ("is a folder",))):
        rc, lines = run_cli(capsys, "log", "--port", "loop://", "--out", str(out),
                            "--duration", "0.2", "--quiet")
        assert rc == 2
        one_line(lines, *words)
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_a_read_only_output_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if ROOT_USER:  # root writes anyway: the check itself is exercised
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(
            folder) else real(p, m))
    rc, lines = run_cli(capsys, "log", "--port", "loop://", "--out", str(folder / "a.sqlite"),
                        "--duration", "0.2", "--quiet")
    folder.chmod(0o755)
    assert rc == 2
    one_line(lines, "no permission to write there")
    assert os.listdir(folder) == []


def _full_disk(tmp_path, capsys, out):
    board = StreamingPty(str(tmp_path / "tty"))
    try:
        rc, lines = run_cli(capsys, "log", "--port", board.path, "--out", out,
                            "--duration", "4", "--quiet", "--flush-interval", "0.05")
    finally:
        board.vanish()
    assert rc == 1
    one_line(lines, "failed", "full", "free some space")
    return rows_ok(out)


def test_a_full_disk_as_sqlite_sees_it(tmp_path, capsys, monkeypatch):
    # SQLITE_FULL without a small file system: the database may not grow
    # beyond a few pages more than its empty tables take.
    init = logdb.SqliteSink.__init__

    def small(self, *a, **kw):
        init(self, *a, **kw)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute("PRAGMA max_page_count = %d" % (pages + 6))

    monkeypatch.setattr(logdb.SqliteSink, "__init__", small)
    assert _full_disk(tmp_path, capsys, str(tmp_path / "a.sqlite")) > 0


def test_a_full_disk_on_a_tiny_tmpfs(tmp_path, capsys, request):
    if os.geteuid() != 0:
        # Mounting needs root: run this test again as root of a user namespace.
        r = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", sys.executable,
                            "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "--rootdir", ROOT, request.node.nodeid],
                           cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, ("as root of a user namespace (unshare -rm): "
                                   + r.stdout[-2000:] + r.stderr[-2000:])
        return
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], check=True)
    try:
        assert _full_disk(tmp_path, capsys, str(mnt / "a.sqlite")) > 0
        # Full before it starts: nothing made, nothing left.
        (mnt / "filler").write_bytes(b"\0" * (os.statvfs(mnt).f_bavail * os.statvfs(
            mnt).f_frsize - 4096))
        rc, lines = run_cli(capsys, "log", "--port", "loop://", "--out", str(mnt / "b.sqlite"),
                            "--duration", "0.2", "--quiet")
        assert rc == 1
        one_line(lines, "full", "free some space")
        assert not (mnt / "b.sqlite").exists()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_board_that_does_not_answer_the_raw_repl(tmp_path, capsys, monkeypatch):
    # A port whose other end is not MicroPython: it answers with noise.
    monkeypatch.setattr(raw_repl.open_board, "__defaults__", (1,))
    master, slave = os.openpty()
    tty.setraw(master)
    port = str(tmp_path / "tty")
    os.symlink(os.ttyname(slave), port)
    stop = []

    def noise():
        while not stop:
            try:
                os.write(master, b"AT+OK\r\n")
            except OSError:
                return
            time.sleep(0.05)

    th = threading.Thread(target=noise, daemon=True)
    th.start()
    (tmp_path / "s.py").write_text("print(1)\n")
    try:
        rc, lines = run_cli(capsys, "log", "--port", port, "--out", str(tmp_path / "a.sqlite"),
                            "--script", str(tmp_path / "s.py"), "--duration", "1", "--quiet")
    finally:
        stop.append(1)
        th.join()
        os.close(master)
        os.close(slave)
    assert rc == 1
    one_line(lines, "does not answer", "running MicroPython")
    assert not (tmp_path / "a.sqlite").exists()


def test_a_script_with_a_syntax_error_or_missing(tmp_path, capsys):
    (tmp_path / "bad.py").write_text("import pyb\nfor x in range(3)\n    pass\n")
    rc, lines = run_cli(capsys, "log", "--port", "loop://", "--out", str(tmp_path / "a.sqlite"),
                        "--script", str(tmp_path / "bad.py"), "--duration", "0.2")
    assert rc == 2
    one_line(lines, "bad.py line 2", "SyntaxError", "fix the script")
    rc, lines = run_cli(capsys, "log", "--port", "loop://", "--out", str(tmp_path / "a.sqlite"),
                        "--script", str(tmp_path / "none.py"), "--duration", "0.2")
    assert rc == 2
    one_line(lines, "cannot read the script")
    assert sorted(os.listdir(tmp_path)) == ["bad.py"]


@pytest.mark.parametrize("text, words", [
    ('{"i2c": [', "not valid JSON"), ("[1, 2]", "JSON object"),
    ('{"i2c": [{"bus": 1}]}', '"model"'), ('{"i2c": {"model": "bme280"}}', "list of objects"),
    ('{"wires": []}', "unknown section"), ("\xff\xfe", "not valid JSON")])
def test_a_wiring_file_with_mistakes(tmp_path, text, words):
    w = tmp_path / "w.json"
    w.write_bytes(text.encode("latin-1"))
    r = subprocess.run([sys.executable, "-m", "pyb_bridge.cli", "vboard", "--link",
                        str(tmp_path / "tty"), "--wiring", str(w)],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "host")))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
    assert not (tmp_path / "tty").exists()


# Bad query parameters: tests/host/test_api.py tries every parameter of
# /readings (and schemathesis every endpoint against its OpenAPI description);
# here the live push, which answers before it starts streaming.
@pytest.mark.parametrize("query, parameter", [
    ("channels=nope", "channels"), ("after=-1", "after"), ("after=x", "after"),
    ("channels=x%22%3B%20DROP%20TABLE%20adc%3B--", "channels")])
def test_bad_parameters_of_the_live_push_are_400(api_client, query, parameter):
    r = api_client.get("/api/streams/stream_1/events?" + query)
    assert r.status_code == 400 and r.get_json()["parameter"] == parameter


@pytest.fixture(scope="module")
def api_client(tmp_path_factory):
    from test_sinks import board_data, log

    from pyb_bridge.server import create_app

    path = str(tmp_path_factory.mktemp("api") / "log.db")
    log(board_data(300)[0], outputs.open_sink(path, flush_interval=0.0))
    return create_app(path).test_client()
