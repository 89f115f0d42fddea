"""One clock on the virtual board: time.sleep*/ticks_*/time()/localtime/
mktime, utime, pyb.delay/millis/micros/elapsed_*, pyb.RTC and machine.RTC
all read and move the board's clock, with the board's 2000 epoch; drivers
that wait with time.sleep_ms see their device finish."""

import json
import os

import pytest
from vboard_support import board_exec as run
from vboard_support import mpremote, needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard
DRIVERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drivers")


@pytest.fixture(scope="module", params=["--fast", "realtime"])
def board(request, tmp_path_factory):
    top = tmp_path_factory.mktemp("clock")
    wiring = top / "wiring.json"
    wiring.write_text(json.dumps({"i2c": [
        {"bus": 1, "model": "bme280.BME280Model",
         "args": {"address": 118, "temperature": 21.5, "pressure": 98765.0, "humidity": 55.0}},
        {"bus": 1, "model": "at24c.AT24CModel", "args": {"address": 80}}]}))
    flash = top / "flash"
    flash.mkdir()
    args = ["--wiring", str(wiring)] + ([request.param] if request.param == "--fast" else [])
    proc, port = start_vboard(flash, *args)
    yield port, request.param
    assert stop_vboard(proc) == 0


def test_sleep_moves_the_one_clock(board):
    port, mode = board
    out = run(port, "import time, utime, pyb\n"
                    "t = time.ticks_ms(); u = time.ticks_us(); m = pyb.millis(); s = time.time()\n"
                    "time.sleep_ms(250); time.sleep_us(50000); time.sleep(0.2); pyb.delay(100)\n"
                    "print(time.ticks_diff(time.ticks_ms(), t), time.ticks_diff(time.ticks_us(), u)"
                    " // 1000, pyb.elapsed_millis(m), time.time() - s, utime is time)\n")
    ms, us, el, secs, same = out.split()
    if mode == "--fast":  # nothing else moves the clock
        assert (ms, us, el) == ("600", "600", "600")
    else:  # the wall clock also moves while the lines run
        assert int(ms) >= 600 and int(us) >= 600 and int(el) >= 600
    assert int(secs) >= 0 and same == "True"


def test_ticks_are_the_boards_30_bit_ticks(board):
    out = run(board[0], "import time\n"
                        "print(time.ticks_add(0x3fffffff, 1), time.ticks_diff(0, 0x3fffffff),"
                        " time.ticks_ms() < 0x40000000)\n"
                        "try:\n    time.ticks_add(0, 1 << 29)\nexcept OverflowError as e:\n"
                        "    print(e)\n")
    assert out == "0 1 True\nticks interval overflow"


def test_the_2000_epoch_and_the_fresh_rtc(board):
    out = run(board[0], "import time, pyb, machine\n"
                        "print(time.gmtime(0), time.localtime(0) == time.gmtime(0))\n"
                        "print(time.mktime((2024, 2, 29, 12, 0, 0, 0, 0)),"
                        " time.localtime(time.mktime((2024, 14, 1, 0, 0, 0, 0, 0)))[:3])\n"
                        "print(time.localtime()[:3], pyb.RTC().datetime()[:4],"
                        " machine.RTC is pyb.RTC)\n")
    assert out.split("\n") == [
        "(2000, 1, 1, 0, 0, 0, 5, 1) True",
        "762523200 (2025, 2, 1)",
        "(2015, 1, 1) (2015, 1, 1, 4) True"]


def test_setting_the_rtc_sets_time(board):
    out = run(board[0], "import time, pyb\nr = pyb.RTC()\n"
                        "r.datetime((2026, 12, 3, 4, 18, 30, 0, 0))\n"
                        "print(r.datetime()[:7], time.localtime()[:6])\n"
                        "time.sleep(2)\n"
                        "print(time.localtime()[3:6],"
                        " time.time() - time.mktime((2026, 12, 3, 18, 30, 0, 0, 0)))\n"
                        ).split("\n")
    assert out[0] == "(2026, 12, 3, 4, 18, 30, 0) (2026, 12, 3, 18, 30, 0)"
    if board[1] == "--fast":
        assert out[1] == "(18, 30, 2) 2"
    else:  # 2 s and the time the lines take
        secs = int(out[1].rsplit(" ", 1)[1])
        assert 2 <= secs < 60 and out[1] == "(18, 30, %d) %d" % (secs, secs)


def test_a_driver_that_sleeps_through_the_conversion(board):
    port = board[0]
    mpremote(port, "fs", "cp", os.path.join(DRIVERS, "bme280_sleep.py"), ":bme280_sleep.py")
    out = run(port, "from bme280_sleep import BME280\nimport time\n"
                    "s = BME280()\nt0 = time.ticks_ms()\nt, p, h = s.values()\n"
                    "print('%.2f %.0f %.1f' % (t, p, h),"
                    " time.ticks_diff(time.ticks_ms(), t0) >= 10)\n")
    assert out == "21.50 98765 55.0 True"


def test_an_eeprom_driver_that_sleeps_through_the_write_cycle(board):
    port = board[0]
    mpremote(port, "fs", "cp", os.path.join(DRIVERS, "eeprom_sleep.py"), ":eeprom_sleep.py")
    out = run(port, "from eeprom_sleep import EEPROM\n"
                    "e = EEPROM()\ndata = bytes(range(200))\ne.write(0x1F0, data)\n"
                    "print(e.read(0x1F0, 200) == data)\n")
    assert out == "True"
