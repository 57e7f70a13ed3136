"""待たない窓口 in a real browser: the kiosk issues a ticket (keyboard only), the clerk calls it from the
call screen in another page, and the called-numbers display (a second window) shows it without a reload
and announces it in its aria-live region. axe-core on kiosk, display, call screen and floor."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from madoguchi.core.models import Role
from madoguchi.reception.models import Counter, Service, Ticket, TicketStatus
from tests.browser.conftest import assert_accessible, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watched(page: Any) -> Any:
    """A second page with the same script-error and CSP watch as the ``page`` fixture."""
    page.js_problems = []
    page.on("pageerror", lambda exc: page.js_problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            page.js_problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return page


def tab_to(page: Any, text: str, limit: int = 30) -> None:
    """Press Tab until the focused element's text contains ``text`` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if text in page.evaluate("() => (document.activeElement && document.activeElement.innerText) || ''"):
            return
    raise AssertionError(f"could not reach {text!r} with Tab")


@pytest.fixture
def floor(municipality: Any, make_staff: Any) -> dict[str, Any]:
    jumin = Service.objects.create(municipality=municipality, code="jumin", name="住民異動", prefix="住")
    kosodate = Service.objects.create(
        municipality=municipality, code="kosodate", name="子育て", prefix="子", sort_order=2
    )
    c1 = Counter.objects.create(municipality=municipality, number=1, name="1番窓口")
    c1.services.add(jumin)
    Counter.objects.create(municipality=municipality, number=2, name="2番窓口").services.add(kosodate)
    make_staff("madoguchi", (Role.CLERK, None))
    return {"jumin": jumin, "kosodate": kosodate}


def test_kiosk_ticket_called_at_the_counter_appears_live_on_the_display(
    page: Any, context: Any, axe_check: Any, floor: dict[str, Any]
) -> None:
    # the display, on a second window: loaded once, never reloaded
    display = watched(context.new_page())
    display.goto("/reception/display/")
    expect(display.get_by_role("heading", level=1, name="お呼びしている番号")).to_be_visible()
    expect(display.locator("#display-board")).to_contain_text("いまお呼びしている番号はありません")
    assert_accessible(display, "呼出表示")
    display.evaluate("() => { window.__loadedOnce = true; }")
    # the chime is switched on once when the screen is set up (browsers play sound only after a press)
    chime = display.get_by_role("button", name="呼出音を鳴らす")
    chime.focus()
    display.keyboard.press("Enter")
    expect(display.get_by_role("button", name="呼出音を止める")).to_have_attribute("aria-pressed", "true")
    expect(display.locator("[data-chime-count]")).to_have_attribute("data-chime-count", "1")  # a test ring

    # the kiosk, keyboard only: Tab to the service, Enter
    page.goto("/reception/kiosk/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("番号札をお取りください")
    axe_check("発券機")
    tab_to(page, "住民異動")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("ticket-number")).to_have_text("住-001")
    expect(page.get_by_text("待ち時間の目安")).to_be_visible()
    axe_check("番号札")
    ticket = Ticket.objects.get()
    assert ticket.number == "住-001" and ticket.status == TicketStatus.WAITING

    # the clerk's call screen, in another page
    clerk = watched(context.new_page())
    login(clerk, "madoguchi")
    clerk.goto("/reception/staff/counter/1/")
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("1番窓口の呼出")
    expect(clerk.get_by_role("region", name="お待ちの方（1 人）")).to_contain_text("住-001")
    assert_accessible(clerk, "呼出画面")
    with clerk.expect_navigation(wait_until="load"):
        clerk.get_by_role("button", name="次の方を呼ぶ").click()
    expect(clerk.locator(".call-current__number")).to_have_text("住-001")
    assert_accessible(clerk, "呼出画面（呼出中）")

    # the display shows the call without a reload, and the live region says it
    expect(display.locator(".display-calls__row--latest")).to_contain_text("住-001", timeout=8000)
    expect(display.locator(".display-calls__row--latest")).to_contain_text("1番窓口")
    expect(display.locator("#display-announce")).to_contain_text("住-001 番の方、1番窓口 へお越しください")
    assert display.evaluate("() => window.__loadedOnce === true"), "the display page was reloaded"
    expect(display.locator("[data-chime-count]")).to_have_attribute("data-chime-count", "2")  # rang for the call
    assert_accessible(display, "呼出表示（呼出中）")

    # the call screen's waiting list follows the kiosk by itself (no reload)
    clerk.evaluate("() => { window.__clerkLoadedOnce = true; }")
    page.goto("/reception/kiosk/")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name=re.compile("住民異動")).click()
    expect(page.get_by_test_id("ticket-number")).to_have_text("住-002")
    expect(clerk.get_by_role("region", name="お待ちの方（1 人）")).to_contain_text("住-002", timeout=10000)
    assert clerk.evaluate("() => window.__clerkLoadedOnce === true"), "the call screen was reloaded"

    # recall, start, finish; the floor dashboard
    with clerk.expect_navigation(wait_until="load"):
        clerk.get_by_role("button", name="対応を始める").click()
    with clerk.expect_navigation(wait_until="load"):
        clerk.get_by_role("button", name="対応を終える").click()
    expect(clerk.locator(".notice--success")).to_contain_text("住-001 番の対応を終えました")
    expect(display.locator("#display-board")).to_contain_text(
        "いまお呼びしている番号はありません", timeout=8000
    )
    clerk.goto("/reception/floor/")
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("フロアの状況")
    assert_accessible(clerk, "フロアの状況")
    assert Ticket.objects.get(number="住-001").status == TicketStatus.DONE


def test_display_and_kiosk_check_in_work_with_the_keyboard_only(
    page: Any, axe_check: Any, floor: dict[str, Any]
) -> None:
    page.goto("/reception/display/")
    tab_to(page, "本文へ移動")
    select = page.locator("#display-service")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "display-service":
            break
    expect(select).to_be_focused()
    select.select_option("kosodate")  # what ArrowDown does on a focused select, without a mouse
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="表示を切り替える")).to_be_focused()
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    assert "service=kosodate" in page.url
    expect(page.locator(".display-waiting")).to_contain_text("子育て")
    expect(page.locator(".display-waiting")).not_to_contain_text("住民異動")
    axe_check("呼出表示（業務を選択）")

    page.goto("/reception/kiosk/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "checkin-number":
            break
    page.keyboard.type("12345678")
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press("Enter")
    expect(page.locator(".notice--error")).to_contain_text("本日の予約が見つかりません")
    axe_check("発券機（予約番号の誤り）")
