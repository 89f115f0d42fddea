"""The friendly REPL's line editing for the virtual PyBoard (CPython side).

Follows the firmware's shared/readline/readline.c and py/repl.c: echo,
backspace (4 spaces at once in an indent), auto-indent, history with the
up/down keys, cursor keys left/right, Ctrl-A/B/C/D/E on an empty line, the
continuation rule of ``mp_repl_continue_with_input`` and paste mode. Tab
inserts 4 spaces after white space; name completion is not offered.
"""

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = 1, 2, 3, 4, 5
PS1 = b">>> "
PS2 = b"... "
# Emacs keys of readline.c (MICROPY_REPL_EMACS_KEYS) as the key they stand for
EMACS = {CTRL_A: ord("H"), CTRL_B: ord("D"), CTRL_D: 0x7E03, CTRL_E: ord("F"),
         6: ord("C"), 11: 0x7E0B, 14: ord("B"), 16: ord("A"), 21: 0x7E15}
KEYWORDS = ("if", "while", "for", "try", "with", "def", "class", "async")


def _starts_with_word(text, word):
    if not text.startswith(word):
        return False
    rest = text[len(word):]
    return not rest or not (rest[0].isalnum() or rest[0] == "_")


def continue_with_input(text):
    """True when the REPL must ask for another line (py/repl.c)."""
    if not text:
        return False
    compound = text[0] == "@" or any(_starts_with_word(text, k) for k in KEYWORDS)
    paren = brack = brace = 0
    quote = None
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            triple = text[i:i + 3] == c * 3
            if triple and quote in (None, c * 3):
                quote = None if quote else c * 3
                i += 2
            elif quote in (None, c):
                quote = None if quote else c
        elif c == "\\" and i + 1 < n and text[i + 1] in "'\"\\":
            if quote:
                i += 1
        elif quote is None:
            if c == "(":
                paren += 1
            elif c == ")":
                paren -= 1
            elif c == "[":
                brack += 1
            elif c == "]":
                brack -= 1
            elif c == "{":
                brace += 1
            elif c == "}":
                brace -= 1
        i += 1
    if quote in ("'''", '"""'):
        return True
    if (paren > 0 or brack > 0 or brace > 0) and quote is None:
        return True
    if text.endswith("\\"):
        return True
    return compound and not text.endswith("\n")


def move_back(n):
    """Cursor n columns left, as the firmware's mp_hal_move_cursor_back."""
    if n <= 0:
        return b""
    return b"\x08" * n if n <= 4 else b"\x1b[%dD" % n


