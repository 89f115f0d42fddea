"""Capture an analog signal: X1 and X2 sampled together at 1 kHz for 100 ms.

Wire a signal (0..3.3 V) to X1 and X2; with nothing wired the inputs float.
In the simulation, X1 gets a 50 Hz sine and X2 a steady 0.8 V.
Copy pyb_lib/ to /flash/lib/ and this file to the board, then import it.
"""

from array import array

import pyb
from pyb_lib import adc
from pyb_lib.adc import AnalogIn, read_timed_multi

if hasattr(pyb, "board"):  # the simulated pyb: apply test signals
    import math

    pyb.board.set_analog("X1", lambda t: 1.65 + 1.0 * math.sin(2 * math.pi * 50 * t))
    pyb.board.set_analog("X2", 0.8)

x1, x2 = AnalogIn("X1"), AnalogIn("X2")
print("VDDA %.3f V, core %.1f C" % (x1.vdda, adc.temperature()))
print("X1 %.3f V (mean of 64)" % x1.volts(64))

inputs = (x1, x2)
bufs = (array("H", [0] * 100), array("H", [0] * 100))
read_timed_multi(inputs, bufs, 1000)  # 100 samples each at 1 kHz
for i in range(0, 100, 3):
    print("%3d ms  X1 %.3f V  X2 %.3f V" % (i, x1.to_volts(bufs[0][i]), x2.to_volts(bufs[1][i])))
