"""A virtual PyBoard on a pseudo-terminal: ``python -m pyb_sim.vboard``.

The serial port it prints (and links with ``--link``) answers like a
PyBoard v1.1 over USB: banner, friendly REPL, raw REPL, raw-paste mode,
Ctrl-C, Ctrl-D soft reset, a flash folder as ``/flash``. The board is the
real MicroPython interpreter (unix port) with the simulated ``pyb``; this
supervisor sits between the serial port and the interpreter, speaks the
REPL protocol and restarts the interpreter on every soft reset. See
docs/vboard.md.
"""

import argparse
import contextlib
import fcntl
import io
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tty

from mpremote.romfs import make_romfs

from pyb_sim import cpu, factory, sandbox, vboard_registry
from pyb_sim.vboard_repl import FriendlyRepl

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WIRING = os.path.join(HERE, "vboard_wiring.json")
MACHINE = "PYBv1.1 with STM32F405RG"
PASTE_WINDOW = 128  # MICROPY_REPL_STDIN_BUFFER_MAX (256) / 2, as pyexec.c
OUT_LIMIT = 1 << 20  # bytes queued for the serial port before the board waits (unlimited)
SIGINT_GAP = 0.02  # s between two SIGINTs: the agent has dealt with the first by then
NO_HOST_POLL = 0.02  # s between looks for a host while none holds the port open

# The USB full-speed link of the board (--link-speed usb-fs), after MicroPython's
# ports/stm32 (commit 1c3c201149f37fe8d81246191b3127bb198d6306):
# mpconfigboard_common.h: MICROPY_HW_USB_CDC_TX_DATA_SIZE and _RX_DATA_SIZE
# (1024 each, PYBV11 keeps the defaults); usbd_cdc_interface.c: the TX buffer
# drained by 64-byte bulk packets (usbd_cdc_tx_ready, CDC_DATA_FS_MAX_PACKET_SIZE),
# a writer waits while it is full (usbd_cdc_tx, usbd_cdc_tx_always), the host's
# OUT packets are refused (NAK) while the RX buffer is full. USB 2.0 full speed:
# 1 ms frames, at most 19 bulk packets of 64 bytes in one (1216 bytes/ms).
USB_PACKET = 64
USB_PACKETS_PER_FRAME = 19
USB_TX_BUF = 1024
USB_RX_BUF = 1024
USB_MAX_BACKLOG = 2  # frames of bandwidth the bus may make up after a late wake-up
# usbd_cdc_interface.c: when the host sets DTR the port counts as connected
# 8 SOF interrupts (8 ms) later, and only then sends what its buffer holds
# (usbd_cdc_control CDC_SET_CONTROL_LINE_STATE, HAL_PCD_SOFCallback).
USB_CONNECT_DELAY = 0.008
PIPE_PAGE = 4096  # the smallest pipe between the interpreter and this supervisor
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
HOST_ONLY = ("vboard.py", "vboard_repl.py", "micropython.py", "cpu.py", "sandbox.py",
             "factory.py", "vboard_registry.py", "harness.py", "reliability.py")
MSG_HDR = 12  # kind + 10 digits + newline
HEAP_SLACK = 128 * 1024  # heap beyond the probe's measure, trimmed by the agent
SIM_IMAGE = "pyb_sim.romfs"  # the simulation's modules, compiled, in the build folder
SIM_ROM = "/sim_rom"  # where the interpreter mounts that image (unmounted for board code)
FRESH_RTC_NS = 473385600 * 10**9  # 2015-01-01 00:00:00, in ns since 2000-01-01


def log(msg):
    print("vboard: " + msg, file=sys.stderr, flush=True)


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    path = here if os.path.exists(here) else shutil.which(name)
    if not path:
        raise SystemExit("vboard: the '%s' command is missing: pip install 'pyb-bridge[sim]'"
                         % name)
    return path


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KkMm]?)", text)
    if not m:
        raise argparse.ArgumentTypeError("a size like 100K")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


