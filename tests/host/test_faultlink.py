"""pyb_bridge.faultlink and the reliability trials (pyb_sim.reliability),
short: the stream through a faulty link into ``pyb-bridge log``."""

import os
import time
import tty

from pyb_bridge.faultlink import FaultLink, even_rates
from pyb_sim.reliability import run_case

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_faults_depend_on_the_seed_and_the_bytes_not_on_the_chunking():
    data = bytes(range(256)) * 200
    whole = FaultLink("-", "-", rates=even_rates(1e-2), seed=7).mangle(data)[0]
    fl = FaultLink("-", "-", rates=even_rates(1e-2), seed=7)
    pieces = b"".join(fl.mangle(data[i:i + 997])[0] for i in range(0, len(data), 997))
    assert pieces == whole != data
    assert sum(fl.faults.values()) > 200  # about 512 expected
    assert FaultLink("-", "-", rates=even_rates(1e-2), seed=8).mangle(data)[0] != whole
    assert FaultLink("-", "-").mangle(data) == (data, None)  # no rates: untouched


def test_each_kind_of_fault():
    data = b"abcdefgh" * 10
    assert FaultLink("-", "-", rates={"drop": 1}).mangle(data)[0] == b""
    assert FaultLink("-", "-", rates={"dup": 1}).mangle(b"ab")[0] == b"aabb"
    flipped = FaultLink("-", "-", rates={"flip": 1}).mangle(data)[0]
    assert len(flipped) == len(data) and all(bin(a ^ b).count("1") == 1
                                             for a, b in zip(flipped, data, strict=True))
    assert len(FaultLink("-", "-", rates={"insert": 1}).mangle(data)[0]) == 2 * len(data)
    assert b">>> " in FaultLink("-", "-", rates={"repl": 0.5}, seed=3).mangle(data * 5)[0]
    assert FaultLink("-", "-", rates={"stall": 1}).mangle(data)[1] == 0
    try:
        FaultLink("-", "-", rates={"melt": 1})
    except ValueError as e:
        assert "melt" in str(e)
    else:
        raise AssertionError("unknown fault accepted")


def test_proxy_passes_both_ways_and_reconnects_behind_the_symlink(tmp_path):
    bm, bs = os.openpty()
    tty.setraw(bm)
    tty.setraw(bs)
    link = str(tmp_path / "tty")
    with FaultLink(os.ttyname(bs), link, gap_s=0.02) as fl:
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        os.write(bm, b"board says hi")
        got = b""
        while len(got) < 13:
            got += os.read(fd, 100)
        assert got == b"board says hi"
        os.write(fd, b"\x03\x01")  # bridge -> board (raw REPL), untouched
        assert os.read(bm, 10) == b"\x03\x01"
        fl.disconnect()
        try:
            while True:
                os.read(fd, 100)  # fails once the pty is gone
        except OSError:
            pass
        os.close(fd)
        end = time.monotonic() + 5
        while (not os.path.exists(link) or fl.disconnects == 0) and time.monotonic() < end:
            time.sleep(0.005)
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
        os.write(bm, b"again")
        got = b""
        while len(got) < 5:
            got += os.read(fd, 100)
        assert got == b"again" and fl.disconnects == 1
        os.close(fd)
    assert not os.path.lexists(link)
    os.close(bm)
    os.close(bs)


def check(r):
    assert r["corrupted_rows"] == 0 and r["partial_frames"] == 0, r
    assert r["counted_lost"] == r["real_lost"], r
    assert r["reconnects"] == r["disconnects"], r
    assert r["restarts"] == 0, r


def test_byte_errors_lose_whole_frames_counted_exactly_and_write_nothing_corrupted(tmp_path):
    r = run_case(rate=1e-3, seconds=1.0, stall=2e-5, seed=3,
                               workdir=str(tmp_path))
    check(r)
    assert 0 < r["frames_logged"] < r["data_frames_sent"] and r["crc_errors"] > 0


def test_forced_disconnects_are_all_survived(tmp_path):
    r = run_case(disconnects=4, rate=1e-4, seconds=1.2, seed=5,
                               workdir=str(tmp_path))
    check(r)
    assert r["frames_logged"] > 0 and r["proxy"]["disconnects"] == 4


def test_the_faultlink_command(tmp_path, capsys):
    from pyb_bridge import cli

    bm, bs = os.openpty()
    try:
        assert cli.main(["faultlink", "--source", os.ttyname(bs), "--link",
                         str(tmp_path / "tty"), "--rate", "1e-3", "--duration", "0.2"]) == 0
        assert "fault_flip 0" in capsys.readouterr().out
        assert cli.main(["faultlink", "--source", str(tmp_path / "none"), "--link",
                         str(tmp_path / "tty"), "--duration", "0.2"]) == 1
        assert "No such file" in capsys.readouterr().err
    finally:
        os.close(bm)
        os.close(bs)
    assert not os.path.lexists(tmp_path / "tty")
