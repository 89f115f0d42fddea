"""pyb_lib.sampler on the simulated board, decoded by pyb_bridge: the bytes
the board wrote to USB_VCP give back every sample at its time."""

import math
import os
import shutil
import subprocess
import sys

import pyb_sim
from pyb_bridge.decoder import FrameDecoder, Streams
from pyb_bridge.decoder import decode as decode_bytes
from pyb_lib.sampler import Sampler
from pyb_lib.stream import Stream

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
board = pyb_sim.board


def decode(data):
    dec = FrameDecoder()
    streams = Streams()
    batches, _ = decode_bytes(data, 997, dec, streams)
    assert dec.crc_errors == dec.frames_lost == dec.skipped_bytes == 0
    return streams, batches


def raw(fn, t_us):
    v = min(max(fn(t_us * 1000 / 1e9), 0.0), board.vdda)
    return int(v * 4095 / board.vdda + 0.5)


def sine(t):
    return 1.65 + 1.2 * math.sin(2 * math.pi * 7 * t)


def ramp(t):
    return (t * 0.3) % 3.3


def test_ten_seconds_at_1khz_decode_to_the_signals():
    board.set_analog("X1", sine)
    board.set_analog("X2", ramp)
    s = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), name="adc", period_us=1000)
    Sampler(s, ("X1", "X2"), 1000).run(10000)
    streams, batches = decode(bytes(board.usb.from_board))
    schema = streams.schemas[1]
    assert schema.names == ("x1", "x2") and schema.period_us == 1000 and schema.name == "adc"
    times = [t for b in batches for t in b.times]
    rows = [r for b in batches for r in zip(*b.columns, strict=True)]
    assert 9999 <= len(rows) <= 10001
    assert all(b - a == 1000 for a, b in zip(times, times[1:], strict=False))  # no gap
    assert rows == [(raw(sine, t), raw(ramp, t)) for t in times]
    st = streams.status[1]
    assert st.records == len(rows) and st.overruns == 0
    assert board.usb.interrupt_char == 3  # Ctrl-C restored by stop()


def test_overruns_reach_the_host_in_the_status_frame():
    board.set_analog("X1", ramp)
    s = Stream((("x1", "H", "raw"),), name="adc", period_us=500, max_latency_ms=50)
    smp = Sampler(s, ("X1",), 2000, frames=2)  # 2 x 100 records
    smp.start()
    import pyb

    pyb.delay(300)  # 600 ticks, 200 fit
    smp.poll()
    pyb.delay(100)
    smp.stop()
    streams, batches = decode(bytes(board.usb.from_board))
    times = [t for b in batches for t in b.times]
    assert len(times) == 400 and streams.status[1].overruns == 400
    gaps = [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a != 500]
    assert len(gaps) == 1 and gaps[0][1] - gaps[0][0] == 401 * 500
    rows = [r[0] for b in batches for r in zip(*b.columns, strict=True)]
    assert rows == [raw(ramp, t) for t in times]


def micropython():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


RUN_EXAMPLE = """
import sys
sys.path[:0] = [%(root)r + "/host", %(root)r]
import pyb_sim
pyb_sim.install()
g = {"__name__": "__main__"}
exec(open(%(root)r + "/examples/stream_sensors.py").read().replace(
    "duration_s = 10", "duration_s = 2"), g)
f = open(%(out)r, "wb")
f.write(pyb_sim.board.usb.from_board)
f.close()
"""


def check_example_output(data):
    streams, batches = decode(data)
    adc = [s for s in streams.schemas.values() if s.name == "adc"][0]
    env = [s for s in streams.schemas.values() if s.name == "bme280"][0]
    assert adc.names == ("x1", "x2") and env.names == ("temperature", "pressure", "humidity")
    n_adc = sum(len(b.times) for b in batches if b.schema is adc)
    envs = [r for b in batches if b.schema is env for r in zip(*b.columns, strict=True)]
    assert 1990 <= n_adc <= 2010
    assert len(envs) >= 2
    t, p, h = envs[0]
    assert -40 < t < 85 and 30000 < p < 110000 and 0 <= h <= 100
    x1 = [v for b in batches if b.schema is adc for v in b.columns[0]]
    assert max(x1) - min(x1) > 1000  # the DAC's sine looped back to X1
    assert streams.status[adc.stream_id].overruns == 0


def test_example_under_cpython_and_micropython(tmp_path):
    out = tmp_path / "cpython.bin"
    subprocess.run([sys.executable, "-c", RUN_EXAMPLE % {"root": ROOT, "out": str(out)}],
                   check=True, timeout=120)
    check_example_output(out.read_bytes())
    exe = micropython()
    assert exe, "the micropython interpreter is missing (pip install -e '.[dev]')"
    out = tmp_path / "micropython.bin"
    subprocess.run([exe, "-X", "heapsize=400K", "-c",
                    RUN_EXAMPLE % {"root": ROOT, "out": str(out)}], check=True, timeout=120)
    check_example_output(out.read_bytes())
