"""What board code can reach on the virtual board: only /flash (and /sd),
the firmware's modules, and, whatever it digs out of the simulation, nothing
of the host (docs/vboard.md, "What board code can reach").

Every case runs on a confined board with a canary file and folder outside
the flash folder, checked unchanged afterwards."""

import os
import subprocess
import sys

import pytest
from vboard_support import board_exec as run
from vboard_support import env, needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """(port, flash folder, canary file, canary folder, sd folder)."""
    top = tmp_path_factory.mktemp("host")
    flash, sd = top / "flash", top / "sd"
    flash.mkdir()
    sd.mkdir()
    canary = top / "canary.txt"
    canary.write_text("the host's file\n")
    folder = top / "canary"
    folder.mkdir()
    (folder / "inside.txt").write_text("the host's folder\n")
    proc, port = start_vboard(flash, "--fast", "--sd", str(sd))
    yield port, flash, canary, folder, sd
    assert stop_vboard(proc) == 0


def snapshot(host):
    _, _, canary, folder, _ = host
    return (canary.read_bytes(), os.stat(canary).st_mtime_ns,
            sorted((p.name, p.read_bytes()) for p in folder.iterdir()),
            os.stat(folder).st_mtime_ns)


@pytest.fixture
def board(host):
    """The board's port; the canary is checked unchanged after the test."""
    before = snapshot(host)
    yield host
    assert snapshot(host) == before
    assert sorted(os.listdir(host[2].parent)) == ["canary", "canary.txt", "flash", "sd"]


def fails(port, stmt):
    """``stmt`` run on the board: the name and errno of what it raised."""
    code = ("try:\n    %s\n    print('no error')\nexcept OSError as e:\n"
            "    print('OSError', e.errno)\nexcept Exception as e:\n"
            "    print(type(e).__name__, e)\n" % stmt)
    return run(port, code)


def test_the_root_holds_flash_and_sd(board):
    assert run(board[0], "import os; print(os.listdir('/'))") == "['flash', 'sd']"
    assert run(board[0], "import sys; print(sys.path)") == (
        "['', '.frozen', '/sd', '/sd/lib', '/flash', '/flash/lib']")
    # with an SD card the board starts in /sd (ports/stm32/main.c)
    assert run(board[0], "import os; print(os.getcwd())") == "/sd"


@pytest.mark.parametrize("stmt, error", [
    # extmod/vfs.c: a path on no mounted filesystem is ENODEV; the root
    # itself cannot be changed (EPERM) or made (EEXIST)
    ("open('/etc/hostname')", "OSError 19"),
    ("open('/x.py', 'w')", "OSError 19"),
    ("import os; os.remove('/x')", "OSError 19"),
    ("import os; os.mkdir('/tmp/x')", "OSError 19"),
    ("import os; os.listdir('/etc')", "OSError 19"),
    ("import os; os.rmdir('/')", "OSError 1"),
    ("import os; os.mkdir('/flash')", "OSError 17"),
])
def test_paths_outside_the_board(board, stmt, error):
    assert fails(board[0], stmt) == error


