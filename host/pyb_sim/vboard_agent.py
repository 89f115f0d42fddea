"""The virtual PyBoard's interpreter side: runs inside the MicroPython unix
port, started by ``pyb_sim.vboard`` (the supervisor), never by hand.

It mounts the flash folder on ``/flash``, installs the simulated ``pyb`` with
the wiring, runs ``boot.py`` and ``main.py``, then executes the code the
supervisor's REPL sends it, one block at a time. Everything it prints goes to
the supervisor on stdout; its own messages travel in the same stream, each
behind a random token the supervisor chose, so they keep their order with
the program's output::

    TOKEN kind(1 byte) length(10 digits) "\\n" payload(length bytes)

kinds: S (boot code starts), R (a block starts), Q (the boot code or block
ended: stop sending SIGINT for Ctrl-C, answer "A" on the command pipe),
B (booted, REPL ready), D (block done: status O ok / E error / X SystemExit,
then the traceback), I (setinterrupt value), W (bytes written to USB_VCP,
raw), M (a warning for the supervisor's log), C (where the CPU model's
counter is, ``pyb_sim.cpu_board``), K (a Ctrl-C landed in an interrupt
callback and was dropped: send SIGINT again, ``pyb_sim.preempt``).

Commands come on a pipe: ``E`` mode(1 byte: s single / e exec) length "\\n"
source; and the one-byte answer ``A`` to each Q.
"""

import io
import json
import os
import select
import sys
import time

import micropython as _mp  # the interpreter's own (board code gets a wrapped one)
import pyb_sim
from pyb_sim.board import Sine, _lock_depth

_out = sys.stdout.buffer
_in = sys.stdin.buffer
_poll = select.poll()
_poll.register(sys.stdin, select.POLLIN)
_out_poll = select.poll()
_out_poll.register(sys.stdout, select.POLLOUT)
_cmd_poll = select.poll()
_host_poll = select.poll()
_host = None  # the supervisor's "1"/"0" when a host opens or closes the port
_connected = False
_flow = 0  # USB_VCP.init(flow=): CTS (2) makes write take what fits, at once
_ALWAYS_WAIT_MS = 500  # usbd_cdc_tx_always: the wait for room for each byte
_PIPE_BUF = 4096  # POSIX minimum: a write this size enters a pipe whole
_msg = bytearray(_PIPE_BUF)  # token + kind + length + "\n" + payload
_head = 12  # header bytes: set by main() with the token
_one = bytearray(1)
_AGENT = "vboard_agent.py"
_firmware = None  # pyb_sim.firmware, once setup() loaded it
_cpu_board = None  # pyb_sim.cpu_board with --cpu pyboard, once setup() loaded it
_busy = bytearray(1)  # pyb_sim.preempt.busy once callbacks pre-empt
_preempt = None  # pyb_sim.preempt, once callbacks pre-empt
_INTERRUPTED = ("Traceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n"
                "KeyboardInterrupt: \n")


def _put(kind, payload, n, copied=False):
    """Write one message of ``n`` payload bytes (``payload``, or already in
    ``_msg`` after the header when ``copied``) in one write, which a pipe
    takes whole or not at all (header + payload <= PIPE_BUF). Interrupt
    callbacks (``pyb_sim.preempt``) wait meanwhile: one that writes to
    USB_VCP would fill ``_msg`` under this message."""
    busy = _busy
    nested = busy[0]
    try:
        busy[0] = 1
        m = _msg
        h = _head
        m[h - 12] = kind
        k = n
        for i in range(h - 2, h - 12, -1):
            m[i] = 48 + k % 10
            k //= 10
        if not copied:
            m[h:h + n] = payload
        _out.write(m, 0, h + n)
    finally:
        busy[0] = nested


def _send(kind, payload=b""):
    """One message to the supervisor; with the heap locked (USB_VCP.write in
    an interrupt handler) it allocates nothing for a bytes-like payload.

    The unix port raises KeyboardInterrupt from its SIGINT handler, at any
    instruction; so every message goes out in a single write of at most
    PIPE_BUF bytes, never cut in half by a Ctrl-C. A longer payload goes as
    several messages (a Ctrl-C between them cuts the data, as on a board)."""
    n = len(payload)
    if _head + n <= _PIPE_BUF:
        try:
            _put(kind, payload, n)
            return
        except ValueError:  # items wider than a byte (an array('H'))
            payload = bytes(payload)
            n = len(payload)
            if _head + n <= _PIPE_BUF:
                _put(kind, payload, n)
                return
    room = _PIPE_BUF - _head
    try:
        view = memoryview(payload)
    except MemoryError:  # heap locked: no slices; each part copied byte by byte
        m = _msg
        h = _head
        off = 0
        while off < n:
            k = min(room, n - off)
            for i in range(k):
                m[h + i] = payload[off + i]
            _put(kind, m, k, True)
            off += k
        return
    for off in range(0, n, room):
        part = view[off:off + room]
        _put(kind, part, len(part))


