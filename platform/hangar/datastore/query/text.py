"""``$regex`` and ``$text`` (protocol reference §8.1).

Full-text search uses PostgreSQL's built-in text search (no extension): the field's
``to_tsvector`` against ``websearch_to_tsquery`` of ``$term``, which understands the
``"quoted phrase"`` and ``-word`` syntax clients know from MongoDB (words are ANDed,
where MongoDB ORs them). The configuration comes from ``$language`` through a fixed
table, so it is written into the SQL as a constant of ours and an expression index
``to_tsvector('english', data->>'f')`` can serve the query.
"""

from __future__ import annotations

from typing import Any

from hangar.datastore.query import arrays
from hangar.datastore.query.context import Scope, Sql, concat, sql
from hangar.datastore.query.fields import FieldRef
from hangar.datastore.query.regex import translate_regex
from hangar.parse_errors import INVALID_JSON, ParseError

DEFAULT_CONFIG = "english"
# MongoDB's language names and ISO 639-1 codes -> PostgreSQL built-in configurations.
TEXT_SEARCH_CONFIGS = {
    "none": "simple",
    "simple": "simple",
    "ar": "arabic",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nb": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
TEXT_SEARCH_CONFIGS.update({name: name for name in set(TEXT_SEARCH_CONFIGS.values())})


def regex_match(scope: Scope, ref: FieldRef, pattern: Any, constraint: dict[str, Any]) -> Sql:
    """``$regex`` (with ``$options``); on an Array field, some element matches."""
    if not isinstance(pattern, str):
        raise ParseError(INVALID_JSON, f"bad regex: {pattern}")
    regex = translate_regex(pattern, constraint.get("$options"))
    if ref.type == "Array":
        condition = sql(f"elem.item {regex.operator} %s", regex.pattern)
        return arrays.any_element(ref, condition, "jsonb_array_elements_text")
    return sql(f"{ref.text} {regex.operator} %s", regex.pattern)


def text_search(scope: Scope, ref: FieldRef, value: Any) -> Sql:
    """``$text: {$search: {$term, $language, $caseSensitive, $diacriticSensitive}}``."""
    search = value.get("$search") if isinstance(value, dict) else None
    if not isinstance(search, dict):
        raise ParseError(INVALID_JSON, "bad $text: $search, should be object")
    term = search.get("$term")
    if not isinstance(term, str) or not term:
        raise ParseError(INVALID_JSON, "bad $text: $term, should be string")
    config = _config(search.get("$language"))
    _check_sensitivity(search)
    document = f"to_tsvector('{config}'::regconfig, {ref.text})"
    query = sql(f"websearch_to_tsquery('{config}'::regconfig, %s)", term)
    if scope.outer:
        scope.state.text_ranks.append(concat(f"ts_rank({document}, ", query, ")"))
    return concat(f"{document} @@ ", query)


def _config(language: Any) -> str:
    if language is None:
        return DEFAULT_CONFIG
    if not isinstance(language, str):
        raise ParseError(INVALID_JSON, "bad $text: $language, should be string")
    config = TEXT_SEARCH_CONFIGS.get(language.lower())
    if config is None:
        raise ParseError(INVALID_JSON, f"bad $text: $language, {language} is not supported")
    return config


def _check_sensitivity(search: dict[str, Any]) -> None:
    case = search.get("$caseSensitive")
    diacritic = search.get("$diacriticSensitive")
    if case is not None and not isinstance(case, bool):
        raise ParseError(INVALID_JSON, "bad $text: $caseSensitive, should be boolean")
    if case:
        raise ParseError(
            INVALID_JSON,
            "bad $text: $caseSensitive not supported, please use $regex or create a separate lower case column.",
        )
    if diacritic is not None and not isinstance(diacritic, bool):
        raise ParseError(INVALID_JSON, "bad $text: $diacriticSensitive, should be boolean")
    if diacritic is False:
        raise ParseError(INVALID_JSON, "bad $text: $diacriticSensitive - false not supported")
