"""The ``counter`` payment plugin: a fee paid in cash (or by the counter's own card terminal) to a clerk.

There is no provider to send the resident to. ``start`` returns a reference and no checkout; the clerk's
"手数料を受け取る" then confirms the payment with a message signed by this server (HMAC over the body
with a key derived from ``SECRET_KEY``), applied through ``payments.services.payment_webhook`` like any
provider's message: the same idempotency (one event id), the same audit rows, the same 支払済み state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping

from django.conf import settings

from madoguchi.payments.gateways import (
    PaymentPlugin,
    StartResult,
    WebhookEvent,
    WebhookRejected,
    gateways,
    header,
)
from madoguchi.payments.models import Payment, PaymentState

SIGNATURE_HEADER = "Madoguchi-Counter-Signature"
PAYLOAD_FIELDS = ("id", "reference", "amount", "received_by")


def _key() -> bytes:
    return hashlib.sha256(f"madoguchi.reception.counter:{settings.SECRET_KEY}".encode()).digest()


def counter_sign(body: bytes) -> dict[str, str]:
    return {SIGNATURE_HEADER: hmac.new(_key(), body, hashlib.sha256).hexdigest()}


def counter_receipt_message(*, payment: Payment, received_by: str) -> tuple[bytes, dict[str, str]]:
    """The signed message that records the money as received at the counter."""
    body = json.dumps(
        {
            "id": f"counter-{uuid.uuid4().hex}",
            "reference": payment.provider_reference,
            "amount": payment.amount,
            "received_by": received_by[:150],
        },
        sort_keys=True,
    ).encode()
    return body, counter_sign(body)


@gateways.register("counter")
class CounterGateway(PaymentPlugin):
    """窓口での支払い (現金・窓口の決済端末): received by a clerk, recorded by the clerk's action."""

    verbose_name = "窓口での支払い"

    def start(self, payment: Payment, return_url: str) -> StartResult:
        return StartResult(reference=f"counter-{payment.idempotency_key}", redirect_url=return_url)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        given = header(headers, SIGNATURE_HEADER)
        expected = hmac.new(_key(), body, hashlib.sha256).hexdigest()
        if not given or not hmac.compare_digest(given, expected):
            raise WebhookRejected(
                "窓口での受領記録の署名が正しくありません。", code="payment.webhook.signature"
            )
        try:
            data = json.loads(body)
            event_id, reference, amount = str(data["id"]), str(data["reference"]), int(data["amount"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(
                "窓口での受領記録の形式が正しくありません。", code="payment.webhook.format"
            ) from exc
        return WebhookEvent(
            event_id=event_id,
            reference=reference,
            state=PaymentState.PAID,
            amount=amount,
            event_type="counter.received",
            payload={k: data.get(k) for k in PAYLOAD_FIELDS},
        )

    def check_config(self) -> list[str]:
        return [] if settings.SECRET_KEY else ["SECRET_KEY が設定されていません。"]
