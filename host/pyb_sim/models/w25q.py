"""Model of a Winbond W25Qxx SPI NOR flash (W25Q128JV / W25Q64JV datasheets).

Standard SPI commands only (no dual/quad I/O). Memory is sparse: a dict of
the 4 KB sectors ever programmed, so a 16 MB part costs a few KB of heap.
Program/erase times run on the board clock (typical values of the
W25Q128JV AC table); see docs/models.md for what is simplified.
"""

from pyb_sim.models import SPIByteModel

SECTOR = 4096
PAGE = 256
# Typical times, W25Q128JV "AC Electrical Characteristics" (ns)
T_PP = 400000  # page program 0.4 ms (max 3 ms)
T_SE = 45000000  # 4 KB sector erase 45 ms (max 400 ms)
T_BE32 = 120000000  # 32 KB block erase 120 ms (max 1600 ms)
T_BE64 = 150000000  # 64 KB block erase 150 ms (max 2000 ms)
T_CE = 400000000  # chip erase: the chip takes 40 s (max 200 s); scaled down 100x
T_RES1 = 3000  # release from power-down to next command, 3 us
T_RST = 30000  # software reset to next command, 30 us

STATUS_CMDS = (0x05, 0x35)


def _rev(b):
    """Bit order of a byte reversed (SPI.LSB first on a MSB-first device)."""
    r = 0
    for _ in range(8):
        r = (r << 1) | (b & 1)
        b >>= 1
    return r


