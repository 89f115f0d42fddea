"""AnalogIn.__init__, run once per object through ``pyb_lib._check.make``
(see ``pyb_lib._new``)."""

from pyb_lib._check import err, give
from pyb_lib._new import take


def make(self, pyb, machine, pin):
    """AnalogIn.__init__."""
    # the board name the pin is held under (pyb_lib._check.held)
    name = pin if isinstance(pin, str) else pin.names()[-1] if hasattr(pin, "names") else ""
    if name:
        take(name, "AnalogIn(%s)" % name, "analog input")
    try:
        self._hw = pyb.ADC(pin)  # timed capture
        # single reads: machine.ADC leaves the ADC on between reads, where
        # pyb.ADC.read turns it on each time and waits ~30 us for it to settle
        u16 = machine.ADC(pin).read_u16
    except ValueError as e:
        give(name, "AnalogIn(%s)" % name)
        raise err(ValueError, "", 24, pin, e)
    self.pin = pin
    self._name = name
    self.calibrate()
    return u16  # AnalogIn._u16
