"""Publishing readings to an MQTT broker (``--out mqtt://HOST:PORT/PREFIX``).

Topics, per board and stream (the board tag with every character outside
``A-Z a-z 0-9 . _ -`` made ``_``)::

    PREFIX/BOARD/STREAM          a message per batch (a frame's records)
    PREFIX/BOARD/STREAM/schema   retained: the stream's channels

A batch message is JSON (``--mqtt-payload batch``, the default)::

    {"board": "...", "stream": "adc", "seq": 17, "host_time": 1700000000.5,
     "columns": ["board_time_us", "x1", "x2"], "rows": [[1000, 2047, 12], ...]}

``--mqtt-payload row`` sends one JSON object per reading instead, as the
JSONL sink writes them. QoS 1 by default (at least once: a subscriber may
see a message twice after a reconnect, never miss one).

While the broker is away, messages go to a local SQLite spool (default
``mqtt-spool.sqlite``); when it is back the spool is sent first, in order,
and each message leaves the spool only when the broker acknowledged it. A
message handed to the client library but not acknowledged when the
connection drops is sent again by the library on reconnect; at close, what
is still unacknowledged is kept in the spool for the next run.
"""

import json
import os
import sqlite3
import ssl
import time
from collections import deque
from urllib.parse import unquote, urlsplit

from pyb_bridge.errors import BridgeError
from pyb_bridge.sinks import Sink, channel_keys, column_names, finite_columns

PAYLOADS = ("batch", "row")


def topic_part(text):
    """One topic level for a name: letters, digits, ``.`` and ``-`` as they
    are, every other byte of its UTF-8 (``_``, ``%``, ``/``, ``+``, ``#``,
    ``$``, spaces, non-ASCII letters...) as ``%XX``, and the empty name (or
    None) as ``_``. Distinct names never share a level, no level holds a
    wildcard or a separator, and ``unquote`` gives the name back."""
    if text is None or text == "":
        return "_"
    return "".join(chr(b) if chr(b) in _SAFE else "%%%02X" % b
                   for b in str(text).encode("utf-8", "surrogatepass"))


_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")


def parse_url(url):
    """(host, port, prefix, tls, user, password) of ``mqtt[s]://[user[:pw]@]host[:port]/prefix``."""
    u = urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise ValueError("not an MQTT URL (mqtt://HOST[:PORT]/PREFIX): %s" % url)
    tls = u.scheme == "mqtts"
    port = u.port or (8883 if tls else 1883)
    prefix = u.path.strip("/") or "pyb"
    return (u.hostname, port, prefix, tls, unquote(u.username) if u.username else None,
            unquote(u.password) if u.password else None)


class MqttError(BridgeError, OSError):
    """A broker that cannot be used as configured: a refused login, a TLS
    certificate that does not verify, no TLS where TLS was asked for."""


def redact(url):
    """``url`` with the password in it (``mqtt://user:PASSWORD@host``) starred."""
    if not url.startswith(("mqtt://", "mqtts://")):
        return url
    u = urlsplit(url)
    if u.password is None:
        return url
    return url.replace(":%s@" % u.password, ":***@", 1)


