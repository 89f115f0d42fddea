"""The stream against print()-ed CSV lines over the virtual board's serial
link, at --link-speed usb-fs (what a PyBoard's USB port carries) and, for
comparison, unlimited (the bare pseudo-terminal).

The board sends the same N readings of four uint16 channels either as CSV
lines (one print() each) or as stream frames (Stream.send_block, 64
readings a frame); the host reads everything through the serial port with
pyserial and times it from the board's "OK" to the end marker.

    python bench/link.py [--readings N]

Prints a table; the figures are also merged into bench/results.json
(keys link_*), and the table written between the link markers of
docs/performance.md.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

from board import start_board, stop_board
from report import merge_results, write_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
END = b"\xfeEND-OF-RUN\xfe"

CSV = """
import pyb
n = %d
for i in range(n):
    v = i & 0xFFF
    print(i, v, v + 1, v + 2, v + 3, sep=',')
pyb.USB_VCP().write(%r)
"""

STREAM = """
import array, pyb
from pyb_lib.stream import Stream
n = %d
cols = [array.array('H', range(64)) for _ in range(4)]
s = Stream((('a0', 'H', 'raw'), ('a1', 'H', 'raw'), ('a2', 'H', 'raw'), ('a3', 'H', 'raw')),
           name='bench', period_us=1000)
s.start()
for k in range(n // 64):
    s.send_block(cols)
s.stop()
pyb.USB_VCP().write(%r)
"""


def run(port, src):
    """(seconds, bytes) from the board's OK to the end marker."""
    from pyb_bridge.raw_repl import start_script  # mpremote's raw REPL

    with start_script(port, src) as ser:
        ser.timeout = 1
        t0 = time.monotonic()
        data = bytearray()
        while True:
            chunk = ser.read(max(1, ser.in_waiting))
            data += chunk
            if END in data[-(len(chunk) + len(END)):]:
                break
            if time.monotonic() - t0 > 300:
                sys.exit("bench/link.py: no end marker: %r" % bytes(data[-200:]))
        seconds = time.monotonic() - t0
        if b"Traceback" in data[:200]:
            sys.exit("bench/link.py: the program failed: %r" % bytes(data[:400]))
        return seconds, data.index(END)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=20480)
    args = ap.parse_args()
    n = args.readings - args.readings % 64
    flash = tempfile.mkdtemp(prefix="bench-link-")
    results = {}
    rows = []
    try:
        shutil.copytree(os.path.join(ROOT, "pyb_lib"), os.path.join(flash, "lib", "pyb_lib"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for speed in ("usb-fs", "unlimited"):
            proc, port = start_board(flash, "--fast", "--link-speed", speed,
                                     who="bench/link.py")
            try:
                csv_s, csv_b = run(port, CSV % (n, END))
                str_s, str_b = run(port, STREAM % (n, END))
            finally:
                stop_board(proc)
            key = speed.replace("-", "_")
            results["link_%s_csv_readings_per_s" % key] = {"value": round(n / csv_s),
                                                           "unit": "readings/s"}
            results["link_%s_stream_readings_per_s" % key] = {"value": round(n / str_s),
                                                              "unit": "readings/s"}
            rows.append("| `--link-speed %s` | %.2f s, %d bytes, %.0f readings/s | "
                        "%.2f s, %d bytes, %.0f readings/s | %.1fx |"
                        % (speed, csv_s, csv_b, n / csv_s, str_s, str_b, n / str_s,
                           csv_s / str_s))
    finally:
        shutil.rmtree(flash, ignore_errors=True)

    table = "\n".join([
        "%d readings of four uint16 channels from the virtual board to the host, "
        "through its serial port (`bench/link.py`): print() CSV lines against stream "
        "frames (`Stream.send_block`, 64 readings a frame)." % n,
        "",
        "| serial link | CSV lines | stream | stream faster |",
        "|---|---|---|---:|",
    ] + rows)
    print(table)

    merge_results(results)
    write_block("link", "Stream and CSV over the virtual board's link", table)

if __name__ == "__main__":
    main()
