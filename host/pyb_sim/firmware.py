"""What board code sees of the interpreter on the virtual board: the PYBv1.1
firmware's filesystems, modules and names, not the unix port's. Runs inside
the MicroPython unix port, installed by ``pyb_sim.vboard_agent`` once the
simulation is loaded; never imported by board code.

Facts from micropython/micropython (commit 1c3c201149f37fe8d81246191b3127bb198d6306),
see docs/virtual-board.md: ports/stm32/main.c (sys.path, /flash and /sd),
extmod/modos.c and ports/stm32/mpconfigport.h (the os module), py/modsys.c
and py/persistentcode.h (sys.implementation), boards/PYBV11/mpconfigboard.h
(the machine name).

This is the interpreter's half of the confinement: ordinary board code finds
only the firmware's names. Board code that digs into the simulation's
objects can still reach the unix port's own modules; what they can do is
bounded by the operating system's sandbox around the interpreter
(``pyb_sim.sandbox``).
"""

import builtins
import os
import sys
import time as _time  # the unix port's: real time, for waits on streams

import vfs

import pyb_sim
from pyb_sim import clock

MACHINE = "PYBv1.1 with STM32F405RG"  # MICROPY_HW_BOARD_NAME " with " MICROPY_HW_MCU_NAME
PLATFORM = "pyboard"  # MICROPY_PY_SYS_PLATFORM, ports/stm32/mpconfigport.h
BUILD = "PYBV11"  # MICROPY_BOARD_BUILD_NAME, py/mkrules.mk
# sys.implementation._mpy: MPY_VERSION 6, MPY_SUB_VERSION 3, native arch
# MP_NATIVE_ARCH_ARMV7EMSP (7): 6 | (3 | 7 << 2) << 8
MPY = 6 | (3 | 7 << 2) << 8

# Modules of the unix port that the PYBv1.1 firmware does not have (its own
# help('modules') next to the unix port's): importing them raises ImportError.
UNIX_ONLY = ("ffi", "termios", "socket", "ssl", "tls", "websocket", "requests", "mip",
             "argparse", "_thread", "cryptolib", "jni", "btree", "pyb_sim")
# os: what extmod/modos.c offers with the stm32 port's settings (VFS, FAT,
# littlefs v2, sync, uname, urandom, dupterm); no system, getenv, VfsPosix
OS_NAMES = ("sep", "chdir", "getcwd", "listdir", "ilistdir", "mkdir", "remove", "rename",
            "rmdir", "unlink", "stat", "statvfs", "mount", "umount", "VfsFat", "VfsLfs2",
            "urandom")
VFS_NAMES = ("mount", "umount", "VfsFat", "VfsLfs2")
TIME_NAMES = ("gmtime", "localtime", "mktime", "sleep", "sleep_ms", "sleep_us", "ticks_add",
              "ticks_cpu", "ticks_diff", "ticks_ms", "ticks_us", "time", "time_ns")
SYS_HIDDEN = ("executable", "platform", "implementation", "argv")


class module:  # noqa: N801 - the type name in error messages, as the firmware's
    """A module of the board: the named attributes of a unix port module."""

    def __init__(self, name, src=None, names=()):
        self.__name__ = name
        for n in names:
            if hasattr(src, n):
                setattr(self, n, getattr(src, n))

    def __repr__(self):
        return "<module '%s'>" % self.__name__


class Record:
    """A named tuple as the firmware's attrtuple (os.uname(), sys.implementation)."""

    def __init__(self, fields, values):
        self._f = fields
        self._v = tuple(values)
        for k, v in zip(fields, values):
            setattr(self, k, v)

    def __getitem__(self, i):
        return self._v[i]

    def __len__(self):
        return len(self._v)

    def __iter__(self):
        return iter(self._v)

    def __eq__(self, other):
        return tuple(self._v) == tuple(other)

    def __repr__(self):
        return "(%s)" % ", ".join("%s=%r" % (k, v) for k, v in zip(self._f, self._v))


def version_string():
    """MICROPY_VERSION_STRING: 1.29.0-preview."""
    v = sys.implementation.version
    return "%d.%d.%d%s" % (v[0], v[1], v[2], "-" + v[3] if len(v) > 3 and v[3] else "")


def board_os(uname_version):
    m = module("os", os, OS_NAMES)
    info = Record(("sysname", "nodename", "release", "version", "machine"),
                  (PLATFORM, PLATFORM, version_string(), uname_version, MACHINE))

    def uname():
        return info

    def sync():
        pass

    def dupterm(stream_object=None, index=0):
        return None

    m.uname = uname
    m.sync = sync
    m.dupterm = dupterm
    return m


class Stdout:
    """sys.stdout of the board: ``write`` is cooked (``\n`` goes out as
    ``\r\n``) and ``buffer.write`` is raw, as shared/runtime/sys_stdio_mphal.c
    has them; the raw bytes go to the serial port untouched, in order with
    the printed text (mpremote mount sends its binary protocol this way)."""

    def __init__(self, real, raw_write):
        self._real = real
        self.buffer = Raw(raw_write)

    def write(self, s):
        return self._real.write(s)

    def flush(self):
        pass

    def __getattr__(self, name):
        return getattr(self._real, name)


