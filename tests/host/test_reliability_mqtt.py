"""The MQTT path across broker restarts (bench/reliability.py, short): with
QoS 1 and the spool nothing is lost, also when the spool has emptied
between two outages."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.needs("mosquitto")
def test_two_broker_restarts_lose_nothing(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "reliability", os.path.join(ROOT, "bench", "reliability.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    m = mod.run_mqtt(restarts=2, seconds=1.5, workdir=str(tmp_path))
    assert m["restarts"] == 2 and m["spooled"] > 0, m
    assert m["lost"] == 0 and m["left_in_spool"] == 0 and m["rows_ok"], m
    assert m["received"] == m["published"] == 300, m
