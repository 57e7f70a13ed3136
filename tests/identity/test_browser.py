"""In a real browser: マイナンバーカード login through the card-reader bridge (a FakeBridge answering the
bridge URL via Playwright routing, under the site's real CSP), the no-bridge message, and axe-core on
the login, signup and card pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from madoguchi.core.models import Municipality, Resident
from madoguchi.identity.pki import bridge_url
from madoguchi.identity.testing import FakeBridge
from tests.browser.conftest import axe_check, browser, context, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_card_login_with_the_bridge_then_the_header_shows_the_name(
    page: Any, context: Any, axe_check: Any, bridge: FakeBridge, resident: Resident, municipality: Municipality,  # noqa: F811
) -> None:
    context.route(f"{bridge_url()}/**", bridge.route_handler())
    page.goto("/account/signup/")
    expect(page.get_by_role("heading", level=1, name="アカウントの作成")).to_be_visible()
    axe_check("アカウントの作成")

    page.goto("/account/login/?next=/")
    expect(page.get_by_role("heading", level=1, name="ログイン")).to_be_visible()
    axe_check("ログイン方法の選択")
    page.get_by_role("link", name="マイナンバーカードでログイン").click()
    expect(page).to_have_url(re.compile(r"/account/jpki/\?next=/$"))
    axe_check("マイナンバーカードでログイン")

    # no bridge running: a visible, announced message, and the page stays usable
    bridge.available = False
    page.get_by_role("button", name="カードを読み取ってログイン").click()
    alert = page.locator("#jpki-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("カードリーダーのアプリが見つかりません")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_be_focused()
    axe_check("マイナンバーカードでログイン (アプリなし)")
    assert "auth" not in bridge.calls

    # the bridge is started: the card signs the challenge and the server logs the resident in
    bridge.available = True
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="カードを読み取ってログイン").click()
    assert bridge.calls == ["auth"]
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".header-nav__user")).to_contain_text(resident.name)
    expect(page.locator(".header-nav__user")).to_contain_text("カードで本人確認済み")
    assert not page.js_problems, page.js_problems