class _Sector:
    """4 KB of flash as 16 pages of 256 bytes, each made when first written:
    small blocks fit a fragmented 100 KB MicroPython heap where one 4 KB
    block may not."""

    def __init__(self):
        self.pages = [None] * (SECTOR // PAGE)

    def __getitem__(self, i):
        page = self.pages[i >> 8]
        return 0xFF if page is None else page[i & 0xFF]

    def __setitem__(self, i, v):
        page = self.pages[i >> 8]
        if page is None:
            page = self.pages[i >> 8] = bytearray(b"\xff" * PAGE)
        page[i & 0xFF] = v


class W25QModel(SPIByteModel):
    """A W25Q flash: attach with ``board.attach_spi(bus, cs_pin, model)``."""

    def __init__(self, *, jedec_id=b"\xef\x40\x18", size=16 * 1024 * 1024,
                 unique_id=b"\xd2\x66\xb4\x1c\x37\x5a\x29\x21"):
        SPIByteModel.__init__(self)
        self.board = None  # set by board.attach_spi
        self.jedec_id = bytes(jedec_id)
        self.size = size
        self.unique_id = bytes(unique_id)
        self.sectors = {}  # sector index -> _Sector; absent = erased (0xFF)
        self.status2 = 0x00
        self.t_chip_erase_ns = T_CE
        self.busy_forever = False  # tests: BUSY never clears (a hung chip)
        self.programs = 0
        self.erases = 0
        self.ignored = 0  # commands dropped (busy, WEL clear, powered down, bad framing)
        self.bad_mode = 0  # transfers in SPI mode 1 or 2, which the chip cannot follow
        self.wel = False
        self.busy_until = 0
        self.powered_down = False
        self.ready_at = 0
        self._reset_armed = False
        self._cmd = None
        self._n = 0
        self._addr = 0
        self._pa = 0
        self._buf = None

    # --- test helpers -----------------------------------------------------
    def peek(self, addr, n):
        """``n`` bytes of the array from ``addr`` (no bus traffic, no timing)."""
        out = bytearray(n)
        for i in range(n):
            out[i] = self._get((addr + i) % self.size)
        return bytes(out)

    def load(self, addr, data):
        """Store ``data`` at ``addr`` as if programmed long ago (no AND, no timing)."""
        for i in range(len(data)):
            a = (addr + i) % self.size
            self._sector(a >> 12)[a & 0xFFF] = data[i]

    def inject_stuck_busy(self, stuck=True):
        self.busy_forever = stuck

    # --- state ------------------------------------------------------------
    def _now(self):
        return self.board.now

    def busy(self):
        if self.busy_forever:
            return True
        if self.busy_until and self._now() >= self.busy_until:
            self.busy_until = 0
            self.wel = False  # cleared when the program/erase cycle completes
        return self.busy_until != 0

    def status1(self):
        return (0x01 if self.busy() else 0) | (0x02 if self.wel else 0)

    def _get(self, a):
        s = self.sectors.get(a >> 12)
        return 0xFF if s is None else s[a & 0xFFF]

    def _sector(self, i):
        s = self.sectors.get(i)
        if s is None:
            s = self.sectors[i] = _Sector()
        return s

    def _start(self, t_ns):
        self.busy_until = self._now() + t_ns

    # --- SPI --------------------------------------------------------------
    def spi_transfer(self, out, mode):
        polarity, phase, firstbit = mode[0], mode[1], mode[2]
        n = len(out)
        if polarity != phase:  # modes 0 and 3 only: the bits are garbage
            self.bad_mode += 1
            self._cmd = -1
            self._n += n
            return b"\xff" * n
        res = bytearray(n)
        lsb = firstbit != 0
        for i in range(n):
            b = out[i]
            res[i] = self.exchange(_rev(b) if lsb else b) & 0xFF
            if lsb:
                res[i] = _rev(res[i])
        return res

    def begin(self):
        self._cmd = None
        self._n = 0

    def exchange(self, byte):
        n = self._n
        self._n = n + 1
        if n == 0:
            if self._now() < self.ready_at:
                byte = -1
            elif self.powered_down:
                byte = byte if byte == 0xAB else -1
            elif byte not in STATUS_CMDS and byte not in (0x66, 0x99) and self.busy():
                byte = -1
            if byte == -1:
                self.ignored += 1
            self._cmd = byte
            return 0xFF
        cmd = self._cmd
        if cmd in STATUS_CMDS:
            return self.status1() if cmd == 0x05 else self.status2
        if cmd == 0x9F:
            return self.jedec_id[n - 1] if n <= 3 else 0xFF
        if n <= 3:  # 24-bit address (or dummy bytes), MSB first
            self._addr = ((self._addr << 8) if n > 1 else 0) | byte
            if cmd == 0x02 and n == 3:
                self._buf = bytearray(b"\xff" * PAGE)
                self._pa = self._addr & (self.size - 1)
            return 0xFF
        if cmd == 0x03 or (cmd == 0x0B and n > 4):
            a = (self._addr + n - (4 if cmd == 0x03 else 5)) % self.size
            return self._get(a)
        if cmd == 0x02:  # the address wraps inside the page (later bytes win)
            self._buf[(self._pa + n - 4) & 0xFF] = byte
            return 0xFF
        if cmd == 0x90:  # address 0: manufacturer first; address 1: device first
            i = (n - 4 + (self._addr & 1)) & 1
            return self.jedec_id[0] if i == 0 else self.jedec_id[2] - 1
        if cmd == 0xAB:
            return self.jedec_id[2] - 1
        if cmd == 0x4B:
            return self.unique_id[(n - 5) & 7] if n > 4 else 0xFF
        return 0xFF

    def end(self):
        cmd, n = self._cmd, self._n
        self._cmd = None
        armed = self._reset_armed
        self._reset_armed = False
        if cmd is None or cmd == -1 or cmd in STATUS_CMDS:
            return
        if cmd == 0x06:
            self.wel = True
        elif cmd == 0x04:
            self.wel = False
        elif cmd == 0xAB and self.powered_down:
            self.powered_down = False
            self.ready_at = self._now() + T_RES1
        elif cmd == 0xB9 and n == 1:
            self.powered_down = True
        elif cmd == 0x66 and n == 1:
            self._reset_armed = True
        elif cmd == 0x99 and n == 1 and armed:
            self.wel = False
            self.busy_until = 0  # an operation in progress is abandoned
            self.ready_at = self._now() + T_RST
        elif cmd == 0x02:
            if n > 4 and self._wel_ok():
                self._program()
        elif cmd in (0x20, 0x52, 0xD8):
            # CS must rise right after the last address byte, else no erase
            if n == 4 and self._wel_ok():
                span = SECTOR if cmd == 0x20 else (32768 if cmd == 0x52 else 65536)
                first = (self._addr & (self.size - 1) & ~(span - 1)) >> 12
                for i in range(first, first + span // SECTOR):
                    self.sectors.pop(i, None)
                self.erases += 1
                self._start(T_SE if cmd == 0x20 else (T_BE32 if cmd == 0x52 else T_BE64))
        elif cmd in (0xC7, 0x60):
            if n == 1 and self._wel_ok():
                self.sectors.clear()
                self.erases += 1
                self._start(self.t_chip_erase_ns)

    def _wel_ok(self):
        if not self.wel:
            self.ignored += 1
        return self.wel

    def _program(self):
        base = self._pa & ~0xFF
        buf = self._buf
        for i in range(PAGE):
            if buf[i] != 0xFF:
                a = base + i
                s = self._sector(a >> 12)
                s[a & 0xFFF] &= buf[i]  # programming only clears bits
        self._buf = None
        self.programs += 1
        self._start(T_PP)
