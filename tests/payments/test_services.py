"""Payments against the real database, with the demo gateway as the provider (no mocks)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.core.audit import audit_verify
from madoguchi.core.errors import MadoguchiError, PermissionDeniedError
from madoguchi.core.models import AuditEvent
from madoguchi.core.scope import Actor
from madoguchi.payments import demo, selectors, services
from madoguchi.payments.gateways import DemoGateway, PaymentError, WebhookRejected, demo_sign, gateways
from madoguchi.payments.models import DemoCharge, Outcome, Payment, PaymentEvent, PaymentState

from .conftest import FEE, RESIDENT

RETURN = "/my/applications/1/"


def start(application: Application, actor: Actor = RESIDENT) -> tuple[Payment, str]:
    return services.payment_start(application=application, actor=actor, return_url=RETURN)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def body_for(
    payment: Payment, event_type: str, *, event_id: str = "evt_1", amount: int | None = None
) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "reference": payment.provider_reference,
            "amount": payment.amount if amount is None else amount,
            "created": int(time.time()),
        }
    ).encode()


def deliver(body: bytes, **sign: Any) -> services.WebhookOutcome:
    return services.payment_webhook(plugin="demo", body=body, headers=demo_sign(body, **sign))


@pytest.mark.django_db
def test_start_takes_the_fee_and_opens_the_demo_checkout(application: Application) -> None:
    payment, url = start(application)
    assert url == f"/pay/demo/checkout/{payment.provider_reference}/"
    assert payment.amount == FEE and payment.state == PaymentState.PENDING and payment.plugin == "demo"
    charge = DemoCharge.objects.get(token=payment.provider_reference)
    assert charge.amount == FEE and charge.idempotency_key == payment.idempotency_key
    assert charge.return_url.startswith(f"/pay/return/{payment.pk}/?next=%2Fmy%2Fapplications%2F1%2F&s=")
    # a second press continues the same checkout (one open payment per application)
    again, url2 = start(application)
    assert again.pk == payment.pk and url2 == url
    assert Payment.objects.count() == 1
    audit = AuditEvent.objects.get(action="payment.start")
    assert audit.object_id == str(payment.pk) and audit.detail["amount"] == FEE


@pytest.mark.django_db
def test_success(application: Application) -> None:
    payment, url = start(application)
    back = demo.demo_checkout_submit(token=token_of(url), choice="pay")
    assert back.endswith("&result=succeeded")
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID and payment.paid_at is not None
    event = PaymentEvent.objects.get(kind="webhook")
    assert event.outcome == Outcome.APPLIED and event.payment_id == payment.pk
    assert set(event.payload) == {"id", "type", "reference", "amount", "created"}
    assert AuditEvent.objects.filter(action="payment.paid", object_id=str(payment.pk)).count() == 1
    assert audit_verify().ok
    with pytest.raises(PaymentError) as err:
        start(application)
    assert err.value.code == "payment.already_paid"


@pytest.mark.django_db
@pytest.mark.parametrize(("choice", "state"), [("fail", "failed"), ("cancel", "cancelled")])
def test_failure_and_cancel_allow_a_new_attempt(application: Application, choice: str, state: str) -> None:
    payment, url = start(application)
    demo.demo_checkout_submit(token=token_of(url), choice=choice)
    payment.refresh_from_db()
    assert payment.state == state and payment.paid_at is None
    assert AuditEvent.objects.filter(action=f"payment.{state}").count() == 1
    second, url2 = start(application)
    assert second.pk != payment.pk and url2 != url and second.state == PaymentState.PENDING
    demo.demo_checkout_submit(token=token_of(url2), choice="pay")
    assert selectors.payment_for(application).pk == second.pk  # type: ignore[union-attr]


@pytest.mark.django_db
def test_duplicate_webhook_changes_nothing(application: Application) -> None:
    payment, url = start(application)
    demo.demo_checkout_submit(token=token_of(url), choice="pay")
    payment.refresh_from_db()
    paid_at, audits = payment.paid_at, AuditEvent.objects.count()
    outcome = demo.demo_send(token=token_of(url), what="duplicate")
    assert outcome.outcome == Outcome.DUPLICATE and not outcome.changed
    payment.refresh_from_db()
    assert payment.paid_at == paid_at and payment.state == PaymentState.PAID
    assert PaymentEvent.objects.filter(kind="webhook").count() == 1
    assert AuditEvent.objects.count() == audits


@pytest.mark.django_db
@pytest.mark.parametrize("late", ["fail", "cancel"])
def test_late_failure_after_paid_never_downgrades(application: Application, late: str) -> None:
    payment, url = start(application)
    demo.demo_checkout_submit(token=token_of(url), choice="pay")
    outcome = demo.demo_send(token=token_of(url), what="late", late_choice=late)
    assert outcome.outcome == Outcome.IGNORED and not outcome.changed
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID
    assert PaymentEvent.objects.filter(outcome=Outcome.IGNORED).count() == 1  # recorded all the same
    assert AuditEvent.objects.filter(action="payment.webhook_ignored").count() == 1


@pytest.mark.django_db
def test_late_paid_after_cancel_becomes_paid(application: Application) -> None:
    """The provider took the money after all: the provider is the truth, the payment is paid."""
    payment, url = start(application)
    demo.demo_checkout_submit(token=token_of(url), choice="cancel")
    outcome = demo.demo_send(token=token_of(url), what="late", late_choice="pay")
    assert outcome.outcome == Outcome.APPLIED and outcome.changed
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID and not payment.needs_refund
    # a late failure after cancel changes nothing
    assert demo.demo_send(token=token_of(url), what="late", late_choice="fail").outcome == Outcome.IGNORED


@pytest.mark.django_db
def test_late_paid_after_another_attempt_was_paid_is_flagged_for_refund(application: Application) -> None:
    first, url1 = start(application)
    demo.demo_checkout_submit(token=token_of(url1), choice="cancel")
    _, url2 = start(application)
    demo.demo_checkout_submit(token=token_of(url2), choice="pay")
    demo.demo_send(token=token_of(url1), what="late", late_choice="pay")
    first.refresh_from_db()
    assert first.state == PaymentState.PAID and first.needs_refund
    summary = selectors.payment_summary(application=application)
    assert summary is not None and summary.needs_refund and summary.attempts == 2


@pytest.mark.django_db
def test_held_webhook_then_delivered(application: Application) -> None:
    payment, url = start(application)
    back = demo.demo_checkout_submit(token=token_of(url), choice="pay", hold=True)
    returned = services.payment_return(payment=payment, params={"result": "succeeded"})
    assert returned.state == PaymentState.PENDING  # the browser's word is not trusted
    assert PaymentEvent.objects.get(kind="return").payload == {"claimed": "succeeded"}
    assert "result=succeeded" in back
    demo.demo_send(token=token_of(url), what="held")
    payment.refresh_from_db()
    assert payment.state == PaymentState.PAID


@pytest.mark.django_db
def test_bad_signature_is_refused_and_changes_nothing(application: Application) -> None:
    payment, _ = start(application)
    body = body_for(payment, "payment.succeeded")
    for headers in [
        demo_sign(body, secret="x" * 40),  # wrong secret
        {},  # no signature
        {"Madoguchi-Demo-Signature": "t=abc,v1=00"},
    ]:
        with pytest.raises(WebhookRejected) as err:
            services.payment_webhook(plugin="demo", body=body, headers=headers)
        assert err.value.code == "payment.webhook.signature"
    tampered = demo_sign(body)
    with pytest.raises(WebhookRejected):
        services.payment_webhook(plugin="demo", body=body.replace(b"evt_1", b"evt_2"), headers=tampered)
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING
    assert not PaymentEvent.objects.exists()


@pytest.mark.django_db
def test_stale_timestamp_is_refused(application: Application) -> None:
    payment, _ = start(application)
    body = body_for(payment, "payment.succeeded")
    with pytest.raises(WebhookRejected) as err:
        deliver(body, timestamp=int(time.time()) - 3600)
    assert err.value.code == "payment.webhook.stale"
    with pytest.raises(WebhookRejected):
        deliver(body, timestamp=int(time.time()) + 3600)
    assert deliver(body, timestamp=int(time.time()) - 60).outcome == Outcome.APPLIED  # within tolerance


@pytest.mark.django_db
def test_malformed_and_unknown_plugin(application: Application) -> None:
    for body in [b"not json", b'{"id": "e", "type": "payment.refunded", "reference": "r"}', b"[]"]:
        with pytest.raises(WebhookRejected) as err:
            deliver(body)
        assert err.value.code == "payment.webhook.malformed"
    with pytest.raises(WebhookRejected) as err:
        services.payment_webhook(plugin="nope", body=b"{}", headers={})
    assert err.value.code == "payment.webhook.plugin"


@pytest.mark.django_db
def test_unknown_payment_is_recorded_and_changes_nothing(application: Application) -> None:
    body = json.dumps(
        {"id": "evt_x", "type": "payment.succeeded", "reference": "no-such", "amount": 1, "created": 0}
    ).encode()
    outcome = deliver(body)
    assert outcome.outcome == Outcome.UNKNOWN_PAYMENT and not outcome.changed
    event = PaymentEvent.objects.get()
    assert event.payment is None and event.reference == "no-such"
    assert AuditEvent.objects.filter(action="payment.webhook_unknown").exists()
    assert deliver(body).outcome == Outcome.DUPLICATE


@pytest.mark.django_db
def test_amount_mismatch_is_not_paid(application: Application) -> None:
    payment, _ = start(application)
    outcome = deliver(body_for(payment, "payment.succeeded", amount=1))
    assert outcome.outcome == Outcome.AMOUNT_MISMATCH
    payment.refresh_from_db()
    assert payment.state == PaymentState.PENDING


@pytest.mark.django_db
def test_who_may_start_and_when(
    application: Application, procedure: Any, handler: Actor, make_staff: Any
) -> None:
    with pytest.raises(PermissionDeniedError):
        start(application, actor=Actor.resident("demo:someone-else"))
    kaigo = make_staff("kaigo", ("handler", "kaigo"))
    with pytest.raises(PermissionDeniedError):
        start(application, actor=kaigo)
    payment, _ = start(application, actor=handler)  # staff at the counter who see the application
    assert payment.amount == FEE
    with pytest.raises(PaymentError) as err:
        services.payment_start(application=application, actor=RESIDENT, return_url="https://evil.example/")
    assert err.value.code == "payment.return_url"
    with pytest.raises(PaymentError) as err:
        services.payment_start(application=application, actor=RESIDENT, plugin="nope", return_url="/")
    assert err.value.code == "payment.plugin_unknown"
    procedure.fee = 0
    procedure.save(update_fields=["fee"])
    application.refresh_from_db()
    with pytest.raises(MadoguchiError) as err2:
        start(application)
    assert err2.value.code == "payment.no_fee"


@pytest.mark.django_db
def test_stale_pending_expires(application: Application) -> None:
    payment, _ = start(application)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert services.payment_expire_stale(older_than=timedelta(hours=1)) == 1
    payment.refresh_from_db()
    assert payment.state == PaymentState.EXPIRED
    assert AuditEvent.objects.filter(action="payment.expired").count() == 1
    # a late "paid" from the provider still makes it paid
    assert deliver(body_for(payment, "payment.succeeded")).outcome == Outcome.APPLIED
    # and an open checkout older than the expiry is replaced by a new attempt on the next start
    Payment.objects.filter(pk=payment.pk).update(state=PaymentState.CANCELLED)
    second, _ = start(application)
    Payment.objects.filter(pk=second.pk).update(created_at=timezone.now() - timedelta(hours=2))
    third, _ = start(application)
    second.refresh_from_db()
    assert third.pk != second.pk and second.state == PaymentState.EXPIRED


@pytest.mark.django_db
def test_summary_and_payment_for(application: Application, notification: Any, valid_data: dict) -> None:
    summary = selectors.payment_summary(application=application)
    assert summary is not None and summary.state_label == "未払い" and summary.amount == FEE
    _, url = start(application)
    demo.demo_checkout_submit(token=token_of(url), choice="pay")
    summary = selectors.payment_summary(application=application)
    assert summary is not None and summary.state_label == "支払済み" and summary.paid_at is not None
    from madoguchi.applications import services as app_services

    free = app_services.application_submit(
        procedure=notification, data=valid_data, channel="online", actor=RESIDENT
    )
    assert selectors.payment_summary(application=free) is None
    assert selectors.payment_for(free) is None


def test_demo_config_check(settings: Any) -> None:
    assert gateways["demo"].check_config() == []
    assert "demo" in gateways.keys()
    settings.MADOGUCHI_ENV = "production"
    settings.DEMO_MODE = False
    problems = DemoGateway().check_config()
    assert any("本番" in p for p in problems)


@pytest.mark.django_db(transaction=True)
def test_two_starts_racing_open_one_payment(application: Application) -> None:
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def go() -> None:
        try:
            barrier.wait()
            results.append(start(application)[0].pk)
        except PaymentError as exc:
            results.append(exc.code)
        except Exception as exc:
            results.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Payment.objects.count() == 1
    pk = Payment.objects.get().pk
    # the loser continues the same checkout, or is told it is being prepared
    assert all(r in (pk, "payment.in_progress") for r in results), results
    assert pk in results


@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_twice_at_once_is_applied_once(application: Application) -> None:
    payment, _ = start(application)
    body = body_for(payment, "payment.succeeded")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def go() -> None:
        try:
            barrier.wait()
            outcomes.append(deliver(body).outcome)
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [Outcome.APPLIED, Outcome.DUPLICATE]
    assert AuditEvent.objects.filter(action="payment.paid").count() == 1


@pytest.mark.django_db
def test_command_check_and_demo_webhook(application: Application) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("payments", "check", stdout=out)
    assert out.getvalue().startswith("demo\tOK")
    _, url = start(application)
    demo.demo_checkout_submit(token=token_of(url), choice="pay")
    out = StringIO()
    call_command("payments", "demo-webhook", token_of(url), "late", "--late", "cancel", stdout=out)
    assert out.getvalue().startswith("ignored changed=False state=paid")
    out = StringIO()
    call_command("payments", "expire", "--minutes", "60", stdout=out)
    assert out.getvalue().strip() == "expired 0"