class FriendlyRepl:
    """Feed it the bytes typed; it answers with what to echo and what to do.

    ``key(c)`` returns ``(output_bytes, event)``; event is None or one of
    ("exec", source, mode) with mode "single" or "exec", ("raw",),
    ("banner",), ("reset",).
    """

    def __init__(self):
        self.history = []
        self.restart()

    def restart(self):
        """A fresh ``>>>`` line (the caller prints the prompt)."""
        self.text = ""
        self.orig = 0  # where the line being edited starts in self.text
        self.cursor = 0
        self.cont = False
        self.paste = False
        self.esc = 0
        self.esc_arg = ""
        self.hist = -1
        self.last_nl = 0
        self.just_indented = False
        self.indent_enabled = True
        self.pasted = bytearray()

    def prompt(self):
        self.restart()
        return PS1

    # --- helpers ----------------------------------------------------------
    def _auto_indent(self):
        t = self.text
        if not self.indent_enabled or len(t) < 2 or t[-1] != "\n":
            return b""
        i = len(t) - 1
        while i > 0 and t[i - 1] != "\n":
            i -= 1
        j = i
        while j < len(t) and t[j] == " ":
            j += 1
        if i > 0 and j + 1 == len(t):
            k = i - 1
            while k > 0:
                if t[k - 1] == "\n":
                    return b""
                if t[k - 1] != " ":
                    break
                k -= 1
        n = (j - i) // 4 + (1 if t[-2] == ":" else 0)
        if n:
            self.text += "    " * n
            self.cursor = len(self.text)
            self.just_indented = True
        return b"    " * n

    def _newline_cont(self):
        self.text += "\n"
        self.orig = self.cursor = len(self.text)
        return PS2 + self._auto_indent()

    def _redraw(self, old_len, back=0, forward=0, full=True):
        """Move the cursor back, redraw the tail, as readline.c does (the
        text has already been changed; the cursor is where it was)."""
        out = move_back(back)
        self.cursor -= back
        if full:
            if len(self.text) < old_len:
                out += b"\x1b[K"
            out += self.text[self.cursor:].encode()
            out += move_back(len(self.text) - (self.cursor + forward))
        elif forward:
            out += self.text[self.cursor:self.cursor + forward].encode()
        self.cursor += forward
        return out

    def _set_line(self, line):
        old = len(self.text)
        back = self.cursor - self.orig
        self.text = self.text[:self.orig] + line
        self.cursor = min(self.cursor, len(self.text) + back)
        return self._redraw(old, back=back, forward=len(line))

    def _enter(self):
        line = self.text[self.orig:]
        if line.strip() and (not self.history or self.history[0] != line):
            self.history.insert(0, line)
            del self.history[8:]
        out = b"\r\n"
        if not self.cont:
            if not self.text:
                return out + self.prompt(), None
            if continue_with_input(self.text):
                self.cont = True
                return out + self._newline_cont(), None
            return out, ("exec", self.text, "single")
        if continue_with_input(self.text):
            return out + self._newline_cont(), None
        return out, ("exec", self.text, "single")

    # --- one byte ---------------------------------------------------------
    def key(self, c):
        if self.paste:
            return self._paste_key(c)
        just = self.just_indented
        self.just_indented = False
        at_start = self.cursor == self.orig and len(self.text) == self.orig
        if self.esc:
            return self._esc_key(c), None
        if c == CTRL_C:
            return b"\r\n" + self.prompt(), None
        if not self.cont and CTRL_A <= c <= CTRL_E and len(self.text) == self.orig:
            if c == CTRL_A:
                return b"\r\n", ("raw",)
            if c == CTRL_B:
                return b"\r\n", ("banner",)
            if c == CTRL_D:
                return b"\r\n", ("reset",)
            if c == CTRL_E:
                self.restart()
                self.paste = True
                self.pasted = bytearray()
                return b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ", None
            return b"", None
        if self.cont and c == CTRL_D and at_start:
            return b"\r\n", ("exec", self.text, "single")
        if c in EMACS:
            return self._esc_key(EMACS[c], direct=True), None
        if c in (13, 10):
            if self.last_nl and self.last_nl != c:
                self.last_nl = 0
                return b"", None
            self.last_nl = c
            return self._enter()
        self.last_nl = 0
        if c == 27:
            self.esc = 1
            return b"", None
        if c in (8, 127):
            if self.cursor <= self.orig:
                return b"", None
            seg = self.text[self.orig:self.cursor]
            n = 4 if len(seg) >= 4 and seg.strip(" ") == "" else 1
            old = len(self.text)
            self.text = self.text[:self.cursor - n] + self.text[self.cursor:]
            return self._redraw(old, back=n), None
        if just and c in (9, 32):
            self.indent_enabled = False
            if c == 32:
                self.text = self.text[:-3]
                self.cursor -= 3
                return move_back(3), None
            return b"", None
        if c == 9:
            if self.cursor > self.orig and self.text[self.cursor - 1].isspace() or \
                    self.cursor == self.orig:
                return self._insert("    "), None
            return b"", None
        if 32 <= c <= 126:
            return self._insert(chr(c)), None
        return b"", None

    def _insert(self, s):
        old = len(self.text)
        self.text = self.text[:self.cursor] + s + self.text[self.cursor:]
        return self._redraw(old, forward=len(s))

    def _esc_key(self, c, direct=False):
        if not direct:
            if self.esc == 1:
                self.esc = 2 if c in (ord("["), ord("O")) else 0
                self.esc_arg = ""
                return b""
            if 48 <= c <= 57:
                self.esc_arg += chr(c)
                return b""
            self.esc = 0
            if c == ord("~"):
                c = {"1": ord("H"), "7": ord("H"), "4": ord("F"), "8": ord("F"),
                     "3": 0x7E03}.get(self.esc_arg, 0)
        old = len(self.text)
        if c == ord("A"):
            if self.hist + 1 < len(self.history):
                self.hist += 1
                return self._set_line(self.history[self.hist])
        elif c == ord("B"):
            if self.hist >= 0:
                self.hist -= 1
                return self._set_line(self.history[self.hist] if self.hist >= 0 else "")
        elif c == ord("C"):
            if self.cursor < len(self.text):
                return self._redraw(old, forward=1, full=False)
        elif c == ord("D"):
            if self.cursor > self.orig:
                return self._redraw(old, back=1, full=False)
        elif c == ord("H"):
            return self._redraw(old, back=self.cursor - self.orig, full=False)
        elif c == ord("F"):
            return self._redraw(old, forward=len(self.text) - self.cursor, full=False)
        elif c == 0x7E03:  # delete the character under the cursor
            if self.cursor < len(self.text):
                self.text = self.text[:self.cursor] + self.text[self.cursor + 1:]
                return self._redraw(old)
        elif c == 0x7E0B:  # Ctrl-K: kill to the end of the line
            self.text = self.text[:self.cursor]
            return self._redraw(old)
        elif c == 0x7E15:  # Ctrl-U: kill to the start of the line
            back = self.cursor - self.orig
            self.text = self.text[:self.orig] + self.text[self.cursor:]
            return self._redraw(old, back=back)
        return b""

    def _paste_key(self, c):
        if c == CTRL_C:
            return b"\r\n" + self.prompt(), None
        if c == CTRL_D:
            src = bytes(self.pasted).decode("utf-8", "replace")
            self.paste = False
            return b"\r\n", ("exec", src, "exec")
        self.pasted.append(c)
        if c == 13:
            return b"\r\n=== ", None
        return bytes((c,)), None
