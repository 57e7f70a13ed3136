"""Resident journeys in a real browser (Debian chromium), one per procedure family of issue 4, each ending
as an application in the right department's inbox with the applicant identified; axe-core on every
portal page; a keyboard-only journey; a 375 px phone and 200 % zoom without sideways scrolling.

The forms are filled like a resident fills them: field by field from a plausible submission made by the
demo generator (the same one the demo data comes from), through the inputs the page shows (和暦 date
parts, radios, "add a child" buttons, file pickers). マイナンバーカード journeys go through the card-reader
bridge's HTTP API, answered by a FakeBridge (tests' stand-in for the resident's card and reader).
"""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from madoguchi.applications.models import Application
from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import parse_definition
from madoguchi.core.jp.wareki import parse_date_any
from madoguchi.core.models import Resident
from madoguchi.demo.generator import sample_submission
from madoguchi.demo.services import PDF_SAMPLE, demo_municipality_code
from madoguchi.identity.pki import bridge_url
from madoguchi.identity.testing import FakeBridge
from madoguchi.intake.pki import LocalCA
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(scope="module")
def card_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("portal-ca"))


@pytest.fixture
def trust(settings: Any, card_ca: LocalCA) -> LocalCA:
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(card_ca.path)
    settings.MADOGUCHI_JPKI_TRUST_DIR = str(card_ca.path)
    from django.core.cache import cache

    cache.clear()  # rate limits and trust-store caches start empty
    return card_ca


@pytest.fixture
def upload_files(tmp_path: Path) -> dict[str, Path]:
    pdf = tmp_path / "書類.pdf"
    pdf.write_bytes(PDF_SAMPLE)
    png = tmp_path / "写真.png"
    png.write_bytes(PNG)
    return {"pdf": pdf, "png": png}


def _resident(min_age: int = 30, max_age: int = 60) -> Resident:
    today = timezone.localdate()
    return (
        Resident.objects.filter(
            municipality__code=demo_municipality_code(),
            birth_date__year__lte=today.year - min_age,
            birth_date__year__gte=today.year - max_age,
            moved_out_on__isnull=True,
        )
        .order_by("resident_code")
        .first()
    )  # type: ignore[return-value]


def _card_for(resident: Resident, ca: LocalCA) -> FakeBridge:
    card = FakeBridge.issue(ca, label=f"r{resident.pk}")
    card.link(municipality=resident.municipality, resident_code=resident.resident_code)
    return card


def _procedure(code: str) -> Procedure:
    return Procedure.objects.get(municipality__code=demo_municipality_code(), code=code)


def _sample(procedure: Procedure, resident: Resident | None, *, seed: int, want: Any = None) -> dict[str, Any]:
    from madoguchi.catalog.schema import validate_submission

    definition = parse_definition(procedure.current_form.definition)
    from madoguchi.applications.storage import blob_store

    files = [blob_store(content=PDF_SAMPLE, filename="書類.pdf").as_reference(),
             blob_store(content=PNG, filename="写真.png").as_reference()]
    rng = random.Random(seed)
    today = timezone.localdate()
    for _ in range(200):
        data = sample_submission(definition, rng=rng, today=today, resident=resident, files=files)
        if validate_submission(definition, data, today=today).ok and (want is None or want(data)):
            return data
    raise AssertionError(f"no valid sample for {procedure.code}")


