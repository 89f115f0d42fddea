"""pyb-bridge: the host side of the board's framed stream.

    import pyb_bridge
    with pyb_bridge.connect("auto") as board:
        for reading in board.readings():
            print(reading.stream, reading.time_us, reading.values)

See docs/bridge.md; the frame format is in docs/protocol.md.
"""

__version__ = "0.1.0"


def connect(port="auto", **kwargs):
    """Open the board's stream on ``port`` (a path, ``auto`` or a pyserial
    URL); see ``pyb_bridge.link.Board``."""
    from pyb_bridge.link import Board

    return Board(port, **kwargs)
