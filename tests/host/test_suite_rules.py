"""The suite's own rules: a program a selected test needs and that is
missing stops the run before any test, in one line naming its package."""

import os
import subprocess

import conftest
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Item:
    def __init__(self, *names):
        self.marks = [pytest.mark.needs(*names).mark]

    def iter_markers(self, name):
        return [m for m in self.marks if m.name == name]


def test_a_missing_program_stops_the_run_with_one_line(monkeypatch):
    monkeypatch.setitem(conftest.PROGRAMS, "chromium",
                        (("/nonexistent/chromium",), "Debian package chromium", "make sysdeps"))
    with pytest.raises(pytest.exit.Exception) as e:
        conftest.pytest_collection_modifyitems(None, None, [Item("mosquitto"),
                                                            Item("chromium", "chromedriver")])
    assert e.value.returncode == 4
    msg = str(e.value)
    assert "\n" not in msg and "chromium" in msg and "make sysdeps" in msg, msg
    assert "mosquitto" not in msg  # only what is missing is named


def test_what_is_there_does_not_stop_the_run():
    conftest.pytest_collection_modifyitems(None, None, [Item("micropython", "mpremote")])


def test_an_unknown_program_name_is_a_usage_error():
    with pytest.raises(pytest.UsageError):
        conftest.pytest_collection_modifyitems(None, None, [Item("no-such-program")])


def test_nothing_in_the_suite_skips():
    """No skip, skipif, importorskip or early return by environment."""
    out = subprocess.run(["git", "grep", "-n", "-E",
                          r"pytest\.skip|skipif|importorskip|xfail|environ.get\(.CI.\)",
                          "--", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr  # 1: no match
    hits = [h for h in out.stdout.splitlines() if not h.startswith("tests/host/test_suite_rules")]
    assert hits == [], hits