class Raw:
    def __init__(self, raw_write):
        self._w = raw_write

    def write(self, buf, n=None):
        """Write ``buf`` (its first ``n`` bytes with ``n``), as a stream's write."""
        if n is not None and n < len(buf):
            buf = memoryview(buf)[:n]
        return self._w(buf)

    def flush(self):
        pass


def board_sys(raw_write=None):
    m = module("sys", sys, [n for n in dir(sys) if n not in SYS_HIDDEN
                           and not n.startswith("__")])
    if raw_write is not None:
        m.stdout = Stdout(sys.stdout, raw_write)
    impl = sys.implementation
    m.platform = PLATFORM
    m.argv = []
    m.implementation = Record(("name", "version", "_machine", "_mpy", "_build"),
                              (impl.name, impl.version, MACHINE, MPY, BUILD))
    return m


BLOCKED = UNIX_ONLY + tuple("u" + n for n in UNIX_ONLY)
# what help('modules') lists: the firmware's modules that the virtual board
# has (built in, simulated, or frozen like asyncio)
BOARD_MODULES = (
    "__main__", "_asyncio", "array", "asyncio/__init__", "asyncio/core", "asyncio/event",
    "asyncio/funcs", "asyncio/lock", "asyncio/stream", "binascii", "builtins", "cmath",
    "collections", "deflate", "errno", "framebuf", "gc", "hashlib", "heapq", "io", "json",
    "machine", "math", "micropython", "os", "platform", "pyb", "random", "re", "select",
    "struct", "sys", "time", "uasyncio", "uctypes", "vfs")


def install_help():
    """help('modules') lists the board's modules, in the layout of the
    firmware's (py/builtinhelp.c: sorted, column-first, 4 columns of 18,
    MICROPY_PY_BUILTINS_HELP_NUM_COLUMNS and _COLUMN_WIDTH in py/mpconfig.h);
    help() and help(obj) are the interpreter's own."""
    real = builtins.help

    def board_help(*args):
        if args == ("modules",):
            names = sorted(BOARD_MODULES)
            rows = (len(names) + 3) // 4
            for r in range(rows):
                line = ""
                for c in range(4):
                    i = c * rows + r
                    if i < len(names):
                        line += names[i] + " " * max(18 - len(names[i]), 1)
                print(line.rstrip())
            print("Plus any modules on the filesystem")
            return None
        return real(*args)

    builtins.help = board_help


def install_imports(board_modules, sim):
    """``import`` gives board code the board's modules (``board_modules``,
    also under their u-names) and refuses the unix port's own and the
    simulation's, except its device models (``from pyb_sim.models.at24c
    import AT24CModel``, to wire a part with ``pyb.board``), loaded from
    ``sim``, (filesystem, mount point) the simulation's packages were
    loaded from, mounted there only for the time of the import."""
    real = builtins.__import__
    mods = dict(board_modules)
    for k in list(mods):
        mods["u" + k] = mods[k]
    hidden = {}
    sim_vfs, sim_path = sim or (None, None)

    def hide():
        for k in list(sys.modules):
            if k.startswith("pyb_sim"):
                hidden[k] = sys.modules.pop(k)

    loading = []  # a model's own imports go through unfiltered

    def import_model(name, globals, locals, fromlist, level):
        for k in hidden:
            sys.modules[k] = hidden[k]
        os.mount(sim_vfs, sim_path, readonly=True)
        loading.append(name)
        try:
            return real(name, globals, locals, fromlist, level)
        finally:
            loading.pop()
            os.umount(sim_path)
            hide()

    hide()

    board = pyb_sim.board

    def board_import(name, globals=None, locals=None, fromlist=(), level=0):
        # allocates nothing for an undotted name: an import inside an
        # interrupt handler (heap locked) works as on the board
        if level == 0 and not loading:
            # the firmware finds its built-in modules in C: this lookup is
            # the simulation's work (the CPU model leaves it out)
            board.hw_enter()
            try:
                top = name
                if "." in name:
                    top = name.split(".", 1)[0]
                m = mods.get(top)
            finally:
                board.hw_exit()
            if m is not None:
                return m
            if sim and fromlist and name.startswith("pyb_sim.models."):
                return import_model(name, globals, locals, fromlist, level)
            if top in BLOCKED or top.startswith("pyb_sim"):
                raise ImportError("no module named '%s'" % name)
        return real(name, globals, locals, fromlist, level)

    builtins.__import__ = board_import