def load_wiring(path):
    """Read a wiring file (JSON, see docs/vboard.md); drop models that do not exist."""
    try:
        with open(path) as f:
            wiring = json.load(f)
    except OSError as e:
        raise SystemExit("vboard: cannot read the wiring file %s: %s"
                         % (path, e.strerror)) from None
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise SystemExit("vboard: %s is not valid JSON: %s: fix it (docs/vboard.md has the "
                         "format)" % (path, e)) from None
    if not isinstance(wiring, dict):
        raise SystemExit("vboard: %s: the wiring is a JSON object with sections i2c, spi, "
                         "dac, analog, uart_loopback (docs/vboard.md)" % path)
    known = ("i2c", "spi", "dac", "analog", "uart_loopback")
    for key in wiring:
        if key not in known and not key.startswith("_"):
            raise SystemExit("vboard: %s: unknown section %r (known: %s)"
                             % (path, key, ", ".join(known)))
    for kind in ("i2c", "spi"):
        kept = []
        specs = wiring.get(kind, [])
        if not isinstance(specs, list) or not all(
                isinstance(sp, dict) and isinstance(sp.get("model"), str) for sp in specs):
            raise SystemExit("vboard: %s: %r must be a list of objects, each with a \"model\" "
                             "(docs/vboard.md)" % (path, kind))
        for spec in specs:
            mod = spec["model"].rsplit(".", 1)[0]
            if os.path.exists(os.path.join(HERE, "models", mod + ".py")):
                kept.append(spec)
            else:
                log("wiring: model %s is not available, skipped" % spec["model"])
        wiring[kind] = kept
    return {k: v for k, v in wiring.items() if not k.startswith("_")}


def compile_sim(mpy_cross, dst):
    """Precompile the simulation (and the interpreter-side agent) for the
    board into a ROMFS image, ``dst``/``SIM_IMAGE`` (see ``boot_code``)."""
    tree = os.path.join(dst, "mpy")
    for dirpath, _, files in os.walk(HERE):
        if "__pycache__" in dirpath:
            continue
        for f in sorted(files):
            if not f.endswith(".py") or (dirpath == HERE and f in HOST_ONLY):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(HERE))
            out = os.path.join(tree, rel[:-3] + ".mpy")
            os.makedirs(os.path.dirname(out), exist_ok=True)
            # named pyb_sim/... in tracebacks, so that an interrupt's traceback
            # can leave the simulation's frames out (board.irq_failed)
            subprocess.run([mpy_cross, "-s", rel.replace(os.sep, "/"), "-o", out,
                            os.path.join(dirpath, f)], check=True)
    with contextlib.redirect_stdout(io.StringIO()):  # it lists what it packs
        image = make_romfs(tree, mpy_cross=False)
    with open(os.path.join(dst, SIM_IMAGE), "wb") as f:
        f.write(image)


def boot_code(build):
    """The interpreter's first lines: mount the simulation's ROMFS image (in
    ``build``) at ``SIM_ROM`` as the only place to import from, in
    ``sim_rom``. The unix port runs a module from a ROMFS in place (its
    bytecode is not copied to the heap), so the simulation holds less of
    the heap the board's program shares, and each garbage collection, which
    marks all of it, costs less (docs/virtual-board.md, "Garbage
    collection")."""
    return ("import sys, vfs\n"
            "with open(%r, 'rb') as f:\n"
            "    sim_rom = vfs.VfsRom(f.read())\n"
            "vfs.mount(sim_rom, %r)\n"
            "sys.path[:] = [%r]\n" % (os.path.join(build, SIM_IMAGE), SIM_ROM, SIM_ROM))


def out_pipe_bytes(slowdown):
    """Bytes of the pipe that carries the board's output to the link model:
    one page (the least the kernel makes), so that the board's writes wait
    when the link's 1 KB buffer is full. With the CPU model (``slowdown``)
    the board runs in bursts and the pacer stops it in between, for up to
    ``cpu.IDLE_TICK * slowdown`` of wall time (15 ms at 30x), while a board
    would go on filling its buffer as the link drains it: the pipe then also
    holds what the link sends in one such stop, or the link would stand idle
    through it (the kernel rounds the size up to a power of two)."""
    if not slowdown:
        return PIPE_PAGE
    per_s = USB_PACKETS_PER_FRAME * USB_PACKET * 1000
    return PIPE_PAGE + int(cpu.IDLE_TICK * slowdown * per_s)


class UsbLink:
    """The bulk packets the USB bus may carry: USB_PACKETS_PER_FRAME per 1 ms
    frame, shared by both directions; up to USB_MAX_BACKLOG frames that went
    by while the supervisor slept are made up."""

    def __init__(self):
        self.frame = int(time.monotonic() * 1000)
        self.packets = USB_PACKETS_PER_FRAME

    def allowance(self):
        """Bytes that may cross now."""
        now = int(time.monotonic() * 1000)
        if now != self.frame:
            self.packets = min(self.packets + (now - self.frame) * USB_PACKETS_PER_FRAME,
                               USB_MAX_BACKLOG * USB_PACKETS_PER_FRAME)
            self.frame = now
        return self.packets * USB_PACKET

    def used(self, nbytes):
        self.packets -= (nbytes + USB_PACKET - 1) // USB_PACKET

    def wait(self):
        """Seconds until the next frame."""
        return max(0.0, (self.frame + 1) / 1000 - time.monotonic())


