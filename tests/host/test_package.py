"""package.json (what ``mpremote mip install`` reads) lists every pyb_lib
module, in the version of the code; and the real ``mpremote mip install``
puts pyb_lib on the virtual PyBoard from a local HTTP server serving the
checkout, where the examples import it."""

import configparser
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

import pytest
from test_examples import check_i2c_scan
from vboard_support import (
    MPREMOTE,
    ROOT,
    fast_board,  # noqa: F401 - the module's `board` fixture
    mpremote,
    needs_vboard,
)

import pyb_bridge
import pyb_lib
from pyb_bridge.cli import main
from pyb_bridge.deploy import local_files

PACKAGE_JSON = os.path.join(ROOT, "package.json")


def package():
    with open(PACKAGE_JSON) as f:
        return json.load(f)


def modules():
    """Every module of pyb_lib, as its path in the checkout."""
    return sorted("pyb_lib/" + rel for rel, _ in local_files(os.path.join(ROOT, "pyb_lib")))


def test_package_json_lists_every_module():
    urls = package()["urls"]
    listed = [url for _, url in urls]
    missing = sorted(set(modules()) - set(listed))
    assert not missing, "add to package.json's urls: %s" % ", ".join(
        json.dumps([m, m]) for m in missing)
    absent = sorted(set(listed) - set(modules()))
    assert not absent, "package.json lists files that are not in pyb_lib: %s" % absent
    assert len(listed) == len(set(listed))
    for dest, url in urls:
        assert dest == url, "%s: installs to %s; the board imports it from its own path" % (
            url, dest)


def test_package_json_is_what_mip_reads():
    p = package()
    assert sorted(p) == ["deps", "urls", "version"]
    assert p["deps"] == []  # pyb_lib needs only the firmware's own modules
    for dest, url in p["urls"]:
        assert not url.startswith("/") and "\\" not in url  # relative to package.json
        assert dest.startswith("pyb_lib/") and dest.endswith(".py")
    assert p["urls"][0][0] == "pyb_lib/__init__.py"  # the package first


def test_package_json_version_is_pyb_lib_version():
    assert package()["version"] == pyb_lib.__version__


def test_one_version():
    """pyb_lib/__init__.py holds the version; everything else reads it."""
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    assert cfg["metadata"]["version"] == "attr: pyb_lib.__version__"
    assert pyb_bridge.__version__ is pyb_lib.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", pyb_lib.__version__)
    with open(os.path.join(ROOT, "CHANGELOG.md")) as f:
        heading = next(line for line in f if line.startswith("## "))
    assert heading.split()[1] == pyb_lib.__version__, "CHANGELOG.md: %s" % heading


def test_cli_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == "pyb-bridge %s (pyb_lib %s, stream protocol 2)\n" % (
        pyb_lib.__version__, pyb_lib.__version__)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requested = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requested.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def server():
    """The checkout on http://127.0.0.1:PORT/, as a repository host serves it."""
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=ROOT))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def mip(port, *args):
    """The real ``mpremote connect PORT mip install ARGS``; its output."""
    env = dict(os.environ, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    proc = subprocess.run([MPREMOTE, "connect", port, "mip", "install", *args],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.replace("\r\n", "\n")


def installed(folder):
    """{path relative to ``folder``: bytes} of every file below it."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for f in files:
            full = os.path.join(dirpath, f)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, folder).replace(os.sep, "/")] = fh.read()
    return out


def checkout_files():
    out = {}
    for m in modules():
        with open(os.path.join(ROOT, m), "rb") as f:
            out[m] = f.read()
    return out


@needs_vboard
def test_mip_install_into_flash_lib(board, server):
    port, flash = board
    shutil.rmtree(os.path.join(flash, "lib"), ignore_errors=True)
    _Quiet.requested.clear()
    out = mip(port, server + "/package.json")
    # mip's default target: the first sys.path entry ending in /lib, as on a PyBoard
    assert "Installing %s/package.json to /flash/lib" % server in out
    assert out.rstrip().endswith("Done")
    assert _Quiet.requested == ["/package.json"] + ["/" + url for _, url in package()["urls"]]
    assert installed(os.path.join(flash, "lib")) == checkout_files()

    check_i2c_scan(mpremote(port, "run", os.path.join(ROOT, "examples", "i2c_scan.py"))
                   .splitlines())
    lines = mpremote(port, "run", os.path.join(ROOT, "examples", "bme280_read.py")).splitlines()
    assert len(lines) == 10 and all(x.endswith(" %RH") for x in lines)  # a device driver
    out = mpremote(port, "exec", "import pyb_lib, pyb_lib.devices.w25q as w\n"
                                 "print(pyb_lib.__version__, w.__file__)")
    assert out.split() == [pyb_lib.__version__, "/flash/lib/pyb_lib/devices/w25q.py"]


@needs_vboard
def test_mip_install_with_target_and_no_mpy(board, server):
    port, flash = board
    for d in ("lib", "extra"):
        shutil.rmtree(os.path.join(flash, d), ignore_errors=True)
    out = mip(port, "--target", "/flash/extra", "--no-mpy", server + "/package.json")
    assert "to /flash/extra" in out
    assert installed(os.path.join(flash, "extra")) == checkout_files()
    assert not os.path.exists(os.path.join(flash, "lib"))
    out = mpremote(port, "exec", "import sys; sys.path.append('/flash/extra')\n"
                                 "import pyb_lib.uart as u; print(u.__file__, u.UARTPort.__name__)")
    assert out.split() == ["/flash/extra/pyb_lib/uart.py", "UARTPort"]

