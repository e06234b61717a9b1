"""``$regex`` in Python with the meaning PostgreSQL gives it on the SQL side.

The SQL compiler turns a Parse regex into a PostgreSQL ARE
(hangar.datastore.query.regex); this module takes that same ARE and writes it for
Python's ``re``, so that both sides decide a match alike. Where the dialects differ:

* newline handling comes from the ARE embedded options (``p``, ``n``, ``s``, ``w``):
  ``re.S`` and ``re.M``, plus ``\\n`` added to negated brackets and ``$`` written as
  ``\\Z`` when they must not reach past or stop before a newline;
* ARE escapes ``\\y``/``\\Y``/``\\m``/``\\M`` become Python word boundaries;
* constructs one dialect lacks (POSIX bracket classes, ``\\x`` with any number of digits,
  ARE-only options) are refused rather than matched differently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hangar.datastore.query.regex import translate_regex
from hangar.parse_errors import INVALID_QUERY, ParseError

# Escapes with the same meaning in an ARE and in Python's re (d, s, w and their negations,
# anchors, control characters, \uXXXX, \UXXXXXXXX).
_SAME_ESCAPES = frozenset("dDsSwWAZntrfvaU") | frozenset("u")
_ARE_ONLY_ESCAPES = {"y": r"\b", "Y": r"\B", "m": r"\b(?=\w)", "M": r"\b(?<=\w)"}
_LEADING_OPTIONS = re.compile(r"^\(\?([a-z]+)\)")
# (?: (?= (?! (?<= (?<! are common to both; anything else after "(?" is not an ARE.
_GROUP_OPENERS = (":", "=", "!", "<=", "<!")
_QUANTIFIERS = "*+?"
INVALID_REGEX = "Invalid regular expression in the query."


class UnsupportedRegex(ValueError):
    """The regex is valid for PostgreSQL but uses a construct this matcher does not reproduce."""


@dataclass
class _Flags:
    dot_newline: bool = True  # ARE default: "." and [^x] match a newline
    lines: bool = False  # ^ and $ at line ends
    ignore_case: bool = False
    expanded: bool = False

    def apply(self, letter: str) -> None:
        newline = {"p": (False, False), "n": (False, True), "m": (False, True), "s": (True, False), "w": (True, True)}
        if letter in newline:
            self.dot_newline, self.lines = newline[letter]
        elif letter in "ic":
            self.ignore_case = letter == "i"
        elif letter in "xt":
            self.expanded = letter == "x"
        else:  # b, e (basic/extended syntax) and q (literal) are other languages
            raise UnsupportedRegex(f"the embedded option (?{letter})")

    @property
    def python(self) -> int:
        flags = re.S if self.dot_newline else 0
        flags |= re.M if self.lines else 0
        flags |= re.I if self.ignore_case else 0
        return flags | (re.X if self.expanded else 0)


def compile_regex(pattern: str, options: object) -> Callable[[str], object]:
    """A search function equivalent to the SQL side's ``text ~ ARE`` (ParseError 102 when invalid)."""
    are = translate_regex(pattern, options)  # validates $options (102) exactly as the SQL side
    flags = _Flags(ignore_case=are.case_insensitive)
    body = are.pattern
    leading = _LEADING_OPTIONS.match(body)
    if leading:
        for letter in leading.group(1):
            flags.apply(letter)
        body = body[leading.end() :]
    python = _to_python(body, flags)
    try:
        return re.compile(python, flags.python).search
    except (re.error, OverflowError, RecursionError):
        raise ParseError(INVALID_QUERY, INVALID_REGEX) from None


def _to_python(body: str, flags: _Flags) -> str:
    out: list[str] = []
    i, size = 0, len(body)
    while i < size:
        char = body[i]
        if char == "\\":
            i = _escape(body, i, out)
        elif char == "[":
            i = _bracket(body, i, out, flags)
        elif char == "$" and not flags.lines:
            out.append(r"\Z")  # Python's $ also matches before a final newline; an ARE's does not
            i += 1
        elif char == "(" and body.startswith("(?", i):
            if not any(body.startswith(opener, i + 2) for opener in _GROUP_OPENERS):
                raise ParseError(INVALID_QUERY, INVALID_REGEX)
            out.append("(?")
            i += 2
        elif char in _QUANTIFIERS or char == "}":
            _check_quantifier(body, i)
            out.append(char)
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _check_quantifier(body: str, i: int) -> None:
    """Python 3.11 reads ``a*+`` as possessive; an ARE refuses it."""
    following = body[i + 1 : i + 2]
    if following == "+" and body[i] != "\\":
        raise ParseError(INVALID_QUERY, INVALID_REGEX)


def _escape(body: str, i: int, out: list[str]) -> int:
    if i + 1 >= len(body):
        raise ParseError(INVALID_QUERY, INVALID_REGEX)
    follower = body[i + 1]
    if follower in _ARE_ONLY_ESCAPES:
        out.append(_ARE_ONLY_ESCAPES[follower])
    elif follower.isascii() and follower.isalpha():
        if follower not in _SAME_ESCAPES:
            raise UnsupportedRegex(f"the escape \\{follower}")
        out.append("\\" + follower)
    elif follower.isdigit():
        if body[i + 2 : i + 3].isdigit():  # \12: a back reference or an octal escape, by group count
            raise UnsupportedRegex("multi-digit escapes")
        out.append("\\" + follower)
    else:
        out.append("\\" + follower)
    return i + 2


def _bracket(body: str, i: int, out: list[str], flags: _Flags) -> int:
    """Copy a bracket expression; in newline-sensitive modes a negated one never matches a newline."""
    j = i + 1
    negated = body.startswith("^", j)
    j += 1 if negated else 0
    members: list[str] = []
    if body.startswith("]", j):
        members.append(r"\]")
        j += 1
    while j < len(body) and body[j] != "]":
        char = body[j]
        if char == "\\" and j + 1 < len(body):
            follower = body[j + 1]
            if follower.isascii() and follower.isalpha() and follower not in _SAME_ESCAPES | {"b"}:
                raise UnsupportedRegex(f"the escape \\{follower} in brackets")
            members.append(body[j : j + 2])
            j += 2
            continue
        if char == "[" and body[j + 1 : j + 2] in (":", "=", "."):
            raise UnsupportedRegex("POSIX bracket classes")
        members.append("\\" + char if char in "[&~|" else char)
        j += 1
    if j >= len(body):
        raise ParseError(INVALID_QUERY, INVALID_REGEX)
    if negated and not flags.dot_newline:
        members.insert(0, r"\n")
    out.append("[" + ("^" if negated else "") + "".join(members) + "]")
    return j + 1
