"""pyb-bridge: the host side of the board's framed stream.

    import pyb_bridge
    with pyb_bridge.connect("auto") as board:
        for reading in board.readings():
            print(reading.stream, reading.time_us, reading.values)

See docs/bridge.md; the frame format is in docs/protocol.md.
"""

# One version for the host tools and the board library they deploy and
# decode: pyb_lib/__init__.py holds it (setup.cfg and package.json follow).
from pyb_lib import __version__ as __version__


def connect(port="auto", **kwargs):
    """Open the board's stream on ``port`` (a path, ``auto`` or a pyserial
    URL); see ``pyb_bridge.link.Board``."""
    from pyb_bridge.link import Board

    return Board(port, **kwargs)
