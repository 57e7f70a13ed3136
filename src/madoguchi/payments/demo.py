"""The demo gateway's provider side: the checkout page's actions and its webhooks.

It plays the outside payment provider (no real money), so it keeps its own record
(``DemoCharge``) and talks to us only the way a provider would: a redirect back to the return URL
and a signed webhook, delivered in-process to the same service the webhook endpoint calls.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Literal
from urllib.parse import urlencode

from django.db import transaction

from madoguchi.payments.gateways import PaymentError, demo_sign, gateways
from madoguchi.payments.models import DemoCharge
from madoguchi.payments.services import WebhookOutcome, payment_webhook

Choice = Literal["pay", "fail", "cancel"]
CHOICES: dict[str, tuple[str, str]] = {
    # choice -> (event type, result shown in the return URL)
    "pay": ("payment.succeeded", "succeeded"),
    "fail": ("payment.failed", "failed"),
    "cancel": ("payment.canceled", "canceled"),
}


def demo_charge(*, token: str) -> DemoCharge | None:
    if not gateways["demo"].is_enabled():
        return None
    return DemoCharge.objects.filter(token=token).first()


def _event_body(charge: DemoCharge, choice: str) -> str:
    event_type = CHOICES[choice][0]
    event = {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": event_type,
        "reference": charge.token,
        "amount": charge.amount,
        "created": int(time.time()),
    }
    return json.dumps(event, separators=(",", ":"))


def demo_deliver(body: str) -> WebhookOutcome:
    """Send one webhook to ourselves, signed now (as the provider's retry would be)."""
    raw = body.encode()
    return payment_webhook(plugin="demo", body=raw, headers=demo_sign(raw))


def _lock(token: str) -> DemoCharge:
    charge = DemoCharge.objects.select_for_update().filter(token=token).first()
    if charge is None or not gateways["demo"].is_enabled():
        raise PaymentError("デモ決済が見つかりません。", code="payment.demo.not_found")
    return charge


def demo_checkout_submit(*, token: str, choice: str, hold: bool = False) -> str:
    """The resident pressed 支払う / 失敗させる / キャンセル. Returns where the browser goes next
    (the return URL). With ``hold`` the webhook is kept back (the return page shows 確認中)."""
    if choice not in CHOICES:
        raise PaymentError("選択肢が正しくありません。", code="payment.demo.choice")
    with transaction.atomic():
        charge = _lock(token)
        if charge.result:  # already decided: pressing again changes nothing
            return _back(charge)
        charge.result = CHOICES[choice][1]
        body = _event_body(charge, choice)
        if hold:
            charge.held_body = body
        else:
            charge.last_body = body
        charge.save(update_fields=["result", "held_body", "last_body"])
    if not hold:
        demo_deliver(body)
    return _back(charge)


def _back(charge: DemoCharge) -> str:
    separator = "&" if "?" in charge.return_url else "?"
    return f"{charge.return_url}{separator}{urlencode({'result': charge.result})}"


def demo_send(
    *, token: str, what: Literal["held", "duplicate", "late"], late_choice: str = "fail"
) -> WebhookOutcome:
    """The demo page's buttons (and ``madoguchi payments demo-webhook``):

    - ``held``: deliver the webhook kept back by 「通知を遅らせる」;
    - ``duplicate``: deliver the last webhook again (the same event id);
    - ``late``: a new event of ``late_choice`` after the decision (a late 失敗 after 支払済み, or a
      late 支払 after a キャンセル)."""
    with transaction.atomic():
        charge = _lock(token)
        if what == "held":
            if not charge.held_body:
                raise PaymentError("保留中の通知はありません。", code="payment.demo.nothing_held")
            body, charge.last_body, charge.held_body = charge.held_body, charge.held_body, ""
        elif what == "duplicate":
            if not charge.last_body:
                raise PaymentError("まだ通知を送っていません。", code="payment.demo.nothing_sent")
            body = charge.last_body
        else:
            if late_choice not in CHOICES:
                raise PaymentError("選択肢が正しくありません。", code="payment.demo.choice")
            body = charge.last_body = _event_body(charge, late_choice)
        charge.save(update_fields=["held_body", "last_body"])
    return demo_deliver(body)
