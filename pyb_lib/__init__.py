"""pyb_lib: PyBoard peripheral drivers on top of ``pyb``.

Import only what you use; each peripheral is its own module::

    from pyb_lib.uart import UARTPort
    from pyb_lib.i2c import I2CDevice
    from pyb_lib.spi import SPIDevice
    from pyb_lib.adc import AnalogIn
    from pyb_lib.dac import AnalogOut

Chip drivers live in ``pyb_lib.devices``.
"""

__version__ = "0.1.0"
