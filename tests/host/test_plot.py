"""pyb_bridge.plot: a panel per unit, board time on x, gaps where frames were lost."""

import math
import sqlite3

import pytest
from test_sinks import log

import pyb
from pyb_bridge.cli import main as cli_main
from pyb_bridge.decoder import FrameDecoder
from pyb_bridge.outputs import open_sink
from pyb_bridge.plot import PlotError, plot, series
from pyb_lib.stream import T_DATA, Stream
from pyb_sim.capture import Capture


class FramePort:
    """Keeps each frame the board writes (data frames leave in one write)."""

    def __init__(self):
        self.frames = []

    def write(self, b):
        self.frames.append(bytes(b))
        return len(b)


def logged(tmp_path, drop=None):
    """A log of 3000 readings at 100 µs; ``drop``: index of a data frame lost on the wire."""
    port = FramePort()
    with Stream((("x", "H", "raw"), ("y", "h", "mV")), port, name="adc", period_us=100,
                frame_bytes=256) as s:
        for k in range(3000):
            s.add(k, -k)
            pyb.udelay(100)  # readings taken every 100 µs of board time
    frames = port.frames
    if drop is not None:
        data_frames = [i for i, f in enumerate(frames)
                       if [x.type for x in FrameDecoder().feed(f, final=True)] == [T_DATA]]
        del frames[data_frames[drop]]
    path = str(tmp_path / "log.sqlite")
    log(b"".join(frames), open_sink(path))
    return path


def test_one_panel_per_unit_and_every_channel_drawn(tmp_path):
    path = logged(tmp_path)
    out = tmp_path / "out.png"
    drawn = plot(path, str(out))
    assert sorted(drawn) == ["adc.x", "adc.y"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lost_frames_leave_a_gap(tmp_path):
    path = logged(tmp_path, drop=3)
    db = sqlite3.connect(path)
    xs, ys = series(db, "stream_1", "ch0")
    gaps = [i for i, y in enumerate(ys) if y is None]
    assert len(gaps) == 1
    # the gap sits between the rows before and after the missing frame
    i = gaps[0]
    assert ys[i - 1] + 1 < ys[i + 1]
    assert xs[i - 1] < xs[i] < xs[i + 1]
    (tmp_path / "full").mkdir()
    full = logged(tmp_path / "full")
    assert None not in series(sqlite3.connect(full), "stream_1", "ch0")[1]


def test_channel_selection_and_since(tmp_path):
    path = logged(tmp_path)
    assert plot(path, str(tmp_path / "a.png"), channels=["x"]) == ["adc.x"]
    # named as the plot labels it, too
    assert plot(path, str(tmp_path / "a.png"), channels=["adc.y"]) == ["adc.y"]
    assert cli_main(["plot", path, "-o", str(tmp_path / "b.png"), "--channels", "adc.x,y"]) == 0
    xs, _ = series(sqlite3.connect(path), "stream_1", "ch0", since_s=0.1)
    assert xs and min(xs) >= 0.1


def test_unknown_channel_names_what_there_is(tmp_path):
    path = logged(tmp_path)
    with pytest.raises(PlotError, match="no channel nope .*it has: adc.x, adc.y"):
        plot(path, str(tmp_path / "a.png"), channels=["nope"])


def test_a_file_that_is_not_a_log(tmp_path, capsys):
    bad = tmp_path / "x.sqlite"
    sqlite3.connect(str(bad)).execute("CREATE TABLE t (a)")
    assert cli_main(["plot", str(bad), "-o", str(tmp_path / "o.png")]) == 2
    assert "not a pyb-bridge SQLite log" in capsys.readouterr().err
    assert cli_main(["plot", str(tmp_path / "missing.sqlite")]) == 2


def test_float_channels_plot_as_numbers(tmp_path):
    port = Capture()
    with Stream((("v", "f", "V"),), port, name="volts", period_us=1000) as s:
        for k in range(500):
            s.add(math.sin(k / 50))
    path = str(tmp_path / "f.sqlite")
    log(bytes(port.data), open_sink(path))
    assert plot(path, str(tmp_path / "f.png")) == ["volts.v"]
