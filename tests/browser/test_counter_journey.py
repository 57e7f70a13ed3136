"""書かない窓口 in a real browser: a family of four moving in (a 6-year-old and a 0-year-old), who booked
their 転入 online, is served in one counter session. The clerk reads the father's card, the household
comes from the 転入予約 (カナ included), the interview finds the procedures, the clerk types only what
nothing could fill, the resident checks and signs once on a second window (/counter/kiosk/), every
department gets its application, and the 帳票 PDF renders every form in Japanese."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from madoguchi.applications.models import Application
from madoguchi.counter import services
from madoguchi.counter.demo import family_card, plausible_answers
from madoguchi.counter.models import CounterSession, SessionItem
from madoguchi.demo.generator import sample_submission
from tests.browser.conftest import login
from tests.browser.test_portal_journeys import PNG, _fill_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    from madoguchi.demo.services import PDF_SAMPLE

    pdf, png = tmp_path / "書類.pdf", tmp_path / "写真.png"
    pdf.write_bytes(PDF_SAMPLE)
    png.write_bytes(PNG)
    return {"pdf": pdf, "png": png}


def _missing(item: SessionItem) -> tuple[list[Any], dict[str, Any]]:
    """The fields still empty and required, and what the family answers."""
    return plausible_answers(item)


def test_family_of_four_moves_in_at_the_counter_and_signs_once(
    page: Any, context: Any, axe_check: Any, demo: None, files: dict[str, Path]
) -> None:
    login(page, "madoguchi")
    page.goto("/counter/")
    axe_check("書かない窓口")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="新しい来庁者の受付をはじめる").click()
    axe_check("窓口受付 (カード)")
    token = page.url.rstrip("/").split("/")[-1]

    # 1. the father's card (the demo reader takes the 4 basic items as JSON; a PC/SC reader reads the card)
    page.get_by_label("カードリーダー").select_option("demo")
    page.get_by_label("暗証番号（券面事項入力補助用・数字4桁）").fill("1234")
    page.get_by_label("カードの内容（デモ用リーダーのみ・JSON）").fill(json.dumps(family_card(), ensure_ascii=False))
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="カードを読み取る").click()
    expect(page.locator(".badge", has_text="転入予約")).to_be_visible()
    # 2. the household came from the 転入予約, カナ included (there is no furigana on the card)
    expect(page.locator(".members-table tbody tr")).to_have_count(5)  # 4 people + an empty row to add one
    expect(page.locator('input[value="ミドリカワ ユイ"]')).to_be_visible()
    axe_check("窓口受付 (世帯)")

    # 3. the interview
    page.get_by_label("転入").check()
    page.get_by_label("国民健康保険").check()
    page.get_by_label("保育所などの利用を希望する").check()
    page.get_by_label("日中の電話番号").fill("090-1234-0001")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="必要な手続を調べる").click()
    items = page.locator(".counter-item")
    expect(items.first).to_be_visible()
    assert items.count() >= 6
    axe_check("窓口受付 (必要な手続)")

    # 4. the clerk asks only what nothing could fill: one page across all the procedures
    session = CounterSession.objects.get(token=token)
    page.get_by_role("link", name="足りない項目だけをまとめて聞き取る").click()
    page.wait_for_load_state("load")
    axe_check("足りない項目")
    for _round in range(3):
        pending = False
        for item in session.items.select_related("procedure"):
            fields, values = _missing(item)
            if fields:
                pending = True
                _fill_scope(page, fields, values, f"i{item.pk}", files)
        if not pending:
            break
        with page.expect_navigation(wait_until="load"):
            page.get_by_role("button", name="保存する").click()
        if page.url.rstrip("/").endswith(token) or "#procedures" in page.url:
            break
    expect(page.locator(".notice--success")).to_contain_text("すべての手続の入力が終わりました")
    page.goto(f"/counter/s/{token}/items/{session.items.first().pk}/")  # type: ignore[union-attr]
    axe_check("窓口受付 (手続の入力)")
    page.goto(f"/counter/s/{token}/")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="お客様の画面に表示して署名をお願いする").click()
    expect(page.locator(".notice--success")).to_contain_text("署名用の画面")

    # 5. the resident's screen, on a second window: check everything, sign once
    kiosk = context.new_page()
    kiosk.js_problems = []
    kiosk.goto("/counter/kiosk/")
    expect(kiosk.get_by_role("heading", level=1, name="内容を確認して、署名してください")).to_be_visible()
    expect(kiosk.locator(".kiosk__form")).to_have_count(items.count())
    from tests.browser.conftest import assert_accessible

    assert_accessible(kiosk, "署名用の画面")
    kiosk.get_by_label("上記の内容を確認しました。まとめて申請します。").check()
    pad = kiosk.locator("[data-signature-pad]")
    box = pad.bounding_box()
    assert box is not None
    kiosk.mouse.move(box["x"] + 40, box["y"] + box["height"] / 2)
    kiosk.mouse.down()
    for step in range(1, 12):
        kiosk.mouse.move(box["x"] + 40 + step * 30, box["y"] + box["height"] / 2 + (15 if step % 2 else -15))
    kiosk.mouse.up()
    with kiosk.expect_navigation(wait_until="load"):
        kiosk.get_by_role("button", name="署名して申請する").click()
    expect(kiosk.get_by_role("heading", level=1, name="受け付けました")).to_be_visible()
    assert_accessible(kiosk, "受付完了 (お客様向け)")

    # 6. every department has its own application; the clerk typed ≤ 20 % of what paper needs
    page.reload()
    expect(page.locator(".notice--success")).to_contain_text("すべての申請を受け付けました")
    session.refresh_from_db()
    apps = Application.objects.filter(pk__in=session.items.values("application_id")).select_related("department")
    assert apps.count() == items.count() and set(apps.values_list("channel", flat=True)) == {"counter"}
    assert len({a.department.code for a in apps}) >= 3
    typed = {i.procedure.code: i.typed_paths for i in session.items.all()}
    assert session.fields_typed <= 0.2 * session.fields_total, (session.fields_typed, session.fields_total, typed, session.answers.get("interview_typed"))
    assert apps.filter(attachments__field_path="counter:signature").count() == apps.count()

    # 7. the 帳票: one PDF, every form, in Japanese, on real pages
    response = page.request.get(f"/counter/s/{token}/forms.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(io.BytesIO(response.body()))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for a in apps:
        assert a.reception_number in text
    assert "緑川 結衣" in text and "みどり市長" in text and re.search(r"令和\d+年\d+月\d+日", text)
    first = pdf[0].render(scale=1).to_pil().convert("L")
    assert first.getextrema()[0] < 100  # ink on the page


def test_kiosk_works_with_keyboard_only(page: Any, context: Any, demo: None) -> None:
    """The resident's screen without a mouse: confirm, type the name instead of drawing, sign."""
    from django.contrib.auth import get_user_model

    from madoguchi.core.scope import staff_actor

    clerk = staff_actor(get_user_model().objects.get(username="madoguchi"))
    session = services.session_open(actor=clerk)
    session = services.session_read_card(session=session, actor=clerk, plugin="demo", pin="1234",
                                         payload=json.dumps(family_card(), ensure_ascii=False))
    services.session_interview(session=session, actor=clerk, events=["move_in"], answers={"insurance": "employee"})
    session.items.exclude(procedure__code="shimin-tennyu").delete()
    item = session.items.get()
    definition = item.procedure.current_form.parsed()
    data = dict(item.data)
    sample = sample_submission(definition, rng=random.Random(3), today=timezone.localdate(), resident=None, files=[])
    for key, value in sample.items():
        data.setdefault(key, value)
    services.item_save(item=item, actor=clerk, data=data)
    services.session_ready(session=session, actor=clerk)

    login(page, "madoguchi")
    page.goto("/counter/kiosk/")
    box = page.get_by_label("上記の内容を確認しました。まとめて申請します。")
    for _ in range(80):
        if box.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    name = page.get_by_label("画面に書けない方は、お名前を入力してください")
    for _ in range(10):
        if name.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.type("緑川 大輔")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="受け付けました")).to_be_visible()
    session.refresh_from_db()
    assert session.status == "signed"
