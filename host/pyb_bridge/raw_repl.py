"""The board's raw REPL through mpremote's transport (``SerialTransport``):
open a board, run a script on it.

    t, device = open_board("auto")      # soft reset, raw REPL
    serial_port = start_script("/dev/ttyACM0", source)   # runs on, not waited for

Errors: ``PortError`` (no such port, busy, not allowed), ``BoardError``
(the port opens but no raw REPL answers).
"""

import contextlib
import io
import os

import serial
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from pyb_bridge.errors import BoardError, PortError
from pyb_bridge.ports import find_pyboard, port_error

ANSWER_TIMEOUT = 5  # seconds for the board to enter the raw REPL
READ_TIMEOUT = 2.0  # seconds a serial read may wait; bounds every wait on a silent port


def open_board(port, timeout=ANSWER_TIMEOUT):
    """(mpremote's SerialTransport on ``port`` in the raw REPL, the device
    path); ``timeout`` seconds for the board to get there."""
    device = find_pyboard() if port == "auto" else port
    if "://" not in device and not os.path.exists(device):
        raise PortError(2, port_error(device, FileNotFoundError(2, "no such file")))
    try:
        t = SerialTransport(device, baudrate=115200, timeout=0.2)
    except TransportError:
        raise PortError(_why_not_open(device)) from None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got
            t.enter_raw_repl(soft_reset=True, timeout_overall=timeout)
    except (TransportError, OSError, serial.SerialException):
        t.close()
        raise BoardError("%s: the board does not answer (no raw REPL within %g s): is it "
                         "running MicroPython, and is a program on it ignoring Ctrl-C?"
                         % (device, timeout)) from None
    t.serial.timeout = READ_TIMEOUT
    return t, device


def _why_not_open(device):
    """Why mpremote could not open ``device``: tried again with pyserial."""
    try:
        s = serial.Serial(device, exclusive=True)
    except (OSError, serial.SerialException) as e:
        return port_error(device, e)
    s.close()
    return "%s: cannot open the port" % device


def start_script(port, script, baudrate=115200):
    """Run ``script`` (Python source text) on the board through the raw REPL
    with mpremote's transport, without waiting for it to end; return the
    open pyserial port, on which the script's stream arrives."""
    t, _ = open_board(port)
    if baudrate != t.serial.baudrate:
        t.serial.baudrate = baudrate
    t.exec_raw_no_follow(script)
    t.serial.timeout = 0.05
    return t.serial
