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
    """Make ``pyb`` and ``machine`` (and, on CPython, ``micropython``)
    importable; return pyb. On the MicroPython unix port an entry in
    sys.modules wins over its own built-in ``machine``."""
    from pyb_sim import pyb

    pyb._bind(board)
    sys.modules["pyb"] = pyb
    sys.modules["machine"] = _Machine()
    if sys.implementation.name != "micropython" and "micropython" not in sys.modules:
        from pyb_sim import micropython

        sys.modules["micropython"] = micropython
    return pyb


class _Machine:
    """``machine``, loaded on first use (it costs heap the device code would
    otherwise have): attribute reads load pyb_sim.machine and replace this
    stand-in in sys.modules."""

    def __getattr__(self, name):
        if name == "ADC":  # pyb_lib.adc's, on every board: a small module
            from pyb_sim.machine_adc import ADC

            self.ADC = ADC
            return ADC
        from pyb_sim import machine

        sys.modules["machine"] = machine
        return getattr(machine, name)


def reset():
    """Power-cycle the simulated board: time 0, nothing wired. As a board's
    reset clears its RAM, pyb_lib's record of the pins its objects hold
    (pyb_lib._check.held) is cleared too."""
    board.reset()
    check = sys.modules.get("pyb_lib._check")
    if check is not None:
        check.held.clear()
    return board
