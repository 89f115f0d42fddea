"""Stream two analog inputs at 1 kHz and a BME280 once a second over USB.

Wiring: BME280 on I2C(1) (SCL X9, SDA X10, SDO to GND: address 0x76); DAC1
(X5) wired to X1, where it plays a 10 Hz sine; any 0..3.3 V signal on X2.
On the simulated board (and the virtual board) the same wiring is made in
software. Log it on the PC with ``pyb-bridge log --port auto --out run.db``.

The ADC pins are read in a Timer callback (pyb_lib.sampler) into a stream
of two uint16 channels, "adc"; the BME280, which allocates and takes a few
milliseconds over I2C, is read in the main loop into a second stream,
"bme280". Runs for ``duration_s`` seconds, then stops (status frames sent,
Ctrl-C restored).
"""

import pyb
from pyb_lib.dac import AnalogOut
from pyb_lib.devices.bme280 import BME280
from pyb_lib.sampler import Sampler
from pyb_lib.stream import Stream

duration_s = 10

if hasattr(pyb, "board") and 0x76 not in pyb.board.i2c_devices[1]:
    # The simulated pyb without the virtual board's wiring: make it here.
    from pyb_sim.models.bme280 import BME280Model

    pyb.board.attach_i2c(1, BME280Model(address=0x76, temperature=22.5, humidity=45.0))
    pyb.board.connect_dac(1, "X1")
    pyb.board.set_analog("X2", lambda t: 0.8 + 0.1 * (t % 1.0))

dac = AnalogOut(1)
dac.sine(10, samples=64)  # 10 Hz, 0..3.3 V, played by DMA

bme = BME280(1, 0x76)
adc = Stream((("x1", "H", "raw"), ("x2", "H", "raw")), name="adc", stream_id=1,
             period_us=1000)
env = Stream((("temperature", "f", "C"), ("pressure", "f", "Pa"), ("humidity", "f", "%RH")),
             name="bme280", stream_id=2, max_latency_ms=10)
sampler = Sampler(adc, ("X1", "X2"), 1000, slow_stream=env, slow_read=bme.read, slow_ms=1000)
try:
    sampler.run(duration_s * 1000)
finally:
    dac.stop()
