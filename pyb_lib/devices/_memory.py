"""What the memory chips' drivers (AT24C EEPROM, W25Q flash) share: an
address space of ``size`` bytes read into a caller's buffer (or as a new
bytearray of a byte count) and written page by page, with one copy of the
argument checks and their messages."""


class Memory:
    """Base of a memory chip's driver. The driver sets ``name``, ``size``
    and ``page_size``, and has ``_read_into(addr, buf, n)``,
    ``_write_page(addr, data)`` (data within one page) and
    ``_start_write()`` (a check before any page is written)."""

    name = ""
    size = 0
    page_size = 1

    def _read_into(self, addr, buf, n):
        raise NotImplementedError

    def _write_page(self, addr, data):
        raise NotImplementedError

    def _start_write(self):
        pass

    def _check_range(self, addr, n, what):
        if not isinstance(addr, int) or isinstance(addr, bool):
            raise TypeError("%s: %s address must be an int, not %s"
                            % (self.name, what, type(addr).__name__))
        if addr < 0 or n < 0 or addr + n > self.size:
            raise ValueError("%s: %s of %d bytes at 0x%04X is outside 0..0x%04X"
                             % (self.name, what, n, addr, self.size - 1))

    def read(self, addr, buf):
        """Read into ``buf`` from ``addr`` (no allocation), or, given an int,
        return a new bytearray of that many bytes."""
        if isinstance(buf, int) and not isinstance(buf, bool):
            if buf < 0:
                raise ValueError("%s: byte count %d < 0" % (self.name, buf))
            out = bytearray(buf)
            self.read(addr, out)
            return out
        try:
            n = -1 if isinstance(buf, bytes) or isinstance(buf, str) else len(buf)
        except TypeError:
            n = -1
        if n < 0:
            raise TypeError("%s: read needs a writable buffer or a byte count, not %s"
                            % (self.name, type(buf).__name__))
        self._check_range(addr, n, "read")
        self._read_into(addr, buf, n)
        return buf

    def write(self, addr, data):
        """Write ``data`` (bytes-like) from ``addr`` on, split at the chip's
        page boundaries, each page awaited before the next."""
        if isinstance(data, str) or isinstance(data, int):
            raise TypeError("%s: data must be bytes-like, not %s"
                            % (self.name, type(data).__name__))
        try:
            mv = memoryview(data)
        except TypeError:
            raise TypeError("%s: data must be bytes-like, not %s"
                            % (self.name, type(data).__name__))
        n = len(mv)
        self._check_range(addr, n, "write")
        self._start_write()
        page = self.page_size
        pos = 0
        while pos < n:
            a = addr + pos
            chunk = page - (a & (page - 1))
            if chunk > n - pos:
                chunk = n - pos
            self._write_page(a, mv[pos:pos + chunk])
            pos += chunk
