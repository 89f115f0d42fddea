"""Winbond W25Qxx SPI NOR flash (W25Q16 .. W25Q128, 3-byte addresses).

    >>> from pyb_lib.devices.w25q import W25Q
    >>> flash = W25Q(1, 'X5')        # SPI(1): X6 CLK, X7 DO (MISO), X8 DI (MOSI); /CS on X5
    >>> flash.jedec_id()
    (239, 64, 24)                    # 0xEF Winbond, 0x40 W25Q..JV-IQ, 0x18 -> 16 MiB
    >>> flash.erase_sector(0)
    >>> flash.write(0, b'hello')
    >>> flash.read(0, 5)
    bytearray(b'hello')

Commands, status register and timing follow the Winbond W25Q128JV data
sheet: 9Fh JEDEC ID, 03h Read Data, 06h Write Enable, 02h Page Program
(at most 256 bytes, wrapping inside the page: this driver splits writes at
page boundaries), 20h 4 KB Sector Erase, D8h 64 KB Block Erase, C7h Chip
Erase, 05h Read Status Register-1 (bit 0 BUSY, bit 1 WEL), B9h Power-down,
ABh Release Power-down. Maximum times (AC characteristics): tPP 3 ms,
tSE 400 ms, tBE2 2000 ms, tCE 200 s.
"""

from micropython import const
from pyb_lib._clock import delay, elapsed_millis, millis, udelay
from pyb_lib.devices._memory import Memory
from pyb_lib.spi import SPIDevice

_ENODEV = const(19)
_EPERM = const(1)
_ETIMEDOUT = const(110)

_CMD_WRITE_ENABLE = const(0x06)
_CMD_READ_SR1 = const(0x05)
_CMD_READ = const(0x03)
_CMD_PAGE_PROGRAM = const(0x02)
_CMD_SECTOR_ERASE = const(0x20)
_CMD_BLOCK_ERASE = const(0xD8)
_CMD_CHIP_ERASE = const(0xC7)
_CMD_JEDEC_ID = const(0x9F)
_CMD_POWER_DOWN = const(0xB9)
_CMD_RELEASE = const(0xAB)

_SR1_BUSY = const(0x01)

_PAGE = const(256)
_SECTOR = const(4096)
_BLOCK = const(65536)

_T_PP_MS = const(3)
_T_SE_MS = const(400)
_T_BE_MS = const(2000)
_T_CE_MS = const(200000)
_MAX_SIZE = const(0x1000000)  # 3-byte addresses reach 16 MiB


