"""A faulty serial link: a proxy between a board's port and the bridge.

``FaultLink(source, link)`` opens the board's port ``source`` (a device or
pty path, or an open file descriptor), makes a new pseudo-terminal for the
bridge and points the symlink ``link`` at it. Bytes from the board to the
bridge go through the faults below; bytes from the bridge to the board
(``--script``, the raw REPL) pass unchanged.

Faults, each at a rate per byte from the board (``rates``):

- ``flip``: one random bit of the byte inverted;
- ``drop``: the byte lost;
- ``dup``: the byte sent twice;
- ``insert``: a random byte inserted before it;
- ``repl``: REPL-like text (a prompt, a traceback line) inserted before it;
- ``stall``: forwarding stops for ``stall_s`` seconds before it (the board's
  port fills up meanwhile, as a USB host that does not poll);

and ``disconnect()``: the bridge's pty is closed (its reads fail, as when a
board is unplugged), whatever the board sends meanwhile is lost, and after
``gap_s`` a new pty appears behind the same symlink (the board plugged back
in). ``every_s`` disconnects by itself on that period.

Where each fault lands is drawn from ``random.Random(seed)`` by byte offset,
so the same bytes with the same seed get the same faults whatever the
chunking. Counters: ``bytes_in``, ``bytes_out``, ``faults`` (per kind),
``disconnects``, ``lost_in_gap`` (bytes that arrived while disconnected).

    pyb-bridge faultlink --source /dev/ttyACM0 --link /tmp/pyb-faulty \\
                         --rate 1e-3 --seed 1
"""

import os
import random
import select
import threading
import time
import tty

KINDS = ("flip", "drop", "dup", "insert", "repl", "stall")
REPL_TEXTS = (b"\r\n>>> ", b"raw REPL; CTRL-B to exit\r\n>", b"OK",
              b"Traceback (most recent call last):\r\n  File \"<stdin>\", line 1\r\n",
              b"\x04\x04>", b"MicroPython v1.22.2 on 2024-02-22; PYBv1.1 with STM32F405RG\r\n")


def even_rates(rate, kinds=("flip", "drop", "dup", "insert", "repl")):
    """A byte error rate ``rate`` split evenly over ``kinds``."""
    return {k: rate / len(kinds) for k in kinds}


