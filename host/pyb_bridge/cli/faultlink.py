"""``pyb-bridge faultlink``: a faulty link between a board's port and the
bridge, for testing (docs/reliability.md)."""

import sys
import time

HELP = "a faulty link between a board's port and the bridge, for testing"


def add_arguments(ap):
    from pyb_bridge.faultlink import KINDS

    ap.add_argument("--source", required=True, help="the board's port (device or pty path)")
    ap.add_argument("--link", required=True, help="symlink to create for the bridge's port")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="byte error rate, split over flip, drop, dup, insert and repl")
    for k in KINDS:
        ap.add_argument("--" + k, type=float, default=None, help="rate of %s per byte" % k)
    ap.add_argument("--stall-s", type=float, default=0.05)
    ap.add_argument("--disconnect-every", type=float, default=None, metavar="S")
    ap.add_argument("--gap-s", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=None)


def run(args):
    from pyb_bridge.faultlink import KINDS, FaultLink, even_rates

    rates = even_rates(args.rate) if args.rate else {}
    for k in KINDS:
        if getattr(args, k) is not None:
            rates[k] = getattr(args, k)
    try:
        fl = FaultLink(args.source, args.link, rates=rates, seed=args.seed, stall_s=args.stall_s,
                       gap_s=args.gap_s, every_s=args.disconnect_every).start()
    except (OSError, ValueError) as e:
        print("pyb-bridge faultlink: %s" % e, file=sys.stderr)
        return 1
    print("pyb-bridge faultlink: %s -> %s" % (args.source, args.link), file=sys.stderr)
    try:
        end = None if args.duration is None else time.monotonic() + args.duration
        while end is None or time.monotonic() < end:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        fl.stop()
    print(", ".join("%s %d" % kv for kv in fl.counters().items()))
    return 0

