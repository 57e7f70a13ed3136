"""Reads of payments (the staff page, the portal, the return page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.core import signing
from django.urls import reverse

from madoguchi.applications.models import Application
from madoguchi.payments.models import Payment, PaymentState

_RETURN_SALT = "madoguchi.payments.return"


def payment_for(application: Application) -> Payment | None:
    """The payment that matters for an application: a paid one, else the open one, else the latest."""
    payments = list(Payment.objects.filter(application=application).order_by("-created_at", "-id"))
    for wanted in (PaymentState.PAID, PaymentState.PENDING):
        for p in payments:
            if p.state == wanted:
                return p
    return payments[0] if payments else None


@dataclass(frozen=True)
class PaymentSummary:
    fee: int  # the procedure's fee today (円)
    payment: Payment | None
    state: str  # PaymentState value, or "" when no attempt was made
    state_label: str  # 支払待ち / 支払済み / … / 未払い
    tone: str  # badge tone
    amount: int  # what was asked (the fee when the payment started), else the fee
    paid_at: datetime | None  # shown with the ``wareki_datetime`` filter
    attempts: int
    needs_refund: bool


_TONES = {
    PaymentState.PENDING: "info",
    PaymentState.PAID: "success",
    PaymentState.FAILED: "danger",
    PaymentState.CANCELLED: "neutral",
    PaymentState.EXPIRED: "warning",
}


def payment_summary(*, application: Application) -> PaymentSummary | None:
    """手数料 and 支払状況 for staff; None when the procedure has no fee and nothing was paid."""
    fee = application.procedure.fee
    payment = payment_for(application)
    if not fee and payment is None:
        return None
    attempts = Payment.objects.filter(application=application).count() if payment else 0
    needs_refund = (
        Payment.objects.filter(application=application, needs_refund=True).exists() if payment else False
    )
    if payment is None:
        return PaymentSummary(fee, None, "", "未払い", "warning", fee, None, 0, False)
    return PaymentSummary(
        fee=fee,
        payment=payment,
        state=payment.state,
        state_label=payment.get_state_display(),
        tone=_TONES.get(PaymentState(payment.state), "neutral"),
        amount=payment.amount,
        paid_at=payment.paid_at,
        attempts=attempts,
        needs_refund=needs_refund,
    )


def payment_return_url(*, payment: Payment, next_url: str) -> str:
    """Where the provider sends the resident back: /pay/return/<id>/ with ``next`` and a signature
    (the id alone would let anyone look at any payment's state)."""
    query = urlencode({"next": next_url, "s": return_signature(payment.pk)})
    return f"{reverse('payments:return', kwargs={'pk': payment.pk})}?{query}"


def return_signature(pk: int) -> str:
    return signing.Signer(salt=_RETURN_SALT).sign(str(pk)).rsplit(":", 1)[1]


def return_signature_ok(pk: int, signature: str) -> bool:
    try:
        signing.Signer(salt=_RETURN_SALT).unsign(f"{pk}:{signature}")
    except signing.BadSignature:
        return False
    return True


def payment_get(*, pk: int) -> Payment | None:
    return Payment.objects.select_related("application__procedure").filter(pk=pk).first()


def application_for_payment(*, pk: int) -> Application | None:
    """The application a resident wants to pay for (the service checks that they may)."""
    return Application.objects.select_related("procedure", "municipality").filter(pk=pk).first()
