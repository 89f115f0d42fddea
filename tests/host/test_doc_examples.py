"""Every REPL session in README.md and docs/*.md, typed at a virtual
PyBoard with the default wiring: a page cannot promise what the board does
not do.

A ```python block with ``>>> `` lines is a session. Each block starts on a
freshly soft-reset board (with pyb_lib deployed to /flash/lib). Each
statement runs as the REPL runs it (compiled in 'single' mode, so a value
is printed as at the prompt) through mpremote's raw REPL, and what it
prints is compared with the lines under it:

- the text must be the same (the board's ``\\r\\n`` read as ``\\n``);
- ``...`` inside an expected line stands for any text (a value that varies);
- an error is shown by its last line (``OSError: [Errno 5] EIO: ...``),
  with or without the ``Traceback (most recent call last):`` and ``  ...``
  lines above it;
- ``<!-- not run: REASON -->`` on the line above a block leaves it out
  (for a board the virtual one is not, such as an ESP32), and
  ``<!-- after the block above -->`` first runs the nearest ```python
  block above it that has no ``>>>`` (the class a session uses)."""

import os
import re

import pytest
from mpremote.transport_serial import SerialTransport
from test_examples import bridge
from vboard_support import ROOT, needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard

PAGES = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(ROOT, "docs"))
                               if f.endswith(".md"))
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
TRACEBACK = ("Traceback (most recent call last):", "  ...")


def sessions():
    """(page, line, setup code or None, [(statement, expected lines)], reason not run)"""
    found = []
    for page in PAGES:
        with open(os.path.join(ROOT, page)) as f:
            text = f.read()
        plain = None
        for m in FENCE.finditer(text):
            body = m.group(1)
            if ">>> " not in body:
                plain = body
                continue
            above = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            skip = re.fullmatch(r"<!-- not run: (.+) -->", above)
            setup = plain if above == "<!-- after the block above -->" else None
            found.append((page, text[:m.start()].count("\n") + 1, setup, statements(body),
                          skip.group(1) if skip else None))
    return found


def statements(body):
    items = []
    for ln in body.splitlines():
        if ln.startswith(">>> "):
            items.append([ln[4:], []])
        elif items and not items[-1][1] and (
                ln.startswith("... ") or (ln == "..." and "\n" in items[-1][0])):
            # a continuation line; a bare "..." after one ends the block (after
            # a one-line statement it is output: any text)
            items[-1][0] += "\n" + ln[4:]
        elif items:
            items[-1][1].append(ln)
    return [(src, [x for x in exp if x.strip()]) for src, exp in items]


def matches(expected, got):
    """``expected`` lines (with ``...`` for any text) against ``got`` lines."""
    if len(expected) != len(got):
        return False
    for e, g in zip(expected, got, strict=True):
        pattern = ".*".join(re.escape(part) for part in e.rstrip().split("..."))
        if not re.fullmatch(pattern, g.rstrip()):
            return False
    return True


ALL = sessions()


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    flash = tmp_path_factory.mktemp("flash")
    proc, port = start_vboard(flash, "--fast")
    bridge("deploy", "--port", port)
    yield port
    assert stop_vboard(proc) == 0


def test_the_pages_have_sessions():
    assert len([s for s in ALL if s[4] is None]) >= 10
    assert all(items for _, _, _, items, _ in ALL)


@pytest.mark.parametrize("page,line,setup,items,not_run", ALL,
                         ids=["%s:%d" % (s[0], s[1]) for s in ALL])
def test_session(board, page, line, setup, items, not_run):
    if not_run:
        assert len(not_run) > 10, "say why the block is not run"
        return
    t = SerialTransport(board, baudrate=115200)
    try:
        t.enter_raw_repl(soft_reset=True)
        if setup:
            out, err = t.exec_raw(setup, timeout=30)
            assert not err, "%s:%d: the block above fails: %s" % (page, line, err.decode())
        for src, expected in items:
            code = "exec(compile(%r, '<stdin>', 'single'))" % (src + "\n")
            out, err = t.exec_raw(code, timeout=30)
            got = out.decode().replace("\r\n", "\n").splitlines()
            if err:
                got.append(err.decode().replace("\r\n", "\n").rstrip("\n").splitlines()[-1])
                want = [x for x in expected if x not in TRACEBACK]
            else:
                want = expected
            assert matches(want, got), "%s:%d: >>> %s\nthe page says:\n%s\nthe board says:\n%s" % (
                page, line, src, "\n".join(expected), "\n".join(got))
    finally:
        t.close()