# ------------------------------------------------------------------ the resident's hands
def _fill_scope(page: Any, fields: list[Any], values: dict[str, Any], prefix: str, files: dict[str, Path]) -> None:
    for f in fields:
        path = f"{prefix}.{f.id}" if prefix else f.id
        value = values.get(f.id)
        if value is None:
            continue
        if f.type == "group":
            for i in range(len(value)):
                items = page.locator(f'fieldset#f-{_hid(path)} > fieldset.group-item')
                if items.count() <= i:
                    with page.expect_navigation(wait_until="load"):
                        page.locator(f'button[name="action"][value="add:{path}"]').click()
            for i, item in enumerate(value):
                _fill_scope(page, f.fields, item, f"{path}[{i}]", files)
            continue
        if f.type == "date":
            first = page.locator(f'[name="{path}__year"]')
            if not first.is_visible():
                continue
            d = value if isinstance(value, date) else parse_date_any(str(value))
            page.locator(f'[name="{path}__era"]').select_option("西暦")
            first.fill(str(d.year))
            page.locator(f'[name="{path}__month"]').fill(str(d.month))
            page.locator(f'[name="{path}__day"]').fill(str(d.day))
            continue
        if f.type == "file":
            box = page.locator(f'input[type=file][name="{path}"]')
            if box.is_visible():
                kind = "pdf" if "application/pdf" in f.accept else "png"
                box.set_input_files(str(files[kind]))
            continue
        if f.type == "choice":
            chosen = value if isinstance(value, list) else [value]
            select = page.locator(f'select[name="{path}"]')
            if select.count():
                if select.is_visible():
                    select.select_option(str(chosen[0]))
                continue
            for v in chosen:
                box = page.locator(f'input[name="{path}"][value="{v}"]')
                if box.is_visible():
                    box.check()
            continue
        if f.type == "boolean":
            box = page.locator(f'input[type=checkbox][name="{path}"]')
            if box.is_visible() and value in (True, "on", "true"):
                box.check()
            continue
        box = page.locator(f'[name="{path}"]')
        if box.is_visible():
            box.fill(str(value))


def _hid(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", path)


def fill_wizard(page: Any, axe_check: Any, procedure: Procedure, data: dict[str, Any], files: dict[str, Path]) -> None:
    definition = parse_definition(procedure.current_form.definition)
    total = len(definition.sections)
    for n, section in enumerate(definition.sections, start=1):
        expect(page).to_have_url(re.compile(rf"/step/{n}/$"))
        expect(page.get_by_role("heading", level=2, name=section.title)).to_be_visible()
        _fill_scope(page, list(section.fields), data, "", files)
        if n == 1:
            axe_check(f"{procedure.name} ステップ1")
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="確認画面へ" if n == total else "次へ").click()
        errors = page.locator("#error-summary")
        if errors.count():
            raise AssertionError(f"step {n} of {procedure.code} refused: {errors.inner_text()}")
    expect(page.get_by_role("heading", level=1, name="入力内容の確認")).to_be_visible()
    axe_check(f"{procedure.name} 確認画面")


def card_login(page: Any, context: Any, card: FakeBridge, next_path: str) -> None:
    context.route(f"{bridge_url()}/**", card.route_handler())
    page.goto(f"/account/jpki/?next={next_path}")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="カードを読み取ってログイン").click()
    expect(page.locator(".header-nav__user")).to_contain_text("カードで本人確認済み")


def account_signup(page: Any, axe_check: Any, email: str, next_path: str) -> None:
    page.goto(f"/account/signup/?next={next_path}")
    axe_check("アカウントの作成")
    page.locator("#id_display_name").fill("鈴木 一郎")
    page.locator("#id_email").fill(email)
    page.locator("#id_password").fill("midori-portal-2026!")
    page.locator("#id_password_confirm").fill("midori-portal-2026!")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="アカウントを作成する").click()


def start(page: Any, axe_check: Any, procedure: Procedure) -> None:
    page.goto(f"/procedures/{procedure.code}/")
    axe_check(f"{procedure.name} 手続の説明")
    page.get_by_role("link", name="申請をはじめる").click()
    page.wait_for_load_state("load")


def begin_input(page: Any) -> None:
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="入力をはじめる").click()


