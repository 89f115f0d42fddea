"""Coverage-guided fuzzing of the bridge's input side with atheris
(``make fuzz``): the descriptor parser and the whole path from bytes to a
SQLite table (tests/host/fuzz_targets.py has the checks).

    python tests/fuzz/fuzz_bridge.py -max_total_time=60 [corpus dir]

The first input byte picks the target; the rest of it is the input (for the
pipeline, cut into chunks whose sizes come from the second byte)."""

import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "tests", "host"), os.path.join(ROOT, "host"), ROOT]

with atheris.instrument_imports():
    import pyb_bridge.decoder  # noqa: F401
    import pyb_bridge.sinks  # noqa: F401
from fuzz_targets import parse_descriptor, pipeline  # noqa: E402


def one_input(data):
    if len(data) < 2:
        return
    if data[0] & 1:
        parse_descriptor(data[1:])
    else:
        # Sync bytes where the input has zeros, so headers get parsed often.
        body = data[2:].replace(b"\x00\x00", b"\xa5\xd3")
        pipeline(body, (1 + data[1] * 4,))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
