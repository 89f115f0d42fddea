"""Device models that sit on the simulated buses.

An I2C model has ``address``, ``i2c_ack()``, ``i2c_write(data)`` and
``i2c_read(n) -> bytes``. An SPI model has ``spi_select(selected)`` and
``spi_transfer(out, mode) -> bytes`` (same length as ``out``). A UART model
has ``uart_receive(data, line, board)`` and answers with
``line.feed(data, at_ns)``. Base classes with the common parts follow.
"""


class I2CRegisterModel:
    """An I2C device with a register pointer that auto-increments.

    The first byte of a write sets the pointer (``addr_size`` 8 or 16 bits
    of it); further bytes are written to consecutive registers. A read
    returns registers from the pointer on.
    """

    addr_size = 8

    def __init__(self, address, size=256):
        self.address = address
        self.regs = bytearray(size)
        self.pointer = 0
        self.present = True

    def i2c_ack(self):
        return self.present

    def i2c_write(self, data):
        n = self.addr_size // 8
        if len(data) < n:
            return
        ptr = 0
        for i in range(n):
            ptr = (ptr << 8) | data[i]
        self.pointer = ptr % len(self.regs)
        for b in data[n:]:
            self.write_register(self.pointer, b)
            self.pointer = (self.pointer + 1) % len(self.regs)

    def i2c_read(self, n):
        out = bytearray(n)
        for i in range(n):
            out[i] = self.read_register(self.pointer)
            self.pointer = (self.pointer + 1) % len(self.regs)
        return bytes(out)

    def read_register(self, reg):
        return self.regs[reg]

    def write_register(self, reg, value):
        self.regs[reg] = value


class SPIByteModel:
    """An SPI device that handles one byte at a time while selected."""

    def __init__(self):
        self.selected = False

    def spi_select(self, selected):
        if selected and not self.selected:
            self.begin()
        elif not selected and self.selected:
            self.end()
        self.selected = selected

    def spi_transfer(self, out, mode):
        res = bytearray(len(out))
        for i in range(len(out)):
            res[i] = self.exchange(out[i]) & 0xFF
        return res

    def begin(self):
        """CS went low: a new command starts."""

    def end(self):
        """CS went high: the command ends."""

    def exchange(self, byte):
        """One byte in from MOSI; return the byte out on MISO."""
        return 0xFF


class UARTLoopModel:
    """Echoes every byte it receives back to the board."""

    def __init__(self):
        self.received = bytearray()

    def uart_receive(self, data, line, board):
        self.received.extend(data)
        line.feed(data, board.now + line.char_ns)