class FaultLink:
    def __init__(self, source, link, *, rates=None, seed=0, stall_s=0.05, gap_s=0.05,
                 every_s=None, chunk=4096):
        self.source = source
        self.link = link
        self.rates = dict(rates or {})
        for k in self.rates:
            if k not in KINDS:
                raise ValueError("unknown fault %r: one of %s" % (k, ", ".join(KINDS)))
        self.rng = random.Random(seed)
        self.stall_s = stall_s
        self.gap_s = gap_s
        self.every_s = every_s
        self.chunk = chunk
        self.enabled = True  # faults on (disconnects are always obeyed)
        self.bytes_in = 0
        self.bytes_out = 0
        self.faults = dict.fromkeys(KINDS, 0)
        self.disconnects = 0
        self.lost_in_gap = 0
        self._next = {k: self._draw(k) for k in KINDS}
        self._lock = threading.Lock()
        self._want_disconnect = 0
        self._stop = False
        self._pending = 0
        self._thread = None
        self._own_src = not isinstance(source, int)
        self._src = None
        self.master = self.slave = None
        self.slave_name = None

    # --- faults -----------------------------------------------------------
    def _draw(self, kind):
        """Bytes until the next fault of ``kind`` (geometric), or None."""
        r = self.rates.get(kind, 0)
        if r <= 0:
            return None
        if r >= 1:
            return 0
        return int(self.rng.expovariate(-_log1m(r)))

    def mangle(self, data):
        """``data`` with the faults applied: (bytes to send, seconds to stall
        before them or 0 and where, as an offset into the result)."""
        out = bytearray()
        stall_at = None
        nxt = self._next
        pos = 0
        n = len(data)
        while pos < n:
            if not self.enabled:
                out += data[pos:]
                break
            due = [(v, k) for k, v in nxt.items() if v is not None]
            step = min(due)[0] if due else n
            if step > 0:
                take = min(step, n - pos)
                out += data[pos:pos + take]
                pos += take
                for k, v in nxt.items():
                    if v is not None:
                        nxt[k] = v - take
                continue
            b = data[pos]
            kinds = [k for k in KINDS if nxt[k] == 0]
            consumed = False
            for k in kinds:
                self.faults[k] += 1
                if k == "stall":
                    if stall_at is None:
                        stall_at = len(out)
                elif k == "insert":
                    out.append(self.rng.randrange(256))
                elif k == "repl":
                    out += self.rng.choice(REPL_TEXTS)
                elif not consumed:
                    if k == "flip":
                        out.append(b ^ (1 << self.rng.randrange(8)))
                    elif k == "dup":
                        out += bytes((b, b))
                    consumed = True  # "drop" writes nothing
                nxt[k] = self._draw(k) + 1
            if not consumed:
                out.append(b)
            pos += 1
            for k in KINDS:
                if nxt[k] is not None:
                    nxt[k] -= 1
        return bytes(out), stall_at

    # --- the pty for the bridge ---------------------------------------------
    def _make_pty(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # bytes as they are: no echo, no CR/LF mapping
        tty.setraw(self.master)
        self.slave_name = os.ttyname(self.slave)
        os.set_blocking(self.master, False)
        tmp = self.link + ".new"
        if os.path.lexists(tmp):
            os.remove(tmp)
        os.symlink(self.slave_name, tmp)
        os.replace(tmp, self.link)

    def _close_pty(self):
        if os.path.lexists(self.link):
            os.remove(self.link)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def start(self):
        if self._own_src:
            self._src = os.open(self.source, os.O_RDWR | os.O_NOCTTY)
            try:
                tty.setraw(self._src)
            except OSError:  # not a tty (a fifo, a file): fine
                pass
        else:
            self._src = self.source
        self._make_pty()
        self._thread = threading.Thread(target=self._run, name="faultlink", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._close_pty()
        if self._own_src and self._src is not None:
            os.close(self._src)
        self._src = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def disconnect(self):
        """Unplug and plug back in after ``gap_s`` (done by the proxy thread)."""
        with self._lock:
            self._want_disconnect += 1

    def idle(self):
        """True when every byte read from the board has been passed on."""
        return self._pending == 0

    # --- the proxy thread ----------------------------------------------------
    def _run(self):
        last_unplug = time.monotonic()
        out = b""
        while not self._stop:
            with self._lock:
                want = self._want_disconnect
                self._want_disconnect = 0
            if self.every_s and time.monotonic() - last_unplug >= self.every_s:
                want += 1
            if want:
                self._unplug(out)
                out = b""
                last_unplug = time.monotonic()
                continue
            fds = [self._src, self.master]
            r, w, _ = select.select(fds, [self.master] if out else [], [], 0.01)
            if self._src in r:
                try:
                    data = os.read(self._src, self.chunk)
                except OSError:
                    data = b""
                if not data:  # the board went away: wait for it (a pty master stays)
                    time.sleep(0.01)
                else:
                    self.bytes_in += len(data)
                    mangled, stall_at = self.mangle(data)
                    if stall_at is not None:
                        self._send(out + mangled[:stall_at])
                        out = b""
                        time.sleep(self.stall_s)
                        mangled = mangled[stall_at:]
                    out += mangled
            if self.master in r:  # bridge -> board, untouched
                try:
                    data = os.read(self.master, self.chunk)
                except OSError:
                    data = b""
                if data:
                    os.write(self._src, data)
            if out:
                out = out[self._send(out, block=False):]
            self._pending = len(out)

    def _send(self, data, block=True):
        done = 0
        while done < len(data):
            try:
                n = os.write(self.master, data[done:])
            except BlockingIOError:
                n = 0
            except OSError:
                return len(data)
            done += n
            self.bytes_out += n
            if not block:
                break
            if n == 0:
                time.sleep(0.001)
        return done

    def _unplug(self, pending):
        self.disconnects += 1
        self.lost_in_gap += len(pending)
        with self._lock:
            self._close_pty()
        end = time.monotonic() + self.gap_s
        while time.monotonic() < end:  # the board keeps sending into the void
            r, _, _ = select.select([self._src], [], [], max(0.0, end - time.monotonic()))
            if r:
                try:
                    n = len(os.read(self._src, self.chunk))
                except OSError:
                    break
                self.bytes_in += n
                self.lost_in_gap += n
        with self._lock:
            self._make_pty()

    def counters(self):
        c = {"bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
             "disconnects": self.disconnects, "lost_in_gap": self.lost_in_gap}
        c.update(("fault_" + k, v) for k, v in self.faults.items())
        return c


def _log1m(r):
    import math

    return math.log1p(-r)