class VBoard:
    def __init__(self, flash, wiring, heapsize, realtime=True, flash_size=0,
                 link_speed="usb-fs", sd=None, confined=True, throttle=None):
        self.throttle = throttle  # pyb_sim.cpu.Throttle for --cpu pyboard
        self.usb = UsbLink() if link_speed == "usb-fs" else None
        self.tx_limit = USB_TX_BUF if self.usb else OUT_LIMIT
        self.rx_limit = USB_RX_BUF if self.usb else OUT_LIMIT
        self.flash = flash
        self.sd = sd
        self.flash_size = flash_size
        self.wiring = wiring
        self.realtime = realtime
        self.confined = confined
        self.started = time.monotonic_ns()
        self.work = tempfile.mkdtemp(prefix="vboard-")
        if confined:
            try:
                sandbox.check(self.work, flash)
            except sandbox.Unconfinable as e:
                shutil.rmtree(self.work, ignore_errors=True)
                raise SystemExit("vboard: cannot confine the board: %s; install it (make sysdeps) "
                                 "or give --unconfined to run board code with your own rights "
                                 "(docs/vboard.md)" % e) from None
            self.micropython = None
            # the paths the interpreter sees inside its sandbox
            self.build = os.path.join(sandbox.RUN, "build")
            self.board_flash, self.board_sd = sandbox.FLASH, sandbox.SD if sd else None
            self.board_work = sandbox.RUN
        else:
            self.micropython = tool("micropython")
            self.build = os.path.join(self.work, "build")
            self.board_flash, self.board_sd = flash, sd
            self.board_work = self.work
        compile_sim(tool("mpy-cross"), os.path.join(self.work, "build"))
        self.banner, held = self._probe()
        # room to spare: the agent trims the free heap to --heapsize once the
        # simulation is loaded (how many qstr pools that takes varies)
        self.heapsize = heapsize
        self.heap = heapsize + held + HEAP_SLACK
        self.master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(slave)
        # Only the host holds the serial port open, so that the board can
        # tell whether one is there: with none, the master side reports
        # POLLHUP (the raw mode set above stays).
        os.close(slave)
        self._hup = select.poll()
        self._hup.register(self.master, select.POLLIN)
        self.outq = bytearray()
        self.child = None
        self.mode = "friendly"
        self.repl = FriendlyRepl()
        self.stop = False
        self.want_reset = False  # SIGHUP: the reset button
        self.spawned = 0.0
        # typed while an interrupt or a reboot is on its way: kept for the
        # REPL across a restart of the interpreter, as the board's USB input
        # buffer keeps it
        self.pending = bytearray()
        self.host_was = False  # a host held the port open at the last look
        self.connect_at = 0.0  # when the port counts as connected (USB_CONNECT_DELAY)

    def _probe(self):
        """The banner, and the heap the simulation and the agent hold: on a
        board ``pyb`` lives in flash, so they get heap on top of --heapsize."""
        code = boot_code(self.build) + (
            "import gc, json\n"
            "gc.collect(); a = gc.mem_free()\n"
            "import pyb_sim.vboard_agent as agent\n"
            "g = agent.setup({'realtime': False, 'cpu': True, 'wiring': json.loads(%r),\n"
            "                 'flash': %r, 'sd': %r, 'path': sys.path[:]}, sim_rom)\n"
            "gc.collect(); print('\\nHELD', a - gc.mem_free())\n"
            "v = sys.implementation.version\n"
            "tag = '-' + v[3] if len(v) > 3 and v[3] else ''\n"
            "print('VERSION v%%d.%%d.%%d%%s on %%s' %% (v[0], v[1], v[2], tag,\n"
            "      sys.version.split(' on ')[-1]))\n" % (json.dumps(self.wiring), self.board_flash,
                                               self.board_sd))
        cmd, env = self.command(["-X", "heapsize=4M", "-c", code])
        out = subprocess.run(cmd, env=env, capture_output=True, check=True,
                             cwd=self.flash).stdout.decode(errors="replace")
        # + the simulation's image, read before the probe's count, and what
        # the agent holds beyond the probe (its files, the REPL state)
        held = (int(re.search(r"^HELD (\d+)", out, re.M).group(1)) + 3072
                + os.path.getsize(os.path.join(self.work, "build", SIM_IMAGE)))
        version = re.search(r"^VERSION (.*)$", out, re.M).group(1).strip()
        return "MicroPython %s; %s" % (version, MACHINE), held

    # --- the interpreter ----------------------------------------------------
    def command(self, argv, info_fd=None):
        """The command (and environment) that starts the interpreter with
        ``argv``: in its sandbox, or as it is with --unconfined."""
        env = {"MICROPYPATH": self.build}
        if self.confined:
            return sandbox.command(argv, self.work, self.flash, self.sd, info_fd, env), None
        return [self.micropython] + argv, dict(os.environ, **env)

    def spawn(self):
        self.spawned = time.monotonic()
        self.token = b"\x00\xff" + secrets.token_hex(6).encode()
        cmd_r, self.cmd_w = os.pipe()
        host_r, self.host_w = os.pipe()  # "1"/"0": a host holds the port open or not
        os.set_blocking(self.host_w, False)
        self.host_said = None
        in_r, self.in_w = os.pipe()
        self.out_r, out_w = os.pipe()
        os.set_blocking(self.in_w, False)
        os.set_blocking(self.out_r, False)
        if self.usb:
            # the board's writes wait when the link's buffer is full: keep the
            # pipes in between as small as the kernel allows (the board's
            # output: see out_pipe_bytes)
            slowdown = self.throttle.slowdown if self.throttle else 0
            for fd, size in ((self.in_w, PIPE_PAGE), (self.out_r, out_pipe_bytes(slowdown))):
                try:
                    fcntl.fcntl(fd, F_SETPIPE_SZ, size)
                except OSError:
                    pass
        cfg = {"token": list(self.token), "cmd_fd": cmd_r, "host_fd": host_r,
               "flash": self.board_flash, "sd": self.board_sd,
               "path": [SIM_ROM], "mode": self.mode, "wiring": self.wiring,
               "realtime": self.realtime, "flash_size": self.flash_size,
               # --cpu pyboard: the slowdown (0: the host's speed)
               "cpu": self.throttle.slowdown if self.throttle else 0,
               # host CPU ns a sleep costs the interpreter (pyb_sim.cpu.measure_sleep)
               "cpu_sleep_ns": getattr(self.throttle, "sleep_ns", 0),
               "heap_free": self.heapsize,
               "version": self.banner.split("; ")[0].split(" ", 1)[1],
               # the RTC runs on across a soft reset: a fresh board's date
               # (2015-01-01, ports/stm32/rtc.c) plus the time since the start
               "rtc_ns": FRESH_RTC_NS + time.monotonic_ns() - self.started}
        with open(os.path.join(self.work, "boot.json"), "w") as f:
            json.dump(cfg, f)
        info_r = info_w = None
        fds = (cmd_r, host_r)
        if self.confined:
            info_r, info_w = os.pipe()
            fds += (info_w,)
        cmd, env = self.command(
            ["-X", "heapsize=%d" % self.heap, "-c", boot_code(self.build)
             + "import pyb_sim.vboard_agent as agent\nagent.main(%r, sim_rom)\n"
             % os.path.join(self.board_work, "boot.json")], info_w)
        self.child = subprocess.Popen(
            cmd, stdin=in_r, stdout=out_w, stderr=out_w, pass_fds=fds, env=env,
            cwd=self.flash, start_new_session=True)
        for fd in (cmd_r, host_r, in_r, out_w) + ((info_w,) if info_w is not None else ()):
            os.close(fd)
        self.child_pid = self.child.pid
        if info_r is not None:
            # bwrap names the sandboxed interpreter's process (Ctrl-C goes to it)
            info = b""
            with os.fdopen(info_r, "rb") as f:
                info = f.read()
            try:
                self.child_pid = json.loads(info)["child-pid"]
            except (ValueError, KeyError):
                pass  # bwrap failed: its error comes on the interpreter's output
        self.cbuf = bytearray()
        self.msg = None  # [kind, remaining payload, payload so far]
        self.inq = bytearray()
        self.state = "init"  # init, boot, idle, run, paste, dead
        self.intr = -1  # the interrupt character while code runs, -1: none
        self.interrupting = False
        self.live = False  # between the agent's S/R and Q: Ctrl-C may become SIGINT
        self.last_sigint = 0.0
        self.want_intr = False  # a Ctrl-C that waits for the agent's S or R

    def kill(self):
        if self.child is None:
            return
        if self.throttle:
            self.throttle.detach()
        if self.child.poll() is None:
            if self.child_pid != self.child.pid:
                try:
                    os.kill(self.child_pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.child.kill()
        self.child.wait()
        for fd in (self.cmd_w, self.host_w, self.in_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.child = None

    def hard_reset(self):
        """The reset button: the interpreter is killed whatever it runs
        (also with Ctrl-C turned off) and the board starts afresh, in the
        friendly REPL, running boot.py and main.py."""
        log("reset")
        self.kill()
        self.mode = "friendly"
        self.repl = FriendlyRepl()
        self.pending = bytearray()
        self.outq = bytearray()
        self.spawn()

    def soft_reset(self):
        self.kill()
        self.out(b"MPY: soft reboot\r\n")
        self.spawn()

    def send_code(self, src, mode):
        data = src.encode() if isinstance(src, str) else bytes(src)
        self.state = "run"
        self.run_mode = self.mode
        self.intr = 3
        try:
            os.write(self.cmd_w, b"E%s%d\n" % (b"s" if mode == "single" else b"e", len(data)))
            view = memoryview(data)
            while view:
                n = os.write(self.cmd_w, view)
                view = view[n:]
        except OSError:
            pass  # the interpreter died; reported when its output ends

    # --- serial port --------------------------------------------------------
    def out(self, data):
        self.outq += data

    def prompt(self):
        if self.mode == "raw":
            self.raw_line = bytearray()
            self.out(b"raw REPL; CTRL-B to exit\r\n>")
        else:
            self.out(self.repl.prompt())

    def show_banner(self):
        self.out(self.banner.encode() + b"\r\nType \"help()\" for more information.\r\n")

    def from_host(self, data):
        i = 0
        while i < len(data):
            if self.child is None:
                return
            st = self.state
            if st in ("init", "boot", "run"):
                ch = 3 if st == "init" else self.intr
                j = data.find(ch, i) if ch >= 0 else -1
                # bytes after an interrupt wait for the REPL, like the board's
                # input buffer after Ctrl-C; otherwise they go to the program
                if self.interrupting or st == "init":
                    self.pending += data[i:] if j < 0 else data[i:j]
                else:
                    self.inq += data[i:] if j < 0 else data[i:j]
                if j < 0:
                    return
                self.interrupting = True
                self.interrupt()
                i = j + 1
            elif st == "paste":
                self.paste_byte(data[i])
                i += 1
            elif self.mode == "raw":
                self.raw_byte(data[i])
                i += 1
            else:
                self.friendly_byte(data[i])
                i += 1

    def interrupt(self):
        """Ctrl-C for the running program: SIGINT now if the agent runs it,
        else as soon as it starts (the agent's S or R message). SIGINTs are
        at least SIGINT_GAP apart, so that the agent's handling of one is
        over before the next comes."""
        if self.live and time.monotonic() - self.last_sigint >= SIGINT_GAP:
            self.sigint()
        else:
            self.want_intr = True

    def sigint(self):
        self.want_intr = False
        self.last_sigint = time.monotonic()
        try:
            os.kill(self.child_pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def friendly_byte(self, c):
        echo, ev = self.repl.key(c)
        self.out(echo)
        if ev is None:
            return
        if ev[0] == "exec":
            self.send_code(ev[1], ev[2])
        elif ev[0] == "raw":
            self.mode = "raw"
            self.raw_line = bytearray()
            self.prompt()
        elif ev[0] == "banner":
            self.show_banner()
            self.prompt()
        elif ev[0] == "reset":
            self.soft_reset()

    def raw_byte(self, c):
        line = self.raw_line
        if c == 1:
            if len(line) == 2 and line[0] == 5:
                self.raw_line = bytearray()
                if line[1] == ord("A"):
                    self.out(b"R\x01" + PASTE_WINDOW.to_bytes(2, "little") + b"\x01")
                    self.state = "paste"
                    self.paste_buf = bytearray()
                    self.paste_left = PASTE_WINDOW
                else:
                    self.out(b"R\x00>")
                return
            self.raw_line = bytearray()
            self.out(b"raw REPL; CTRL-B to exit\r\n>")
        elif c == 2:
            self.mode = "friendly"
            self.out(b"\r\n")
            self.show_banner()
            self.prompt()
        elif c == 3:
            self.raw_line = bytearray()
        elif c == 4:
            self.out(b"OK")
            if not line:
                self.out(b"\r\n")
                self.soft_reset()
                return
            self.raw_line = bytearray()
            self.send_code(line, "exec")
        else:
            line.append(c)

    def paste_byte(self, c):
        if c in (3, 4):
            self.out(b"\x04")
            if c == 3:
                self.state = "idle"
                self.out(b"\x04Traceback (most recent call last):\r\n"
                         b"  File \"<stdin>\", line 1\r\nKeyboardInterrupt: \r\n\x04>")
                return
            self.send_code(self.paste_buf, "exec")
            return
        self.paste_buf.append(c)
        self.paste_left -= 1
        if self.paste_left == 0:
            self.out(b"\x01")
            self.paste_left = PASTE_WINDOW

    # --- what the interpreter says -----------------------------------------
    def from_child(self, data):
        buf = self.cbuf
        buf += data
        tok = self.token
        while buf:
            if self.msg is not None:
                kind, left, payload = self.msg
                take = min(left, len(buf))
                if kind == ord("W"):
                    self.out(bytes(buf[:take]))
                else:
                    payload += buf[:take]
                del buf[:take]
                self.msg[1] -= take
                if self.msg[1]:
                    return
                self.msg = None
                self.message(kind, bytes(payload))
                continue
            k = buf.find(tok)
            if k < 0:
                # hold back what could be the start of a token
                keep = 0
                for n in range(min(len(tok) - 1, len(buf)), 0, -1):
                    if buf.endswith(tok[:n]):
                        keep = n
                        break
                self.out(bytes(buf[:len(buf) - keep]).replace(b"\n", b"\r\n"))
                del buf[:len(buf) - keep]
                return
            if k:
                self.out(bytes(buf[:k]).replace(b"\n", b"\r\n"))
            if len(buf) < k + len(tok) + MSG_HDR:
                del buf[:k]
                return
            hdr = buf[k + len(tok):k + len(tok) + MSG_HDR]
            kind, length = hdr[0], int(hdr[1:11])
            del buf[:k + len(tok) + MSG_HDR]
            if length:
                self.msg = [kind, length, bytearray()]
            else:
                self.message(kind, b"")

    def flush_held(self):
        """Send on what ``from_child`` held back as the possible start of a
        token, once the pipe is empty: the agent writes each message in one
        write of at most PIPE_BUF bytes, which enters the pipe whole, so a
        token cut by a read has its rest in the pipe already. (Program
        output that ends in the token's first bytes, a 0x00 say, is not
        held up waiting for more.)"""
        buf = self.cbuf
        if not buf or self.msg is not None or buf.startswith(self.token):
            return
        if select.select([self.out_r], [], [], 0)[0]:
            return
        self.out(bytes(buf).replace(b"\n", b"\r\n"))
        del buf[:]

    def message(self, kind, payload):
        kind = chr(kind)
        if kind in "SR":
            if kind == "S":
                self.state = "boot"
                self.intr = 3
            self.live = True
            if self.want_intr:
                self.interrupt()
        elif kind == "Q":
            if self.live:  # a repeated Q (its first send was interrupted) gets no answer
                self.live = False
                self.want_intr = False
                try:
                    os.write(self.cmd_w, b"A")
                except OSError:
                    pass
        elif kind == "K":
            # the Ctrl-C landed in an interrupt callback, whose dispatcher
            # dropped it (pyb_sim.preempt): send it again while the program runs
            if self.live:
                self.interrupt()
        elif kind == "I":
            self.intr = int(payload) if 0 <= int(payload) < 256 else -1
        elif kind == "M":
            log(payload.decode(errors="replace"))
        elif kind == "C" and self.throttle:  # the CPU model's counter: pace from now on
            self.throttle.attach(self.child_pid, int(payload))
        elif kind == "B":
            self.to_repl()
            if self.mode == "friendly":
                self.show_banner()
            self.prompt()
            self.replay()
        elif kind == "D":
            status, tb = payload[:1], payload[1:].replace(b"\n", b"\r\n")
            raw = self.run_mode == "raw" if self.state == "run" else False
            was_run = self.state == "run"
            self.to_repl()
            if status == b"X":
                if raw:
                    self.out(b"\x04\x04")
                self.soft_reset()
                return
            if raw:
                self.out(b"\x04" + tb + b"\x04>")
            elif was_run:
                self.out(tb)
                self.prompt()
            self.replay()

    def to_repl(self):
        self.state = "idle"
        self.intr = -1
        self.interrupting = False
        self.want_intr = False
        self.inq = bytearray()

    def replay(self):
        data, self.pending = bytes(self.pending), bytearray()
        if data:
            self.from_host(data)

    def child_gone(self):
        try:
            code = self.child.wait(timeout=2)
        except subprocess.TimeoutExpired:  # it closed its stdout but lives on
            self.child.kill()
            code = self.child.wait()
        st = self.state
        self.kill()
        if st == "run" and self.run_mode == "raw":
            self.out(b"\x04SystemError: the interpreter exited (%d)\r\n\x04" % code)
        else:
            self.out(b"\r\nSystemError: the interpreter exited (%d)\r\n" % code)
        log("the interpreter exited (%d); restarting" % code)
        if time.monotonic() - self.spawned < 1:
            time.sleep(0.5)  # an interpreter that keeps dying must not spin
        self.spawn()

    # --- main loop ----------------------------------------------------------
    def run(self):
        import selectors

        self.spawn()
        usb = self.usb
        while not self.stop:
            if self.want_reset:
                self.want_reset = False
                self.hard_reset()
            sel = selectors.DefaultSelector()
            host = self.host_present()
            if host != self.host_said:  # for USB_VCP.isconnected()
                try:
                    os.write(self.host_w, b"1" if host else b"0")
                    self.host_said = host
                except OSError:
                    pass
            if host and not self.host_was:
                self.connect_at = time.monotonic() + USB_CONNECT_DELAY
            self.host_was = host
            if not host:
                # No host (on a board: DTR low): the firmware does not wait
                # for the link; its 1 KB buffer keeps the last bytes written
                # (usbd_cdc_tx_always overwrites the oldest), and the host
                # gets them when it opens the port.
                del self.outq[:max(len(self.outq) - USB_TX_BUF, 0)]
            elif time.monotonic() < self.connect_at:
                host = False  # connecting: the output waits in the buffer
            room = usb.allowance() if usb else OUT_LIMIT
            # the host waits (as USB does) while the board leaves its input unread
            mask = (selectors.EVENT_READ if len(self.inq) < self.rx_limit and room else 0) | (
                selectors.EVENT_WRITE if self.outq and room else 0)
            if mask and host:
                sel.register(self.master, mask, "master")
            if len(self.outq) < self.tx_limit or not self.host_was:
                sel.register(self.out_r, selectors.EVENT_READ, "child")
            if self.inq:
                sel.register(self.in_w, selectors.EVENT_WRITE, "stdin")
            timeout = 0.2 if host else NO_HOST_POLL
            if self.host_was and not host:  # connecting: send in a few ms
                timeout = max(self.connect_at - time.monotonic(), 0)
            if self.want_intr and self.live:
                timeout = max(self.last_sigint + SIGINT_GAP - time.monotonic(), 0)
                if timeout == 0:
                    self.interrupt()
            if usb and not room and (self.outq or len(self.inq) < self.rx_limit):
                timeout = usb.wait() + 0.0002
            events = sel.select(timeout) if sel.get_map() else time.sleep(timeout) or []
            sel.close()
            child = self.child
            for key, mask in events:
                if self.child is not child:
                    break  # soft reset: the other events name the old interpreter's pipes
                if key.data == "master" and mask & selectors.EVENT_READ:
                    want = 4096
                    if usb:
                        want = min(usb.allowance(), max(self.rx_limit - len(self.inq), 0))
                    try:
                        data = os.read(self.master, want) if want else b""
                    except OSError:
                        data = b""
                    if data:
                        if usb:
                            usb.used(len(data))
                        self.from_host(data)
                elif key.data == "child":
                    try:
                        data = os.read(self.out_r, max(self.tx_limit - len(self.outq), 1)
                                       if usb and self.host_was else 65536)
                    except BlockingIOError:
                        continue
                    if data:
                        self.from_child(data)
                        self.flush_held()
                    else:
                        self.child_gone()
                        break
                elif key.data == "stdin" and self.inq:
                    try:
                        n = os.write(self.in_w, self.inq)
                        del self.inq[:n]
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.inq = bytearray()
            if self.outq and host:
                n = len(self.outq)
                if usb:
                    n = min(n, usb.allowance())
                if n:
                    try:
                        n = os.write(self.master, self.outq[:n])
                        del self.outq[:n]
                        if usb:
                            usb.used(n)
                    except BlockingIOError:
                        pass
                    except OSError:
                        time.sleep(0.05)

    def host_present(self):
        """True while a program holds the serial port open."""
        return not any(ev & select.POLLHUP for _, ev in self._hup.poll(0))

    def close(self):
        self.kill()
        try:
            os.close(self.master)
        except OSError:
            pass
        shutil.rmtree(self.work, ignore_errors=True)


def check_link(link):
    """SystemExit unless ``link`` is free for a new board: absent, or a
    symlink left by a board that no longer runs."""
    if not os.path.lexists(link):
        return
    if not os.path.islink(link):
        raise SystemExit("vboard: --link %s exists and is not a link to a board: choose "
                         "another path" % link)
    for b in vboard_registry.boards():
        if b.get("link") == link:
            raise SystemExit("vboard: --link %s is in use by the virtual board of process %d "
                             "(%s): stop it or choose another path" % (link, b["pid"], b["port"]))


def reset(name):
    """``--reset LINK``: SIGHUP to the board's supervisor, its reset button."""
    b = vboard_registry.find(name)
    if b is None:
        raise SystemExit("vboard: no virtual board runs on %s (pyb-bridge ports lists them)"
                         % name)
    os.kill(b["pid"], signal.SIGHUP)
    log("reset the board on %s" % name)
    return 0


def main(argv=None, prog="vboard"):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    ap.add_argument("--link", help="also make this symlink to the serial port, e.g. /tmp/pyboard")
    ap.add_argument("--flash", help="the board's /flash folder (default: a new temporary one)")
    ap.add_argument("--wiring", default=DEFAULT_WIRING,
                    help="wiring file (JSON, see docs/vboard.md)")
    ap.add_argument("--heapsize", type=parse_size, default=parse_size("100K"),
                    help="heap for the device code, like the board's free heap (default 100K)")
    ap.add_argument("--fast", action="store_true",
                    help="let simulated time run as fast as it can instead of with the wall clock")
    ap.add_argument("--link-speed", choices=("usb-fs", "unlimited"), default="usb-fs",
                    help="usb-fs (default): the serial link carries what a PyBoard's USB "
                         "full-speed port does (64-byte packets, 19 per 1 ms frame: about "
                         "1.2 MB/s, behind the firmware's 1 KB buffers, the board waits while "
                         "they are full); unlimited: as fast as the pseudo-terminal goes")
    ap.add_argument("--flash-size", type=parse_size, default=0,
                    help="make the flash hold this much (e.g. 64K): writes beyond it fail "
                         "with OSError 28 (ENOSPC), as on a full board (default: no limit)")
    ap.add_argument("--sd", metavar="DIR",
                    help="a folder that is the board's /sd, as a PyBoard with an SD card")
    ap.add_argument("--unconfined", action="store_true",
                    help="run the board's interpreter without the operating system's sandbox "
                         "(only where it cannot be made: board code then has your rights on "
                         "this computer, see docs/vboard.md)")
    ap.add_argument("--reset", metavar="LINK",
                    help="press the reset button of the virtual board running on LINK (its "
                         "--link or serial port) and exit")
    cpu.add_arguments(ap)
    args = ap.parse_args(argv)
    if args.reset:
        return reset(args.reset)
    link = os.path.abspath(args.link) if args.link else None
    if link:
        check_link(link)
    sd = None
    if args.sd:
        sd = os.path.abspath(args.sd)
        if not os.path.isdir(sd):
            raise SystemExit("vboard: --sd %s: no such folder" % args.sd)
    throttle = cpu.from_args(args, tool("micropython"), log)

    own_flash = args.flash is None
    flash = tempfile.mkdtemp(prefix="vboard-flash-") if own_flash else os.path.abspath(args.flash)
    os.makedirs(flash, exist_ok=True)
    try:
        board = VBoard(flash, load_wiring(args.wiring), args.heapsize, realtime=not args.fast,
                       flash_size=args.flash_size, link_speed=args.link_speed, sd=sd,
                       confined=not args.unconfined,
                       throttle=throttle)
    except BaseException:
        if own_flash:
            shutil.rmtree(flash, ignore_errors=True)
        if throttle:
            throttle.close()
        raise

    def stop(signum, frame):
        board.stop = True

    def reset_button(signum, frame):
        board.want_reset = True

    if not os.listdir(flash):
        # a blank flash: the firmware makes its filesystem and factory files
        factory.make_files(flash)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reset_button)
    entry = None
    try:
        if link:
            try:
                if os.path.islink(link):
                    os.unlink(link)  # left by a board that is gone (check_link)
                os.symlink(board.port, link)
            except OSError as e:
                raise SystemExit("vboard: cannot make the link %s: %s" % (link, e.strerror)) \
                    from None
        entry = vboard_registry.add({"pid": os.getpid(), "port": board.port, "link": link,
                                     "flash": flash, "started": time.time()})
        print(board.port, flush=True)
        log("serial port %s%s, flash %s" % (board.port, " (%s)" % link if link else "", flash))
        if throttle:
            log(throttle.describe)
        board.run()
    finally:
        board.close()
        if throttle:
            throttle.close()
        if entry:
            try:
                os.unlink(entry)
            except OSError:
                pass
        if link and os.path.islink(link) and os.readlink(link) == board.port:
            os.unlink(link)
        if own_flash:
            shutil.rmtree(flash, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
