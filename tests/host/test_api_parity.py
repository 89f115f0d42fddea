"""How much of the firmware's API (the board's stubs, micropython-stm32-pybv11-stubs)
the simulated ``pyb`` and ``machine`` classes have. Printed, and at least 95%
for each class named in docs/virtual-board.md."""

import ast
import os

import pytest

import pyb_sim

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPINGS = os.path.join(ROOT, "build", "typings")

PYB = ("UART", "I2C", "SPI", "ADC", "ADCAll", "DAC", "Pin", "Timer", "LED", "Switch", "USB_VCP")
MACHINE = ("I2C", "SoftI2C", "SPI", "SoftSPI", "Pin", "ADC", "UART", "Timer")

# Names machine.pyi lists (its docs cover every port) that the stm32 firmware
# for this board does not have, with where that shows (MicroPython 1c3c201):
NOT_ON_STM32 = {
    # ports/stm32/machine_adc.c: read_u16 and VREF, CORE_VREF, CORE_TEMP,
    # CORE_VBAT only; attenuation and width belong to the esp32 port
    "ADC": {"ATTN_0DB", "ATTN_11DB", "ATTN_2_5DB", "ATTN_6DB", "WIDTH_9BIT", "WIDTH_10BIT",
            "WIDTH_11BIT", "WIDTH_12BIT", "WIDTH_13BIT", "atten", "width", "read"},
    # ports/stm32/machine_uart.c: INV_TX/INV_RX on STM32H7 only; no IRQ_BREAK,
    # IRQ_TXIDLE or IDLE constants
    # ports/stm32/pin.c: machine.Pin is pyb.Pin, without drive strengths,
    # level interrupts or PULL_HOLD
    "Pin": {"DRIVE_0", "DRIVE_1", "DRIVE_2", "IRQ_HIGH_LEVEL", "IRQ_LOW_LEVEL", "PULL_HOLD",
            "drive"},
    "UART": {"INV_RX", "INV_TX", "IRQ_BREAK", "IRQ_TXIDLE", "IDLE"},
}


def stub_classes(module):
    path = os.path.join(TYPINGS, module + ".pyi")
    if not os.path.exists(path):
        pytest.fail("%s is missing: run 'make typecheck' first (it installs the stubs)" % path)
    with open(path) as f:
        tree = ast.parse(f.read())
    out = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        names = set(out.get(node.name, ()))
        for b in node.body:
            if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(b.name)
            elif isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name):
                names.add(b.target.id)
            elif isinstance(b, ast.Assign):
                names.update(t.id for t in b.targets if isinstance(t, ast.Name))
        out[node.name] = names
    return out


def parity(module, sim, classes, skip=None):
    stubs = stub_classes(module)
    rows = []
    for name in classes:
        want = sorted(stubs[name] - (skip or {}).get(name, set()))
        cls = getattr(sim, name, None)
        missing = [n for n in want if cls is None or not hasattr(cls, n)]
        rows.append((name, len(want) - len(missing), len(want), missing))
    return rows


def report(module, rows, note=""):
    print("\nAPI parity of the simulated %s with the board's %s.pyi%s:" % (module, module, note))
    for name, have, want, missing in rows:
        print("  %-8s %3d/%-3d %5.1f%%%s" % (name, have, want, 100.0 * have / want,
                                          "  missing: " + ", ".join(missing) if missing else ""))


def test_pyb_parity():
    rows = parity("pyb", pyb_sim.install(), PYB)
    report("pyb", rows)
    for name, have, want, missing in rows:
        assert have >= 0.95 * want, (name, missing)


def test_machine_parity():
    import machine

    report("machine", parity("machine", machine, MACHINE), " (all names)")
    rows = parity("machine", machine, MACHINE, NOT_ON_STM32)
    report("machine", rows, " (names the stm32 firmware has)")
    for name, have, want, missing in rows:
        assert have >= 0.95 * want, (name, missing)
