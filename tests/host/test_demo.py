"""`pyb-bridge demo` (what `make demo` runs) end to end on a virtual board:
deploy, stream, log, summary, plot."""

import os
import re
import sqlite3
import subprocess
import sys

import pytest

from pyb_bridge import logdb

BIN = os.path.dirname(sys.executable)


def test_demo_on_a_virtual_board(tmp_path):
    db = tmp_path / "demo.sqlite"
    png = tmp_path / "demo.png"
    out = subprocess.run(
        [os.path.join(BIN, "pyb-bridge"), "demo", "--seconds", "3", "--out", str(db),
         "--png", str(png)],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "frames lost 0, CRC errors 0" in text
    assert "demo done" in text
    assert png.read_bytes()[:4] == b"\x89PNG"
    # drawn by the logger (pyb_bridge.plot) while it logged, and at the end
    assert "plot: %s (redrawn" % png in text
    con = logdb.views(sqlite3.connect(str(db)))
    # two ADC channels at 1 kHz and the BME280 at 1 Hz, for about 3 s
    n_adc, t0, t1 = con.execute(
        "SELECT COUNT(*), MIN(board_time_us), MAX(board_time_us) FROM adc").fetchone()
    # readings 1 ms apart in board time, all 3 s of them (the log ends with
    # the script, however long the board took to start)
    assert n_adc >= 2990
    assert t1 - t0 >= (n_adc - 1) * 1000
    assert con.execute("SELECT COUNT(DISTINCT board_time_us) FROM adc").fetchone()[0] == n_adc
    temps = [r[0] for r in con.execute("SELECT temperature FROM bme280")]
    assert len(temps) >= 2 and all(abs(t - 25.0) < 0.05 for t in temps)
    lost, crc = (con.execute("SELECT value FROM _counters WHERE name = ?", (k,)).fetchone()[0]
                 for k in ("frames_lost", "crc_errors"))
    assert lost == 0 and crc == 0
    # the summary line of each channel gives its rate
    assert "adc.x1" in text and "1000.0 Hz" in text
    # the virtual board is stopped when the demo ends (its pty's name may
    # already serve another program: the process is what is checked)
    m = re.search(r"virtual PyBoard on (/dev/\S+) \(process (\d+)\)", text)
    assert m, text
    with pytest.raises(ProcessLookupError):
        os.kill(int(m[2]), 0)
