"""The dashboard in a real browser (headless Chromium driven by Selenium
through the system chromedriver): a virtual board streams, ``pyb-bridge log
--serve`` logs it and serves the page, and the charts follow each new reading
as it is logged. A second page, served by ``pyb-bridge
serve``, shows the gap that lost frames leave. Screenshots are kept in the
test's temporary directory and copied to build/test-artifacts/."""

import os
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest
from vboard_support import ROOT, env, needs_vboard, start_vboard, stop_vboard

from pyb_bridge import logdb

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BRIDGE = [sys.executable, "-c", "import sys; from pyb_bridge.cli import main; sys.exit(main())"]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1200,820")


pytestmark = [needs_vboard, pytest.mark.needs("chromium", "chromedriver")]


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pyb-bridge-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in FLAGS + ("--user-data-dir=" + profile,):
        opts.add_argument(a)
    drv = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    drv.set_page_load_timeout(20)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def served_url(proc, timeout=30):
    """The URL from the ``serving ... at URL`` / ``pyb-bridge serve: URL`` line."""
    end = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr, proc.stdout], [], [], 0.5)
        for f in ready:
            line = f.readline()
            seen += line
            m = re.search(rb"(http://127\.0\.0\.1:\d+/)", line)
            if m:
                return m.group(1).decode()
        if proc.poll() is not None:
            break
    raise AssertionError("no URL from the server: %r" % seen)


def keep(shot):
    """Copy a screenshot to build/test-artifacts/ (kept after the run)."""
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = os.path.join(ROOT, "build", "test-artifacts")
    os.makedirs(out, exist_ok=True)
    shutil.copy(shot, os.path.join(out, shot.name))


def page_value(drv, attr):
    v = drv.execute_script("return document.body.dataset[arguments[0]] || null", attr)
    return None if v is None else int(v)


