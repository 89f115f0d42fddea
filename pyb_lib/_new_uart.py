"""UARTPort.__init__, run once per object through ``pyb_lib._check.make``
(see ``pyb_lib._new``)."""

from pyb_lib._check import check, err
from pyb_lib._new import one_of, take


def make(self, pyb, bus, baudrate, bits, parity, stop, flow, timeout, timeout_char,
         rxbuf, linebuf):
    """UARTPort.__init__."""
    n = bus
    if isinstance(bus, str):  # 'XB' 1, 'YB' 3, 'XA' 4, 'YA' 6
        i = "XBYBXAYA".find(bus) if len(bus) == 2 else 1
        n = 0 if i & 1 else (1, 3, 4, 6)[i >> 1]
    if type(n) is not int or not 0 < n < 7 or n == 5:
        raise err(ValueError if type(n) is int else TypeError, "", 16, bus)
    self.bus = n
    self.name = name = "UART(%d)" % n
    # 16x oversampling from APB2 (84 MHz) for UART1/6, APB1 (42 MHz) otherwise.
    k = 2 if n == 1 or n == 6 else 1
    check(name, "baudrate", baudrate, 650 * k, 2625000 * k)
    if parity is None:
        one_of(name, 17, bits, (8, 9))  # "bits without parity"
    else:
        one_of(name, 18, parity, (0, 1))  # "parity (0 even, 1 odd)"
        one_of(name, 19, bits, (7, 8))  # "bits with parity"
    one_of(name, "stop", stop, (1, 2))
    one_of(name, 20, flow, (0, 256, 512, 768))  # "flow (UART.RTS, UART.CTS)"
    check(name, "timeout", timeout, 0)
    check(name, "timeout_char", timeout_char, 0)
    check(name, "rxbuf", rxbuf, 0)
    check(name, "linebuf", linebuf, 1)
    # TX, RX, RTS, CTS (boards/PYBV11/mpconfigboard.h, pins.csv): only
    # UART 2 and 3 have RTS/CTS pins.
    p = "X9,X10|X3,X4,X2,X1|Y9,Y10,Y7,Y6|X1,X2||Y1,Y2".split("|")[n - 1].split(",")
    if flow and len(p) < 4:
        raise err(ValueError, "", 21, name)
    pins = p[0] + "," + p[1]
    roles = "TX,RX"
    if flow & 256:  # UART.RTS (ports/stm32/uart.h)
        pins += "," + p[2]
        roles += ",RTS"
    if flow & 512:  # UART.CTS
        pins += "," + p[3]
        roles += ",CTS"
    take(pins, name, roles)
    self._pins = pins
    self.timeout = timeout
    self._hw = pyb.UART(n, baudrate, bits, parity, stop, timeout=timeout,
                        flow=flow, timeout_char=timeout_char, read_buf_len=rxbuf)
    self._buf = bytearray(linebuf)
    self._mv = memoryview(self._buf)
    self._start = 0  # buffered bytes are _buf[_start:_end]
    self._end = 0
    self._scanned = 0  # _buf[_start:_scanned] holds no delimiter
    self._skip = False  # dropping the rest of a line that was too long
