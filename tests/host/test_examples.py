"""Every script in examples/ on the virtual PyBoard, as a user runs it:
``pyb-bridge deploy``, then ``mpremote connect PORT run examples/X.py``; the
streaming example through ``pyb-bridge log --script``. The output is checked
against the default wiring (docs/vboard.md)."""

import os
import re
import sqlite3
import subprocess
import sys

import pytest
from vboard_support import ROOT, env, mpremote, needs_vboard, start_vboard, stop_vboard

from pyb_bridge import logdb
from pyb_sim.models.bme280 import BME280Model

pytestmark = needs_vboard
EXAMPLES = os.path.join(ROOT, "examples")
STREAM = "stream_sensors.py"


def bridge(*args, timeout=60):
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; from pyb_bridge.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, env=env(), timeout=timeout)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


@pytest.fixture(scope="module")
def flash(tmp_path_factory):
    return tmp_path_factory.mktemp("flash")


@pytest.fixture(scope="module")
def board(flash):
    """A board with free-running simulated time: pyb.delay(1000) takes no time."""
    proc, port = start_vboard(flash, "--fast")
    out = bridge("deploy", "--port", port)  # not a terminal: a line per file
    assert re.search(r"^copied  /flash/lib/pyb_lib/uart.py \(\d+ bytes\)$", out.stderr, re.M)
    assert "0 already there" in out.stdout
    yield port
    assert stop_vboard(proc) == 0


def run(port, name):
    return mpremote(port, "run", os.path.join(EXAMPLES, name)).splitlines()


def check_adc_capture(lines):
    assert lines[0] == "VDDA 3.300 V, core 25.0 C"
    rows = [re.fullmatch(r" *(\d+) ms  X1 ([\d.]+) V  X2 ([\d.]+) V", x) for x in lines[2:]]
    assert len(rows) == 34 and all(rows)
    t = {int(m[1]): float(m[2]) for m in rows}
    assert all(float(m[3]) == 0.8 for m in rows)  # the steady input
    assert 0.64 <= min(t.values()) < 0.75 and 2.55 < max(t.values()) <= 2.66  # 1.65 +- 1 V
    assert abs(t[0] - t[60]) < 0.01 and abs(t[3] - t[63]) < 0.01  # 50 Hz: a 20 ms period
    assert abs(t[0] - t[12]) > 0.4


def check_bme280_read(lines, n=10):
    m = BME280Model()  # what the model is set to; the driver's compensation gives it back
    rows = [re.fullmatch(r"([\d.]+) C  ([\d.]+) hPa  ([\d.]+) %RH", x) for x in lines]
    assert len(rows) == n and all(rows)
    for r in rows:
        assert abs(float(r[1]) - m.temperature) < 0.015
        assert abs(float(r[2]) - m.pressure / 100) < 0.1
        assert abs(float(r[3]) - m.humidity) < 0.1


def check_machine_bme280(lines):
    assert lines[0].startswith("devices: [") and "'0x76'" in lines[0], lines[0]
    check_bme280_read(lines[1:], n=5)


def check_dac_waveform(lines):
    # Waveforms run with the DAC's output buffer: 0.2 V .. VDDA - 0.2 V.
    assert lines == ["sample rate 10000 Hz",
                     "sine     0.20 .. 3.10 V",  # full scale, clipped by the buffer
                     "square   0.50 .. 2.50 V",  # 1.5 V +- 1 V
                     "ramp     0.20 .. 3.10 V",  # 0..240 of 255, clipped
                     "steady   1.20 V"]  # a single write: no buffer, any level


def check_eeprom(lines):
    assert lines == ["boot number 1", "b'last boot stored by examples/eeprom.py'"]


def check_i2c_scan(lines):
    assert lines == ["I2C(1): 2 device(s) 0x50 0x76", "I2C(2): 0 device(s) ",
                     "I2C(1) device 0x76: register 0xD0 = 0x60"]  # the BME280's chip id


def check_spi_flash(lines):
    assert lines == ["JEDEC id EF 40 18: 16384 KiB", "read back ok"]  # W25Q128


def check_spi_loopback(lines):
    assert [x.split()[0] for x in lines[:4]] == ["OK"] * 4
    assert "baudrate=328125," in lines[0] and "baudrate=21000000," in lines[3]
    assert lines[4:] == ["loopback works"]


def check_uart_loopback(lines):
    assert lines == ["echo: b'ping 0\\n'", "echo: b'ping 1\\n'", "echo: b'ping 2\\n'",
                     "partial: None", "whole: b'half a line\\n'",
                     "timeout: [Errno 110] ETIMEDOUT: UART(1): wanted 4 bytes, got 0 in 30 ms"]


CHECKS = {name[6:] + ".py": fn for name, fn in globals().items() if name.startswith("check_")}


def test_every_example_is_checked():
    have = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    assert sorted(set(have) - {STREAM}) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example(board, name):
    CHECKS[name](run(board, name))


def test_stream_sensors_through_pyb_bridge_log(tmp_path):
    """Started through the raw REPL by ``pyb-bridge log --script`` on a board
    that keeps wall-clock time; the frames it sends are decoded and stored.
    pyb_lib goes as .mpy: compiling its sources on the board takes more heap
    than the example leaves."""
    with open(os.path.join(EXAMPLES, STREAM)) as f:
        src = f.read()
    assert "duration_s = 10\n" in src
    script = tmp_path / "stream.py"
    script.write_text(src.replace("duration_s = 10\n", "duration_s = 2\n"))
    db = tmp_path / "run.db"
    proc, port = start_vboard(tmp_path / "flash")
    try:
        assert re.search(r": \d+ copied .*, 0 already there",
                         bridge("deploy", "--port", port, "--mpy", "--quiet").stdout)
        # log ends when the script has: --duration is only a deadline
        out = bridge("log", "--port", port, "--script", str(script), "--out", str(db),
                     "--duration", "300", "--quiet").stdout
    finally:
        assert stop_vboard(proc) == 0
    assert "\n  the script ended\n" in out
    counters = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", out.splitlines()[-1]))
    assert counters["crc_errors"] == 0 and counters["frames_lost"] == 0
    assert counters["frames"] > 0
    con = logdb.views(sqlite3.connect(db))
    x1 = [r[0] for r in con.execute('SELECT "x1" FROM "adc" ORDER BY rowid')]
    x2 = [r[0] for r in con.execute('SELECT "x2" FROM "adc"')]
    # 2 s at 1 kHz, all of it: readings 1 ms apart in board time
    n, t0, t1 = con.execute(
        'SELECT COUNT(*), MIN(board_time_us), MAX(board_time_us) FROM "adc"').fetchone()
    assert len(x1) == n >= 1990
    assert t1 - t0 >= (n - 1) * 1000
    assert con.execute('SELECT COUNT(DISTINCT board_time_us) FROM "adc"').fetchone()[0] == n
    assert max(x1) - min(x1) > 3000  # the DAC's full-scale 10 Hz sine on X1, 12-bit ADC
    assert 0.6 < max(x2) * 3.3 / 4095 < 2.7  # the default wiring's 5 Hz sine on X2
    env_rows = con.execute('SELECT "temperature", "pressure", "humidity" FROM "bme280"').fetchall()
    assert len(env_rows) >= 2
    t, p, h = env_rows[0]
    assert abs(t - 25.0) < 0.01 and abs(p - 101325) < 10 and abs(h - 40.0) < 0.1
