"""The MQTT path across broker restarts (pyb_sim.reliability, short): with
QoS 1 and the spool nothing is lost, also when the spool has emptied
between two outages."""

import pytest

from pyb_sim.reliability import run_mqtt


@pytest.mark.needs("mosquitto")
def test_two_broker_restarts_lose_nothing(tmp_path):
    m = run_mqtt(restarts=2, seconds=1.5, workdir=str(tmp_path))
    assert m["restarts"] == 2 and m["spooled"] > 0, m
    assert m["lost"] == 0 and m["left_in_spool"] == 0 and m["rows_ok"], m
    assert m["received"] == m["published"] == 300, m
