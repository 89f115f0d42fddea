"""Knowing when a program opens the far side of a pseudo-terminal.

pyserial empties a port's input when it opens it, so bytes a test writes
to a pty master before the bridge has opened the slave side are lost. In
packet mode (TIOCPKT) the kernel tells the master when the slave side's
input was flushed: that moment is the open, whatever the machine's load."""

import fcntl
import os
import select
import struct
import termios
import time

FLUSHREAD = getattr(termios, "TIOCPKT_FLUSHREAD", 1)


def watch_open(master):
    """Start watching ``master``'s slave side for an open (call after any
    ``tty.setraw``, whose own flush would count). Until ``wait_open``
    returns, what the slave side writes is read and dropped."""
    fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))


def wait_open(master, timeout=30, cancelled=lambda: False):
    """Block until a program opened the slave side of ``master`` (pyserial's
    flush on open seen), then leave packet mode and return True. Returns
    False once ``cancelled()`` is true; raises AssertionError after
    ``timeout`` s."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            if cancelled():
                return False
            left = deadline - time.monotonic()
            assert left > 0, "nothing opened the serial port within %g s" % timeout
            r, _, _ = select.select([master], [], [], min(left, 0.05))
            if not r:
                continue
            try:
                packet = os.read(master, 4096)
            except OSError:  # EIO: no slave side open yet (hang-up)
                time.sleep(0.01)
                continue
            if packet and packet[0] & FLUSHREAD:
                return True
    finally:
        fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 0))
