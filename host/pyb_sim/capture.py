"""What a board streams, made on the PC: pyb_lib.stream's own encoder writing
into memory, on a clock the caller sets. For tests and benchmarks of the host
side (decoder, sinks, server) that need real frames without a board::

    >>> from pyb_sim.capture import stream_bytes
    >>> data = stream_bytes((("x", "H", "raw"),), [(1,), (2,)], name="adc")
    >>> from pyb_bridge.decoder import FrameDecoder
    >>> [f.type for f in FrameDecoder().feed(data)]   # descriptor, data, status
    [1, 2, 3]

CPython only; the board code needs ``pyb`` (or ``time.ticks_us``) and
``micropython`` to import: the simulated ones stand in while it does, and
``sys.modules`` is left as it was.
"""

import sys


class Capture:
    """A byte port that keeps what is written to it in ``data``."""

    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b
        return len(b)


_BOARD_MODULES = ("pyb", "machine", "micropython")


def stream_class():
    """pyb_lib.stream.Stream, importable on CPython: when no ``pyb`` is
    there, the simulated one is installed for the import and taken out
    again, so ``sys.modules`` is left as it was found (a Stream made here
    is always given its port and clock)."""
    if "pyb" in sys.modules or "pyb_lib.stream" in sys.modules:
        from pyb_lib.stream import Stream

        return Stream
    import pyb_sim

    before = {k: sys.modules.get(k) for k in _BOARD_MODULES}
    pyb_sim.install()
    try:
        from pyb_lib.stream import Stream
    finally:
        for k, v in before.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
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