def _room(ms):
    """Whether the pipe to the supervisor has room for a whole message
    (PIPE_BUF bytes: a message goes in whole without blocking; the pipe is
    one page, so empty, unless the CPU model runs, ``vboard.out_pipe_bytes``),
    waiting up to ``ms``; allocates nothing (ipoll yields one tuple, made at
    start)."""
    for _ in _out_poll.ipoll(ms):
        return True
    return False


def _send_part(buf, off, k):
    """``_send`` of ``buf[off:off + k]`` (k <= PIPE_BUF - header)."""
    try:
        _put(87, memoryview(buf)[off:off + k], k)
    except MemoryError:  # heap locked: no slice; copied byte by byte
        m = _msg
        h = _head
        for i in range(k):
            m[h + i] = buf[off + i]
        _put(87, m, k, True)


def _send_range(buf, off, n):
    """``_send`` of ``buf[off:off + n]``, in parts that fit a message;
    allocates nothing with the heap locked."""
    if off == 0 and n == len(buf):
        _send(87, buf)  # W: the whole buffer, sliced only when it is long
        return
    room = _PIPE_BUF - _head
    end = off + n
    while off < end:
        k = room if room < end - off else end - off
        _send_part(buf, off, k)
        off += k


def _always(buf, start=0, n=-1):
    """Bytes ``buf[start:start + n]`` (default: all) written as the
    firmware's REPL port writes them
    (ports/stm32/usbd_cdc_interface.c usbd_cdc_tx_always): while a host has
    the port open and the link is full, each byte waits up to 500 ms for room
    and then is lost (the firmware overwrites the oldest unsent byte with it:
    the same count, the same wait); with no host nothing waits (the
    supervisor keeps the last 1 KB). Returns the whole count. Allocates
    nothing with the heap locked."""
    count = len(buf) - start if n < 0 else n
    if count <= _PIPE_BUF - _head and (_room(0) or not _host_present()):
        _send_range(buf, start, count)  # the common case, in one message
        return count
    room = _PIPE_BUF - _head
    off = start
    n = start + count
    while off < n:
        if not _room(0) and _host_present():
            while off < n and not _room(_ALWAYS_WAIT_MS):
                off += 1
                if not _host_present():
                    break
            if off >= n:
                break
        k = min(room, n - off)
        _send_part(buf, off, k)
        off += k
    return count


def _host_present():
    """True while a host holds the serial port open (the firmware: while the
    host's DTR is set); allocates nothing."""
    global _connected
    more = True
    while more:
        more = False
        for _ in _host_poll.ipoll(0):
            if _host.readinto(_one):
                _connected = _one[0] == 49
                more = True
    return _connected


def _as_bytes(buf):
    """``buf`` as something whose len() counts its bytes."""
    if isinstance(buf, str):
        return buf.encode()
    if not (isinstance(buf, bytes) or isinstance(buf, bytearray)):  # no tuple: no heap
        # The firmware writes the buffer's bytes (stm32 usb.c
        # pyb_usb_vcp_write gets them by the buffer protocol); len()
        # of an array('H') or its memoryview counts items, not bytes.
        # A buffer of byte items (a Stream's memoryview frames) is used as
        # it is: copying it would give the board's heap a frame's worth of
        # garbage at every write, which the firmware's write does not.
        # Whether its items are bytes: a copy into the message buffer takes
        # only byte items (ValueError for wider ones; MemoryError with the
        # heap locked, which cannot make the ValueError).
        n = len(buf)
        if n <= _PIPE_BUF - _head:
            try:
                _msg[_head:_head + n] = buf
                return buf
            except (ValueError, MemoryError):
                pass
        try:
            return bytes(buf)
        except MemoryError:  # heap locked: a memoryview of bytes
            pass
    return buf


def _write_raw(buf):
    """sys.stdout.buffer.write of board code: the bytes as they are, as
    the firmware's REPL port takes them."""
    return _always(_as_bytes(buf))


def _ready():
    return bool(_poll.poll(0))