class W25Q(Memory):
    """A W25Qxx flash on SPI ``bus`` (1/'X' or 2/'Y') with /CS on pin ``cs``.

    Or pass ``spi=`` an existing :class:`~pyb_lib.spi.SPIDevice` (or a
    ``pyb.SPI``, then ``cs`` is still used). SPI mode 0, MSB first.
    """

    PAGE_SIZE = 256
    page_size = PAGE_SIZE  # where Memory.write splits the data
    SECTOR_SIZE = 4096
    BLOCK_SIZE = 65536

    def __init__(self, bus=1, cs="X5", *, baudrate=10500000, spi=None):
        if isinstance(spi, SPIDevice):
            dev = spi
        else:
            dev = SPIDevice(bus, cs, baudrate=baudrate, polarity=0, phase=0, spi=spi,
                            owner="W25Q(%s)" % (bus,))
        self.bus_device = dev
        self.name = dev.name
        self._cmd = bytearray(4)
        self._mv4 = memoryview(self._cmd)
        self._mv1 = self._mv4[:1]
        self._id = bytearray(3)
        self._sr = bytearray(1)
        self._asleep = False
        self.wake()  # a chip left in power-down ignores everything else
        man, kind, cap = self.jedec_id()
        if man == kind == cap and (man == 0x00 or man == 0xFF):
            raise OSError(_ENODEV, "%s: no flash answers (JEDEC id %02X %02X %02X): "
                          "check the wiring of CS, CLK, DI, DO and 3.3 V"
                          % (self.name, man, kind, cap))
        if not 0x10 <= cap <= 0x20:
            raise OSError(_ENODEV, "%s: JEDEC id %02X %02X %02X has no known capacity byte"
                          % (self.name, man, kind, cap))
        self.manufacturer = man
        self.capacity = 1 << cap  # bytes on the chip
        # Larger chips (W25Q256 and up) start in 3-byte address mode: the
        # first 16 MiB are what this driver reaches.
        self.size = self.capacity if self.capacity < _MAX_SIZE else _MAX_SIZE

    def __repr__(self):
        return "<W25Q %s %d KiB>" % (self.name, self.size // 1024)

    def deinit(self):
        """Let go of the chip select and bus pins (``SPIDevice.deinit``)."""
        self.bus_device.deinit()

    # --- commands ------------------------------------------------------------
    def _command(self, cmd, addr=-1, out=None, into=None):
        """One transaction: command byte [, 24-bit address] [, write out] [, read into]."""
        c = self._cmd
        c[0] = cmd
        n = 1
        if addr >= 0:
            c[1] = addr >> 16
            c[2] = (addr >> 8) & 0xFF
            c[3] = addr & 0xFF
            n = 4
        dev = self.bus_device
        with dev:
            dev.write(self._mv4 if n == 4 else self._mv1)
            if out is not None:
                dev.write(out)
            if into is not None:
                dev.readinto(into)

    def jedec_id(self):
        """(manufacturer, memory type, capacity) from command 9Fh; size = 2**capacity."""
        buf = self._id
        self._command(_CMD_JEDEC_ID, into=buf)
        return (buf[0], buf[1], buf[2])

    def status(self):
        """Status Register-1 (bit 0 BUSY, bit 1 WEL, bits 2..6 protection)."""
        self._command(_CMD_READ_SR1, into=self._sr)
        return self._sr[0]

    def busy(self):
        return bool(self.status() & _SR1_BUSY)

    def wait_ready(self, timeout_ms, what="operation"):
        """Poll the BUSY bit until it clears; OSError(ETIMEDOUT) after ``timeout_ms``."""
        start = millis()
        while self.status() & _SR1_BUSY:
            if elapsed_millis(start) > timeout_ms:
                raise OSError(_ETIMEDOUT, "%s: W25Q still busy after %d ms (%s)"
                              % (self.name, timeout_ms, what))
            if timeout_ms > 20:
                delay(1)
            else:
                udelay(20)

    def _check_awake(self):
        if self._asleep:
            raise OSError(_EPERM, "%s: W25Q is powered down; call wake() first" % self.name)

    # --- reading ---------------------------------------------------------------
    def _read_into(self, addr, buf, n):
        self._check_awake()
        if n:
            self._command(_CMD_READ, addr, into=buf)

    # --- writing ---------------------------------------------------------------
    def _write_enable(self):
        self._command(_CMD_WRITE_ENABLE)

    def _start_write(self):
        self._check_awake()

    def _write_page(self, addr, data):
        """Program one page (NOR flash programming only clears bits: erase
        first what was written before): Write Enable, Page Program, wait for
        BUSY to clear (tPP max 3 ms)."""
        self._write_enable()
        self._command(_CMD_PAGE_PROGRAM, addr, out=data)
        self.wait_ready(_T_PP_MS + 2, "page program at 0x%06X" % addr)

    # --- erasing ---------------------------------------------------------------
    def _erase(self, cmd, addr, unit, timeout_ms, what):
        self._check_range(addr, unit, what)
        if addr % unit:
            raise ValueError("%s: %s address 0x%X is not a multiple of 0x%X"
                             % (self.name, what, addr, unit))
        self._check_awake()
        self._write_enable()
        self._command(cmd, addr)
        self.wait_ready(timeout_ms, "%s at 0x%06X" % (what, addr))

    def erase_sector(self, addr):
        """Erase the 4 KiB sector at ``addr`` (a multiple of 4096, else ValueError)."""
        self._erase(_CMD_SECTOR_ERASE, addr, _SECTOR, _T_SE_MS, "sector erase")

    def erase_block(self, addr):
        """Erase the 64 KiB block at ``addr`` (a multiple of 65536, else ValueError)."""
        self._erase(_CMD_BLOCK_ERASE, addr, _BLOCK, _T_BE_MS, "block erase")

    def erase_chip(self):
        """Erase the whole chip (up to 200 s on a W25Q128JV)."""
        self._check_awake()
        self._write_enable()
        self._command(_CMD_CHIP_ERASE)
        self.wait_ready(_T_CE_MS, "chip erase")

    # --- power -----------------------------------------------------------------
    def power_down(self):
        """Enter deep power-down (B9h); only wake() is accepted until then."""
        self._check_awake()
        self._command(_CMD_POWER_DOWN)
        udelay(3)  # tDP
        self._asleep = True

    def wake(self):
        """Release from power-down (ABh) and wait tRES1 (3 us)."""
        self._command(_CMD_RELEASE)
        udelay(3)
        self._asleep = False