def test_rename_out_of_flash(board):
    flash = board[1]
    (flash / "keep.txt").write_text("mine")
    assert fails(board[0], "import os; os.rename('/flash/keep.txt', '/keep.txt')") == \
        "OSError 1"
    assert fails(board[0], "import os; os.rename('/flash/keep.txt', '/sd/keep.txt')") == \
        "OSError 1"
    assert (flash / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("path", ["/flash/../canary.txt", "/flash/../../canary.txt",
                                  "../canary.txt", "/flash/lib/../../canary.txt"])
def test_dot_dot_stays_in_flash(board, path):
    assert fails(board[0], "open(%r).read()" % path) == "OSError 2"
    assert fails(board[0], "open(%r, 'w').write('x')" % path) == "OSError 2"


def test_symlinks_out_of_flash_lead_nowhere(board):
    port, flash, canary, folder, _ = board
    os.symlink(canary, flash / "link.txt")
    os.symlink(folder, flash / "linkdir")
    try:
        assert fails(port, "open('/flash/link.txt').read()") == "OSError 2"
        assert fails(port, "open('/flash/link.txt', 'w').write('x')") == "OSError 2"
        assert fails(port, "import os; os.listdir('/flash/linkdir')") == "OSError 2"
        assert fails(port, "open('/flash/linkdir/new.txt', 'w').write('x')") == "OSError 2"
        assert fails(port, "import os; os.remove('/flash/linkdir/inside.txt')") == "OSError 2"
    finally:
        os.unlink(flash / "link.txt")
        os.unlink(flash / "linkdir")


@pytest.mark.parametrize("name", ["ffi", "termios", "socket", "ssl", "_thread", "mip",
                                  "uffi", "pyb_sim", "pyb_sim.vboard_agent"])
def test_unix_modules_are_not_there(board, name):
    assert fails(board[0], "import %s" % name) == "ImportError no module named '%s'" % name


@pytest.mark.parametrize("stmt, error", [
    ("import os; os.system('true')", "'module' object has no attribute 'system'"),
    ("import os; os.popen('true')", "'module' object has no attribute 'popen'"),
    ("import os; os.getenv('HOME')", "'module' object has no attribute 'getenv'"),
    ("import vfs; vfs.mount(vfs.VfsPosix('/'), '/host')",
     "'module' object has no attribute 'VfsPosix'"),
    ("import os; os.VfsPosix('/')", "'module' object has no attribute 'VfsPosix'"),
])
def test_unix_names_are_not_there(board, stmt, error):
    assert fails(board[0], stmt) == "AttributeError " + error


def test_the_supervisors_pipes_are_not_files(board):
    """The unix port opens a file descriptor given as a number; the board
    wants a path, so no number reaches the supervisor's pipes."""
    out = run(board[0], "import io\nseen = set()\nfor fd in range(64):\n"
                        "    for o in (open, io.open):\n        try:\n            o(fd)\n"
                        "            seen.add('opened')\n        except TypeError as e:\n"
                        "            seen.add(str(e))\nprint(seen)")
    assert out == "{\"can't convert 'int' object to str implicitly\"}"


def test_the_simulation_is_not_in_sys_modules(board):
    out = run(board[0], "import sys\nprint([k for k in sys.modules if 'pyb_sim' in k or "
                        "'agent' in k])\nimport os\nprint(os is sys.modules.get('os', os))")
    assert out == "[]\nTrue"


def test_the_real_os_reached_through_the_simulation_cannot_touch_the_host(board):
    """The interpreter-level hiding is not the fence: a function's
    __globals__ leads to the unix port's own os. The operating system's
    sandbox is: that os sees only the sandbox, has no shell, and every
    attempt on the canary fails."""
    port, flash, canary, folder, _ = board
    code = (
        "import pyb\n"
        "ros = pyb.USB_VCP.isconnected.__globals__['os']\n"
        "print(sorted(ros.listdir('/')) == sorted(ros.listdir('/')))\n"
        "p = ros.VfsPosix('/')\n"
        "ros.mount(p, '/host')\n"
        "import os\n"
        "print('host' in os.listdir('/'))\n"
        "seen = os.listdir('/host')\n"
        "print('home' in seen, 'etc' in seen, 'bin' in seen)\n"
        "for path in (%r, %r):\n"
        "    for act in (lambda: open('/host' + path).read(), lambda: open('/host' + path, 'w'),\n"
        "                lambda: os.remove('/host' + path), lambda: os.listdir('/host' + path)):\n"
        "        try:\n"
        "            act(); print('reached', path)\n"
        "        except OSError as e:\n"
        "            pass\n"
        "print(ros.system('rm -rf %s %s') != 0)\n"
        "for d in ('/host/usr/lib', '/host/opt/vboard/run'):\n"
        "    try:\n"
        "        open(d + '/x', 'w'); print('wrote', d)\n"
        "    except OSError as e:\n"
        "        print(e.errno)\n"
    ) % (str(canary), str(folder), canary, folder)
    out = run(port, code).split("\n")
    assert out == ["True", "True", "False False False", "True", "30", "30"], out


def test_refuses_to_start_unconfined_without_the_flag(tmp_path):
    """A host without bwrap: the board says so and does not start."""
    proc = subprocess.run(
        [sys.executable, "-m", "pyb_sim.vboard", "--flash", str(tmp_path), "--fast"],
        capture_output=True, timeout=60, env=dict(env(), PATH=str(tmp_path)))
    assert proc.returncode == 1
    err = proc.stderr.decode().strip()
    assert err.startswith("vboard: cannot confine the board: the bwrap command"), err
    assert "--unconfined" in err and len(err.splitlines()) == 1
    assert os.listdir(tmp_path) == []
