"""The pin map is what tools/gen_pins.py makes of MicroPython's board files."""

import os
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


def test_vendored_files_match_the_micropython_commit_they_name():
    """With MICROPYTHON_REPO set to a MicroPython git repository, the
    vendored copies are byte for byte those of the commit in data/README.md."""
    if not MIRROR:
        return
    import re

    data = os.path.join(ROOT, "host", "pyb_sim", "data")
    commit = re.search(r"`([0-9a-f]{40})`", open(os.path.join(data, "README.md")).read()).group(1)
    for name, path in (("pins.csv", "boards/PYBV11/pins.csv"),
                       ("mpconfigboard.h", "boards/PYBV11/mpconfigboard.h"),
                       ("stm32f405_af.csv", "boards/stm32f405_af.csv")):
        ref = subprocess.run(["git", "-C", MIRROR, "show", "%s:ports/stm32/%s" % (commit, path)],
                             capture_output=True, check=True).stdout
        with open(os.path.join(data, name), "rb") as f:
            assert f.read() == ref, name
