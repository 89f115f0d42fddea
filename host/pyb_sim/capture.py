"""What a board streams, made on the PC: pyb_lib.stream's own encoder writing
into memory, on a clock the caller sets. For tests and benchmarks of the host
side (decoder, sinks, server) that need real frames without a board::

    >>> from pyb_sim.capture import stream_bytes
    >>> data = stream_bytes((("x", "H", "raw"),), [(1,), (2,)], name="adc")
    >>> from pyb_bridge.decoder import FrameDecoder
    >>> [f.type for f in FrameDecoder().feed(data)]   # descriptor, data, status
    [1, 2, 3]

CPython only; the board code needs ``pyb`` (or ``time.ticks_us``) and
``micropython``: the simulated ones are installed when there are none.
"""

import sys


class Capture:
    """A byte port that keeps what is written to it in ``data``."""

    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b
        return len(b)


def stream_class():
    """pyb_lib.stream.Stream, importable on CPython (the simulated pyb is
    installed first if no pyb is there)."""
    if "pyb" not in sys.modules:
        import pyb_sim

        pyb_sim.install()
    from pyb_lib.stream import Stream

    return Stream


def stream_bytes(channels, rows, *, period_us=1000, times=None, **stream_args):
    """The bytes a board's ``Stream(channels, ...)`` sends for ``rows`` (the
    values of one reading each): its descriptor, data frames and closing
    status frame. Reading ``k`` is taken at ``times[k]`` µs of board time
    (default ``k * period_us``; ``k`` ms when ``period_us`` is 0).
    ``stream_args`` go to Stream (``name``, ``frame_bytes``, ...)."""
    port = Capture()
    step = period_us or 1000
    now = [0]
    s = stream_class()(channels, port, period_us=period_us, clock=lambda: now[0],
                       **stream_args)
    s.start()
    for k, row in enumerate(rows):
        now[0] = times[k] if times is not None else k * step
        s.add(*row)
    s.stop()
    return bytes(port.data)
