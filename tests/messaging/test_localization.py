"""Localized pushes: ``alert-<locale>``/``title-<locale>`` picked by the installation's localeIdentifier, as Parse."""

from __future__ import annotations

from hangar.messaging.localization import localized_data, matching_locale, payload_locales

DATA = {
    "alert": "Hello", "title": "News", "alert-fr": "Bonjour", "title-fr": "Nouvelles", "alert-pt-BR": "Olá",
    "badge": "Increment", "custom": {"alert-fr": "not a locale key at this depth"},
}  # fmt: skip


def test_a_device_gets_its_locales_alert_and_title_and_no_locale_keys() -> None:
    assert localized_data(DATA, "fr-FR") == {
        "alert": "Bonjour", "title": "Nouvelles", "badge": "Increment", "custom": DATA["custom"],
    }  # fmt: skip


def test_a_locale_with_only_an_alert_keeps_the_default_title() -> None:
    assert localized_data(DATA, "pt-BR") == {
        "alert": "Olá", "title": "News", "badge": "Increment", "custom": DATA["custom"],
    }  # fmt: skip


def test_an_unknown_or_missing_locale_gets_the_default_stripped_of_locale_keys() -> None:
    expected = {"alert": "Hello", "title": "News", "badge": "Increment", "custom": DATA["custom"]}
    for locale in ("de-DE", None, "", "pt"):  # "pt" does not start with "pt-BR"
        assert localized_data(DATA, locale) == expected


def test_locales_match_by_prefix_in_payload_order() -> None:
    assert payload_locales(DATA) == ["fr", "pt-BR"]
    assert matching_locale(DATA, "fr") == "fr"
    assert matching_locale({"alert-en": "a", "alert-en-GB": "b"}, "en-GB") == "en"  # Parse: the first that matches
    assert localized_data({"alert": "x", "alert-fr": ""}, "fr-FR") == {"alert": "x"}  # an empty text is no text


def test_the_payload_itself_is_not_changed() -> None:
    before = dict(DATA)
    localized_data(DATA, "fr")
    assert before == DATA