class _FastPoll:
    """select.poll() with ``--fast``: a wait on nothing but time (asyncio's
    sleep) lets the board's clock run on by the timeout at once, since only
    the program's waits move that clock; a wait on a stream (sys.stdin,
    mpremote mount's protocol) waits for it in real time, as long as the
    timeout, and the board's clock moves by the time that passed."""

    def __init__(self, real):
        self._p = real
        self._n = 0

    def register(self, obj, eventmask=None):
        self._n += 1
        if eventmask is None:
            return self._p.register(obj)
        return self._p.register(obj, eventmask)

    def unregister(self, obj):
        self._n = max(self._n - 1, 0)
        return self._p.unregister(obj)

    def modify(self, obj, eventmask):
        return self._p.modify(obj, eventmask)

    def _wait(self, timeout, it):
        if timeout is None or timeout < 0 or self._n:
            t0 = _time.ticks_ms()
            got = self._p.ipoll(-1 if timeout is None else timeout) if it \
                else self._p.poll(-1 if timeout is None else timeout)
            clock.sleep_ms(_time.ticks_diff(_time.ticks_ms(), t0))
            return got
        clock.sleep_ms(timeout)
        return self._p.ipoll(0) if it else self._p.poll(0)

    def poll(self, timeout=-1):
        got = self._p.poll(0)
        if got or timeout == 0:
            return got
        return self._wait(timeout, False)

    def ipoll(self, timeout=-1, flags=0):
        if timeout == 0 or self._p.poll(0):
            return self._p.ipoll(0, flags)
        return self._wait(timeout, True)


def fast_select():
    import select

    m = module("select", select, ("POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "select"))

    def poll():
        return _FastPoll(select.poll())

    m.poll = poll
    return m


def board_open():
    """open() of the board: a path on its filesystems only. The unix port
    also opens a file descriptor given as a number (the supervisor's pipes
    among them); the firmware wants a str and says so, as extmod/vfs.c."""
    import io

    real = builtins.open

    def open(file, *args, **kw):
        if not isinstance(file, str):
            os.stat(file)  # the firmware's TypeError: can't convert ... to str
        return real(file, *args, **kw)

    m = module("io", io, ("BytesIO", "IOBase", "StringIO"))
    m.open = open
    builtins.open = open
    return m


def confine(flash_vfs, sd_vfs, uname_version, sim=None, fast=False, raw_write=None):
    """Make the board's filesystems the only ones (/flash, and /sd with an
    SD card), sys.path as the firmware sets it, and the board's modules the
    ones board code imports. ``sim``: (filesystem, mount point) the
    simulation was imported from, unmounted here."""
    if sim:
        os.umount(sim[1])
    os.umount("/")  # the unix port's VfsPosix of the whole host
    os.mount(flash_vfs, "/flash")
    path = ["", ".frozen"]
    if sd_vfs is not None:
        os.mount(sd_vfs, "/sd")
        path += ["/sd", "/sd/lib"]  # "/sd is first so it can override /flash"
    path += ["/flash", "/flash/lib"]
    sys.path[:] = path
    os.chdir("/sd" if sd_vfs is not None else "/flash")
    mods = {"io": board_open(), "os": board_os(uname_version),
            "vfs": module("vfs", vfs, VFS_NAMES),
            "sys": board_sys(raw_write), "time": module("time", clock, TIME_NAMES)}
    if fast:
        mods["select"] = fast_select()
    install_imports(mods, sim)
    install_help()


# --- pyb functions of the firmware that only make sense on a board -----------
_state = {"main": "main.py", "country": "XX", "usb_mode": "VCP+MSC"}


def main_script():
    """The script to run after boot.py: main.py, or what boot.py named
    with pyb.main() (ports/stm32/boardctrl.c)."""
    return _state["main"]


def _country(code=None):
    """pyb.country: network.country of the firmware (extmod/modnetwork.c),
    "XX" until set; a code is two characters."""
    if code is None:
        return _state["country"]
    if len(code) != 2:
        raise ValueError
    _state["country"] = code
    return None


def _main(filename, opt=0):
    """pyb.main(filename): the script to run after boot.py (ports/stm32/main.c)."""
    if isinstance(filename, str):
        _state["main"] = filename
    return None


def _usb_mode(mode=None, **kw):
    """pyb.usb_mode(): the USB mode, 'VCP+MSC' on a PYBv1.1 by default
    (ports/stm32/usb.c); setting it is kept, the virtual board's USB stays
    a serial port."""
    if mode is None:
        return _state["usb_mode"]
    _state["usb_mode"] = mode
    return None


def _info(dump_alloc_table=None):
    """pyb.info(): the parts of the firmware's report (machine_info in
    ports/stm32/modmachine.c) the virtual board has: unique ID, clocks, GC
    figures, free flash."""
    import gc

    import pyb

    i = pyb.unique_id()
    print("ID=%s:%s:%s" % (i[0:4].hex(), i[4:8].hex(), i[8:12].hex()))
    f = pyb.freq()
    print("S=%u\nH=%u\nP1=%u\nP2=%u" % f)
    free, used = gc.mem_free(), gc.mem_alloc()
    print("GC:\n  %u total\n  %u : %u" % (free + used, used, free))
    st = os.statvfs("/flash")
    print("LFS free: %u bytes" % (st[0] * st[3]))


def extend_pyb(pyb):
    """Give the simulated pyb the firmware functions it lacks."""
    for name, fn in (("country", _country), ("main", _main), ("usb_mode", _usb_mode),
                     ("info", _info)):
        if not hasattr(pyb, name):
            setattr(pyb, name, fn)
