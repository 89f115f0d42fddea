"""``pyb-bridge log --script`` on the virtual PyBoard: the log ends with the
script; at its end (``--duration``) the script is stopped with Ctrl-C,
which the pyb_lib Stream takes between two frames, and the board's REPL is
back; ``--keep-running`` leaves it streaming."""

import re
import sqlite3
import subprocess
import sys

from vboard_support import env, mpremote, needs_vboard, start_vboard, stop_vboard

from pyb_bridge import logdb

pytestmark = needs_vboard

# streams until stopped: records stamped by the board clock, 200 a second
FOREVER = """
import pyb
from pyb_lib.stream import Stream
s = Stream((("k", "I", ""),), name="count")
k = 0
try:
    with s:
        print("streaming")
        while True:
            s.add(k)
            k += 1
            s.poll()
            pyb.delay(5)
finally:
    print("records sent:", s.records)
"""


def log(port, tmp_path, name, *args):
    db = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "pyb_bridge.cli", "log", "--port", port,
                           "--out", str(db), *args],
                          capture_output=True, text=True, env=env(), timeout=120)
    return proc, db


def deploy(port):
    out = subprocess.run([sys.executable, "-m", "pyb_bridge.cli", "deploy", "--port", port,
                          "--quiet"], capture_output=True, text=True, env=env(), timeout=120)
    assert out.returncode == 0, out.stderr


def rows(db):
    con = logdb.views(sqlite3.connect(db))
    return [r[0] for r in con.execute('SELECT "k" FROM "count" ORDER BY rowid')]


def test_the_script_is_stopped_at_the_end_and_the_repl_is_back(tmp_path):
    script = tmp_path / "forever.py"
    script.write_text(FOREVER)
    proc, port = start_vboard(tmp_path / "flash", "--fast")
    try:
        deploy(port)
        out, db = log(port, tmp_path, "run.db", "--script", str(script), "--duration", "2")
        assert out.returncode == 0, out.stderr
        assert "\n  the script was stopped at the end (Ctrl-C)\n" in out.stdout
        assert "streaming" in out.stderr  # the board's words
        ks = rows(db)
        # every record, the last batch too (flushed by the Stream's stop())
        sent = int(re.search(r"records sent: (\d+)", out.stderr)[1])
        assert ks == list(range(sent)) and sent > 10
        # Ctrl-C is the board's again and the friendly REPL answers
        assert mpremote(port, "exec", "print(6 * 7)").strip() == "42"
    finally:
        assert stop_vboard(proc) == 0


def test_keep_running_leaves_the_board_streaming(tmp_path):
    script = tmp_path / "forever.py"
    script.write_text(FOREVER)
    proc, port = start_vboard(tmp_path / "flash", "--fast")
    try:
        deploy(port)
        out, db = log(port, tmp_path, "first.db", "--script", str(script), "--duration", "1.5",
                      "--keep-running")
        assert out.returncode == 0, out.stderr
        assert "\n  the script is still running on %s\n" % port in out.stdout
        assert "records sent" not in out.stderr
        # a later log without --script finds it streaming (its descriptor repeats)
        out, db = log(port, tmp_path, "second.db", "--duration", "4")
        assert out.returncode == 0, out.stderr
        ks = rows(db)
        # streaming on: what it sent while no host held the port open was
        # dropped (the firmware's USB_VCP), so the records are in order but
        # need not follow each other from one log to the next
        assert len(ks) > 10 and all(a < b for a, b in zip(ks, ks[1:], strict=False))
    finally:
        assert stop_vboard(proc) == 0


def test_keep_running_needs_a_script(tmp_path):
    out, _ = log("/dev/null", tmp_path, "x.db", "--keep-running")
    assert out.returncode == 2
    assert out.stderr == "pyb-bridge log: --keep-running is for a --script that log starts\n"
