"""Translate a Parse ``$regex``/``$options`` pair (PCRE flavoured) into a PostgreSQL ARE.

Clients quote literal text with ``\\Q...\\E`` (protocol reference §8.1, §18.9), which
PostgreSQL does not know: the quoted text is escaped instead. Flags map onto ARE
embedded options (https://www.postgresql.org/docs/current/functions-matching.html,
"ARE Embedded-Option Letters") so that matching keeps PCRE's meaning:

* PCRE by default: ``.`` stops at newlines, ``^``/``$`` anchor the string → ``p``.
* ``m``: ``^``/``$`` also anchor lines → ``n`` (``.`` still stops at newlines).
* ``s``: ``.`` matches newlines → ``s`` (PostgreSQL's default).
* ``m`` and ``s`` together → ``w``. ``x`` (expanded) → ``x``. ``i`` → the ``~*`` operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hangar.parse_errors import INVALID_QUERY, ParseError

_OPTIONS = re.compile(r"[imxs]*")
_LEADING_OPTIONS = re.compile(r"^\(\?([bceimnpqstwx]+)\)")
# PCRE escapes whose ARE spelling differs (outside bracket expressions): in an ARE
# \b is a backspace and \y the word boundary; \z (PCRE: very end) is ARE's \Z.
_ESCAPE_TRANSLATION = {"b": r"\y", "B": r"\Y", "z": r"\Z"}


@dataclass(frozen=True)
class PgRegex:
    pattern: str
    case_insensitive: bool

    @property
    def operator(self) -> str:
        return "~*" if self.case_insensitive else "~"


def validate_options(options: object) -> str:
    if options is None:
        return ""
    if not isinstance(options, str) or not _OPTIONS.fullmatch(options):
        raise ParseError(INVALID_QUERY, f"Bad $options value for query: {options}")
    return options


def translate_regex(pattern: str, options: object = None) -> PgRegex:
    """Return the ARE for a Parse regex and its options (102 for options other than ``imxs``)."""
    flags = validate_options(options)
    body = translate_pattern(pattern)
    letters = _newline_letter("m" in flags, "s" in flags) + ("x" if "x" in flags else "")
    leading = _LEADING_OPTIONS.match(body)
    if leading:  # an ARE accepts a single embedded-options group, at the very start
        letters += leading.group(1)
        body = body[leading.end() :]
    prefix = f"(?{letters})" if letters else ""
    return PgRegex(pattern=prefix + body, case_insensitive="i" in flags)


def _newline_letter(multiline: bool, dot_all: bool) -> str:
    if multiline:
        return "w" if dot_all else "n"
    return "" if dot_all else "p"


def escape_literal(text: str) -> str:
    r"""Escape text so an ARE matches it literally.

    Every ASCII character but letters and digits gets a backslash (an ARE reads
    ``\<letter or digit>`` as an escape such as ``\d``, and ``\<anything else>`` as that
    character, which also keeps spaces literal in expanded mode). Non-ASCII characters
    are never special and stay as they are.
    """
    return "".join(c if not c.isascii() or c.isalnum() else "\\" + c for c in text)


def translate_pattern(pattern: str) -> str:
    """Replace ``\\Q...\\E`` spans by escaped text and PCRE-only escapes by their ARE spelling."""
    out: list[str] = []
    i, size, in_bracket = 0, len(pattern), False
    while i < size:
        char = pattern[i]
        if char == "\\" and i + 1 < size:
            follower = pattern[i + 1]
            if follower == "Q":
                end = pattern.find("\\E", i + 2)
                stop = size if end < 0 else end
                out.append(escape_literal(pattern[i + 2 : stop]))
                i = stop + 2
                continue
            if follower != "E":  # a stray \E is dropped, as PCRE does
                out.append(_ESCAPE_TRANSLATION.get(follower, "\\" + follower) if not in_bracket else "\\" + follower)
            i += 2
            continue
        if char == "[" and not in_bracket:
            in_bracket = True
            out.append(char)
            i = _copy_bracket_head(pattern, i + 1, out)
            continue
        if char == "]" and in_bracket:
            in_bracket = False
        out.append(char)
        i += 1
    return "".join(out)


def _copy_bracket_head(pattern: str, i: int, out: list[str]) -> int:
    """Copy a leading ``^`` and ``]`` of a bracket expression (a ``]`` there is literal)."""
    if i < len(pattern) and pattern[i] == "^":
        out.append("^")
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        out.append("]")
        i += 1
    return i
