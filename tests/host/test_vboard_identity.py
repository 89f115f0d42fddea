"""The virtual board says what a PYBv1.1 says (docs/virtual-board.md, "The
board's identity and clock"), starts from the firmware's factory files, and
has the modules frozen in its firmware."""

import pytest
from vboard_support import board_exec as run
from vboard_support import mpremote, needs_vboard, start_vboard, stop_vboard

from pyb_sim import factory

pytestmark = needs_vboard


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    flash = tmp_path_factory.mktemp("flash")
    proc, port = start_vboard(flash, "--fast")
    yield port, flash
    assert stop_vboard(proc) == 0


def test_a_fresh_flash_holds_the_factory_files(board):
    port, flash = board
    assert sorted(p.name for p in flash.iterdir()) == ["README.txt", "boot.py", "main.py"]
    assert (flash / "boot.py").read_bytes().startswith(
        b"# boot.py -- run on boot to configure USB and filesystem\r\n")
    assert (flash / "main.py").read_bytes() == b"# main.py -- put your code here!\r\n"
    assert run(port, "import os; print(sorted(os.listdir()))") == \
        "['README.txt', 'boot.py', 'main.py']"


def test_the_factory_boot_py_runs(board):
    """mpremote soft-resets the board: boot.py runs (its import lines) and
    the board comes back to the REPL."""
    out = run(board[0], "exec(open('boot.py').read()); print('machine' in dir(), 'pyb' in dir())")
    assert out == "True True"
    assert mpremote(board[0], "soft-reset", "exec", "print(1)").strip() == "1"


def test_a_flash_with_files_is_left_as_it_is(tmp_path):
    (tmp_path / "mine.py").write_text("x = 1\n")
    proc, port = start_vboard(tmp_path, "--fast")
    try:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.py"]
    finally:
        assert stop_vboard(proc) == 0


def test_platform_uname_implementation(board):
    out = run(board[0], "import sys, os\nprint(sys.platform)\nu = os.uname()\n"
                        "print(u.sysname, u.nodename, u.machine)\n"
                        "print(u.release == '%d.%d.%d' % sys.implementation.version[:3] +"
                        " ('-' + sys.implementation.version[3] if sys.implementation.version[3]"
                        " else ''))\n"
                        "print(sys.implementation._machine, sys.implementation._build,"
                        " sys.implementation._mpy & 0xff, sys.implementation._mpy >> 10)\n")
    assert out.split("\n") == ["pyboard", "pyboard pyboard PYBv1.1 with STM32F405RG", "True",
                               "PYBv1.1 with STM32F405RG PYBV11 6 7"]


def test_frozen_asyncio_runs(board):
    out = run(board[0], "import asyncio, uasyncio\n"
                        "async def tick(n, out):\n"
                        "    for i in range(n):\n"
                        "        await asyncio.sleep_ms(10)\n"
                        "        out.append(i)\n"
                        "async def main():\n"
                        "    a, b = [], []\n"
                        "    await asyncio.gather(tick(3, a), tick(2, b))\n"
                        "    return a, b\n"
                        "print(asyncio.run(main()), uasyncio.sleep_ms is asyncio.sleep_ms)\n")
    assert out == "([0, 1, 2], [0, 1]) True"


def test_pyb_country_main_usb_mode_info(board):
    out = run(board[0], "import pyb\nprint(pyb.country())\npyb.country('GB')\n"
                        "print(pyb.country())\n"
                        "try:\n    pyb.country('GBR')\n"
                        "except ValueError:\n    print('ValueError')\n"
                        "print(pyb.usb_mode())\npyb.info()\n")
    lines = out.split("\n")
    assert lines[:4] == ["XX", "GB", "ValueError", "VCP+MSC"]
    assert lines[4].startswith("ID=") and lines[5:9] == [
        "S=168000000", "H=168000000", "P1=42000000", "P2=84000000"]
    assert lines[9] == "GC:" and lines[-1].startswith("LFS free: ")


def test_pyb_main_names_the_script_after_boot(tmp_path):
    (tmp_path / "boot.py").write_text("import pyb\npyb.main('app.py')\n")
    (tmp_path / "main.py").write_text("print('main.py ran')\n")
    (tmp_path / "app.py").write_text("print('app.py ran')\n")
    proc, port = start_vboard(tmp_path, "--fast")
    try:
        import serial

        with serial.Serial(port, timeout=10) as ser:
            ser.write(b"\r")
            assert ser.read_until(b">>> ").endswith(b">>> ")
            ser.write(b"\x04")  # Ctrl-D on an empty line: soft reset
            got = ser.read_until(b'for more information.\r\n>>> ')
        assert b"app.py ran" in got and b"main.py ran" not in got, got
    finally:
        assert stop_vboard(proc) == 0


def test_factory_files_are_the_firmwares():
    """ports/stm32/factoryreset.c writes these three (and pybcdc.inf)."""
    assert [n for n, _ in factory.FILES] == ["boot.py", "main.py", "README.txt"]
    assert all(t.endswith("\r\n") and "\n" not in t.replace("\r\n", "") for _, t in factory.FILES)


def test_help_modules_lists_what_imports(board):
    out = run(board[0], "help('modules')").split("\n")
    assert out[-1] == "Plus any modules on the filesystem"
    names = " ".join(out[:-1]).split()
    assert {"pyb", "machine", "asyncio/core", "uasyncio", "vfs"} <= set(names)
    assert not {"ffi", "socket", "termios", "_thread", "mip", "ssl"} & set(names)
    mods = [n for n in names if "/" not in n and n != "__main__"]
    got = run(board[0], "for n in %r:\n    __import__(n)\nprint('all', len(%r))" % (mods, mods))
    assert got == "all %d" % len(mods)
