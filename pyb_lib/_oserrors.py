"""The OSErrors a working program may meet and catch: a bus transfer that
fails (a device that does not answer) and a UART that times out. Imported
at the first one, and small, so that a program that catches them does not
hold all of pyb_lib._errors."""


def bus(dev, e, mode, buf, reg):
    """OSError ``e`` of a bus transfer raised again with the same errno and a
    message naming the device ``dev``, what was done (``mode`` 0 read, 1
    write, 2 exchange, 3 scan) and the register or the byte count."""
    n = e.args[0] if e.args else 0
    if (n == 5 or n == 19) and dev._nack:  # EIO (pyb), ENODEV (machine)
        text = dev._nack
    else:  # ETIMEDOUT, EBUSY
        text = "timed out" if n == 110 else "bus busy" if n == 16 else "error %d" % n
    if reg >= 0:
        data = "register 0x%0*X" % (dev._regw, reg)
    else:
        data = "the bus" if buf is None else "%d bytes" % len(buf)
    raise OSError(n, "%s: %s %s %s" % (
        dev.name, text, ("reading", "writing", "exchanging", "scanning")[mode], data))


def wanted(name, n, got, ms):
    """UARTPort.read_exactly: fewer than ``n`` bytes came within ``ms``."""
    return OSError(110, "%s: wanted %d bytes, got %d in %d ms" % (name, n, got, ms))


def wrote(name, done, size):
    """UARTPort.write_all: the line stayed blocked after ``done`` bytes."""
    return OSError(110, "%s: wrote %d of %d bytes, then timed out" % (name, done, size))
