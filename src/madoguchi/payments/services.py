"""Writes of payments. Keyword-only, typed; one transaction per state change, each with its audit row.

The state of a payment changes only on a verified provider message (``payment_webhook``): the
browser's return (``payment_return``) is recorded but never trusted. Rules (docs/payments.md):
the same event twice changes nothing; a paid payment is never downgraded; a late "paid" for a
failed, cancelled or expired attempt makes it paid (the money was taken), flagged for a refund if
another attempt was paid too. The application's history gets no row: the audit log records each
change, and the staff page shows the payment state.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.applications.models import EventKind as ApplicationEventKind
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.scope import Actor
from madoguchi.payments.gateways import PaymentError, PaymentPlugin, WebhookEvent, WebhookRejected, gateways
from madoguchi.payments.models import (
    CLOSED_UNPAID,
    EventKind,
    Outcome,
    Payment,
    PaymentEvent,
    PaymentState,
)
from madoguchi.payments.selectors import payment_return_url

# a checkout left open longer than this is expired when the resident starts again (or by the sweep)
PENDING_EXPIRY = timedelta(hours=1)


@dataclass(frozen=True)
class WebhookOutcome:
    outcome: str  # Outcome value
    changed: bool
    payment_id: int | None = None
    state: str | None = None


# ------------------------------------------------------------------------------------- helpers
def _plugin(key: str) -> PaymentPlugin:
    if key not in gateways:
        raise PaymentError(f"決済方法 {key[:30]!r} はありません。", code="payment.plugin_unknown")
    plugin = gateways[key]
    if not plugin.is_enabled():
        raise PaymentError(f"決済方法「{plugin.verbose_name}」は使えません。", code="payment.plugin_disabled")
    return plugin


def _same_site_path(url: str) -> bool:
    return url.startswith("/") and not url.startswith(("//", "/\\")) and "\n" not in url and "\r" not in url


def _audit(payment: Payment, *, actor: str, action: str, detail: dict[str, Any]) -> None:
    audit_record(
        actor=actor,
        action=action,
        municipality_code=payment.municipality.code,
        object_type="payment",
        object_id=payment.pk,
        detail={"application": payment.application.reception_number, "plugin": payment.plugin} | detail,
    )


def _require_payer(application: Application, actor: Actor) -> None:
    """The applicant (the resident who submitted it), the system, or staff who see the application."""
    if actor.is_system:
        return
    if actor.is_resident:
        submitted_by = application.events.filter(
            kind=ApplicationEventKind.SUBMITTED, actor_label=actor.label
        ).exists()
        if submitted_by:
            return
    elif (
        actor.municipality is not None
        and actor.municipality.pk == application.municipality_id
        and actor.can_see_department(application.department_id)
    ):
        return
    raise PermissionDeniedError("この申請の手数料を支払う権限がありません。", code="payment.permission")


def _expire(payment: Payment, *, actor: str) -> None:
    payment.state = PaymentState.EXPIRED
    payment.save(update_fields=["state", "updated_at"])
    _audit(payment, actor=actor, action="payment.expired", detail={"from": PaymentState.PENDING})


# ------------------------------------------------------------------------------------- start
def payment_start(
    *, application: Application, actor: Actor, plugin: str = "demo", return_url: str
) -> tuple[Payment, str]:
    """Start (or continue) paying the procedure's fee; returns the payment and where to send the
    resident. ``return_url`` is a same-site path where the resident lands afterwards (through
    /pay/return/<id>/, which shows 確認中 until the provider has confirmed).

    One attempt is open at a time: an open checkout is continued, a paid one refused
    (``payment.already_paid``); after 失敗・取消・期限切れ a new attempt starts."""
    gateway = _plugin(plugin)
    if not _same_site_path(return_url):
        raise PaymentError("戻り先はこのサイト内のパスにしてください。", code="payment.return_url")
    _require_payer(application, actor)
    fee = application.procedure.fee
    if fee <= 0:
        raise PaymentError("この手続に手数料はありません。", code="payment.no_fee")
    with transaction.atomic():
        locked = Application.objects.select_for_update().select_related("municipality").get(pk=application.pk)
        if not locked.is_open:
            raise PaymentError(
                "この申請は終了しているため、支払えません。", code="payment.application_closed"
            )
        current = list(
            Payment.objects.select_for_update()
            .filter(application=locked, state__in=[PaymentState.PENDING, PaymentState.PAID])
            .select_related("municipality", "application")
        )
        if any(p.state == PaymentState.PAID for p in current):
            raise PaymentError("この申請の手数料は支払済みです。", code="payment.already_paid")
        for open_payment in current:
            if open_payment.created_at < timezone.now() - PENDING_EXPIRY:
                _expire(open_payment, actor=actor.label)
                continue
            if open_payment.checkout_url and open_payment.plugin == plugin:
                return open_payment, open_payment.checkout_url  # continue the open checkout
            raise PaymentError(
                "支払いの手続を準備中です。少し待ってから、もう一度お試しください。",
                code="payment.in_progress",
            )
        payment = Payment.objects.create(
            municipality=locked.municipality,
            application=locked,
            amount=fee,
            plugin=plugin,
            idempotency_key=uuid.uuid4().hex,
        )
        _audit(payment, actor=actor.label, action="payment.start", detail={"amount": fee})
    # the provider is called after commit (a network call must not hold the application's lock)
    try:
        result = gateway.start(payment, payment_return_url(payment=payment, next_url=return_url))
    except Exception as exc:
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(state=PaymentState.FAILED, updated_at=timezone.now())
            payment.state = PaymentState.FAILED
            _audit(
                payment,
                actor=actor.label,
                action="payment.start_failed",
                detail={"error": type(exc).__name__},
            )
        raise PaymentError(
            "決済事業者に接続できませんでした。時間をおいて、もう一度お試しください。",
            code="payment.provider",
        ) from exc
    Payment.objects.filter(pk=payment.pk).update(
        provider_reference=result.reference, checkout_url=result.redirect_url, updated_at=timezone.now()
    )
    payment.provider_reference, payment.checkout_url = result.reference, result.redirect_url
    return payment, result.redirect_url


# ------------------------------------------------------------------------------------- webhook
def payment_webhook(*, plugin: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
    """Apply one provider message. Raises ``WebhookRejected`` (4xx, nothing stored) for a bad
    signature, a stale timestamp or a malformed body; anything else is recorded and answered 200."""
    if plugin not in gateways:
        raise WebhookRejected(f"決済方法 {plugin[:30]!r} はありません。", code="payment.webhook.plugin")
    event = gateways[plugin].verify_webhook(body, headers)
    try:
        with transaction.atomic():
            return _apply_event(plugin, event)
    except IntegrityError:
        # the same event delivered twice at once: the other delivery recorded it
        if PaymentEvent.objects.filter(plugin=plugin, event_id=event.event_id).exists():
            return WebhookOutcome(outcome=Outcome.DUPLICATE, changed=False)
        raise


def _apply_event(plugin: str, event: WebhookEvent) -> WebhookOutcome:
    seen = PaymentEvent.objects.filter(plugin=plugin, event_id=event.event_id).first()
    if seen is not None:
        return WebhookOutcome(outcome=Outcome.DUPLICATE, changed=False, payment_id=seen.payment_id)
    actor = f"payment:{plugin}"
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("municipality", "application")
        .filter(plugin=plugin, provider_reference=event.reference)
        .first()
        if event.reference
        else None
    )

    def record(outcome: str, target: Payment | None) -> None:
        PaymentEvent.objects.create(
            plugin=plugin,
            kind=EventKind.WEBHOOK,
            event_id=event.event_id,
            payment=target,
            reference=event.reference,
            event_type=event.event_type,
            payload=event.payload,
            outcome=outcome,
        )

    if payment is None:
        record(Outcome.UNKNOWN_PAYMENT, None)
        audit_record(
            actor=actor,
            action="payment.webhook_unknown",
            object_type="payment_event",
            object_id=event.event_id,
            detail={"plugin": plugin, "event_type": event.event_type},
        )
        return WebhookOutcome(outcome=Outcome.UNKNOWN_PAYMENT, changed=False)

    before = payment.state
    if event.state == PaymentState.PAID and event.amount is not None and event.amount != payment.amount:
        outcome = Outcome.AMOUNT_MISMATCH
    elif before == PaymentState.PENDING and event.state != PaymentState.PENDING:
        outcome = Outcome.APPLIED
    elif before in CLOSED_UNPAID and event.state == PaymentState.PAID:
        outcome = Outcome.APPLIED  # the provider took the money after all: it is paid
    else:
        outcome = Outcome.IGNORED  # never downgrade a paid payment; nothing else to do for a closed one

    if outcome != Outcome.APPLIED:
        record(outcome, payment)
        _audit(
            payment,
            actor=actor,
            action="payment.webhook_ignored",
            detail={"event_id": event.event_id, "outcome": outcome, "reported": event.state, "state": before},
        )
        return WebhookOutcome(outcome=outcome, changed=False, payment_id=payment.pk, state=before)

    payment.state = event.state
    fields = ["state", "updated_at"]
    if event.state == PaymentState.PAID:
        payment.paid_at = timezone.now()
        fields.append("paid_at")
        if (
            Payment.objects.filter(application_id=payment.application_id, state=PaymentState.PAID)
            .exclude(pk=payment.pk)
            .exists()
        ):
            payment.needs_refund = True  # two attempts paid: staff refund one by hand
            fields.append("needs_refund")
    payment.save(update_fields=fields)
    record(outcome, payment)
    _audit(
        payment,
        actor=actor,
        action=f"payment.{event.state}",
        detail={
            "event_id": event.event_id,
            "from": before,
            "to": event.state,
            "amount": payment.amount,
            "needs_refund": payment.needs_refund,
        },
    )
    return WebhookOutcome(outcome=outcome, changed=True, payment_id=payment.pk, state=payment.state)


# ------------------------------------------------------------------------------------- return
def payment_return(*, payment: Payment, params: Mapping[str, str]) -> Payment:
    """The resident's browser came back from the provider. Recorded, never trusted: the state is
    whatever the provider's webhook set (the page shows 確認中 while it is still 支払待ち)."""
    with transaction.atomic():
        PaymentEvent.objects.create(
            plugin=payment.plugin,
            kind=EventKind.RETURN,
            payment=payment,
            reference=payment.provider_reference,
            # only what the provider claimed, for comparison with the webhook later
            payload={"claimed": str(params.get("result", ""))[:20]},
            outcome=Outcome.RETURN_SEEN,
        )
    payment.refresh_from_db()
    return payment


# ------------------------------------------------------------------------------------- sweep
def payment_expire_stale(*, older_than: timedelta = PENDING_EXPIRY, actor: Actor | None = None) -> int:
    """Mark checkouts left 支払待ち longer than ``older_than`` as 期限切れ (one transaction each).
    A later "paid" from the provider still makes such a payment paid."""
    label = (actor or Actor.system("payments.sweep")).label
    cutoff = timezone.now() - older_than
    expired = 0
    for pk in Payment.objects.filter(state=PaymentState.PENDING, created_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            payment = (
                Payment.objects.select_for_update(of=("self",))
                .select_related("municipality", "application")
                .filter(pk=pk, state=PaymentState.PENDING)
                .first()
            )
            if payment is not None:
                _expire(payment, actor=label)
                expired += 1
    return expired
