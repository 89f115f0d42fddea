"""The command line: ``pyb-bridge demo --serve PORT`` prints the dashboard's
URL and serves the log while it is written; ``pyb-bridge serve`` errors."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from vboard_support import needs_vboard

BIN = os.path.dirname(sys.executable)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_vboard
def test_demo_serves_while_it_logs(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [os.path.join(BIN, "pyb-bridge"), "demo", "--serve", str(port), "--seconds", "3",
         "--out", str(tmp_path / "demo.sqlite"), "--png", str(tmp_path / "demo.png")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
    lines = []
    url = None
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"dashboard while logging: (http://127\.0\.0\.1:\d+/)", line)
        if m:
            url = m.group(1)
            break
    assert url == "http://127.0.0.1:%d/" % port, "".join(lines)
    streams = []
    end = time.monotonic() + 30
    while not streams and time.monotonic() < end:  # until the board's descriptors came
        try:
            with urllib.request.urlopen(url + "api/streams", timeout=5) as r:
                streams = [s["stream"] for s in json.load(r)["streams"]]
        except OSError:
            pass
        time.sleep(0.2)
    with urllib.request.urlopen(url, timeout=5) as r:
        assert b"dashboard.js" in r.read()
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "adc" in streams
    assert "pyb-bridge log: serving %s at %s" % (tmp_path / "demo.sqlite", url) in rest
    assert "demo done" in rest


def test_serve_errors(tmp_path):
    exe = os.path.join(BIN, "pyb-bridge")
    out = subprocess.run([exe, "serve", "--db", str(tmp_path / "none.sqlite")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "no such file" in out.stderr
    with socket.socket() as s:  # a port in use
        s.bind(("127.0.0.1", 0))
        s.listen()
        db = tmp_path / "log.sqlite"
        db.write_bytes(b"")
        out = subprocess.run([exe, "serve", "--db", str(db), "--port",
                              str(s.getsockname()[1])], capture_output=True, text=True,
                             timeout=30)
    assert out.returncode == 1 and "cannot listen" in out.stderr


def test_log_serve_needs_a_sqlite_out(tmp_path):
    out = subprocess.run([os.path.join(BIN, "pyb-bridge"), "log", "--port", "loop://",
                          "--out", str(tmp_path / "run.csv"), "--serve", "--duration", "0.2",
                          "--quiet"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "--serve needs a SQLite --out" in out.stderr
