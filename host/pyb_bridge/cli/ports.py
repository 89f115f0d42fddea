"""``pyb-bridge ports``: the serial ports, PyBoards marked."""

HELP = "list serial ports, marking PyBoards (virtual ones too)"


def add_arguments(ap):
    pass


def run(args):
    from pyb_bridge.ports import ports

    found = ports()
    if not found:
        print("no serial ports")
    for p in found:
        ids = "%04X:%04X" % (p.vid, p.pid) if p.vid is not None else "-"
        mark = "  <- PyBoard (virtual)" if p.virtual else "  <- PyBoard" if p.pyboard else ""
        print("%-24s %-10s %s%s" % (p.device, ids, p.description, mark))
    return 0
