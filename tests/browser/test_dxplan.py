"""DX推進課 in a real browser: the tracker matrix (keyboard), a cell updated and the Excel export, a
card-rate table imported (and a broken one refused with row/column/code), the 工程表 timeline and the
per-業務 Gantt chart. axe-core on every page."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from madoguchi.core.models import Municipality
from madoguchi.demo.services import demo_municipality_code
from madoguchi.dxplan.demo import dxplan_demo_ensure
from madoguchi.dxplan.models import CardRateImport, MigrationTask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD_CSV = (
    "マイナンバーカードの市区町村別交付枚数等について（令和8年3月31日現在）\r\n"
    "\r\n"
    "団体コード,都道府県名,市区町村名,人口,交付枚数,人口に対する交付枚数率\r\n"
    '999997,架空県,みどり市,"84,000","66,360",79.0%\r\n'
    ',架空県,あおば町,"12,000","９，０００",７５．０％\r\n'
    ',石川県,加賀市,"62,000","52,700",85.0%\r\n'
).encode("cp932")


@pytest.fixture
def dxplan_demo(demo: None) -> Municipality:
    municipality = Municipality.objects.get(code=demo_municipality_code())
    dxplan_demo_ensure(municipality=municipality)
    return municipality


def test_dx_updates_the_tracker_exports_imports_card_rates_and_views_the_timeline(
    page: Any, login_as: Any, axe_check: Any, dxplan_demo: Municipality
) -> None:
    login_as("dx")
    page.goto("/dx/plan/migration/")
    expect(page.get_by_role("heading", level=1, name="標準化・共通化 移行状況")).to_be_visible()
    axe_check("標準化移行 一覧")

    # keyboard: the cell is a link in the matrix; focus it and press Enter
    cell = page.locator("#cell-koseki_fuhyo-17")
    cell.focus()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("戸籍の附票")
    axe_check("作業項目の編集")
    page.get_by_label("完了", exact=True).check()
    page.get_by_label("備考").fill("条例改正は12月議会で議決")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("作業の状況を保存しました")
    expect(page.locator("#cell-koseki_fuhyo-17")).to_contain_text("完")
    task = MigrationTask.objects.get(municipality=dxplan_demo, business="koseki_fuhyo", item=17)
    assert task.status == "done" and task.note == "条例改正は12月議会で議決"

    with page.expect_download() as info:
        page.get_by_role("link", name="Excel で書き出す（県の調査用）").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    rows = list(workbook["作業明細"].iter_rows(values_only=True))
    assert ("戸籍の附票", "移行", "⑰条例・規則等改正", "完了") in [r[:4] for r in rows]

    page.get_by_role("link", name="戸籍の附票").first.click()
    expect(page.locator("svg.gantt")).to_be_visible()
    axe_check("業務別ガントチャート")

    # card rates: a broken file is refused with its row, column and code, nothing written
    page.goto("/dx/plan/cardrate/")
    axe_check("カード交付率")
    before = CardRateImport.objects.count()
    broken = CARD_CSV.replace("９，０００".encode("cp932"), "九千".encode("cp932"))
    page.get_by_label(re.compile("交付枚数の表")).set_input_files(
        files=[{"name": "broken.csv", "mimeType": "text/csv", "buffer": broken}]
    )
    page.get_by_role("button", name="取り込む").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("cardrate.number_invalid")
    expect(alert).to_contain_text("5行目「交付枚数」列")
    axe_check("カード交付率 (取込エラー)")
    assert CardRateImport.objects.count() == before

    page.get_by_label(re.compile("交付枚数の表")).set_input_files(
        files=[{"name": "r8.csv", "mimeType": "text/csv", "buffer": CARD_CSV}]
    )
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="取り込む").click()
    expect(page.get_by_role("status")).to_contain_text("令和8年3月31日 現在の表を取り込みました (3 行)")
    expect(page.locator("svg.linechart")).to_be_visible()
    expect(page.locator(".kpis")).to_contain_text("79.00%")
    axe_check("カード交付率 (取込後)")
    page.get_by_role("link", name="令和8年3月31日").first.click()
    expect(page.locator(".ranking__own")).to_contain_text("みどり市")
    axe_check("交付率ランキング")

    # the 工程表 and its timeline
    page.get_by_role("navigation").get_by_role("link", name="工程表").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("標準化・共通化"))).to_be_visible()
    axe_check("工程表")
    page.get_by_role("link", name="タイムラインで見る").click()
    expect(page.locator("svg.gantt")).to_be_visible()
    expect(page.locator("svg.gantt")).to_contain_text("年度")
    axe_check("工程表 タイムライン")
    page.get_by_role("link", name="書かない窓口の導入（市民課）").first.click()
    axe_check("取組の編集")
    page.get_by_role("textbox", name="マイルストーン").fill("窓口アンケートの集計")
    page.get_by_label("期日").fill("2027-03-15")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="マイルストーンを追加").click()
    expect(page.get_by_role("status")).to_contain_text("マイルストーンを追加しました")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name=re.compile("達成にする.*窓口アンケートの集計")).click()
    expect(page.get_by_role("button", name=re.compile("未達成に戻す.*窓口アンケートの集計"))).to_be_visible()
    axe_check("取組の編集 (マイルストーン達成)")
