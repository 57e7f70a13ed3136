"""A clerk's day in the back office, in a real browser: log in, filter the inbox, open an application,
request a correction, and send another one through 決裁 to 承認 — with axe-core on every page.

Each test is one journey on the demo municipality みどり市 (``demo_load(applications=80, seed=7)``).
Assertions are on what a person sees (headings, badges, messages, focus), then on the database.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from madoguchi.applications.models import Application
from madoguchi.core.jp.normalize import search_key
from madoguchi.demo.services import DEMO_STAFF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WAREKI_DATE = r"(令和|平成|昭和)(元|\d+)年\d+月\d+日"
PAGE_SIZE = 50


def hiragana(katakana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


def has_mynumber(application: Application) -> bool:
    return '"$enc"' in json.dumps(application.data)


def htmx_get(query: dict[str, str]) -> Any:
    """A predicate for page.expect_response: an htmx request to the inbox carrying these parameters."""

    def matches(response: Any) -> bool:
        params = parse_qs(urlsplit(response.url).query)
        return response.request.headers.get("hx-request") == "true" and all(
            params.get(k) == [v] for k, v in query.items()
        )

    return matches


def kosodate(status: str) -> Any:
    return (
        Application.objects.filter(department__code="kosodate", status__code=status)
        .select_related("procedure", "status__workflow")
        .order_by("deadline", "id")
    )


def test_handler_filters_inbox_opens_application_and_requests_correction(
    page: Any, demo: None, login_as: Any, axe_check: Any
) -> None:
    received = kosodate("received")
    target = received.exclude(applicant_kana="").first()
    assert target is not None, "the demo data has no 受付 application in 子育て支援課"
    family_kana = target.applicant_kana.split()[0]  # stored in katakana, e.g. タカハシ
    query = hiragana(family_kana)  # typed in hiragana: the search folds かな/カナ
    assert query != family_kana

    # Log in: the inbox of 子育て支援課
    login_as("kosodate")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1, name="受付一覧")).to_be_visible()
    results = page.locator("#inbox-results")
    expect(results.locator("tbody tr").first).to_be_visible()
    axe_check("受付一覧")

    # Filter by 状態 = 受付: htmx replaces the results in place
    with page.expect_response(htmx_get({"status": "received"})):
        page.get_by_label("状態", exact=True).select_option(label="受付")
    n_received = received.count()
    expect(results.get_by_role("status")).to_have_text(f"{n_received} 件")
    expect(page).to_have_url(re.compile(r"[?&]status=received(&|$)"))
    expect(page.get_by_role("heading", level=1, name="受付一覧")).to_be_visible()  # no full navigation
    badges = results.locator("tbody td:nth-child(4) .badge")
    expect(badges).to_have_count(min(n_received, PAGE_SIZE))
    assert set(badges.all_inner_texts()) == {"受付"}
    expect(results.locator(".chip--active")).to_contain_text("受付")
    axe_check("受付一覧 (状態: 受付)")

    # Search the family name in hiragana: the katakana registrations are found
    search = page.get_by_label("氏名・カナ・受付番号で検索")
    search.fill(query)
    with page.expect_response(htmx_get({"status": "received", "q": query})):
        search.press("Enter")
    n_found = received.filter(kana_key__startswith=search_key(query)).count()
    expect(results.get_by_role("status")).to_have_text(f"{n_found} 件")
    link = results.get_by_role("link", name=target.reception_number, exact=True)
    expect(link).to_be_visible()
    for kana in results.locator("tbody td:nth-child(2) small").all_inner_texts():
        assert kana.replace(" ", "").replace("\u3000", "").startswith(family_kana), kana
    assert set(badges.all_inner_texts()) == {"受付"}  # the 状態 filter still applies

    # Open it: 申請内容 with 和暦 dates, and the history
    link.click()
    expect(page).to_have_url(re.compile(rf"/staff/applications/{target.pk}/$"))
    expect(page.get_by_role("heading", level=1, name=target.procedure.name)).to_be_visible()
    expect(page.locator(".detail-meta .badge").first).to_have_text("受付")
    data = page.get_by_role("region", name=re.compile("申請内容"))
    expect(data.get_by_role("heading", level=2)).to_be_visible()
    expect(data.locator("tbody")).to_contain_text(re.compile(WAREKI_DATE))  # every 子育て form has a date
    submitted = page.locator("dl.facts > div").filter(has_text="受付日時").locator("dd")
    expect(submitted).to_have_text(re.compile(rf"^{WAREKI_DATE} \d\d:\d\d$"))
    expect(page.locator("dl.facts")).to_contain_text(target.applicant_name)
    history = page.get_by_role("region", name="履歴")
    expect(history.locator("ol.timeline > li").first).to_contain_text("受付")
    expect(history.locator("ol.timeline > li time").first).to_have_text(re.compile(WAREKI_DATE))
    axe_check("申請詳細")

    # 補正を依頼: with no field chosen the clerk is told so, and keeps what they wrote
    page.get_by_role("link", name="補正を依頼", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/staff/applications/{target.pk}/correction/$"))
    expect(page.get_by_role("heading", level=1, name=re.compile("^補正依頼"))).to_be_visible()
    axe_check("補正依頼")
    reason = "世帯の状況欄の記入が住民票と異なります。ご確認のうえ再提出してください。"
    page.get_by_label("理由・申請者へのお願い").fill(reason)
    page.get_by_role("button", name="補正を依頼する").click()
    expect(page.get_by_role("alert")).to_contain_text("【correction.fields_required】")
    expect(page.get_by_label("理由・申請者へのお願い")).to_have_value(reason)
    axe_check("補正依頼 (入力エラー)")

    checkbox = page.get_by_role("group", name=re.compile("補正を求める項目")).get_by_role("checkbox").first
    field_id = checkbox.get_attribute("value")
    checkbox.check()
    page.get_by_role("button", name="補正を依頼する").click()
    expect(page).to_have_url(re.compile(rf"/staff/applications/{target.pk}/$"))
    expect(page.locator(".messages").get_by_role("status")).to_have_text(
        f"{target.reception_number} に補正を依頼しました。"
    )
    expect(page.locator(".detail-meta .badge").first).to_have_text("補正依頼")
    expect(page.locator(".notice--warning")).to_contain_text("補正を依頼中です")
    expect(history).to_contain_text(reason)
    axe_check("申請詳細 (補正依頼中)")

    target.refresh_from_db()
    assert target.status.code == "correction_requested"
    assert target.correction_fields == [field_id]


def test_handler_sends_for_approval_and_approver_approves(
    page: Any, demo: None, login_as: Any, axe_check: Any
) -> None:
    target = kosodate("received").filter(status__workflow__code="shinsei").first()
    assert target is not None, "the demo data has no 受付 申請 (決裁あり) in 子育て支援課"
    rn = target.reception_number
    status_badge = page.locator(".detail-meta .badge").first
    message = page.locator(".messages").get_by_role("status")

    # 担当: find it by 受付番号, 審査を開始, then 決裁に回す
    login_as("kosodate")
    search = page.get_by_label("氏名・カナ・受付番号で検索")
    search.fill(rn)
    with page.expect_response(htmx_get({"q": rn})):
        search.press("Enter")
    expect(page.locator("#inbox-results").get_by_role("status")).to_have_text("1 件")
    page.get_by_role("link", name=rn, exact=True).click()
    expect(status_badge).to_have_text("受付")
    page.get_by_role("button", name="審査を開始", exact=True).click()
    expect(message).to_have_text(f"{rn} を「審査中」にしました。")
    expect(status_badge).to_have_text("審査中")
    page.get_by_role("button", name="決裁に回す", exact=True).click()
    expect(message).to_have_text(f"{rn} を「決裁待ち」にしました。")
    expect(status_badge).to_have_text("決裁待ち")
    expect(page.get_by_role("button", name="承認 (決裁)")).to_have_count(0)  # 担当 cannot approve
    axe_check("申請詳細 (決裁待ち, 担当)")

    page.get_by_role("button", name="ログアウト").click()
    expect(page.get_by_role("heading", level=1, name="職員ログイン")).to_be_visible()

    # 決裁者: the 決裁待ち list, open it, 承認 (決裁)
    login_as("kessai")
    expect(page.get_by_role("heading", level=1, name="受付一覧")).to_be_visible()
    with page.expect_response(htmx_get({"status": "pending_approval"})):
        page.get_by_label("状態", exact=True).select_option(label="決裁待ち")
    results = page.locator("#inbox-results")
    expect(results.get_by_role("link", name=rn, exact=True)).to_be_visible()
    assert set(results.locator("tbody td:nth-child(4) .badge").all_inner_texts()) == {"決裁待ち"}
    axe_check("受付一覧 (決裁者, 決裁待ち)")
    results.get_by_role("link", name=rn, exact=True).click()
    expect(page.get_by_text("決裁 0 / 1 済")).to_be_visible()
    page.get_by_role("button", name="承認 (決裁)", exact=True).click()
    expect(message).to_have_text(f"{rn} を決裁しました。")
    expect(status_badge).to_have_text("承認")
    expect(page.get_by_role("region", name="履歴")).to_contain_text("決裁待ち → 承認")
    axe_check("申請詳細 (承認, 決裁者)")

    target.refresh_from_db()
    assert target.status.code == "approved"
    assert target.events.filter(kind="approval", actor__username="kessai").exists()


def test_login_failure_and_demo_accounts(
    page: Any, demo: None, login_as: Any, axe_check: Any, settings: Any
) -> None:
    demo_table = page.get_by_role("region", name="デモ用アカウント")

    settings.DEMO_MODE = False  # as under MADOGUCHI_ENV=test or production
    login_as("kosodate", "not-the-password")
    expect(page).to_have_url(re.compile(r"/staff/login/$"))
    expect(page.get_by_role("alert")).to_have_text(
        "【auth.invalid】ユーザー名またはパスワードが正しくありません。"
    )
    expect(page.get_by_label("ユーザー名")).to_have_value("kosodate")
    expect(page.get_by_label("パスワード")).to_have_value("")
    expect(demo_table).to_have_count(0)  # no demo accounts outside demo mode
    axe_check("職員ログイン (失敗)")
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login/\?next=/staff/$"))  # still logged out

    settings.DEMO_MODE = True  # read per request by the login view and the context processor (demo)
    page.goto("/staff/login/")
    expect(page.get_by_role("note")).to_contain_text("デモ環境です")
    expect(demo_table).to_be_visible()
    expect(demo_table).to_contain_text("demo-pass-2026")
    usernames = demo_table.locator("tbody td:first-child").all_inner_texts()
    assert usernames and set(usernames) <= {username for username, _, _ in DEMO_STAFF}, usernames
    axe_check("職員ログイン (デモ)")

    login_as("kessai")  # an account from the table works with the password shown
    expect(page.get_by_role("heading", level=1, name="受付一覧")).to_be_visible()


def test_first_tab_reaches_skip_link(page: Any, demo: None, login_as: Any, axe_check: Any) -> None:
    login_as("kosodate")
    expect(page.get_by_role("heading", level=1, name="受付一覧")).to_be_visible()
    axe_check("受付一覧 (既定: 未完了すべて)")

    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).not_to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # off-screen until focused
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()


def test_detail_copy_button_and_mynumber_reveal(
    page: Any, context: Any, live_server: Any, demo: None, login_as: Any, axe_check: Any
) -> None:
    from madoguchi.core.crypto import decrypt
    from madoguchi.core.models import AuditEvent

    target = next((a for a in kosodate("received") if has_mynumber(a)), None)
    assert target is not None, "the demo data has no 受付 application with a 個人番号 in 子育て支援課"
    rn = target.reception_number
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    login_as("kosodate")
    expect(page.get_by_role("heading", level=1, name="受付一覧")).to_be_visible()
    page.goto(f"/staff/applications/{target.pk}/")
    expect(page.get_by_role("heading", level=1, name=target.procedure.name)).to_be_visible()

    copy = page.get_by_role("button", name="受付番号をコピー")
    expect(copy).to_have_text("コピー")
    copy.click()
    expect(copy).to_have_text("コピーしました")
    assert page.evaluate("() => navigator.clipboard.readText()") == rn
    expect(copy).to_have_text("コピー", timeout=5_000)  # back after a moment

    # 個人番号: masked until revealed; revealing swaps in the number (htmx) and is audited
    cell = page.locator("td").filter(has=page.get_by_role("button", name="表示 (記録されます)")).first
    reveal = cell.get_by_role("button", name="表示 (記録されます)")
    expect(cell).not_to_contain_text(re.compile(r"\d{12}"))
    path = cell.locator("input[name=path]").get_attribute("value")
    assert path
    reveal.click()
    expect(cell.locator("output")).to_have_text(re.compile(r"^\d{12}$"))
    expect(cell).to_contain_text("この閲覧は監査ログに記録されました")
    value = target.data
    for part in path.replace("]", "").replace("[", ".").split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    expect(cell.locator("output")).to_have_text(decrypt(value["$enc"]))
    assert AuditEvent.objects.filter(action="mynumber.view", object_id=rn, actor="kosodate").count() == 1
    axe_check("申請詳細 (個人番号を表示)")
