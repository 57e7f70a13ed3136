"""DX推進 in a real browser: the DX推進課 user sees live KPIs from the demo applications, plans a KPI,
records an action and a decision that opens the next cycle, and logs an OODA decision; axe-core on
each page, keyboard-usable forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from madoguchi.dx.models import Kpi, OodaEntry
from tests.browser.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dx_user_steers_with_live_kpis_and_a_pdca_cycle(page: Any, demo: None, login_as: Any) -> None:
    from madoguchi.core.models import Municipality
    from madoguchi.dx.services import kpi_refresh

    kpi_refresh(municipality=Municipality.objects.get(code="999997"))
    login_as("dx")
    page.goto("/dx/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("DX推進ダッシュボード")
    expect(page.get_by_role("img", name="オンライン申請率（月別・%）")).to_be_visible()
    expect(page.get_by_role("region", name="担当課別")).to_contain_text("子育て支援課")
    assert_accessible(page, "DX推進ダッシュボード")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="最新のデータで集計する").click()
    expect(page.locator(".notice--success")).to_contain_text("集計し直しました")

    page.get_by_role("link", name="KPI・PDCA").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("KPI")
    assert_accessible(page, "KPI 一覧")
    page.get_by_label("KPI名").fill("転入届のオンライン申請率を30%に")
    page.get_by_label("指標").select_option(label="オンライン申請率")
    page.get_by_label("目標値").fill("30")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="登録する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("転入届のオンライン申請率を30%に")
    expect(page.get_by_role("region", name="実績と目標（Check）")).to_contain_text("最新の実績")
    assert_accessible(page, "KPI 詳細")

    page.get_by_label("取組", exact=True).fill("転入予約をホームページで案内する")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="取組を追加する").click()
    expect(page.get_by_role("region", name="取組（Do）")).to_contain_text("転入予約をホームページで案内する")
    page.get_by_label("決定内容").fill("案内の効果あり。来年度は目標を40%に上げる。")
    page.get_by_label("決定者（任意）").fill("庁議")
    page.get_by_label("次の目標値").fill("40")
    page.get_by_label("次の期間の開始").fill("2027-04-01")
    page.get_by_label("次の期間の終了").fill("2028-03-31")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="決定を記録する").click()
    expect(page.locator(".notice--success")).to_contain_text("次の期間の KPI を作りました")
    expect(page.get_by_text("前の期間")).to_be_visible()
    nxt = Kpi.objects.get(name="転入届のオンライン申請率を30%に", target=40)
    assert nxt.previous is not None and nxt.previous.decisions.count() == 1
    assert_accessible(page, "次の期間の KPI")

    page.get_by_role("link", name="業務フロー分析").click()
    page.get_by_label("手続").select_option(label="児童手当 認定請求")
    page.get_by_label("改善を行った日（任意・前後を比べます）").fill("2026-10-01")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="分析する").click()
    expect(page.get_by_role("heading", level=2).first).to_contain_text("現状（As-Is）")
    expect(page.get_by_role("table").first).to_contain_text("受付 →")
    assert_accessible(page, "業務フロー分析")

    page.get_by_role("link", name="OODA 記録").click()
    page.get_by_label("観察（何が起きているか）").fill("月曜の朝に転入の窓口が混む")
    page.get_by_label("決定", exact=True).fill("月曜は窓口を1つ増やす")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="記録する").click()
    expect(page.get_by_role("table")).to_contain_text("月曜の朝に転入の窓口が混む")
    assert OodaEntry.objects.count() == 1
    assert_accessible(page, "OODA 記録")

    # open data: publish the application statistics; the public catalogue serves them (no login)
    page.get_by_role("link", name="オープンデータ").click()
    assert_accessible(page, "オープンデータの公開")
    section = page.get_by_role("region", name="手続別・月別の申請件数とオンライン申請率")
    with page.expect_navigation(wait_until="load"):
        section.get_by_role("button", name="公開する").click()
    expect(page.locator(".notice--success")).to_contain_text("公開しました")
    page.context.clear_cookies()
    page.goto("/opendata/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("オープンデータ カタログ")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^CSV.*手続別・月別の申請件数")).click()
    assert download.value.suggested_filename == "999997_application_stats.csv"
    assert_accessible(page, "オープンデータ カタログ")


def test_department_handler_cannot_open_dx(page: Any, demo: None, login_as: Any) -> None:
    login_as("kosodate")
    response = page.goto("/dx/")
    assert response is not None and response.status == 403
