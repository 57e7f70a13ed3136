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


# ------------------------------------------------------------------ counter screens facing the resident
# The signing screen of 書かない窓口 and the ticket machine, call display and booking pages of 待たない窓口
# face the resident: translated into やさしい日本語. The clerk's screens stay empty there (Japanese).
RESIDENT_SCREENS = (
    "counter/templates/counter/kiosk.html",
    "counter/templates/counter/_kiosk_body.html",
    "counter/templates/counter/kiosk_done.html",
    "reception/templates/reception/kiosk.html",
    "reception/templates/reception/kiosk_ticket.html",
    "reception/templates/reception/display.html",
    "reception/templates/reception/_display_board.html",
    "reception/templates/reception/book_index.html",
    "reception/templates/reception/book_slots.html",
    "dx/templates/dx/opendata_catalogue.html",
)
STAFF_SCREENS = (
    "counter/templates/counter/_totals.html",
    "counter/templates/counter/blank",
    "counter/templates/counter/index.html",
    "counter/templates/counter/item.html",
    "counter/templates/counter/missing.html",
    "counter/templates/counter/session.html",
    "counter/templates/counter/stats.html",
    "reception/templates/reception/_fee_form.html",
    "reception/templates/reception/_staff_nav.html",
    "reception/templates/reception/floor.html",
    "reception/templates/reception/staff_",
)


def _references(path: Path) -> dict[str, list[str]]:
    """msgid → the files ("app/templates/…/x.html") its "#:" comments name."""
    refs: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        msgid = _block_msgid(block)
        if msgid:
            lines = [line[2:] for line in block.splitlines() if line.startswith("#:")]
            refs[msgid] = [ref.rsplit(":", 1)[0] for line in lines for ref in line.split()]
    return refs


def _block_msgid(block: str) -> str:
    msgid, field = "", ""
    for line in block.splitlines():
        if line.startswith("msgid "):
            msgid, field = ast.literal_eval(line[6:]), "msgid"
        elif line.startswith('"') and field == "msgid":
            msgid += ast.literal_eval(line)
        elif not line.startswith("#"):
            field = ""
    return msgid


def test_easy_catalogue_covers_the_resident_counter_screens() -> None:
    easy = {e["msgid"]: e["msgstr"] for e in _po_entries(CATALOGUES["ja-x-easy"])}
    refs = _references(CATALOGUES["ja-x-easy"])
    on_resident_screens = [m for m, files in refs.items() if any(f in RESIDENT_SCREENS for f in files)]
    assert len(on_resident_screens) > 40
    assert not [m for m in on_resident_screens if not easy[m][0]]


def test_easy_catalogue_leaves_the_clerk_counter_screens_in_japanese() -> None:
    easy = {e["msgid"]: e["msgstr"] for e in _po_entries(CATALOGUES["ja-x-easy"])}
    refs = _references(CATALOGUES["ja-x-easy"])
    staff_only = [m for m, files in refs.items() if files and all(f.startswith(STAFF_SCREENS) for f in files)]
    assert len(staff_only) > 40
    assert not [m for m in staff_only if any(easy[m])]


def _service(municipality: Any) -> Any:
    from madoguchi.reception.models import Counter, Service

    service = Service.objects.create(
        municipality=municipality,
        code="jumin",
        name="住民異動",
        prefix="住",
        capacity_per_slot=2,
        default_minutes=10,
    )
    Counter.objects.create(municipality=municipality, number=1, name="1番窓口").services.add(service)
    return service


@pytest.mark.parametrize(
    ("language", "kiosk_texts", "ticket_texts"),
    [
        (
            "ja-x-easy",
            ("用事をえらんでください。番号札が出ます。", "予約をした人", "番号札をとる機械"),
            ("あなたの番号", "まつ時間（だいたい）", "0 分ぐらい", "その窓口に来てください"),
        ),
        (
            "en",
            ("Choose what you came for and take a ticket", "If you have a reservation", "Ticket machine"),
            ("Your number", "Estimated wait", "About 0 min", "please go to the counter shown"),
        ),
    ],
)
def test_ticket_machine_in_each_language(
    client: Client,
    municipality: Any,
    language: str,
    kiosk_texts: tuple[str, ...],
    ticket_texts: tuple[str, ...],
) -> None:
    _service(municipality)
    html = _get(client, "/reception/kiosk/", language)
    assert f'<html lang="{language}">' in html
    for text in kiosk_texts:
        assert text in html
    assert "ご用件を選んで" not in html
    response = client.post("/reception/kiosk/issue/", {"service": "jumin"})
    assert response.status_code == 302
    ticket = _get(client, response["Location"])
    assert "住-001" in ticket
    for text in ticket_texts:
        assert text in ticket


def test_call_display_in_easy_japanese(client: Client, municipality: Any) -> None:
    _service(municipality)
    html = _get(client, "/reception/display/", "ja-x-easy")
    for text in ("今よんでいる番号", "今よんでいる番号はありません。", "画面をかえる", "ぜんぶ"):
        assert text in html
    assert "お呼びしている番号" not in html


@pytest.mark.parametrize(("language", "text"), [("ja-x-easy", "まってください"), ("en", "Please wait")])
def test_signing_screen_waits_in_each_language(
    client: Client, make_staff: Any, municipality: Any, language: str, text: str
) -> None:
    from madoguchi.core.models import Role

    make_staff("madoguchi", (Role.CLERK, None))
    client.login(username="madoguchi", password="demo-pass-2026")
    html = _get(client, "/counter/kiosk/", language)
    assert text in html
    assert "お待ちください" not in html
