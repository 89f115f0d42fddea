"""The pin map is what tools/gen_pins.py makes of MicroPython's board files."""

import hashlib
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIRROR = os.environ.get("MICROPYTHON_REPO", "")


def test_pins_py_is_generated_from_the_vendored_board_files():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_pins.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_generated_tables():
    from pyb_sim import pins

    assert pins.BOARD_PINS["X19"] == "C0" and pins.BOARD_PINS["Y12"] == "B1"
    assert pins.ADC_CHANNELS["C0"] == 10 and "B6" not in pins.ADC_CHANNELS
    assert pins.I2C_PINS == {1: ("B6", "B7"), 2: ("B10", "B11")}
    assert pins.SPI_PINS[2] == ("B12", "B13", "B14", "B15")
    assert pins.UART_NAMES == {"XB": 1, "YB": 3, "XA": 4, "YA": 6}
    assert pins.LED_PINS == ("A13", "A14", "A15", "B4") and pins.SWITCH_PIN == "B3"
    assert len(pins.AF_CONSTS) == 25


def blob_id(data):
    """The id git gives a file of these bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_vendored_files_are_the_upstream_blobs_they_name():
    """Each vendored copy is byte for byte the MicroPython file whose git
    blob id data/README.md records. With MICROPYTHON_REPO set to a clone of
    MicroPython, the recorded ids are also checked against that commit."""
    data = os.path.join(ROOT, "host", "pyb_sim", "data")
    readme = open(os.path.join(data, "README.md")).read()
    commit = re.search(r"at commit\s+`([0-9a-f]{40})`", readme).group(1)
    rows = re.findall(r"^\| `([^`]+)` \| `(ports/stm32/[^`]+)` \| `([0-9a-f]{40})` \|$",
                      readme, re.M)
    assert sorted(r[0] for r in rows) == ["mpconfigboard.h", "pins.csv", "stm32f405_af.csv"]
    for name, path, blob in rows:
        with open(os.path.join(data, name), "rb") as f:
            assert blob_id(f.read()) == blob, name
        if MIRROR:
            tree = subprocess.run(["git", "-C", MIRROR, "ls-tree", commit, path],
                                  capture_output=True, text=True, check=True).stdout
            assert tree.split()[2] == blob, (path, tree)
