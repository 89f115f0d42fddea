"""pyb_sim.capture: the frames pyb_lib.stream makes, on the PC, for host tests."""

from pyb_bridge.decoder import T_DATA, FrameDecoder, Streams
from pyb_sim.capture import Capture, stream_bytes


def test_stream_bytes_decode_to_the_rows_and_times_given():
    rows = [(k, -k) for k in range(500)]
    times = [10_000 + 3 * k for k in range(500)]
    data = stream_bytes((("x", "H", "raw"), ("y", "h", "mV")), rows, name="cap",
                        period_us=0, times=times, frame_bytes=128)
    frames = FrameDecoder().feed(data)
    assert frames[0].type == 1 and sum(f.type == T_DATA for f in frames) > 1
    batches, schemas = Streams().feed(frames)
    assert [s.name for s in schemas] == ["cap"]
    got = [(t, x, y) for b in batches for t, x, y in zip(b.times, *b.columns, strict=True)]
    assert got == [(t, x, y) for t, (x, y) in zip(times, rows, strict=True)]


def test_capture_keeps_every_write():
    port = Capture()
    assert port.write(b"ab") == 2 and port.write(bytearray(b"c")) == 1
    assert port.data == b"abc"


def test_capture_leaves_sys_modules_as_it_found_them():
    """A host program that captures frames gets no simulated ``pyb`` or
    ``machine`` put into its ``sys.modules``."""
    import subprocess
    import sys

    from vboard_support import env

    code = ("import sys\n"
            "from pyb_sim.capture import stream_bytes\n"
            "data = stream_bytes(((\"x\", \"H\", \"\"),), [(1,), (2,)])\n"
            "print(len(data) > 0, [m for m in ('pyb', 'machine', 'micropython') "
            "if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env(), timeout=60)
    assert out.stdout.strip() == "True []", out.stderr