def _read_available(buf, n):
    """Read up to ``n`` bytes that have already arrived into ``buf``."""
    got = 0
    while got < n and _poll.poll(0):
        if not _in.readinto(_one):
            break
        buf[got] = _one[0]
        got += 1
    return got


def _make_vcp(base):
    class USB_VCP(base):
        """pyb.USB_VCP on the virtual board's serial port (binary-safe)."""

        def setinterrupt(self, chr):
            _send(73, str(chr).encode())  # I

        def init(self, *, flow=-1):
            """``flow=USB_VCP.CTS``: ``write`` takes what fits, at once
            (stm32 usb.c pyb_usb_vcp_init, usbd_cdc_tx_flow)."""
            global _flow
            if flow != -1:
                _flow = flow

        def isconnected(self):
            """True while a host holds the serial port open (the firmware:
            while the host's DTR is set); allocates nothing."""
            return _host_present()

        def any(self):
            return _ready()

        def read(self, nbytes=None):
            if not _ready():
                return None
            buf = bytearray(nbytes if nbytes is not None else 256)
            n = _read_available(buf, len(buf))
            if nbytes is None:
                while n == len(buf) and _ready():
                    buf.extend(bytearray(256))
                    n += _read_available(memoryview(buf)[n:], 256)
            return bytes(buf[:n]) if n else None

        def readinto(self, b, nbytes=None):
            if not _ready():
                return None
            return _read_available(b, len(b) if nbytes is None else min(nbytes, len(b)))

        def readline(self):
            if not _ready():
                return None
            line = bytearray()
            while _ready() and _in.readinto(_one):
                line.append(_one[0])
                if _one[0] == 10:
                    break
            return bytes(line)

        def readlines(self):
            lines = []
            while _ready():
                lines.append(self.readline())
            return lines

        def write(self, buf, a=-1, b=-1):
            """``write(buf[, max_len])``, ``write(buf, off, max_len)`` as the
            firmware's stream write, which takes no heap (py/stream.c
            ``stream_write_method``): nor does this, with the heap locked.
            Without CTS flow (the REPL port's default) as ``_always``; with
            it (usbd_cdc_tx, timeout 0) the whole buffer when the pipe to
            the link has room for it, else None (the firmware takes as many
            bytes as fit; the virtual board cannot see the link's free room,
            only whether its pipe has room, ``_room``)."""
            buf = _as_bytes(buf)
            size = len(buf)
            off = 0
            n = size
            if b >= 0:  # write(buf, off, max_len)
                off = a if a < size else size
                n = b if b < size - off else size - off
            elif a >= 0:  # write(buf, max_len)
                n = a if a < size else size
            if _flow & 2:
                if not n:
                    return 0
                if not (_host_present() and _room(0)):
                    return None
                _send_range(buf, off, n)
                return n
            return _always(buf, off, n)

        def send(self, data, *, timeout=5000):
            """As usbd_cdc_tx: wait up to ``timeout`` ms for room on the link;
            0 when there was none (the virtual board sends a whole buffer or
            nothing, the firmware as many bytes as found room)."""
            if isinstance(data, int):
                _one[0] = data & 0xFF
                data = _one
            if not _out_poll.poll(timeout):
                return 0
            data = _as_bytes(data)
            _send(87, data)  # W
            return len(data)

        def recv(self, data, *, timeout=5000):
            buf = bytearray(data) if isinstance(data, int) else data
            got = 0
            deadline = time.ticks_add(time.ticks_ms(), timeout)
            while got < len(buf):
                left = time.ticks_diff(deadline, time.ticks_ms())
                if left <= 0 or not _poll.poll(left):
                    break
                got += _read_available(memoryview(buf)[got:], len(buf) - got)
            if isinstance(data, int):
                return bytes(buf[:got])
            return got

    return USB_VCP


class _SizedFile:
    """A file open for writing on a flash of ``--flash-size`` bytes: a write
    that would go past the size fails with OSError 28 (ENOSPC), as the
    board's FAT driver reports a full disk (FR_DENIED)."""

    def __init__(self, f, vfs):
        self.f = f
        self.vfs = vfs

    def write(self, buf):
        if self.vfs.used() + len(buf) > self.vfs.size:
            raise OSError(28)
        return self.f.write(buf)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _inside(path):
    """``path`` (absolute within the filesystem) with its ``.`` and ``..``
    resolved; a path that climbs above the filesystem's top fails with
    ENOENT, as a name the board's filesystem does not have."""
    parts = []
    for p in path.split("/"):
        if p == "..":
            if not parts:
                raise OSError(2)
            parts.pop()
        elif p and p != ".":
            parts.append(p)
    return "/" + "/".join(parts)


