"""The payment pages through HTTP: the resident's start, the demo provider page, the webhook
endpoint, the return page, and 手数料 on the staff detail page."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.test import Client

from madoguchi.applications.models import Application
from madoguchi.core.scope import Actor
from madoguchi.identity.api import SESSION_KEY, PortalIdentity
from madoguchi.payments import services
from madoguchi.payments.gateways import demo_sign
from madoguchi.payments.models import PaymentEvent, PaymentState

from .conftest import RESIDENT

NEXT = "/my/"


def resident_login(client: Client) -> None:
    session = client.session
    session[SESSION_KEY] = PortalIdentity(method="demo", label="demo:1", name="山田 太郎").to_session()
    session.save()


def start_and_checkout(client: Client, application: Application) -> str:
    resident_login(client)
    response = client.post(f"/pay/start/{application.pk}/", {"next": NEXT})
    assert response.status_code == 302, response.content.decode()[:300]
    return str(response["Location"])


@pytest.mark.django_db
def test_resident_pays_on_the_demo_page_and_returns(application: Application) -> None:
    client = Client()
    checkout = start_and_checkout(client, application)
    assert checkout.startswith("/pay/demo/checkout/")
    page = client.get(checkout)
    html = page.content.decode()
    assert page.status_code == 200
    assert "デモ決済" in html and "実際のお金は動きません" in html and "300円" in html
    for label in ("支払う", "失敗させる", "キャンセル"):
        assert label in html
    assert "<script>" not in html and "style=" not in html
    back = client.post(checkout, {"action": "pay"})
    assert back.status_code == 302 and back["Location"].startswith("/pay/return/")
    final = client.get(back["Location"])
    assert final.status_code == 302 and final["Location"] == NEXT  # confirmed: on to the portal
    assert application.payments.get().state == PaymentState.PAID
    assert PaymentEvent.objects.filter(kind="return").count() == 1
    # the page afterwards offers the demo webhooks (duplicate, late)
    html = client.get(checkout).content.decode()
    assert "同じ通知をもう一度送る" in html
    dup = client.post(checkout, {"action": "duplicate"}, follow=True)
    assert "重複 (反映済み)" in dup.content.decode()
    late = client.post(checkout, {"action": "late-fail"}, follow=True)
    assert "無視 (支払済みは戻さない)" in late.content.decode()
    assert application.payments.get().state == PaymentState.PAID


@pytest.mark.django_db
def test_return_shows_checking_until_the_webhook_comes(application: Application) -> None:
    client = Client()
    checkout = start_and_checkout(client, application)
    client.get(checkout)
    back = client.post(checkout, {"action": "pay", "hold": "1"})
    page = client.get(back["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "確認中" in html and "状況を再確認" in html
    assert application.payments.get().state == PaymentState.PENDING
    client.post(checkout, {"action": "held"})
    assert client.get(back["Location"])["Location"] == NEXT


@pytest.mark.django_db
def test_return_needs_its_signature_and_keeps_next_on_site(application: Application) -> None:
    client = Client()
    checkout = start_and_checkout(client, application)
    back = client.post(checkout, {"action": "fail"})["Location"]
    payment = application.payments.get()
    assert client.get(f"/pay/return/{payment.pk}/?next=/my/").status_code == 404
    assert client.get(back.replace("&s=", "&s=x")).status_code == 404
    evil = re.sub(r"next=[^&]*", "next=https%3A%2F%2Fevil.example%2F", back)
    page = client.get(evil)
    assert page.status_code == 200 and 'href="https://evil.example' not in page.content.decode()
    assert "支払われていません" in page.content.decode()


@pytest.mark.django_db
def test_start_needs_a_login_and_the_applicant(application: Application) -> None:
    client = Client()
    response = client.post(f"/pay/start/{application.pk}/", {"next": NEXT})
    assert response.status_code == 302 and response["Location"].startswith("/account/")
    session = client.session
    session[SESSION_KEY] = PortalIdentity(method="password", label="acct:99").to_session()
    session.save()
    refused = client.post(f"/pay/start/{application.pk}/", {"next": NEXT})
    assert refused.status_code == 403 and 'role="alert"' in refused.content.decode()
    assert not application.payments.exists()
    assert client.get(f"/pay/start/{application.pk}/").status_code == 405


@pytest.mark.django_db
def test_webhook_endpoint(application: Application) -> None:
    payment, _ = services.payment_start(application=application, actor=RESIDENT, return_url=NEXT)
    body = json.dumps(
        {
            "id": "evt_http",
            "type": "payment.succeeded",
            "reference": payment.provider_reference,
            "amount": payment.amount,
            "created": int(time.time()),
        }
    ).encode()
    client = Client(enforce_csrf_checks=True)  # a provider has no CSRF token: the signature is the check
    signature = demo_sign(body)["Madoguchi-Demo-Signature"]
    bad = client.post(
        "/pay/webhook/demo/", body, content_type="application/json", HTTP_MADOGUCHI_DEMO_SIGNATURE="t=1,v1=00"
    )
    assert bad.status_code == 400 and bad.json()["error"] == "payment.webhook.signature"
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING
    ok = client.post(
        "/pay/webhook/demo/", body, content_type="application/json", HTTP_MADOGUCHI_DEMO_SIGNATURE=signature
    )
    assert ok.status_code == 200 and ok.json() == {"outcome": "applied", "changed": True}
    again = client.post(
        "/pay/webhook/demo/", body, content_type="application/json", HTTP_MADOGUCHI_DEMO_SIGNATURE=signature
    )
    assert again.status_code == 200 and again.json() == {"outcome": "duplicate", "changed": False}
    assert client.post("/pay/webhook/nope/", body, content_type="application/json").status_code == 404
    assert client.get("/pay/webhook/demo/").status_code == 405


@pytest.mark.django_db
def test_unknown_demo_checkout_is_404(client: Client) -> None:
    assert client.get("/pay/demo/checkout/nope/").status_code == 404


@pytest.mark.django_db
def test_staff_detail_shows_fee_and_payment_state(application: Application, handler: Actor) -> None:
    client = Client()
    assert (
        client.post("/staff/login/", {"username": "kosodate", "password": "demo-pass-2026"}).status_code
        == 302
    )
    html = client.get(f"/staff/applications/{application.pk}/").content.decode()
    assert "手数料" in html and "支払状況" in html and "未払い" in html and "300円" in html
    payment, url = services.payment_start(application=application, actor=RESIDENT, return_url=NEXT)
    Client().post(url, {"action": "pay"})
    html = client.get(f"/staff/applications/{application.pk}/").content.decode()
    assert "支払済み" in html and "令和" in html
    payment.refresh_from_db()
    assert payment.paid_at is not None


@pytest.mark.django_db
def test_staff_detail_without_fee_has_no_payment_panel(
    notification: object, valid_data: dict, kaigo_handler: Actor
) -> None:
    from madoguchi.applications import services as app_services

    app = app_services.application_submit(
        procedure=notification,
        data=valid_data,
        channel="online",
        actor=RESIDENT,  # type: ignore[arg-type]
    )
    client = Client()
    client.post("/staff/login/", {"username": "kaigo", "password": "demo-pass-2026"})
    html = client.get(f"/staff/applications/{app.pk}/").content.decode()
    assert "支払状況" not in html