class MqttSink(Sink):
    """A sink that publishes to an MQTT broker through paho-mqtt, with a
    SQLite spool for the time the broker is away (see the module doc).

    Counters: ``rows``, ``published`` (messages acknowledged by the broker),
    ``spooled`` (messages that went through the spool); ``pending()`` is
    the number of messages not acknowledged yet."""

    def __init__(self, url, *, spool="mqtt-spool.sqlite", qos=1, payload="batch",
                 username=None, password=None, cafile=None, certfile=None, keyfile=None,
                 insecure=False, client_id="", keepalive=30, flush_interval=1.0,
                 close_timeout=10.0, window=1000, reconnect_delay=(0.1, 2.0)):
        import paho.mqtt.client as mqtt

        super().__init__(redact(url), flush_interval)
        host, port, self.prefix, tls, url_user, url_pw = parse_url(url)
        if payload not in PAYLOADS:
            raise ValueError("payload must be one of %s, not %r" % (", ".join(PAYLOADS), payload))
        self.host, self.port = host, port
        self.qos = qos
        self.payload = payload
        self.close_timeout = close_timeout
        self.window = window
        self.published = 0
        self.spooled = 0
        self.connected = False
        self.last_error = None
        self.fatal_error = None  # a refused password or a TLS failure: no use retrying
        self._acked = deque()  # mids acknowledged, filled by the network thread
        self._inflight = {}  # mid -> (spool n or None, topic, payload, retain)
        # After a disconnect, paho sends the messages that were in flight again
        # when it reconnects; nothing newer goes out before they are acknowledged
        # (else a subscriber could get a newer message first).
        self._redelivering = False
        self._described = set()
        self._mqtt = mqtt
        self.spool_path = spool
        self.db = sqlite3.connect(spool, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute('CREATE TABLE IF NOT EXISTS "outbox" ("n" INTEGER PRIMARY KEY, '
                        '"topic" TEXT, "payload" BLOB, "qos" INTEGER, "retain" INTEGER)')
        # Spool rows up to this n are with the client library (n may be
        # negative: messages put back in front at the close of a run).
        self._sent_upto = -(1 << 62)
        self._unsent = self.db.execute('SELECT COUNT(*) FROM "outbox"').fetchone()[0]
        self._in_tx = False

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=mqtt.MQTTv311)
        user = username if username is not None else url_user
        if user is not None:
            c.username_pw_set(user, password if password is not None else url_pw)
        self._tls = bool(tls or cafile or certfile)
        if self._tls:
            c.tls_set(ca_certs=cafile, certfile=certfile, keyfile=keyfile,
                      cert_reqs=ssl.CERT_NONE if insecure else ssl.CERT_REQUIRED)
            if insecure:
                c.tls_insecure_set(True)
        c.max_inflight_messages_set(window)
        c.reconnect_delay_set(*reconnect_delay)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.reconnect = self._reconnect_noting(c.reconnect)  # the library keeps the reason
        self.client = c
        c.connect_async(host, port, keepalive)
        c.loop_start()

    # --- network thread -------------------------------------------------
    def _where(self):
        return "%s:%d" % (self.host, self.port)

    def _reconnect_noting(self, reconnect):
        def noting():
            try:
                return reconnect()
            except ssl.SSLCertVerificationError as e:
                self.fatal_error = self.last_error = (
                    "%s: the broker's TLS certificate does not verify (%s): give the CA that "
                    "signed it with --mqtt-cafile" % (self._where(), e.verify_message or e))
                raise
            except ssl.SSLError as e:
                self.fatal_error = self.last_error = (
                    "%s: TLS handshake failed (%s): is it the broker's TLS port?"
                    % (self._where(), e.reason or e))
                raise
            except (ConnectionResetError, BrokenPipeError) as e:
                if not self._tls:
                    self.last_error = "%s: cannot connect: %s" % (self._where(), e.strerror)
                    raise
                # the TCP connection came, the handshake did not: a plain listener
                self.fatal_error = self.last_error = (
                    "%s: TLS handshake failed (%s): is it the broker's TLS port?"
                    % (self._where(), e.strerror))
                raise
            except OSError as e:
                self.last_error = "%s: cannot connect: %s" % (self._where(),
                                                               e.strerror or e)
                raise
        return noting

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.last_error = "%s: the broker refused the connection: %s" % (
                self._where(), reason_code)
            if "password" in str(reason_code) or "authorized" in str(reason_code):
                self.last_error += " (check --mqtt-user and --mqtt-password or PYB_MQTT_PASSWORD)"
                self.fatal_error = self.last_error
            return
        self.connected = True
        self.last_error = None

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected = False
        self._redelivering = True

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self._acked.append(mid)

    # --- main thread ----------------------------------------------------
    def wait_connected(self, timeout=5.0):
        end = time.monotonic() + timeout
        while not self.connected and time.monotonic() < end:
            time.sleep(0.01)
        return self.connected

    def _tx(self):
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True

    def _publish(self, n, topic, payload, retain):
        info = self.client.publish(topic, payload, self.qos, retain)
        if self.qos == 0:
            if n is not None:
                self._tx()
                self.db.execute('DELETE FROM "outbox" WHERE "n" = ?', (n,))
            self.published += 1
            return
        # Also when the connection dropped just now (MQTT_ERR_NO_CONN): the
        # library keeps the message and sends it on reconnect.
        self._inflight[info.mid] = (n, topic, payload, retain)

    def _send(self, topic, payload, retain=False):
        if self.connected and not self._unsent and not self._redelivering:
            self._publish(None, topic, payload, retain)
        else:
            self._tx()
            # Numbered after everything sent from the spool so far: once the
            # spool has emptied, SQLite would start the numbers again at 1,
            # below _sent_upto, and pump() would never send those messages.
            self.db.execute('INSERT INTO "outbox" ("n", "topic", "payload", "qos", "retain") '
                            'VALUES (MAX(IFNULL((SELECT MAX("n") FROM "outbox"), 0), ?) + 1, '
                            "?, ?, ?, ?)", (self._sent_upto, topic, payload, self.qos,
                                            int(retain)))
            self._unsent += 1
            self.spooled += 1

    def pump(self):
        """Take in acknowledgements and send spooled messages while connected."""
        done = []
        acked = self._acked
        while acked:
            entry = self._inflight.pop(acked.popleft(), None)
            if entry is not None:
                self.published += 1
                if entry[0] is not None:
                    done.append((entry[0],))
        if done:
            self._tx()
            self.db.executemany('DELETE FROM "outbox" WHERE "n" = ?', done)
        if self._redelivering and self.connected and not self._inflight:
            self._redelivering = False  # what was in flight is acknowledged
        while (self._unsent and self.connected and not self._redelivering
               and len(self._inflight) < self.window):
            rows = self.db.execute(
                'SELECT "n", "topic", "payload", "retain" FROM "outbox" WHERE "n" > ? '
                'ORDER BY "n" LIMIT ?', (self._sent_upto, self.window - len(self._inflight))
            ).fetchall()
            if not rows:
                self._unsent = 0
                break
            for n, topic, payload, retain in rows:
                self._publish(n, topic, payload, bool(retain))
                self._sent_upto = n
                self._unsent -= 1
        if self._in_tx:
            self.db.execute("COMMIT")
            self._in_tx = False

    def pending(self):
        return len(self._inflight) + self._unsent

    def status(self):
        return "mqtt %s, %d pending" % ("up" if self.connected else "DOWN (%s)" % (
            self.last_error or "connecting"), self.pending())

    def topic(self, board, stream):
        return "%s/%s/%s" % (self.prefix, topic_part(board), topic_part(stream))

    def describe(self, schema, board=None):
        key = (board, schema)
        if key in self._described:
            return
        self._described.add(key)
        cols = column_names(schema)
        msg = {"board": board, "stream": schema.name, "period_us": schema.period_us,
               "columns": ["board_time_us"] + cols,
               "channels": [{"name": col, "type": c.type, "unit": c.unit}
                            for col, c in zip(cols, schema.channels, strict=True)],
               "payload": self.payload}
        self._send(self.topic(board, schema.name) + "/schema", json.dumps(msg).encode(),
                   retain=True)

    def _write(self, batch, host_time, board=None):
        schema = batch.schema
        self.describe(schema, board)
        topic = self.topic(board, schema.name)
        cols = column_names(schema)
        dumps = json.dumps
        columns = finite_columns(schema, batch.columns)  # NaN, +-inf: null
        if self.payload == "batch":
            self._send(topic, dumps({
                "board": board, "stream": schema.name, "seq": batch.seq,
                "host_time": host_time, "columns": ["board_time_us"] + cols,
                "rows": [list(r) for r in zip(batch.times, *columns, strict=False)],
            }, allow_nan=False).encode())
            return
        keys = channel_keys(schema)
        for t, *vals in zip(batch.times, *columns, strict=False):
            self._send(topic, dumps({
                "stream": schema.name, "board": board, "seq": batch.seq, "board_time_us": t,
                "host_time": host_time, "values": dict(zip(keys, vals, strict=True)),
            }, allow_nan=False).encode())

    def write_all(self, batches, host_time, schemas=(), board=None):
        super().write_all(batches, host_time, schemas, board)
        self.pump()

    def _flush(self):
        self.pump()

    def drain(self, timeout):
        """Wait up to ``timeout`` s for everything to be acknowledged; True if it was."""
        end = time.monotonic() + timeout
        while True:
            self.pump()
            if not self.pending() or time.monotonic() >= end:
                return not self.pending()
            time.sleep(0.005)

    def _close(self):
        self.drain(self.close_timeout if self.connected else 0)
        # What the library still holds unacknowledged stays in the spool (a
        # spooled message never left it; the others go in front, in the
        # order they were published): sent again, first, by the next run.
        direct = [(t, p, r) for n, t, p, r in self._inflight.values() if n is None]
        if direct:
            first = self.db.execute('SELECT MIN("n") FROM "outbox"').fetchone()[0]
            base = min(first if first is not None else 1, 1) - len(direct)
            self.db.execute("BEGIN")
            self.db.executemany('INSERT INTO "outbox" VALUES (?, ?, ?, ?, ?)',
                                [(base + i, t, p, self.qos, int(r))
                                 for i, (t, p, r) in enumerate(direct)])
            self.db.execute("COMMIT")
        self._inflight.clear()
        self.client.disconnect()
        self.client.loop_stop()
        left = self.db.execute('SELECT COUNT(*) FROM "outbox"').fetchone()[0]
        self.db.close()
        if not left:
            for p in (self.spool_path, self.spool_path + "-wal", self.spool_path + "-shm"):
                if os.path.exists(p):
                    os.remove(p)
        self.left_in_spool = left
