"""``pyb-bridge deploy``: copy pyb_lib to the board (docs/deploy.md)."""

import sys

from pyb_bridge.deploy import DEST, Progress

HELP = "copy pyb_lib to /flash/lib/pyb_lib on the board"


class TerminalProgress(Progress):
    """Files and bytes: a bar on a terminal, one line per file otherwise."""

    def __init__(self, stream=None, quiet=False):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.quiet = quiet

    def _bar(self, name, extra):
        frac = min(self.done + extra, self.total) / self.total
        bar = "#" * int(frac * 24)
        self.stream.write("\r[%-24s] %d/%d files  %.1f/%.1f KB  %-32s" % (
            bar, self.done_files, self.files, (self.done + extra) / 1024, self.total / 1024,
            name[-32:]))
        self.stream.flush()

    def file_done(self, name, size, action):
        super().file_done(name, size, action)
        if self.quiet:
            return
        if self.tty:
            self._bar(name, 0)
        else:
            print("%-7s %s (%d bytes)" % (action, name, size), file=self.stream, flush=True)

    def writing(self, name, written):
        if self.tty and not self.quiet:
            self._bar(name, written)

    def end(self):
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


def add_arguments(ap):
    ap.add_argument("--port", default="auto",
                    help="device path, 'auto' (USB VID 0xF055) or a pyserial URL")
    ap.add_argument("--mpy", action="store_true",
                    help="compile with mpy-cross and copy .mpy files (smaller, no compile "
                         "on the board)")
    ap.add_argument("--dest", default=DEST, help="folder on the board (default %s)" % DEST)
    ap.add_argument("--quiet", action="store_true", help="no progress, only the summary")


def run(args):
    from pyb_bridge.deploy import deploy

    s = deploy(args.port, mpy=args.mpy, dest=args.dest,
               progress=TerminalProgress(quiet=args.quiet))
    print("pyb-bridge deploy: %s -> %s: %d copied (%d bytes), %d already there, %d removed"
          % (s.port, s.dest, len(s.copied), s.bytes_copied, len(s.skipped), len(s.removed)))
    return 0