def submit_and_check(page: Any, axe_check: Any, procedure: Procedure, *, card: FakeBridge | None) -> Application:
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="カードで署名して送信する" if card else "送信する").click()
    status = page.locator(".notice--success")
    expect(status).to_contain_text("申請を受け付けました")
    number = re.search(r"R\d\d-\S+-\d{6}", status.inner_text())
    assert number, status.inner_text()
    application = Application.objects.select_related("department", "applicant").get(
        municipality__code=demo_municipality_code(), reception_number=number.group(0)
    )
    assert application.procedure_id == procedure.pk
    assert application.department_id == procedure.department_id  # the right department's inbox
    if card is not None:
        assert card.calls[-1] == "sign"
        assert application.applicant is not None  # identified by the signing certificate's serial
        assert application.channel == "online"  # signed like a ぴったり package, but through our portal
    return application


def staff_sees(page: Any, application: Application, username: str) -> None:
    from tests.browser.conftest import login

    page.context.clear_cookies()
    login(page, username)
    page.goto(f"/staff/applications/{application.pk}/")
    expect(page.get_by_role("heading", level=1, name=application.procedure.name)).to_be_visible()
    expect(page.locator(".detail-meta")).to_contain_text(application.reception_number)


# ------------------------------------------------------------------ the journeys
def test_jidoteate_with_two_children_signed_with_the_card(
    page: Any, context: Any, axe_check: Any, demo: None, trust: LocalCA, upload_files: dict[str, Path]
) -> None:
    procedure = _procedure("kosodate-jidoteate-nintei")
    resident = _resident()
    card = _card_for(resident, trust)
    page.goto("/")
    axe_check("トップ")
    page.get_by_label("手続の名前や、やりたいことで検索").fill("じどうてあて")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="検索").click()
    axe_check("検索結果")
    page.get_by_role("link", name="児童手当 認定請求").click()
    page.get_by_role("link", name="申請をはじめる").click()
    expect(page).to_have_url(re.compile(r"/account/login/"))
    axe_check("ログイン")
    card_login(page, context, card, f"/procedures/{procedure.code}/apply/")
    begin_input(page)
    data = _sample(procedure, resident, seed=11, want=lambda d: len(_children(d)) >= 2)
    fill_wizard(page, axe_check, procedure, data, upload_files)
    application = submit_and_check(page, axe_check, procedure, card=card)
    assert len(_children(application.data)) >= 2
    axe_check("申請の詳細 (マイページ)")
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="マイページ").click()
    expect(page.get_by_role("link", name=application.reception_number)).to_be_visible()
    axe_check("マイページ")
    staff_sees(page, application, "kosodate")


def _children(data: dict[str, Any]) -> list[Any]:
    for value in data.values():
        if isinstance(value, list) and value and isinstance(value[0], dict) and any("child" in k for k in value[0]):
            return value
    return []


def test_hoiku_moshikomi_with_an_email_account(
    page: Any, axe_check: Any, demo: None, trust: LocalCA, upload_files: dict[str, Path]
) -> None:
    procedure = _procedure("kosodate-hoiku-moshikomi")
    start(page, axe_check, procedure)
    page.get_by_role("link", name=re.compile("アカウント.*作成|新規登録")).first.click()
    page.wait_for_load_state("load")
    account_signup(page, axe_check, "hoiku@example.jp", f"/procedures/{procedure.code}/apply/")
    begin_input(page)
    fill_wizard(page, axe_check, procedure, _sample(procedure, _resident(), seed=3), upload_files)
    application = submit_and_check(page, axe_check, procedure, card=None)
    assert application.department.code == "hoiku" and application.channel == "online"
    staff_sees(page, application, "hoiku")


def test_yokaigo_nintei_signed_with_the_card(
    page: Any, context: Any, axe_check: Any, demo: None, trust: LocalCA, upload_files: dict[str, Path]
) -> None:
    procedure = _procedure("kaigo-yokaigo-nintei")
    resident = _resident(66, 95)
    card = _card_for(resident, trust)
    card_login(page, context, card, f"/procedures/{procedure.code}/apply/")
    begin_input(page)
    fill_wizard(page, axe_check, procedure, _sample(procedure, resident, seed=5), upload_files)
    application = submit_and_check(page, axe_check, procedure, card=card)
    assert application.department.code == "kaigo"
    staff_sees(page, application, "kaigo")


