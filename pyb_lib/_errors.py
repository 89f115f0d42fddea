"""The error messages of the peripheral modules, imported at the first
error (through ``pyb_lib._check``): a program that makes no mistake never
holds their text. The modules name a message by its number in ``TEXT``.
The errors a working program may meet and catch (a device that does not
answer, a UART timeout) are made by the smaller ``pyb_lib._oserrors``."""

TEXT = (
    "%s must be one of %s, not %r",  # 0: _new.one_of
    "%s is %s's %s; %s %s",  # 1: _new.take
    "%s bus must be 1, 2, 'X' or 'Y', not %s",  # 2: _bus
    "%s bus %r doesn't exist; use 1, 2, 'X' or 'Y'",  # 3
    "bits shift %r width %r do not fit in 8 bits",  # 4
    "data must be bytes-like, not %s",  # 5
    "need a writable buffer (bytearray, memoryview, array), not %s",  # 6
    "empty buffer",  # 7
    "address outside 0x08..0x77",  # 8: i2c
    "no pyb on this board: pass i2c=machine.I2C(...)",  # 9
    "no pyb on this board: pass spi=machine.SPI(...) and cs=machine.Pin(...)",  # 10: spi
    "already in a transaction",  # 11
    "readinto outside a transaction; use 'with dev:'",  # 12
    "write outside a transaction; use 'with dev:'",  # 13
    "write_readinto outside a transaction; use 'with dev:'",  # 14
    "write_readinto needs buffers of the same length, got %d and %d",  # 15
    "UART(%r) doesn't exist; valid buses: 1, 2, 3, 4, 6, 'XA', 'XB', 'YA', 'YB'",  # 16: uart
    "bits without parity",  # 17
    "parity (0 even, 1 odd)",  # 18
    "bits with parity",  # 19
    "flow (UART.RTS, UART.CTS)",  # 20
    "%s has no RTS/CTS pins; flow control needs UART 2 or 3",  # 21
    "delimiter must be an int or 1 byte",  # 22
    "line longer than the %d-byte buffer (linebuf)",  # 23
    "pin %s has no ADC (%s); analog pins: X1-X8, X11, X12, X19-X22, Y11, Y12",  # 24: adc
    "DAC(%r) doesn't exist; channels: 1 (X5), 2 (X6)",  # 25: dac
    "device address",  # 26: i2c
)


def make(exc, name, n, args):
    """``exc("name: text % args")`` (no prefix when ``name`` is empty), text
    being message ``n`` or ``n`` itself (a str)."""
    text = (TEXT[n] if type(n) is int else n) % args
    if name:
        text = "%s: %s" % (name, text)
    return exc(text)


def check(name, key, value, low, high, text, real):
    """pyb_lib._check.check once its quick test has failed: ``value`` if it
    passes after all (a NaN with no upper bound), else the error raised."""
    if type(key) is int:
        key = TEXT[key]
    t = type(value)
    if t is not int and (not real or t is not float):
        raise make(TypeError, name, "%s must be an int%s, not %s",
                   (key, " or a float" if real else "", t.__name__))
    if high is None:
        if value < low:
            raise make(ValueError, name, "%s must be >= %s, not %s", (key, low, value))
    elif not low <= value <= high:
        raise make(ValueError, name, "%s %s out of range %s..%s%s", (key, value, low, high, text))
    return value


def one_of(name, key, value, args):
    """The error of pyb_lib._new.one_of."""
    return make(ValueError if value is None or type(value) is int else TypeError, name, 0,
                (TEXT[key] if type(key) is int else key, args, value))


def taken(pin, h, owner, role):
    """The error of pyb_lib._new.take: ``pin`` is held as ``h``."""
    return ValueError(TEXT[1] % (pin, h[0], h[1], owner, "drives " + pin if role == "output"
                                 else "uses %s as %s" % (pin, role)))


def register(dev, reg, value, low, high):
    """The error of RegisterDevice._reg (pyb_lib._bus): a bad register
    number, or a ``value`` outside ``low..high`` for it."""
    check(dev.name, "register", reg, 0, (1 << (dev._regw << 2)) - 1, "", False)
    check(dev.name, "value", value, low, high, " for register 0x%0*X" % (dev._regw, reg), False)
