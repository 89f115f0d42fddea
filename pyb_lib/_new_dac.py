"""AnalogOut.__init__, run once per object through ``pyb_lib._check.make``
(see ``pyb_lib._new``)."""

from pyb_lib._check import check, err
from pyb_lib._new import one_of, take


def make(self, pyb, array, channel, bits, vref, max_samples, timer_id):
    """AnalogOut.__init__."""
    if type(channel) is not int or channel not in (1, 2):
        raise err(ValueError if type(channel) is int else TypeError, "", 25, channel)
    self.name = name = "DAC(%d)" % channel
    one_of(name, "bits", bits, (8, 12))
    if timer_id is None:
        timer_id = 6 + channel
    one_of(name, "timer_id", timer_id, (2, 4, 5, 6, 7, 8))  # timers that trigger the DAC
    check(name, "max_samples", max_samples, 2)
    self.channel = channel
    self.bits = bits
    self.full = 255 if bits == 8 else 4095
    self.vref = check(name, "vref", vref, 0, None, "", True)
    self._n = 0  # samples of the waveform playing; 0: none plays
    self._wave = bytearray(max_samples) if bits == 8 else array("H", [0] * max_samples)
    take("X%d" % (4 + channel), name, "output")  # DAC(1) on X5, DAC(2) on X6
    self._hw = pyb.DAC(channel, bits=bits)
    return timer_id  # AnalogOut._timer: the id; the pyb.Timer once a waveform has played