def test_risai_shomeisho_with_an_email_account(
    page: Any, axe_check: Any, demo: None, trust: LocalCA, upload_files: dict[str, Path]
) -> None:
    procedure = _procedure("risai-shomeisho")
    page.goto("/")
    page.get_by_role("link", name=re.compile("災害にあった")).click()
    axe_check("できごと: 災害")
    page.get_by_role("link", name=re.compile("罹災証明書")).first.click()
    page.get_by_role("link", name="申請をはじめる").click()
    page.get_by_role("link", name=re.compile("アカウント.*作成|新規登録")).first.click()
    account_signup(page, axe_check, "risai@example.jp", f"/procedures/{procedure.code}/apply/")
    begin_input(page)
    fill_wizard(page, axe_check, procedure, _sample(procedure, _resident(), seed=9), upload_files)
    application = submit_and_check(page, axe_check, procedure, card=None)
    assert application.department.code == procedure.department.code
    staff_sees(page, application, "madoguchi")


def test_hikkoshi_onestop_tenshutsu_then_tennyu_yoyaku_with_a_visit_slot(
    page: Any, context: Any, axe_check: Any, demo: None, trust: LocalCA, upload_files: dict[str, Path]
) -> None:
    page.goto("/")
    page.get_by_label("手続の名前や、やりたいことで検索").fill("引っ越し")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="検索").click()
    expect(page.get_by_role("link", name=re.compile("転出届"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("転入予約"))).to_be_visible()
    tenshutsu = _procedure("shimin-tenshutsu")
    resident = _resident()
    card = _card_for(resident, trust)
    card_login(page, context, card, f"/procedures/{tenshutsu.code}/apply/")
    begin_input(page)
    fill_wizard(page, axe_check, tenshutsu, _sample(tenshutsu, resident, seed=2), upload_files)
    moved_out = submit_and_check(page, axe_check, tenshutsu, card=card)
    assert moved_out.department.code == "shimin"

    yoyaku = _procedure("shimin-tennyu-yoyaku")
    page.goto(f"/procedures/{yoyaku.code}/")
    expect(page.get_by_text("14日以内").first).to_be_visible()
    page.get_by_role("link", name="申請をはじめる").click()
    begin_input(page)
    fill_wizard(page, axe_check, yoyaku, _sample(yoyaku, resident, seed=4), upload_files)
    booked = submit_and_check(page, axe_check, yoyaku, card=None)
    expect(page.get_by_role("heading", level=1, name="来庁日時の予約")).to_be_visible()
    axe_check("来庁日時の予約")
    page.locator("input[name=slot]:not([disabled])").first.check()
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="この日時で予約する").click()
    expect(page.locator(".notice--success")).to_contain_text("来庁の予約を受け付けました")
    assert booked.reservations.filter(status="booked").count() == 1


def test_keyboard_only_search_login_and_first_step(
    page: Any, axe_check: Any, demo: None, trust: LocalCA
) -> None:
    """No mouse: skip link, search, a result, the procedure, sign-up, and the first step of the form."""
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    search = page.get_by_label("手続の名前や、やりたいことで検索")
    for _ in range(30):
        if search.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(search).to_be_focused()
    page.keyboard.type("りさい")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    link = page.get_by_role("link", name=re.compile("罹災証明書")).first
    _tab_to(page, link)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    start_link = page.get_by_role("link", name="申請をはじめる")
    _tab_to(page, start_link)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    signup = page.get_by_role("link", name=re.compile("アカウント.*作成|新規登録")).first
    _tab_to(page, signup)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    for field, text in [("#id_display_name", "鍵盤 太郎"), ("#id_email", "keyboard@example.jp"),
                        ("#id_password", "midori-portal-2026!"), ("#id_password_confirm", "midori-portal-2026!")]:
        _tab_to(page, page.locator(field))
        page.keyboard.type(text)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    start_button = page.get_by_role("button", name="入力をはじめる")
    _tab_to(page, start_button)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/step/1/$"))
    # an empty step: the error summary takes focus and its links lead to the fields
    next_button = page.get_by_role("button", name="次へ")
    _tab_to(page, next_button)
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused()
    axe_check("入力エラーのあるステップ")


