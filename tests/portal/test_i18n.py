"""English and やさしい日本語 (ja-x-easy): the portal chrome in the chosen language, Japanese by default
whatever the browser asks, and catalogues whose translations keep every placeholder of their msgid."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.LOCALE_PATHS[0])
CATALOGUES = {
    "en": LOCALE / "en" / "LC_MESSAGES" / "django.po",
    "ja-x-easy": LOCALE / "ja_X-easy" / "LC_MESSAGES" / "django.po",
}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")


def _po_entries(path: Path) -> list[dict[str, Any]]:
    """msgid, msgid_plural, msgstr (list) and flags of each live entry of a .po file."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {}
    field = ""

    def flush() -> None:
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {}

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            flush()
            continue
        if line.startswith("#,"):
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if field.startswith("msgstr"):
                entry["msgstr"][-1] += value
            else:
                entry[field] += value
            continue
        value = ast.literal_eval(rest)
        if keyword.startswith("msgstr"):
            entry.setdefault("msgstr", []).append(value)
            field = "msgstr"
        else:
            entry[keyword] = value
            field = keyword
    flush()
    return [e for e in entries if e["msgid"]]


def _placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text) if m.group(0) != "%%")


def _get(client: Client, path: str, language: str | None = None, **headers: str) -> str:
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def test_portal_home_in_english(client: Client, municipality: Any) -> None:
    html = _get(client, "/", "en")
    assert '<html lang="en">' in html
    for text in (
        "Find a procedure",
        "Search by procedure name or what you want to do",
        "Search",
        "Find by life event",
        "Log in",
        "Language",
    ):
        assert text in html
    assert "手続の名前や、やりたいことで検索" not in html


def test_portal_home_in_easy_japanese(client: Client, municipality: Any) -> None:
    html = _get(client, "/", "ja-x-easy")
    assert '<html lang="ja-x-easy">' in html
    for text in ("手続きをさがす", "手続きの名前や、したいことでさがす", "できごとからさがす", "ことば"):
        assert text in html
    assert "手続の名前や、やりたいことで検索" not in html


def test_login_page_in_each_language(client: Client, municipality: Any) -> None:
    assert "Choose how to log in." in _get(client, "/account/login/", "en")
    assert "Log in with your email address" in _get(client, "/account/login/", "en")
    easy = _get(client, "/account/login/", "ja-x-easy")
    assert "ログインのしかたをえらんでください。" in easy
    assert "はじめての人はアカウントをつくる" in easy


def test_japanese_by_default_whatever_the_browser_asks(client: Client, municipality: Any) -> None:
    html = _get(client, "/", None, accept_language="en-US,en;q=0.9")
    assert '<html lang="ja">' in html
    assert "手続の名前や、やりたいことで検索" in html
    assert "Search by procedure name" not in html


def test_unknown_language_cookie_falls_back_to_japanese(client: Client, municipality: Any) -> None:
    assert '<html lang="ja">' in _get(client, "/", "fr")


@pytest.mark.parametrize("language", ["en", "ja-x-easy"])
def test_footer_form_sets_the_language(client: Client, municipality: Any, language: str) -> None:
    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    assert f'<html lang="{language}">' in client.get("/").content.decode()


def test_easy_catalogue_header() -> None:
    header = CATALOGUES["ja-x-easy"].read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "Language: ja-x-easy\\n" in header
    assert "Plural-Forms: nplurals=1; plural=0;\\n" in header
    assert "fuzzy" not in header


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_translations_keep_every_placeholder(language: str) -> None:
    bad = []
    for entry in _po_entries(CATALOGUES[language]):
        for index, translated in enumerate(entry["msgstr"]):
            if not translated:
                continue
            source = entry["msgid"] if index == 0 or "msgid_plural" not in entry else entry["msgid_plural"]
            if set(_placeholders(translated)) != set(_placeholders(source)):
                bad.append((entry["msgid"], translated))
    assert not bad


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_no_fuzzy_entries_and_compiled_catalogue_matches(language: str) -> None:
    entries = _po_entries(CATALOGUES[language])
    assert not [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    with CATALOGUES[language].with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [
        e["msgid"]
        for e in entries
        if "msgid_plural" not in e and e["msgstr"][0] and compiled.gettext(e["msgid"]) != e["msgstr"][0]
    ]
    assert not stale, "run msgfmt (django-admin compilemessages) after editing the .po"


def test_english_catalogue_is_complete() -> None:
    assert not [e["msgid"] for e in _po_entries(CATALOGUES["en"]) if not all(e["msgstr"])]


def test_easy_catalogue_covers_the_portal_chrome() -> None:
    easy = {e["msgid"]: e["msgstr"] for e in _po_entries(CATALOGUES["ja-x-easy"])}
    for msgid in ("手続をさがす", "マイページ", "ログイン", "検索", "表示言語", "補正する", "申請をはじめる"):
        assert easy[msgid][0], msgid
