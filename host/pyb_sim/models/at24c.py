"""Model of a serial I2C EEPROM: Microchip 24LC256 / 24AA256, Atmel/Microchip
AT24C32..AT24C512 (16-bit word address) and 24C01/24C02 (8-bit address).

Bytes are written at STOP into one page (the address wraps inside the page);
then the internal write cycle runs for ``write_cycle_ms`` on the board clock
and the device does not acknowledge its address meanwhile, so drivers must
poll for the ACK. Storage is sparse (only pages written). See docs/models.md.
"""


NS_PER_MS = 1000000


class AT24CModel:
    """An EEPROM of ``size`` bytes at ``address`` (0x50 | A2 A1 A0)."""

    def __init__(self, address=0x50, *, size=32768, page_size=64, write_cycle_ms=5):
        self.address = address
        self.size = size
        self.page_size = page_size
        self.addr_bytes = 1 if size <= 256 else 2
        self.write_cycle_ns = int(write_cycle_ms * NS_PER_MS)
        self.write_protect = False  # the WP pin tied high
        self.present = True
        self.pages = {}  # page index -> bytearray(page_size); absent = 0xFF
        self.pointer = 0  # the internal address counter
        self.busy_until = 0
        self.board = None  # set by board.attach_i2c
        self.writes = 0  # write cycles started
        self.nacks = 0  # address bytes not acknowledged (write cycle running)

    # --- test helpers -----------------------------------------------------
    def busy(self):
        return self.board.now < self.busy_until

    def peek(self, addr, n):
        """``n`` bytes from ``addr`` (wrapping at the end), without bus traffic."""
        out = bytearray(n)
        for i in range(n):
            out[i] = self._get((addr + i) % self.size)
        return bytes(out)

    def load(self, addr, data):
        """Store ``data`` from ``addr`` directly (no page wrap, no write cycle)."""
        for i in range(len(data)):
            self._set((addr + i) % self.size, data[i])

    # --- storage ----------------------------------------------------------
    def _get(self, a):
        p = self.pages.get(a // self.page_size)
        return 0xFF if p is None else p[a % self.page_size]

    def _set(self, a, value):
        i = a // self.page_size
        p = self.pages.get(i)
        if p is None:
            p = self.pages[i] = bytearray(b"\xff" * self.page_size)
        p[a % self.page_size] = value

    # --- I2C --------------------------------------------------------------
    def i2c_ack(self):
        if not self.present:
            return False
        if self.busy():  # no ACK during the internal write cycle
            self.nacks += 1
            return False
        return True

    def i2c_write(self, data):
        """One write transfer, START to STOP: word address, then data bytes."""
        n = self.addr_bytes
        if len(data) < n:
            return
        a = 0
        for i in range(n):
            a = (a << 8) | data[i]
        a %= self.size  # the unused high address bits are "don't care"
        if len(data) == n:  # address only (a random read's dummy write): no write cycle
            self.pointer = a
            return
        if self.write_protect:  # data acknowledged, write cycle inhibited
            self.pointer = a
            return
        ps = self.page_size
        base = a - a % ps
        off = a % ps
        for i in range(n, len(data)):
            # Page write: the low address bits roll over inside the page, so
            # more than page_size bytes overwrite the first ones.
            self._set(base + off, data[i])
            off = (off + 1) % ps
        self.pointer = base + off
        self.writes += 1
        self.busy_until = self.board.now + self.write_cycle_ns

    def i2c_read(self, n):
        """Current-address / sequential read: rolls over from the last byte to 0."""
        out = bytearray(n)
        a = self.pointer
        for i in range(n):
            out[i] = self._get(a)
            a = (a + 1) % self.size
        self.pointer = a
        return bytes(out)
