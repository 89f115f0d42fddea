"""Soak (not in CI): a virtual PyBoard at ``--link-speed usb-fs`` streams
for ``--minutes`` (default 10) at the highest rate its USB full-speed link
carries without loss (``Stream.send_block``: the board waits while the link
is full, so it sends exactly as fast as the link and the host take it), and
``pyb-bridge log`` writes every reading to SQLite. Reports the bridge's
resident memory (RSS) at the start and at the end of streaming (bar: growth
under 10%) and the rows lost (bar: 0; every row is checked against what the
board sent, as in bench/e2e.py).

    python bench/soak.py [--minutes M]

The SQLite file (about 3.5 GB for 10 minutes) goes to a temporary folder
and is removed at the end.
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e  # noqa: E402

WARMUP_S = 10  # the "start" figure: the first sample this long after the bridge started
EVERY_S = 5


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class RssWatch(threading.Thread):
    def __init__(self, proc, seconds):
        super().__init__(daemon=True)
        self.proc = proc
        self.seconds = seconds
        self.samples = []  # (seconds since start, kB)

    def run(self):
        t0 = time.monotonic()
        while self.proc.poll() is None:
            t = time.monotonic() - t0
            kb = rss_kb(self.proc.pid)
            if kb is not None and t <= self.seconds:  # while the board streams
                self.samples.append((t, kb))
            time.sleep(EVERY_S if t >= 1 else 0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    seconds = args.minutes * 60
    flash = e2e.make_flash()
    tmp = tempfile.mkdtemp(prefix="bench-soak-")
    watch = []

    def on_start(proc):
        w = RssWatch(proc, seconds)
        w.start()
        watch.append(w)
        return w

    print("soak: streaming for %.1f min at usb-fs ..." % args.minutes, flush=True)
    try:
        r = e2e.run_stream(flash, seconds, tmp, on_start=on_start)
    finally:
        shutil.rmtree(flash, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    w = watch[0]
    w.join(timeout=10)
    steady = [s for s in w.samples if s[0] >= WARMUP_S] or w.samples
    if not steady:
        sys.exit("bench/soak.py: no RSS samples of the bridge")
    (t_a, rss_a), (t_b, rss_b) = steady[0], steady[-1]
    peak = max(kb for _, kb in w.samples)
    growth = (rss_b - rss_a) / rss_a
    rate = r["rows"] / r["seconds"] if r["seconds"] else 0.0
    lost = r["problems"]
    ok_rss = growth < 0.10
    print("soak: %.1f min, %d readings in SQLite, %.0f readings/s (%.0f%% of the usb-fs "
          "ceiling at %.2f bytes a reading), lost: %s"
          % (args.minutes, r["rows"], rate,
             100 * rate * r["bytes"] / r["rows"] / e2e.USB_FS_BYTES_PER_S if r["rows"] else 0,
             r["bytes"] / r["rows"] if r["rows"] else 0, "; ".join(lost) if lost else "0"))
    print("soak: bridge RSS %.1f MB at %.0f s, %.1f MB at %.0f s (%+.1f%%), peak %.1f MB"
          % (rss_a / 1024, t_a, rss_b / 1024, t_b, 100 * growth, peak / 1024))
    print("soak: bars: RSS growth < 10%%: %s; rows lost 0: %s"
          % ("met" if ok_rss else "NOT MET", "met" if not lost else "NOT MET"))
    return 0 if ok_rss and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