def _tab_to(page: Any, locator: Any, limit: int = 80) -> None:
    for _ in range(limit):
        if locator.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {locator} with Tab")


@pytest.mark.parametrize("width,height,label", [(375, 740, "phone 375px"), (640, 450, "200% zoom of 1280x900")])
def test_small_screens_have_no_sideways_scrolling(
    browser: Any, live_server: Any, demo: None, trust: LocalCA, width: int, height: int, label: str
) -> None:
    ctx = browser.new_context(base_url=live_server.url, locale="ja-JP", viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        for path in ["/", "/procedures/kosodate-jidoteate-nintei/", "/life/moving/", "/account/login/",
                     "/account/signup/"]:
            page.goto(path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"overflow-{width}-{_hid(path)}.png"), full_page=True)
            assert overflow <= 0, f"{label}: {path} scrolls sideways by {overflow}px"
    finally:
        ctx.close()


def test_correction_answer_and_fee_payment_pages(
    page: Any, axe_check: Any, demo: None, trust: LocalCA, upload_files: dict[str, Path]
) -> None:
    """マイページ after submission: a 補正 asked by staff is answered (only that field), then the fee is
    paid at the demo gateway; every page on the way passes axe."""
    from django.contrib.auth import get_user_model

    from madoguchi.applications import services as app_services
    from madoguchi.core.scope import staff_actor
    from madoguchi.identity.selectors import identity_from_account
    from madoguchi.identity.services import account_signup
    from madoguchi.portal import services as portal_services

    procedure = _procedure("risai-shomeisho")
    procedure.fee = 300
    procedure.save(update_fields=["fee"])
    account = account_signup(email="pay@example.jp", password="midori-portal-2026!", display_name="支払 花子")
    identity = identity_from_account(account)
    draft = portal_services.draft_start(procedure=procedure, identity=identity)
    portal_services.draft_save(draft=draft, data=_sample(procedure, _resident(), seed=21), step=1)
    application = portal_services.draft_submit(draft=draft, identity=identity)
    definition = parse_definition(procedure.current_form.definition)
    asked = next(f for s in definition.sections for f in s.fields if f.type == "phone")
    staff = staff_actor(get_user_model().objects.get(username="shimin"))
    app_services.application_request_correction(
        application=application, actor=staff, fields=[asked.id], reason="日中につながる電話番号をお知らせください。"
    )

    page.goto("/account/login/email/?next=/my/")
    page.locator("#id_email").fill("pay@example.jp")
    page.locator("#id_password").fill("midori-portal-2026!")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="ログイン", exact=True).click()
    axe_check("マイページ (補正のお願いあり)")
    page.get_by_role("link", name=application.reception_number).click()
    expect(page.get_by_text("日中につながる電話番号をお知らせください。")).to_be_visible()
    page.get_by_role("link", name="補正する").click()
    axe_check("補正の入力")
    expect(page.locator('input[name]:not([type=hidden]):not([type=checkbox])')).to_have_count(1)
    page.locator(f'[name="{asked.id}"]').fill("090-1234-5678")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="再提出する").click()
    expect(page.locator(".notice--success")).to_contain_text("補正した内容を送信しました")
    application.refresh_from_db()
    assert application.status.code == "resubmitted" and application.data[asked.id] == "090-1234-5678"

    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="手数料を支払う").click()
    expect(page).to_have_url(re.compile(r"/pay/demo/checkout/"))
    axe_check("デモ決済")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="支払う", exact=True).click()
    page.wait_for_load_state("load")
    axe_check("支払いのあと")
    page.goto(f"/my/applications/{application.pk}/")
    expect(page.get_by_text("支払済み").first).to_be_visible()
    expect(page.get_by_role("button", name="手数料を支払う")).to_have_count(0)
