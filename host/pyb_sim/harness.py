"""Harness for tests and benchmarks (the project's and yours): a virtual
PyBoard in a process of its own, a real Mosquitto broker, a subscriber
that collects what it receives. One place for both ``tests/`` and
``bench/``.

    proc, port = start_vboard(flash_folder, "--fast")
    ...
    stop_vboard(proc)

    broker = Mosquitto(workdir).start()      # 127.0.0.1, a free port
    sub = Subscriber(broker, "lab/#")
"""

import json
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # pyb_sim's folder's parent


class HarnessError(RuntimeError):
    """Something the harness starts did not start."""


def board_env():
    """The environment a virtual board (and a bridge started by a test) runs
    in: pyb_sim and pyb_bridge importable from here."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=HOST + (os.pathsep + path if path else ""))


def start_vboard(flash, *args, via_cli=False, timeout=30):
    """A virtual PyBoard with its flash in ``flash`` and the vboard options
    ``args``, as ``python -m pyb_sim.vboard`` (or ``pyb-bridge vboard`` with
    ``via_cli``); (process, port) once it is ready. HarnessError when it
    does not say its port within ``timeout`` s."""
    if via_cli:
        cmd = [sys.executable, "-c",
               "import sys; from pyb_bridge.cli import main; sys.exit(main())", "vboard"]
    else:
        cmd = [sys.executable, "-m", "pyb_sim.vboard"]
    proc = subprocess.Popen(cmd + ["--flash", str(flash)] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=board_env())
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    port = proc.stdout.readline().decode().strip() if ready else ""
    if not port.startswith("/dev/"):
        proc.kill()
        _, err = proc.communicate()
        raise HarnessError("the virtual board did not start: %s" % (
            err.decode(errors="replace").strip()[-500:] or "no port within %g s" % timeout))
    return proc, port


def stop_vboard(proc, timeout=10):
    """SIGTERM, as Ctrl-C in its terminal would; its exit status (killed
    after ``timeout`` s if it does not end)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# --- a real MQTT broker ------------------------------------------------------------------

def mosquitto_path():
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)),
        None)


MISSING = ("mosquitto is not installed (Debian package 'mosquitto': make sysdeps); "
           "the MQTT tests and benchmarks drive a real broker")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """``mosquitto -c CONF`` listening on 127.0.0.1:``port`` only. With
    ``persistence`` the broker keeps sessions and queued messages across a
    restart (written when it stops)."""

    def __init__(self, workdir, port=None, persistence=False, extra=()):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log = os.path.join(self.dir, "mosquitto.log")
        lines = ["listener %d 127.0.0.1" % self.port, "allow_anonymous true",
                 # run as whoever starts it (as root it would switch to 'mosquitto')
                 "user %s" % pwd.getpwuid(os.getuid()).pw_name,
                 "max_queued_messages 0", "max_inflight_messages 0"]
        if persistence:
            lines += ["persistence true", "persistence_location %s/" % self.dir,
                      "autosave_interval 0"]
        lines += list(extra)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self, timeout=5.0):
        exe = mosquitto_path()
        if exe is None:
            raise RuntimeError(MISSING)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([exe, "-c", self.conf], stdout=log, stderr=log)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                with open(self.log) as f:
                    raise RuntimeError("mosquitto exited (%s): %s" % (self.proc.returncode,
                                                                      f.read()[-2000:]))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("mosquitto did not listen on port %d" % self.port)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port


class Subscriber:
    """A paho client subscribed to ``topic`` (QoS 1) that keeps every
    message as (topic, JSON payload, retain). ``client_id`` and
    ``persistent`` make a session the broker keeps while it is away."""

    def __init__(self, broker, topic="#", client_id="", persistent=False, username=None,
                 password=None):
        import paho.mqtt.client as mqtt

        self.messages = []
        self.connected = threading.Event()
        self.topic = topic
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                        clean_session=not persistent, protocol=mqtt.MQTTv311)
        if username:
            c.username_pw_set(username, password)
        c.reconnect_delay_set(0.05, 0.5)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *a: self.connected.clear()
        c.on_message = self._on_message
        c.on_subscribe = lambda *a: self.connected.set()
        self.client = c
        c.connect_async("127.0.0.1", broker.port, 30)
        c.loop_start()
        assert self.connected.wait(5), "the subscriber could not connect"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            client.subscribe(self.topic, qos=1)  # connected once the broker confirms

    def _on_message(self, client, userdata, msg):
        self.messages.append((msg.topic, json.loads(msg.payload), msg.retain))

    def wait_for(self, cond, timeout=10.0):
        end = time.monotonic() + timeout
        while not cond(self.messages) and time.monotonic() < end:
            time.sleep(0.01)
        return cond(self.messages)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
