"""The exceptions of pyb_bridge, under one base: ``except BridgeError`` catches
every failure the library reports. Each message says what went wrong and
what to do, in one line (the command line prints it as it is).

    BridgeError
     +-- PortError      a serial port that is not there, busy or not allowed (also an OSError)
     +-- BoardError     the board on the port does not answer (no raw REPL)
     +-- DeployError    copying pyb_lib to the board failed
     +-- ExportError    a log that cannot be exported
     +-- PlotError      a log that cannot be plotted
     +-- MissingExtra   a feature whose optional packages are not installed
"""


class BridgeError(Exception):
    """Any failure pyb_bridge reports; the message says what to do."""


class PortError(BridgeError, OSError):
    """A serial port that cannot be found or opened (``errno`` as the
    system's when there is one)."""


class BoardError(BridgeError):
    """A port that opens but where no MicroPython raw REPL answers."""


class DeployError(BridgeError):
    """A deploy that could not be done; the message says why and what to try."""


class ExportError(BridgeError):
    """The log cannot be exported (not a pyb-bridge log, no such table)."""


class PlotError(BridgeError):
    """The file cannot be plotted (not a log, no such channel, no rows)."""


class MissingExtra(BridgeError):
    """A feature needs packages of an extra that is not installed:
    ``MissingExtra("plot", "matplotlib", "--plot")`` says ``matplotlib is not
    installed (--plot needs it): pip install 'pyb-bridge[plot]'``."""

    def __init__(self, extra, package, what=None):
        super().__init__("%s is not installed%s: pip install 'pyb-bridge[%s]'"
                         % (package, " (%s needs it)" % what if what else "", extra))
        self.extra = extra
        self.package = package


def need(module, extra, what=None):
    """Import and return ``module``, or raise ``MissingExtra`` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(extra, module.split(".")[0], what) from None
