"""The virtual board's friendly-REPL line editor against the real one: the
MicroPython unix port runs the same readline.c and repl.c as the firmware,
so the same keys must give the same bytes on the terminal."""

import os
import pty
import select
import sys
import time
import tty

import pytest
from vboard_support import needs_vboard

from pyb_sim.vboard_repl import FriendlyRepl, continue_with_input

pytestmark = needs_vboard
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

KEYS = [
    b"abc\x08\x08",  # backspace
    b"abcd\x1b[D\x1b[DX",  # left arrow, insert
    b"abcdefgh\x1b[H\x1b[F",  # home, end (long: VT100 cursor move)
    b"abc\x1b[D\x1b[D\x08",  # backspace in the middle
    b"abc\x1b[D\x1b[D\x1b[3~",  # delete key
    b"abcdef\x01\x06\x06\x0b",  # Ctrl-A home, Ctrl-F right, Ctrl-K kill
    b"abcdef\x02\x02\x15",  # Ctrl-B left, Ctrl-U kill to start
    b"if 1:\r    \x08",  # auto-indent, a space after it, backspace of an indent
    b"def f():\r  ",
    b"for i in x:\rpass\r\r",  # auto-indent kept, then dropped
    b"x = (1,\r2",
    b"s = '''\rabc",
    b"  \t",  # tab after spaces
    b"1+\\\r",
]


@pytest.fixture(scope="module")
def unix_repl():
    pid, fd = pty.fork()
    if pid == 0:
        tty.setraw(0)
        os.execv(MICROPYTHON, ["micropython"])
    read_until(fd, b">>> ")
    yield fd
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    os.close(fd)


def read_until(fd, until, timeout=20):
    """What ``fd`` gives until ``until`` has come (an error after ``timeout`` s)."""
    out = b""
    deadline = time.monotonic() + timeout
    while until not in out:
        assert time.monotonic() < deadline, "no %r from the interpreter; got %r" % (until, out)
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            out += os.read(fd, 4096)
    return out


# Typed after the keys under test: Ctrl-C ends the line they left, then a
# statement whose result cannot be in the echo of the keys. Its output marks
# the end of what the keys made the interpreter write.
MARKER = b"\x03'MAR'+'KER'\r"
AFTER_KEYS = b"\r\n>>> 'MAR'+'KER'\r\n'MARKER'\n>>> "


def typed(fd, keys):
    """What the interpreter at ``fd`` echoes for ``keys``."""
    os.write(fd, keys + MARKER)
    out = read_until(fd, AFTER_KEYS)
    assert out.endswith(AFTER_KEYS), out
    return out[:-len(AFTER_KEYS)]


@pytest.mark.parametrize("keys", KEYS)
def test_same_echo_as_the_interpreters_readline(unix_repl, keys):
    real = typed(unix_repl, keys)
    repl = FriendlyRepl()
    repl.prompt()
    mine = b"".join(repl.key(c)[0] for c in keys)
    assert mine == real


def test_history_recalls_lines(unix_repl):
    os.write(unix_repl, b"1\r22\r")
    read_until(unix_repl, b"22\n>>> ")
    repl = FriendlyRepl()
    repl.prompt()
    for c in b"1\r":
        repl.key(c)
    repl.prompt()
    for c in b"22\r":
        repl.key(c)
    repl.prompt()
    keys = b"\x1b[A\x1b[A\x1b[B"
    real = typed(unix_repl, keys)
    assert b"".join(repl.key(c)[0] for c in keys) == real


def test_enter_gives_the_statement_to_run():
    repl = FriendlyRepl()
    repl.prompt()
    events = [repl.key(c)[1] for c in b"for i in x:\rprint(i)\r\r\r\r"]
    assert events[-1] == ("exec", "for i in x:\n    print(i)\n    \n    \n", "single")
    assert [e for e in events[:-1] if e] == []
    repl.prompt()
    assert repl.key(1) == (b"\r\n", ("raw",))
    repl.prompt()
    assert repl.key(4) == (b"\r\n", ("reset",))


def test_paste_mode():
    repl = FriendlyRepl()
    repl.prompt()
    out, _ = repl.key(5)
    assert out == b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
    outs = [repl.key(c) for c in b"if 1:\r  x = 1\r\x04"]
    assert outs[5] == (b"\r\n=== ", None)
    assert outs[-1] == (b"\r\n", ("exec", "if 1:\r  x = 1\r", "exec"))


def test_continue_with_input_follows_repl_c():
    assert not continue_with_input("")
    assert not continue_with_input("x = 1")
    assert continue_with_input("if x:")
    assert continue_with_input("if x: pass")
    assert not continue_with_input("if x: pass\n")
    assert not continue_with_input("iffy = 2")
    assert continue_with_input("@decorator")
    assert continue_with_input("f(1,")
    assert not continue_with_input("f('(')")
    assert continue_with_input("s = '''abc")
    assert not continue_with_input("s = '''abc'''")
    assert continue_with_input("x = 1 + \\")
    assert continue_with_input("async def f():")
