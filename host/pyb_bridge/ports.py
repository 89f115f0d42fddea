"""Serial ports: finding PyBoards (real and virtual) and opening a port,
with errors that name the port and say what to do (``PortError``).

``port`` is a device path (``/dev/ttyACM0``, ``COM3``), ``auto`` (the first
port with MicroPython's USB vendor id 0xF055, then the virtual boards) or
any pyserial URL (``loop://``, ``socket://host:port``, ``rfc2217://host:port``).
"""

import errno
import os
from collections import namedtuple

import serial
from serial.tools import list_ports

from pyb_bridge.errors import PortError

PYBOARD_VID = 0xF055  # MicroPython's USB vendor id (pyboard: PID 0x9800-0x9802)

PortInfo = namedtuple("PortInfo", "device description vid pid pyboard serial_number virtual",
                      defaults=(None, False))


def ports():
    """Serial ports on this machine; ``pyboard`` is True for MicroPython
    boards, ``virtual`` for virtual PyBoards (``pyb-bridge vboard``, listed
    after the real ones, by their --link when they have one)."""
    from pyb_sim import vboard_registry

    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        out.append(PortInfo(p.device, p.description or "", p.vid, p.pid, p.vid == PYBOARD_VID,
                            p.serial_number or None))
    for b in vboard_registry.boards():
        out.append(PortInfo(b.get("link") or b["port"],
                            "virtual PyBoard on %s, flash %s" % (b["port"], b["flash"]),
                            None, None, True, None, True))
    return out


def find_pyboards():
    """The device of every PyBoard (USB VID 0xF055, sorted, then the virtual
    boards); OSError if none."""
    found = [p.device for p in ports() if p.pyboard]
    if not found:
        raise PortError(errno.ENODEV, "no PyBoard found (no serial port with USB VID 0x%04X, "
                        "no virtual board); name the port with --port" % PYBOARD_VID)
    return found


def find_pyboard():
    return find_pyboards()[0]


def board_id(port):
    """What rows from ``port`` are tagged with: the USB serial number of the
    device behind it (also through a symlink) when it has one, else the
    port name as given."""
    if "://" in port:
        return port
    real = os.path.realpath(port)
    for p in ports():
        if p.serial_number and (p.device == port or os.path.realpath(p.device) == real):
            return p.serial_number
    return port


def open_port(port, baudrate=115200, timeout=0.05):
    """The open pyserial port; an OSError whose message names the port and
    says what to do when it cannot be opened. A device is locked while open
    (``flock``), so a second pyb-bridge or mpremote on it is refused."""
    device = find_pyboard() if port == "auto" else port
    if "://" in device:
        return serial.serial_for_url(device, baudrate=baudrate, timeout=timeout)
    try:
        return serial.Serial(device, baudrate=baudrate, timeout=timeout, exclusive=True)
    except serial.SerialException as e:
        raise PortError(e.errno, port_error(device, e)) from None


def port_error(device, e):
    """What to tell the user when ``device`` does not open (``e``)."""
    code = getattr(e, "errno", None)
    text = str(e)
    if code == errno.ENOENT or not os.path.exists(device):
        return ("%s: no such serial port (is the board plugged in? pyb-bridge ports lists "
                "the ports)" % device)
    if code == errno.EACCES:
        return ("%s: permission denied: add yourself to the group that owns it (on Linux: "
                "sudo usermod -aG dialout $USER, then log in again)" % device)
    if code in (errno.EAGAIN, errno.EBUSY) or "lock" in text:
        return ("%s: the port is busy: another program has it open (mpremote, a terminal, "
                "another pyb-bridge?); close it and try again" % device)
    return "%s: cannot open the port: %s" % (device, text)
