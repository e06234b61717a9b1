"""$regex/$options on fields and full-text $text search with $score ordering."""

from __future__ import annotations

import pytest
from django.db import connection

from hangar.datastore.query.text import TEXT_SEARCH_CONFIGS
from hangar.parse_errors import ParseError
from tests.datastore.query.conftest import Store

pytestmark = pytest.mark.django_db


@pytest.fixture
def named(store: Store) -> Store:
    store.put("Item", "a", {"name": "Big Daddy"})
    store.put("Item", "b", {"name": "big daddy's (house)"})
    store.put("Item", "c", {"name": "a.b*c"})
    store.put("Item", "d", {"name": "line one\nBig line"})
    store.put("Item", "e", {})
    return store


def test_sdk_regex_forms(named: Store):
    assert named.find("Item", {"name": {"$regex": "^\\QBig Daddy\\E"}}) == ["a"]
    assert named.find("Item", {"name": {"$regex": "^\\QBig Daddy\\E", "$options": "i"}}) == ["a", "b"]
    assert named.find("Item", {"name": {"$regex": "\\Q(house)\\E$"}}) == ["b"]
    assert named.find("Item", {"name": {"$regex": "\\Qa.b*c\\E"}}) == ["c"]
    assert named.find("Item", {"name": {"$regex": "\\Qy's (\\E"}}) == ["b"]


def test_regex_metacharacters_outside_quotes_are_a_pattern(named: Store):
    assert named.find("Item", {"name": {"$regex": "a.b"}}) == ["c"]
    assert named.find("Item", {"name": {"$regex": "^[bB]ig d"}}) == ["b"]


def test_multiline_option(named: Store):
    assert named.find("Item", {"name": {"$regex": "^Big"}}) == ["a"]
    assert named.find("Item", {"name": {"$regex": "^Big", "$options": "m"}}) == ["a", "d"]


def test_regex_on_object_id(named: Store):
    assert named.find("Item", {"objectId": {"$regex": "^[a-b]$"}}) == ["a", "b"]


def test_bad_regexes(named: Store):
    with pytest.raises(ParseError) as error:
        named.compile("Item", {"name": {"$regex": "x", "$options": "gi"}})
    assert (error.value.code, error.value.message) == (102, "Bad $options value for query: gi")
    with pytest.raises(ParseError) as error:
        named.compile("Item", {"name": {"$regex": 5}})
    assert (error.value.code, error.value.message) == (107, "bad regex: 5")


@pytest.fixture
def articles(store: Store) -> Store:
    store.put("Item", "coffee", {"body": "Coffee shops are running out of coffee beans; coffee lovers despair"})
    store.put("Item", "tea", {"body": "A quiet tea shop with herbal tea"})
    store.put("Item", "both", {"body": "The shop sells coffee and tea"})
    store.put("Item", "none", {"body": "Nothing to drink here"})
    store.put("Item", "empty", {})
    return store


def test_text_search_matches_stemmed_words(articles: Store):
    where = {"body": {"$text": {"$search": {"$term": "coffee"}}}}
    assert articles.find("Item", where) == ["both", "coffee"]
    assert articles.find("Item", {"body": {"$text": {"$search": {"$term": "run"}}}}) == ["coffee"]
    assert articles.find("Item", {"body": {"$text": {"$search": {"$term": "shops"}}}}) == ["both", "coffee", "tea"]


def test_text_search_web_syntax(articles: Store):
    assert articles.find("Item", {"body": {"$text": {"$search": {"$term": "shop -coffee"}}}}) == ["tea"]
    assert articles.find("Item", {"body": {"$text": {"$search": {"$term": '"herbal tea"'}}}}) == ["tea"]
    assert articles.find("Item", {"body": {"$text": {"$search": {"$term": "coffee tea"}}}}) == ["both"]


def test_text_search_languages(store: Store):
    store.put("Item", "es", {"body": "Los gatos corren rápido"})
    assert store.find("Item", {"body": {"$text": {"$search": {"$term": "gato", "$language": "es"}}}}) == ["es"]
    assert store.find("Item", {"body": {"$text": {"$search": {"$term": "gato", "$language": "spanish"}}}}) == ["es"]
    assert store.find("Item", {"body": {"$text": {"$search": {"$term": "gato", "$language": "none"}}}}) == []
    compiled = store.compile("Item", {"body": {"$text": {"$search": {"$term": "x", "$language": "de"}}}})
    assert "'german'::regconfig" in compiled.where_sql


def test_order_by_score_puts_the_best_match_first(articles: Store):
    where = {"body": {"$text": {"$search": {"$term": "coffee"}}}}
    assert articles.find("Item", where, order="$score") == ["coffee", "both"]
    compiled = articles.compile("Item", where, order="$score")
    assert compiled.order_sql.startswith("(ts_rank(")
    assert compiled.order_params == ["coffee"]


def test_score_needs_a_text_constraint(articles: Store):
    with pytest.raises(ParseError) as error:
        articles.compile("Item", {"body": "x"}, order="$score")
    assert error.value.code == 102


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ({"$search": "coffee"}, "bad $text: $search, should be object"),
        ("coffee", "bad $text: $search, should be object"),
        ({"$search": {"$term": 5}}, "bad $text: $term, should be string"),
        ({"$search": {}}, "bad $text: $term, should be string"),
        ({"$search": {"$term": "x", "$language": 1}}, "bad $text: $language, should be string"),
        ({"$search": {"$term": "x", "$language": "klingon"}}, "bad $text: $language, klingon is not supported"),
        ({"$search": {"$term": "x", "$caseSensitive": "yes"}}, "bad $text: $caseSensitive, should be boolean"),
        ({"$search": {"$term": "x", "$diacriticSensitive": 1}}, "bad $text: $diacriticSensitive, should be boolean"),
    ],
)
def test_text_errors(store: Store, text: object, message: str):
    with pytest.raises(ParseError) as error:
        store.compile("Item", {"body": {"$text": text}})
    assert (error.value.code, error.value.message) == (107, message)


def test_unsupported_sensitivity_options_are_refused(store: Store):
    for search in ({"$caseSensitive": True}, {"$diacriticSensitive": False}):
        with pytest.raises(ParseError) as error:
            store.compile("Item", {"body": {"$text": {"$search": {"$term": "x", **search}}}})
        assert error.value.code == 107
    assert store.find("Item", {"body": {"$text": {"$search": {"$term": "x", "$caseSensitive": False}}}}) == []


def test_every_mapped_language_is_a_builtin_configuration():
    with connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config")
        available = {row[0] for row in cursor.fetchall()}
    assert set(TEXT_SEARCH_CONFIGS.values()) <= available
