"""UART loopback echo: wire X9 (UART1 TX) to X10 (UART1 RX).

Copy pyb_lib/ to /flash/lib/ and this file to the board, then
``import uart_loopback``. Each line sent comes back whole; a line cut short by the timeout stays
buffered until its end arrives. In the simulation the wire is made below.
"""

import pyb
from pyb_lib.uart import UARTPort

if hasattr(pyb, "board"):  # the simulated pyb: wire TX to RX
    pyb.board.uart_loopback(1)

port = UARTPort("XB", 115200, timeout=100)  # UART(1): TX X9, RX X10
for i in range(3):
    port.write_all(b"ping %d\n" % i)
    print("echo:", port.readline(50))

port.write_all(b"half a li")  # no newline yet: readline waits, returns None
print("partial:", port.readline(20))
port.write_all(b"ne\n")
print("whole:", port.readline(20))

try:
    port.read_exactly(4, 30)  # nothing more is coming
except OSError as e:
    print("timeout:", e)