class FlashVfs:
    """The flash folder as the board's /flash: a VfsPosix whose ilistdir
    also gives sizes, as the board's FAT/littlefs do. With ``size`` (bytes,
    ``--flash-size``) the files can hold that much in all, and statvfs
    tells what is left. No path leaves the folder by ``..``."""

    def __init__(self, root, size=0):
        self.root = root.rstrip("/")
        self.p = os.VfsPosix(root)
        self.host = os.VfsPosix()  # for rename: host paths, see there
        self.size = size
        self.cwd = "/"

    def _path(self, path):
        """``path`` (relative to this filesystem's current folder or
        absolute in it) as an absolute path in the folder."""
        if path[:1] != "/":
            path = self.cwd + "/" + path
        return _inside(path)

    def used(self, path="/"):
        path = self._path(path)
        n = 0
        base = path if path.endswith("/") else path + "/"
        for e in self.p.ilistdir(path):
            if e[1] == 0x4000:
                n += self.used(base + e[0])
            else:
                n += self.p.stat(base + e[0])[6]
        return n

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def ilistdir(self, path):
        path = self._path(path or "/")
        base = path if path.endswith("/") else path + "/"
        for e in self.p.ilistdir(path):
            size = self.p.stat(base + e[0])[6] if e[1] == 0x8000 else 0
            yield (e[0], e[1], e[2], size)

    def stat(self, path):
        return self.p.stat(self._path(path or "/"))

    def statvfs(self, path):
        if not self.size:
            return self.p.statvfs(self._path(path or "/"))
        free = max(self.size - self.used(), 0) // 512
        return (512, 512, self.size // 512, free, free, 0, 0, 0, 0, 255)

    def open(self, path, mode):
        f = self.p.open(self._path(path), mode)
        if self.size and ("w" in mode or "a" in mode or "+" in mode):
            return _SizedFile(f, self)
        return f

    def chdir(self, path):
        path = self._path(path or "/")
        if not self.p.stat(path)[0] & 0x4000:
            raise OSError(20)  # ENOTDIR
        self.cwd = path

    def getcwd(self):
        return self.cwd

    def mkdir(self, path):
        return self.p.mkdir(self._path(path))

    def remove(self, path):
        return self.p.remove(self._path(path))

    def rmdir(self, path):
        return self.p.rmdir(self._path(path))

    def rename(self, old, new):
        # host paths: VfsPosix.rename of the unix port 1.28 builds both paths
        # in one buffer (extmod/vfs_posix.c), so the old one is lost
        return self.host.rename(self.root + self._path(old), self.root + self._path(new))


def _resend_ctrl_c():
    """A Ctrl-C's KeyboardInterrupt landed where it cannot stop the program
    (in an interrupt callback run by the scheduler, which drops it): ask the
    supervisor to send SIGINT again."""
    _send(75)  # K


def _wrap_micropython():
    """``micropython.kbd_intr`` tells the supervisor instead of removing the
    unix port's SIGINT handler (the supervisor turns Ctrl-C into SIGINT)."""
    real = _mp

    class Module:
        pass

    m = Module()
    for name in dir(real):
        if not name.startswith("__"):
            setattr(m, name, getattr(real, name))
    m.__name__ = "micropython"

    def kbd_intr(chr):
        _send(73, str(chr).encode())  # I

    m.kbd_intr = kbd_intr
    sys.modules["micropython"] = m


def _no_ns():
    return 0


AHEAD_NS = 1_000_000  # how far the board's clock may run ahead of the wall clock (CPU model)
CARRY_NS = 1_000_000  # the most a swing back of the wall clock less the simulation's count carries


def _us_ns():
    return time.ticks_us() * 1000


def _realtime(board, excluded=None, counters=None, slowdown=0.0, waited=None):
    """Pace the simulated clock to the wall clock, as on a board: a delay
    takes its time, and reading the time catches up with the wall clock
    (timers that fell due fire then). Return the function that tells the
    board time the wall clock has reached.

    ``excluded()``: host ns to leave out of the board's clock (the CPU
    model's: the simulation's own work, ``pyb_sim.cpu_board.excluded_ns``),
    so that the board's clock runs on the wall clock while the board's code
    runs or waits, and stands still while the simulation's Python works.
    With ``slowdown`` (the CPU model's; ``counters[2]``: ns the pacer kept
    the process stopped, ``counters[3]``: ns of the simulation's work it
    paid back by stopping it for less, which ``excluded`` gives back to the
    clock) the board's clock runs ``slowdown`` times as fast
    as the wall clock between two stops, while the board's code runs at
    the host's speed, up to AHEAD_NS ahead of the wall clock, and the
    wall clock catches up while the pacer holds the process stopped: the
    times a program takes close together (frame times) are a board's, not
    compressed into the host's bursts.

    A wait runs the callbacks that fall due during it at their time, not
    in a burst at its end."""
    ex = excluded or _no_ns
    k = int(slowdown * 1024)  # in 1/1024: integer arithmetic allocates nothing (handlers)
    # Without the CPU model the wall clock is read with ticks_us, which on
    # the 64-bit unix port is monotonic and a small int for 2**62 us:
    # time.time_ns allocates a long int at every read, and the garbage
    # collections that follow scan the simulation's heap too. (With the CPU
    # model, a cheaper read lets the board's code run more of each burst
    # past AHEAD_NS, whose times are then compressed: docs/virtual-board.md,
    # "Where the model is off".)
    fast = k <= 1024
    ns = _us_ns if fast else time.time_ns
    t0 = ns() - board.now - ex()  # from now on
    advance_to = board.advance_to
    next_due = board.next_irq_due

    # the board time last given (never backwards: the simulation's work is
    # timed to the us), the wall clock's board time then, the stops then,
    # the waits then
    last = [0, 0, counters[2] + counters[3] if counters is not None else 0,
            waited[0] if waited is not None else 0, 0]

    # (defaults, not a sixth closed-over name: see read_time)
    def wall_raw(ns=ns, waited=waited):
        w = ns() - t0 - ex()
        b = last[0]
        if k > 1024:
            # stops, and the simulation's work paid back by shortening them
            stops = counters[2] + counters[3]
            if stops != last[2]:
                # a stop may have come after the wall clock was read: read it
                # again, or the stop is taken off before its time is seen
                # and the next read counts that time as the board's code
                w = ns() - t0 - ex()
                stops = counters[2] + counters[3]
            # the board's code ran, or waited; less what the count of the
            # simulation's time went back since (``last[4]``)
            ran = w - last[1] - (stops - last[2]) + last[4]
            last[1] = w
            last[2] = stops
            if waited is not None:
                # time the program waited passes as on the wall clock
                waits = waited[0] - last[3]
                last[3] = waited[0]
                if waits > ran:
                    waits = ran
                if waits > 0:
                    b += waits
                    ran -= waits
            if ran > 0:
                b += (ran * k) >> 10
                last[4] = 0
            else:
                # The wall clock less the simulation's count went back: it
                # swings by microseconds either way from one read to the
                # next (both are timed to the us). Carried, not dropped, so
                # that the swings cancel out and do not add up as the
                # board's code, ``slowdown`` times over.
                last[4] = ran if ran > -CARRY_NS else -CARRY_NS
            if b > w + AHEAD_NS:
                b = w + AHEAD_NS
        if b < w:
            b = w
        last[0] = b
        return b

    if fast:
        wall = wall_raw
    else:

        def wall(raw=wall_raw, board=board):
            # time.time_ns allocates: with the heap locked (an interrupt
            # handler, or the program's heap_lock) the read is the
            # simulation's, as a board's clock read takes no heap
            if _lock_depth():
                board.hw_enter()
                try:
                    return raw()
                finally:
                    board.hw_exit()
            return raw()

    def paced(t):
        wait = t - wall()
        if wait >= 1000:
            if not board.irq_depth:
                nxt = next_due()
                while nxt is not None and nxt < t:
                    early = nxt - wall()
                    if early >= 1000:
                        time.sleep_us(early // 1000)
                    advance_to(nxt)
                    nxt = next_due()
                wait = t - wall()
            if wait >= 1000:
                time.sleep_us(wait // 1000)
        advance_to(t)

    def read_time():
        # A read takes the board at least 1 us: when the wall clock has not
        # moved on that far (the program's code runs in bursts between the
        # CPU model's stops), the clock steps on without waiting for it.
        # Without the CPU model, when nothing falls due by then (the usual
        # read in a loop), the clock just moves, as a board's read is a few
        # instructions. (Five closed-over names, no more: a closure whose
        # closed-over names and arguments come to more than five allocates
        # at every call, py/objclosure.c, and handlers read the clock with
        # the heap locked.)
        if not board.irq_depth:
            now = wall()
            nxt = board.now + 1000
            if fast and not board.preempt_ns:
                t = now if now > nxt else nxt
                due = board.next_irq_due(True)
                if due is None or due > t:
                    board.now = t
                    return t
            if now > nxt:
                paced(now)
            else:
                advance_to(nxt)
        return board.now

    board.advance_to = paced
    board.read_time = read_time
    return wall


def _signal(spec):
    if "sine" in spec:
        s = spec["sine"]
        return Sine(s.get("hz", 1.0), s.get("amplitude", 1.0), s.get("offset", 1.65))
    return spec.get("volts", 0.0)


def _model(spec):
    mod, cls = spec["model"].rsplit(".", 1)
    m = __import__("pyb_sim.models." + mod, None, None, [cls])
    return getattr(m, cls)(**spec.get("args", {}))


def _wire(board, wiring):
    for kind in ("i2c", "spi"):
        for spec in wiring.get(kind, ()):
            try:
                model = _model(spec)
            except Exception as e:  # noqa: BLE001 - a missing model must not stop the board
                msg = "wiring: %s skipped (%s: %s)" % (spec["model"], type(e).__name__, e)
                _send(77, msg.encode())
                continue
            if kind == "i2c":
                board.attach_i2c(spec["bus"], model)
            else:
                board.attach_spi(spec["bus"], spec["cs"], model)
    for spec in wiring.get("dac", ()):
        board.connect_dac(spec["channel"], spec["pin"])
    for spec in wiring.get("analog", ()):
        board.set_analog(spec["pin"], _signal(spec))
    for bus in wiring.get("uart_loopback", ()):
        board.uart_loopback(bus)


def _clean(text):
    return "".join(line + "\n" for line in text.split("\n")
                   if line and _AGENT not in line)


def _guarded(cmd, work, *args):
    """Run ``work(*args)`` (the boot files, or one block from the REPL) with
    Ctrl-C on; return its status byte and traceback text.

    The supervisor turns Ctrl-C into SIGINT only between this side's S or R
    message and its Q, and the unix port raises the KeyboardInterrupt at
    whatever instruction runs then. So after the program this side sends Q
    and waits, inside this try, until the supervisor's answer ``A`` is on
    the command pipe: a SIGINT sent before the answer has then been raised
    here and dropped (it found no program to interrupt), never in the
    agent's own code, where it would end the interpreter or lose the
    answer. The answer is read only once no SIGINT can come. A Q sent twice
    (a Ctrl-C right after the first) gets one answer. After a Ctrl-C the heap
    lock and the simulation's interrupt state are put back as they were
    before the program (see ``_restore``)."""
    step = 0  # 0 run, 1 say Q, 2 wait for the answer, 3 read it, 4 done
    status, tb = b"E", _INTERRUPTED  # unless work() returns
    state = _lock_state()
    hit = False  # a KeyboardInterrupt was raised here
    while step < 4:
        try:
            if step == 0:
                step = 1
                status, tb = work(*args)
            if step == 1:
                _send(81)  # Q
                step = 2
            if step == 2:
                _cmd_poll.poll(-1)
                step = 3
            if step == 3:
                cmd.read(1)
                step = 4
        except KeyboardInterrupt:
            hit = True
    if hit or "KeyboardInterrupt" in tb:
        _restore(state)
    return status, tb


def _lock_state():
    """The heap-lock depth and the simulated board's interrupt bookkeeping."""
    _mp.heap_lock()
    b = pyb_sim.board
    return _mp.heap_unlock(), b.irq_depth, b._hw_sp


def _restore(state):
    """Undo what a KeyboardInterrupt raised inside a locked region left
    behind: the unix port raises it at any instruction, also inside the
    garbage collector or between the simulation's heap_lock() and
    heap_unlock(). (A real board raises it between bytecodes only.)"""
    depth, irq, sp = state
    _mp.heap_lock()
    now = _mp.heap_unlock()
    while now > depth:
        now = _mp.heap_unlock()
    b = pyb_sim.board
    b.irq_depth = irq
    b._hw_sp = sp
    _busy[0] = 0


def _unlock_all():
    """Unlock the heap entirely; return the lock depth it had."""
    _mp.heap_lock()
    depth = left = _mp.heap_unlock()
    while left:
        left = _mp.heap_unlock()
    return depth


def _compile(src, mode, name):
    """The code of ``src``, or the SyntaxError (...) compiling it raised.

    Compiled while Ctrl-C is off: the unix port raises KeyboardInterrupt from
    its SIGINT handler, and compiling interns names under the interpreter's
    qstr lock; a KeyboardInterrupt there leaves that lock taken, and the next
    compile hangs the interpreter for good."""
    try:
        return compile(src, name, mode)
    except Exception as e:  # noqa: BLE001 - reported as running the block would
        return e


def _run(code, g):
    """Run one compiled block (or report the error that compiling it gave);
    return (status byte, traceback text).

    Afterwards the heap is unlocked however deep the block left it locked:
    "If the REPL becomes active with the heap locked then it will be
    forcefully unlocked" (MicroPython's docs of micropython.heap_lock)."""
    state = _lock_state()
    status, exc = b"O", None
    try:
        if isinstance(code, Exception):
            raise code
        exec(code, g)
    except SystemExit:
        status = b"X"
    except BaseException as e:  # noqa: BLE001 - report everything, as the board does
        status, exc = b"E", e
        if isinstance(e, KeyboardInterrupt):
            _restore(state)
    _unlock_all()
    if exc is None:
        return status, ""
    s = io.StringIO()
    sys.print_exception(exc, s)
    return status, _clean(s.getvalue())


def _read_file(name):
    """The text of the flash file ``name``, or None if there is none.

    Read while Ctrl-C is off: the unix port raises KeyboardInterrupt from its
    SIGINT handler, and one landing inside the C library (a file call) can
    leave a lock of the process taken, which hangs the interpreter later."""
    try:
        os.stat(name)
    except OSError:
        return None
    with open(name) as f:
        return f.read()


def _compiled_file(name):
    src = _read_file(name)
    return None if src is None else _compile(src, "exec", name)


def _run_file(code, g):
    if code is None:
        return b"O", ""
    status, tb = _run(code, g)
    if tb:
        print(tb, end="")
    return status, ""


def _block(src, mode, g):
    code = _compile(src, mode, "<stdin>")
    _send(82)  # R: Ctrl-C from here on
    status, tb = _run(code, g)
    while _ready():  # what the program did not read is dropped
        _in.readinto(_one)
    return status, tb


def _boot(cfg, g):
    boot = _compiled_file("boot.py")
    main = _compiled_file("main.py") if cfg["mode"] == "friendly" else None
    _send(83)  # S: boot code starts, Ctrl-C works from here
    status, tb = _run_file(boot, g)
    if status == b"O" and cfg["mode"] == "friendly":
        name = _firmware.main_script()  # boot.py may have named another (pyb.main)
        status, tb = _run_file(main if name == "main.py" else _compiled_file(name), g)
    return status, tb


def _serve(cmd, g):
    while True:
        _idle()
        hdr = cmd.readline()
        if not hdr:
            return
        n = int(hdr[2:].decode())
        src = cmd.read(n) if n else b""
        mode = "single" if hdr[1] == 115 else "exec"
        status, tb = _guarded(cmd, _block, src, mode, g)
        _send(68, status + tb.encode())  # D


def _idle():
    """Wait for the REPL's next block. Meanwhile interrupt callbacks run at
    their time, as on a board sitting at the REPL: the scheduler runs the
    interrupt controller's dispatch between the bytecodes of this loop."""
    if _preempt is None:
        return
    while not _cmd_poll.poll(1 if _preempt.armed() else -1):
        pass


def _fresh_qstr_pool():
    """Start the device code on a fresh, empty qstr pool.

    On a board the names of pyb and machine are in flash; here the
    simulation's names sit in the interpreter's qstr pools, and each new pool
    is twice the last (15 KB for the 7th on the 64-bit unix port). Which
    program pays for the next pool would depend on how many names the
    simulation happens to have; intern throw-away names until a new pool is
    made, so that it is part of the heap the supervisor measures and adds to
    --heapsize, and the device code finds room for over a thousand names."""
    import gc

    q = _SizedFile  # any object: getattr interns the name it is given
    # the names first, in one run of the heap, so that interning them leaves
    # no holes between the qstr chunks
    names = ["_q%d" % i for i in range(700)]
    gc.collect()
    before = gc.mem_free()
    for name in names:
        getattr(q, name, None)
        free = gc.mem_free()
        if before - free > 4096:  # a pool, not a name, was allocated
            break
        before = free
    names = None
    gc.collect()


_ballast = None


def _trim_heap(free):
    """Leave ``free`` bytes of heap (--heapsize) to the device code: the
    interpreter starts with room to spare, the rest is held here, in the
    largest blocks the free heap has (it may be in pieces)."""
    global _ballast
    import gc

    if not free:
        return
    gc.collect()
    held = []
    size = gc.mem_free() - free
    while size >= 64:
        extra = gc.mem_free() - free - 64  # what a block's list entry and header take
        if extra < 64:
            break
        try:
            held.append(bytearray(min(size, extra)))
        except MemoryError:
            size //= 2
    _ballast = held
    gc.collect()


def setup(cfg, sim_rom=None):
    """Install the simulated pyb with the wiring; return the REPL's globals.
    ``sim_rom``: the filesystem the simulation was imported from, mounted at
    ``cfg["path"][0]``."""
    pyb = pyb_sim.install()
    # machine is built in on a board (no heap): load it now, so that its
    # heap is part of what the supervisor measures and adds to --heapsize
    from pyb_sim import machine

    sys.modules["machine"] = machine
    pyb.USB_VCP = _make_vcp(pyb.USB_VCP)
    _wrap_micropython()
    if cfg.get("cpu"):  # --cpu pyboard: count the simulation's host time (pyb_sim.cpu_board)
        from pyb_sim import cpu_board

        global _cpu_board
        _cpu_board = cpu_board  # main() tells its address, once board code is confined

        cpu_board.install(pyb_sim.board, int(cfg.get("cpu_sleep_ns", 0)))
        cpu_board.patch(pyb)
        cpu_board.patch_machine(machine)
        from pyb_sim import clock

        cpu_board.patch_time(clock)  # before firmware.confine makes ``time`` of it
    if cfg.get("realtime", True):
        # callbacks pre-empt the program as the board's interrupts do
        # (with --fast the clock moves only when the program waits)
        from pyb_sim import preempt

        global _busy, _preempt
        _busy = preempt.busy
        _preempt = preempt
        if cfg.get("cpu"):  # the board's clock of the CPU model (_realtime)
            clock = _realtime(pyb_sim.board, cpu_board.excluded_ns, cpu_board._spent,
                              float(cfg["cpu"]), cpu_board._waited)
            preempt.start(pyb_sim.board, clock, _resend_ctrl_c, _mp, cpu_board.counted,
                          cpu_board.board_code)
        else:
            clock = _realtime(pyb_sim.board)
            preempt.start(pyb_sim.board, clock, _resend_ctrl_c, _mp)
        sys.modules["micropython"].schedule = preempt.schedule
    if cfg.get("cpu"):
        cpu_board.count_clock(pyb_sim.board, globals())
    _wire(pyb_sim.board, cfg.get("wiring", {}))
    from pyb_sim import clock

    if cfg.get("rtc_ns"):
        clock.set_rtc_start(cfg["rtc_ns"])
    from pyb_sim import firmware

    global _firmware
    _firmware = firmware
    # from here on, the board's filesystems and modules only
    sd = cfg.get("sd")
    firmware.extend_pyb(pyb)
    firmware.confine(FlashVfs(cfg["flash"], cfg.get("flash_size") or 0),
                     FlashVfs(sd) if sd else None, cfg.get("version", ""),
                     (sim_rom, cfg["path"][0]) if sim_rom else None, not cfg.get("realtime", True),
                     _write_raw)
    _fresh_qstr_pool()
    return {"__name__": "__main__"}


def main(boot, sim_rom):
    """Run the board: ``boot`` the supervisor's settings (a JSON file),
    ``sim_rom`` the simulation's ROMFS (``vboard.boot_code``)."""
    global _head, _host
    with open(boot) as f:
        cfg = json.load(f)
    token = bytes(cfg["token"])
    _head = len(token) + 12
    _msg[:len(token)] = token
    _msg[_head - 1] = 10
    cmd = open(cfg["cmd_fd"], "rb")
    _host = open(cfg["host_fd"], "rb")
    _host_poll.register(_host, select.POLLIN)
    _host_poll.ipoll(0)  # its first call allocates the tuple it yields: not in a handler
    _room(0)  # the same for the pipe to the supervisor
    sys.path[:] = cfg["path"]
    g = setup(cfg, sim_rom)
    if cfg.get("cpu"):  # C: the supervisor paces this process from here on
        _send(67, str(_cpu_board.address()).encode())
    _trim_heap(cfg.get("heap_free"))
    _cmd_poll.register(cmd, select.POLLIN)
    status, tb = _guarded(cmd, _boot, cfg, g)
    if status == b"X":
        _send(68, b"X")
        return
    _send(66)  # B
    _serve(cmd, g)


