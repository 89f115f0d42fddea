"""Host tools against the virtual board as against a PyBoard: mpremote
mount (import, run, write through the mount, byte for byte), Belay (tasks,
generator tasks, sync with its default destination) and ampy (put, get,
ls, run, and its destructive defaults), each with a canary file and folder
outside the flash folder checked unchanged."""

import os
import subprocess
import sys

import pytest
from vboard_support import BIN, mpremote, needs_vboard, start_vboard, stop_vboard

pytestmark = needs_vboard
AMPY = os.path.join(BIN, "ampy")
RSHELL = os.path.join(BIN, "rshell")


@pytest.fixture(scope="module", params=["--fast", "realtime"])
def host(request, tmp_path_factory):
    top = tmp_path_factory.mktemp("tools")
    flash = top / "flash"
    flash.mkdir()
    (top / "canary.txt").write_text("the host's file\n")
    (top / "canary").mkdir()
    (top / "canary" / "inside.txt").write_text("the host's folder\n")
    args = [request.param] if request.param == "--fast" else []
    proc, port = start_vboard(flash, *args)
    yield port, top
    assert stop_vboard(proc) == 0


@pytest.fixture
def board(host):
    port, top = host
    before = ((top / "canary.txt").read_bytes(), (top / "canary" / "inside.txt").read_bytes(),
              sorted(os.listdir(top)), sorted(os.listdir(top / "canary")))
    yield port, top
    assert ((top / "canary.txt").read_bytes(), (top / "canary" / "inside.txt").read_bytes(),
            sorted(os.listdir(top)), sorted(os.listdir(top / "canary"))) == before


def test_mpremote_mount_round_trips_bytes(board, tmp_path):
    port, _ = board
    data = bytes(range(256)) * 16 + b"\n\r\n\x00\x04\x03\x00"
    (tmp_path / "in.bin").write_bytes(data)
    (tmp_path / "copier.py").write_text(
        "import os\n"
        "data = open('in.bin', 'rb').read()\n"
        "with open('out.bin', 'wb') as f:\n"
        "    f.write(data)\n"
        "print(len(data), os.getcwd(), sorted(os.listdir()))\n")
    out = mpremote(port, "mount", str(tmp_path), "exec", "import copier")
    assert out.splitlines()[-1] == "%d /remote ['copier.py', 'in.bin', 'out.bin']" % len(data)
    assert (tmp_path / "out.bin").read_bytes() == data


def test_mpremote_mount_runs_a_script_from_the_folder(board, tmp_path):
    port, _ = board
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    (tmp_path / "app.py").write_text("from helper import twice\nprint('app', twice(21))\n")
    out = mpremote(port, "mount", str(tmp_path), "exec",
                   "import sys; sys.path.append('/remote/lib'); import app")
    assert out.splitlines()[-1] == "app 42"


def belay_run(port, folder, code):
    script = ("import belay, sys\n"
              "d = belay.Device(%r)\n" % port + code + "\nd.close()\n")
    path = folder / "belay_script.py"  # Belay reads a task's source from its file
    path.write_text(script)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, timeout=120,
                          cwd=str(folder))
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().strip()


def test_belay_tasks_and_identity(board, tmp_path):
    out = belay_run(board[0], tmp_path, (
        "@d.task\ndef add(a, b):\n    return a + b\n"
        "@d.task\ndef squares(n):\n    for i in range(n):\n        yield i * i\n"
        "print(add(2, 3), list(squares(4)))\n"
        "print(d.implementation.platform, d.implementation.arch)\n"))
    assert out.split("\n") == ["5 [0, 1, 4, 9]", "pyboard armv7emsp"]


def test_belay_sync_to_its_default_destination(board, tmp_path):
    """Belay syncs to / by default: on a PyBoard, / holds only the flash
    mount point, and writing a file there fails (ENODEV); the host is
    untouched."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    out = belay_run(board[0], tmp_path, (
        "try:\n    d.sync(%r)\n    print('synced')\n"
        "except Exception as e:\n    print(type(e).__name__, str(e).strip().splitlines()[-1])\n"
        % str(src)))
    assert out == "PyboardException OSError: [Errno 19] ENODEV"


def ampy(port, *args):
    return subprocess.run([AMPY, "--port", port, *args], capture_output=True, timeout=60)


def test_ampy_put_get_ls_run(board, tmp_path):
    port, top = board
    src = tmp_path / "hello.py"
    src.write_text("print('hello from ampy')\n")
    assert ampy(port, "put", str(src), "hello.py").returncode == 0
    assert (top / "flash" / "hello.py").read_text() == src.read_text()
    # ampy prints the file and a newline
    assert ampy(port, "get", "hello.py").stdout.decode() == src.read_text() + "\n"
    assert ampy(port, "ls").stdout.decode().split() == ["/flash"]
    assert ampy(port, "run", str(src)).stdout.decode().strip() == "hello from ampy"


def test_ampy_destructive_defaults_stay_on_the_board(board, tmp_path):
    port, top = board
    src = tmp_path / "x.py"
    src.write_text("x = 1\n")
    put = ampy(port, "put", str(src), "/x.py")
    assert put.returncode != 0 and b"OSError: [Errno 19] ENODEV" in put.stderr
    assert not os.path.exists("/x.py") or os.path.getsize("/x.py") != 6
    rm = ampy(port, "rmdir", "/")
    assert rm.returncode != 0
    assert mpremote(port, "exec", "print(6 * 7)").strip() == "42"


def rshell(port, commands):
    proc = subprocess.run([RSHELL, "--quiet", "-p", port, commands], capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_rshell_sees_a_pyboard(board, tmp_path):
    port, top = board
    src = tmp_path / "hello.py"
    src.write_text("print('hello from rshell')\n")
    out = rshell(port, "boards")
    assert "Epoch: 2000" in out and "Dirs: /flash /pyboard/flash" in out, out
    rshell(port, "cp %s /flash/rs.py" % src)
    assert (top / "flash" / "rs.py").read_text() == src.read_text()
    assert rshell(port, "cat /flash/rs.py") == src.read_text()
    # the board's root holds only flash: a copy there fails as on a PyBoard
    out = rshell(port, "cp %s /pyboard/rs.py ; ls /pyboard" % src)
    assert out.split()[-1] == "flash/", out
