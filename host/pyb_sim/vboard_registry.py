"""Where running virtual boards say they are, so that ``pyb-bridge ports``
and ``--port auto`` find them, a second board does not take another's
``--link``, and ``pyb-bridge vboard --reset LINK`` reaches the right one.

One JSON file per board, ``<pid>.json``, in a folder of the user's
(``$PYB_VBOARD_DIR``, else ``pyb-vboards-<uid>`` in the temporary folder),
written when the board starts and removed when it stops; a file whose
process is gone is ignored and removed.
"""

import json
import os
import tempfile


def folder():
    return os.environ.get("PYB_VBOARD_DIR") or os.path.join(
        tempfile.gettempdir(), "pyb-vboards-%d" % os.getuid())


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def boards():
    """The running virtual boards: dicts with pid, port, link, flash; sorted
    by the time they started."""
    d = folder()
    try:
        names = os.listdir(d)
    except OSError:
        return []
    out = []
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(d, name)
        try:
            with open(path) as f:
                info = json.load(f)
            pid = int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(pid) and os.path.exists(info.get("port", "")):
            out.append(info)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    return sorted(out, key=lambda b: (b.get("started", 0), b["pid"]))


def find(name):
    """The running board whose port or link is ``name`` (also through a
    symlink), or None."""
    real = os.path.realpath(name)
    for b in boards():
        if name in (b["port"], b.get("link")) or real == os.path.realpath(b["port"]):
            return b
    return None


def add(info):
    """Register this process's board; return the file to remove at exit."""
    d = folder()
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = os.path.join(d, "%d.json" % info["pid"])
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)
    return path
