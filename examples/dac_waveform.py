"""Waveforms on DAC1 (X5), checked on X1: wire X5 to X1.

Plays a 100 Hz sine, then a square and a ramp, each read back by the ADC.
Waveforms use the DAC's output buffer, which swings 0.2 V .. 3.1 V: the
0..3.3 V sine comes back clipped (docs/dac.md).
In the simulation the wire X5-X1 is made below.
Copy pyb_lib/ to /flash/lib/ and this file to the board, then import it.
"""

from array import array

import pyb
from pyb_lib.adc import AnalogIn
from pyb_lib.dac import AnalogOut

if hasattr(pyb, "board"):  # the simulated pyb: wire X5 to X1
    pyb.board.connect_dac(1, "X1")

out = AnalogOut(1)  # X5, 8 bits
x1 = AnalogIn("X1")
buf = array("H", [0] * 100)


def show(name):
    x1.read_timed(buf, 10000)  # 10 ms at 10 kHz
    lo, hi = min(buf), max(buf)
    print("%-8s %.2f .. %.2f V" % (name, x1.to_volts(lo), x1.to_volts(hi)))


print("sample rate", out.sine(100, samples=100), "Hz")
show("sine")
out.square(1000, samples=2, amplitude_v=1.0, offset_v=1.5)
show("square")
out.play(list(range(0, 256, 16)), 500)
show("ramp")
out.stop()
out.write_volts(1.2)
print("steady   %.2f V" % x1.volts(16))
