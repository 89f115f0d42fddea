"""A simulated PyBoard v1.1: the ``pyb`` module and the hardware behind it.

Use it to run device code without a board, on CPython or on the
MicroPython unix port::

    import pyb_sim
    pyb_sim.install()          # ``import pyb`` now gives the simulation
    from pyb_sim import board  # the wiring, the clock, the recorded outputs

See docs/testing.md.
"""

import sys

from pyb_sim.board import Board

board = Board()


def install():
    """Make ``pyb`` (and, on CPython, ``micropython``) importable; return pyb."""
    from pyb_sim import pyb

    pyb._bind(board)
    sys.modules["pyb"] = pyb
    if sys.implementation.name != "micropython" and "micropython" not in sys.modules:
        from pyb_sim import micropython

        sys.modules["micropython"] = micropython
    return pyb


def reset():
    """Power-cycle the simulated board: time 0, nothing wired."""
    board.reset()
    return board
