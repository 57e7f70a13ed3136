"""保育課 runs a 利用調整 round in the browser: upload ChilmAI-layout files, the job's progress, the
results with ボーダー, a child's reasons; axe-core on each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from madoguchi.nursery import io as nio
from madoguchi.nursery.generate import generate_instance
from madoguchi.nursery.models import MatchingRun
from tests.browser.conftest import assert_accessible

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_celery"),
]


def test_hoiku_runs_a_round_end_to_end(page: Any, demo: None, login_as: Any, tmp_path: Path) -> None:
    instance = generate_instance(children=150, facilities=6, seed=3)
    nio.write_children_csv(instance, tmp_path / "children.csv")
    nio.write_facilities_csv(instance, tmp_path / "facilities.csv")
    login_as("hoiku")
    page.get_by_role("link", name="保育 利用調整").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("保育所の利用調整")
    assert_accessible(page, "利用調整")
    page.get_by_label("名前（例: 令和8年4月一次）").fill("令和8年4月一次")
    page.get_by_label("申込者データ（CSV・Excel）").set_input_files(str(tmp_path / "children.csv"))
    page.get_by_label("保育所データ（CSV・Excel）").set_input_files(str(tmp_path / "facilities.csv"))
    page.get_by_label("解法").select_option("exact")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="読み込んで選考する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("令和8年4月一次")
    expect(page.get_by_role("region", name="保育所・年齢ごとのボーダーと充足")).to_be_visible()
    run = MatchingRun.objects.get()
    assert run.status == "done" and run.summary["blocking_coalitions"] == 0
    assert_accessible(page, "選考結果")
    child = next(iter(run.assignment))
    page.get_by_label("申請者番号").fill(child)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="理由を見る").click()
    expect(page.get_by_role("region", name="申込者ごとの結果と理由")).to_contain_text("第1希望")
    assert_accessible(page, "理由")
    with page.expect_download() as download:
        page.get_by_role("link", name="結果を CSV で出力").click()
    assert download.value.suggested_filename.endswith(".csv")
