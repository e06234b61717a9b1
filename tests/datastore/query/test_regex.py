"""Translation of Parse regexes (PCRE flavoured, \\Q...\\E quoting, imxs options) into PostgreSQL AREs."""

from __future__ import annotations

import string

import pytest
from django.db import connection

from hangar.datastore.query.regex import escape_literal, translate_pattern, translate_regex
from hangar.parse_errors import ParseError


def matches(text: str, pattern: str, options: str | None = None) -> bool:
    regex = translate_regex(pattern, options)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s {regex.operator} %s", [text, regex.pattern])
        return bool(cursor.fetchone()[0])


def test_quoted_text_is_escaped():
    assert translate_pattern(r"^\Qa.b*c\E") == r"^a\.b\*c"
    assert translate_pattern(r"\Q(x)\E$") == r"\(x\)$"
    assert translate_pattern(r"x\Q.+") == r"x\.\+"  # \Q without \E quotes to the end
    assert translate_pattern(r"a\Eb") == "ab"  # a stray \E is dropped


def test_letters_digits_and_non_ascii_stay_unescaped():
    assert escape_literal("aZ09 é漢") == "aZ09\\ é漢"


def test_pcre_escapes_that_differ_in_an_are_are_translated():
    assert translate_pattern(r"\bword\B\z") == r"\yword\Y\Z"
    assert translate_pattern(r"[\b]") == r"[\b]"  # inside brackets \b stays a backspace
    assert translate_pattern(r"\d+\.\w") == r"\d+\.\w"


def test_option_letters():
    assert translate_regex("a").pattern == "(?p)a"
    assert translate_regex("a", "m").pattern == "(?n)a"
    assert translate_regex("a", "s").pattern == "a"
    assert translate_regex("a", "ms").pattern == "(?w)a"
    assert translate_regex("a", "x").pattern == "(?px)a"
    assert translate_regex("a", "i").operator == "~*"
    assert translate_regex("a", "").operator == "~"
    assert translate_regex("(?i)a").pattern == "(?pi)a"


@pytest.mark.parametrize("options", ["g", "iu", "I", " ", 3])
def test_other_options_are_rejected(options: object):
    with pytest.raises(ParseError) as error:
        translate_regex("a", options)
    assert (error.value.code, error.value.message) == (102, f"Bad $options value for query: {options}")


@pytest.mark.django_db
def test_every_ascii_character_quoted_matches_itself_only():
    for char in string.printable:
        assert matches(f"x{char}y", rf"^x\Q{char}\Ey$"), repr(char)
    assert not matches("xay", r"^x\Q.\Ey$")
    assert matches("it's; DROP TABLE x; --", r"\Q's; DROP TABLE\E")


@pytest.mark.django_db
def test_options_behave_as_in_pcre():
    assert not matches("Hello", "^hello")
    assert matches("Hello", "^hello", "i")
    assert not matches("one\ntwo", "^two")
    assert matches("one\ntwo", "^two", "m")
    assert not matches("one\ntwo", "one.two")
    assert matches("one\ntwo", "one.two", "s")
    assert matches("one\ntwo", "^one.two$", "ms")
    assert matches("abc", "a b  c # a comment", "x")
    assert matches("a b", r"^\Qa b\E$", "x")  # quoted spaces stay significant in expanded mode


@pytest.mark.django_db
def test_word_boundaries():
    assert matches("a cat sat", r"\bcat\b")
    assert not matches("concatenate", r"\bcat\b")
