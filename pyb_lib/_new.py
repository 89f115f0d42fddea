"""What the peripheral constructors share: argument checks and taking the
board pins. Like the constructors' own modules (``pyb_lib._new_uart``,
``_new_i2c``, ...), it is in the heap only while an object is being made:
``pyb_lib._check.make`` imports them, calls the constructor's ``make`` and
drops them again.
"""

from pyb_lib._check import err, held


def one_of(name, key, value, args):
    """``value`` if it is one of the tuple ``args`` (ints or None; a bool or
    a float is not an int here); ValueError, or TypeError for a value of
    another type, naming ``key`` (a str, or a message number) otherwise."""
    for a in args:
        if value is a or (type(value) is type(a) and value == a):
            return value
    import pyb_lib._errors

    raise pyb_lib._errors.one_of(name, key, value, args)


def take(pins, owner, roles):
    """Hold the board pins ``pins`` ('X6,X7,X8') for ``owner`` ('SPI(1)') in
    ``roles`` ('SCK,MISO,MOSI'), in ``pyb_lib._check.held``. The same owner
    in the same role shares a pin (counted); another owner gets a
    ValueError naming both, and nothing is taken."""
    if not pins:
        return
    p = pins.split(",")
    r = roles.split(",")
    for i in range(len(p)):
        h = held.get(p[i])
        if h is not None and (h[0] != owner or h[1] != r[i]):
            import pyb_lib._errors

            raise pyb_lib._errors.taken(p[i], h, owner, r[i])
    for i in range(len(p)):
        h = held.get(p[i])
        if h is None:
            held[p[i]] = [owner, r[i], 1]
        else:
            h[2] += 1


def bus_number(bus, kind, name=None):
    """1 or 2 for bus 1, 2, 'X' or 'Y'. Another int or str: 0 if ``name`` is
    None, else ValueError prefixed by ``name``. TypeError for other types."""
    if type(bus) is not int and type(bus) is not str:
        raise err(TypeError, name, 2, kind, type(bus).__name__)
    n = 1 if bus == "X" or bus == 1 else 2 if bus == "Y" or bus == 2 else 0
    if not n and name is not None:
        raise err(ValueError, name, 3, kind, bus)
    return n


def hold(dev, pins, owner, roles):
    """Take a bus's pins for ``dev`` as ``owner``; on failure let go of its CS too."""
    try:
        take(pins, owner, roles)
    except ValueError:
        dev.deinit()
        raise
    dev._bpins = pins
    dev._bown = owner