def wait_for(fn, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def test_the_charts_follow_the_board_live(browser, tmp_path):
    with open(os.path.join(ROOT, "examples", "stream_sensors.py")) as f:
        src = f.read()
    script = tmp_path / "stream.py"
    script.write_text(src.replace("duration_s = 10\n", "duration_s = 30\n"))
    db = tmp_path / "live.sqlite"
    vb, port = start_vboard(tmp_path / "flash")
    log = None
    try:
        subprocess.run(BRIDGE + ["deploy", "--port", port, "--mpy", "--quiet"], check=True,
                       env=env(), timeout=60, capture_output=True)
        log = subprocess.Popen(BRIDGE + ["log", "--port", port, "--out", str(db), "--script",
                                         str(script), "--serve", "--serve-port", "0",
                                         "--flush-interval", "0.2", "--quiet",
                                         "--duration", "40"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
        url = served_url(log)
        browser.get(url)
        wait_for(lambda: page_value(browser, "lastBoardTime"), 30, "the first points")
        # one chart per unit: the ADC's two raw channels share one
        units = browser.execute_script(
            "return [...document.querySelectorAll('.chart')].map(e => e.dataset.unit)")
        assert units == ["raw"]
        con = logdb.views(sqlite3.connect(db))
        seen = 0
        for _ in range(4):
            # the newest reading committed to the log now, newer than the last one seen ...
            end = time.monotonic() + 30
            while True:
                logged = con.execute("SELECT MAX(board_time_us) FROM adc").fetchone()[0]
                if logged > seen:
                    break
                assert time.monotonic() < end, "the log stopped growing at %d" % logged
                time.sleep(0.05)
            # ... comes onto the chart by itself
            wait_for(lambda logged=logged: (page_value(browser, "lastBoardTime") or 0) >= logged,
                     30, "board time %d on the chart" % logged)
            seen = logged
        # every reading of the last 10 s (at most), drawn without a gap
        shown, t_end = map(int, browser.execute_script(
            "return [document.body.dataset.points, document.body.dataset.lastBoardTime]"))
        in_window = con.execute("SELECT COUNT(*) FROM adc WHERE board_time_us > ? AND "
                                "board_time_us <= ?", (t_end - 10_000_000, t_end)).fetchone()[0]
        assert shown > 0 and abs(shown - in_window) <= 1, (shown, in_window)
        status = browser.execute_script(
            "return ['s-rows','s-rate','s-lost','s-crc','s-gaps'].map("
            "id => document.getElementById(id).textContent)")
        rows, rate, lost, crc, gaps = status
        assert int(rows.replace(",", "")) > 0 and rate.endswith("Hz (1000)")
        assert (lost, crc) == ("0", "0")
        # the chart breaks its lines where the log has gaps (a board that fell
        # behind skips samples and counts them), and nowhere else
        times = [r[0] for r in con.execute(
            "SELECT board_time_us FROM adc WHERE board_time_us > ? AND board_time_us <= ? "
            "ORDER BY rowid", (t_end - 10_000_000, t_end))]
        in_log = [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a > 2000]
        assert int(gaps) == len(in_log), (gaps, in_log)
        assert browser.find_element("id", "state").text == "live"
        # both streams in the picker, also one that started after the page loaded
        wait_for(lambda: browser.execute_script(
            "return [...document.querySelectorAll('#stream option')].map("
            "o => [o.value, o.textContent.split(' (')[0]])"
        ) == [["stream_1", "adc"], ["stream_2", "bme280"]], 30, "both streams in the picker")
        shot = tmp_path / "dashboard.png"
        browser.save_screenshot(str(shot))
        keep(shot)
    finally:
        if log is not None:
            log.send_signal(signal.SIGTERM)
            try:
                log.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log.kill()
        assert stop_vboard(vb) == 0


def test_lost_frames_leave_a_gap(browser, tmp_path):
    """Rows 1000 periods apart after a run of rows 1 ms apart: a break in
    the line, counted on the page; served by ``pyb-bridge serve``."""
    path = tmp_path / "gap.sqlite"
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE "_channels" ("table" TEXT, "column" TEXT, "stream" TEXT, '
                '"type" TEXT, "unit" TEXT, "period_us" INTEGER)')
    con.execute("INSERT INTO _channels VALUES ('adc', 'x1', 'adc', 'H', 'raw', 1000)")
    con.execute("INSERT INTO _channels VALUES ('adc', 't', 'adc', 'f', 'C', 1000)")
    con.execute("CREATE TABLE adc (seq INTEGER, board_time_us INTEGER, host_time REAL, "
                "x1 INTEGER, t REAL)")
    times = [k * 1000 for k in range(2000)] + [k * 1000 for k in range(2100, 4000)]
    con.executemany("INSERT INTO adc VALUES (0, ?, 0, ?, ?)",
                    [(t, (t // 1000) % 500, 20 + (t // 1000 % 3000) / 3000) for t in times])
    con.commit()
    con.close()
    srv = subprocess.Popen(BRIDGE + ["serve", "--db", str(path), "--port", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    try:
        browser.get(served_url(srv))
        wait_for(lambda: page_value(browser, "lastBoardTime"), 30, "the points")
        assert page_value(browser, "lastBoardTime") == 3999000
        assert browser.find_element("id", "s-gaps").text == "1"
        units = browser.execute_script(
            "return [...document.querySelectorAll('.chart')].map(e => e.dataset.unit)")
        assert units == ["raw", "C"]
        browser.save_screenshot(str(tmp_path / "dashboard-gap.png"))
        keep(tmp_path / "dashboard-gap.png")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=10)


def test_a_log_appended_to_shows_its_last_run_only(browser, tmp_path):
    """Two runs of the logger in one SQLite file, each with a board clock
    from zero: the page draws the last run alone, never a line from one run
    to the other, and its rate is the last run's."""
    from hostile_support import record

    from pyb_bridge.decoder import decode
    from pyb_bridge.outputs import open_sink

    path = tmp_path / "runs.sqlite"
    for n in (3000, 1500):  # run 1: 3 s, run 2: 1.5 s, both at 1 kHz
        frames = record((("x1", "H", "raw"),), [(k % 500,) for k in range(n)], name="adc")
        with open_sink(str(path), flush_interval=0.0) as sink:
            sink.start_run(["A"])
            batches, schemas = decode(b"".join(frames))
            sink.write_all(batches, 1.0, schemas, board="A")
    srv = subprocess.Popen(BRIDGE + ["serve", "--db", str(path), "--port", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    try:
        browser.get(served_url(srv))
        wait_for(lambda: page_value(browser, "lastBoardTime"), 30, "the points")
        con = sqlite3.connect(path)
        last = con.execute("SELECT board_time_us FROM stream_1 ORDER BY rowid DESC").fetchone()
        assert page_value(browser, "lastBoardTime") == last[0] < 3000 * 1000
        assert browser.execute_script(
            "return [document.body.dataset.points, document.body.dataset.runStarts]"
        ) == ["1500", "1"]
        assert browser.find_element("id", "s-gaps").text == "0"
        assert browser.find_element("id", "s-rate").text.startswith("1000.0 Hz")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=10)
