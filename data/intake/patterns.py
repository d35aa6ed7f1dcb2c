"""Regular expressions from mapping files, run by RE2: linear time on any cell, whatever the pattern.

A mapping's ``pattern`` and ``rules`` come from whoever wrote the mapping, and Python's ``re`` backtracks: a
pattern such as ``(a|aa)+$`` takes time exponential in the cell's length while holding the interpreter, which
froze the whole server (issue 17, finding 7). RE2 (google-re2) never backtracks, so a match costs time linear
in the cell; it has no lookarounds and no backreferences, which a pattern that needs them is told at load.

Patterns keep Python's meaning where RE2 differs by default: ``\\w``, ``\\d`` and ``\\s`` are rewritten to their
Unicode classes (RE2's are ASCII: ``\\w`` would never match 童装), ``\\uXXXX`` to ``\\x{XXXX}``, ``\\Z`` to ``\\z``
and ``{,n}`` to ``{0,n}``. ``\\b`` stays RE2's ASCII word boundary, and ``$`` is the end of the cell (cells are
trimmed, so Python's "or before a final line break" never arises). A pattern longer than ``MAX_PATTERN_LENGTH``
characters, or whose compiled program needs more than ``MAX_PROGRAM_BYTES``, is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import re2

MAX_PATTERN_LENGTH = 1000  # characters; the longest rule of the public mappings has about 330
MAX_PROGRAM_BYTES = 8 << 20  # RE2's memory budget for one pattern (its default); a{1000}{1000} is refused
_WORD = r"\p{L}\p{N}_"
_SPACE = r"\s\v\x{1c}-\x{1f}\x{85}\p{Z}"  # Python's str.isspace(): RE2's \s is [\t\n\f\r ] only
_OUTSIDE = {"w": f"[{_WORD}]", "W": f"[^{_WORD}]", "d": r"\p{Nd}", "D": r"\P{Nd}", "s": f"[{_SPACE}]",
            "S": f"[^{_SPACE}]", "Z": r"\z"}
_INSIDE = {"w": _WORD, "d": r"\p{Nd}", "D": r"\P{Nd}", "s": _SPACE}
_OPEN_COUNT = re.compile(r"\{,\d+\}")
_UNSUPPORTED = {"(?=": "lookahead", "(?!": "negative lookahead", "(?<=": "lookbehind", "(?<!": "negative lookbehind",
                "(?P=": "a backreference", "(?>": "an atomic group", "(?(": "a conditional", "(?#": "a comment"}


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why (the caller names the field and rule)."""


@dataclass(frozen=True)
class SafePattern:
    """A compiled RE2 pattern with the text it was written as (``pattern``, for messages)."""

    pattern: str
    compiled: object

    @property
    def groups(self) -> int:
        """How many capturing groups the pattern has."""
        return self.compiled.groups

    def search(self, text: str):
        """The first match in ``text`` (an re-like match object) or None, in time linear in ``text``."""
        return self.compiled.search(text)


def _options(ignore_case: bool):
    """RE2's options for a mapping's pattern: quiet, within the memory budget, case as asked."""
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern on the server's stderr
    options.max_mem = MAX_PROGRAM_BYTES
    options.case_sensitive = not ignore_case
    return options


def _unicode_escape(pattern: str, i: int, width: int) -> tuple[str, int]:
    """``\\uXXXX`` / ``\\UXXXXXXXX`` at ``i`` as RE2's ``\\x{...}``, and the index after it."""
    digits = pattern[i + 2:i + 2 + width]
    if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise PatternError(f"\\{pattern[i + 1]} at position {i} needs {width} hex digits")
    return "\\x{" + digits + "}", i + 2 + width


def _refuse_unsupported(pattern: str, i: int) -> None:
    """A group opened at ``i`` that RE2 lacks (lookarounds, backreferences...) is refused, saying which."""
    for opener, what in _UNSUPPORTED.items():
        if pattern.startswith(opener, i):
            raise PatternError(f"{what} {opener}…) is not supported: patterns run on RE2, which has no lookarounds, "
                               "backreferences, atomic groups or conditionals")


def translate(pattern: str) -> str:
    """The pattern in RE2 syntax with Python's Unicode meaning of \\w \\d \\s (see the module docstring)."""
    out: list[str] = []
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E is literal text: copied as it is
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end + 2
                out.append(pattern[i:end])
                i = end
                continue
            if nxt in "uU":
                text, i = _unicode_escape(pattern, i, 4 if nxt == "u" else 8)
                out.append(text)
                continue
            if nxt.isdigit() and nxt != "0":
                raise PatternError(f"\\{nxt} is a backreference, which is not supported (RE2)")
            table = _INSIDE if in_class else _OUTSIDE
            if nxt in table:
                out.append(table[nxt])
            elif in_class and nxt in "WSZ":
                raise PatternError(f"\\{nxt} inside [...] is not supported; write the class without it")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):  # a POSIX class such as [:alpha:]
                end = pattern.find(":]", i + 2)
                if end >= 0:
                    out.append(pattern[i:end + 2])
                    i = end + 2
                    continue
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "{" and _OPEN_COUNT.match(pattern, i):  # Python reads {,n} as {0,n}; RE2 as text
            out.append("{0")
            i += 1
            continue
        if ch == "(":
            _refuse_unsupported(pattern, i)
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a ] first in a class is a literal
                out.append("]")
                i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_pattern(pattern, ignore_case: bool = False, max_groups: int | None = None) -> SafePattern:
    """A ``SafePattern`` for a mapping's regular expression, or a ``PatternError`` saying what is wrong."""
    if not isinstance(pattern, str):
        raise PatternError(f"a regular expression must be text, got {pattern!r}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"the pattern has {len(pattern):,} characters, at most {MAX_PATTERN_LENGTH:,}")
    try:
        compiled = re2.compile(translate(pattern), _options(ignore_case))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if "pattern too large" in str(reason):
            reason = f"the compiled pattern needs more than {MAX_PROGRAM_BYTES >> 20} MB"
        raise PatternError(f"bad regular expression {pattern!r}: {reason}") from None
    if max_groups is not None and compiled.groups > max_groups:
        raise PatternError(f"{pattern!r} has {compiled.groups} groups; use at most {max_groups}")
    return SafePattern(pattern, compiled)
