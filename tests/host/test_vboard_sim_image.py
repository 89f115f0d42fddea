"""The virtual board's interpreter imports the simulation from a ROMFS image
(``vboard.compile_sim``, ``vboard.boot_code``), whose modules run in place:
their bytecode stays out of the heap that the board's program shares, so a
garbage collection has less to mark."""

import os
import subprocess
import sys

from vboard_support import ROOT, env, needs_vboard

sys.path.insert(0, os.path.join(ROOT, "host"))
from pyb_sim import vboard  # noqa: E402

pytestmark = needs_vboard
BIN = os.path.dirname(sys.executable)

# The heap the simulation holds once imported (the image itself excluded:
# it is read before the first count)
HELD = """
import gc
gc.collect()
a = gc.mem_alloc()
import pyb_sim.vboard_agent, pyb_sim.pyb, pyb_sim.machine, pyb_sim.preempt, pyb_sim.cpu_board
gc.collect()
print('held', gc.mem_alloc() - a)
"""


def held(code, micropypath):
    proc = subprocess.run([os.path.join(BIN, "micropython"), "-X", "heapsize=2M", "-c", code],
                          capture_output=True, timeout=60,
                          env=dict(env(), MICROPYPATH=micropypath))
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    return int(proc.stdout.split()[-1])


def test_the_simulation_runs_from_its_image_without_copying_its_code_to_the_heap(tmp_path):
    vboard.compile_sim(os.path.join(BIN, "mpy-cross"), str(tmp_path))
    image = os.path.getsize(tmp_path / vboard.SIM_IMAGE)
    from_image = held(vboard.boot_code(str(tmp_path)) + HELD, "")
    # the same .mpy files from a folder: the unix port copies their code into the heap
    from_files = held("import sys\nsys.path[:] = [%r]\n" % str(tmp_path / "mpy") + HELD, "")
    assert from_files - from_image > image // 2, (from_image, from_files, image)
