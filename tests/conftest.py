"""pytest set-up: the simulated pyb is installed before any test imports it,
and every test starts on a freshly reset board."""

import pytest

import pyb_sim

pyb_sim.install()


@pytest.fixture(autouse=True)
def _fresh_board():
    pyb_sim.reset()
    yield pyb_sim.board
