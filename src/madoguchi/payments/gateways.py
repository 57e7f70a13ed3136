"""Payment plugins (決済方法): one registry, a base class stating the contract, and the ``demo``
gateway. A real gateway (a card or コンビニ payment provider) is one more subclass registered here.

Contract of a plugin:

- ``start(payment, return_url) -> StartResult``: open a checkout at the provider for ``payment``
  (amount, ``idempotency_key``); the resident is sent to ``redirect_url`` and comes back to
  ``return_url``. ``reference`` is the provider's id of the checkout (unique per plugin).
- ``verify_webhook(body, headers) -> WebhookEvent``: check the signature and freshness of a
  provider message and parse it; raise ``WebhookRejected`` (code ``payment.webhook.*``) otherwise.
- ``check_config() -> list[str]``: problems an operator must fix (empty = fine).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.urls import reverse

from madoguchi.core.errors import MadoguchiError
from madoguchi.core.registry import Plugin, Registry
from madoguchi.payments.models import DemoCharge, Payment, PaymentState


class PaymentError(MadoguchiError):
    code = "payment.error"
    default_message = "支払いの手続ができませんでした。"


class WebhookRejected(MadoguchiError):
    """A provider message we refuse (answered 4xx, nothing stored or changed)."""

    code = "payment.webhook.rejected"
    default_message = "決済事業者からの通知を受け付けられません。"


@dataclass(frozen=True)
class StartResult:
    reference: str
    redirect_url: str


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str  # unique per plugin: the same id twice is the same event
    reference: str  # Payment.provider_reference
    state: str  # the PaymentState the provider reports (paid | failed | cancelled | expired)
    amount: int | None
    event_type: str  # the provider's own name for it
    # what is kept in PaymentEvent.payload: only fields the plugin lists, never personal data
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentPlugin(Plugin):
    def start(self, payment: Payment, return_url: str) -> StartResult:
        raise NotImplementedError

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        raise NotImplementedError

    def is_enabled(self) -> bool:
        return True


gateways: Registry[PaymentPlugin] = Registry("payments.gateways")


def header(headers: Mapping[str, str], name: str) -> str:
    """Case-insensitive header look-up (Django's ``request.headers`` or a plain dict)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


# ----------------------------------------------------------------------------------------- demo
DEMO_SECRET_ENV = "MADOGUCHI_PAYMENT_DEMO_SECRET"  # noqa: S105 (a variable name)
# only ever used when MADOGUCHI_ENV is demo or test: the demo pays no real money
DEMO_DEFAULT_SECRET = "madoguchi-demo-payment-secret-not-for-production"  # noqa: S105 (demo/test only)
SIGNATURE_HEADER = "Madoguchi-Demo-Signature"
TOLERANCE_SECONDS = 300
DEMO_TYPES = {
    "payment.succeeded": PaymentState.PAID,
    "payment.failed": PaymentState.FAILED,
    "payment.canceled": PaymentState.CANCELLED,
    "payment.expired": PaymentState.EXPIRED,
}
DEMO_PAYLOAD_FIELDS = ("id", "type", "reference", "amount", "created")


def _env_name() -> str:
    return str(getattr(settings, "MADOGUCHI_ENV", "demo"))


def demo_secret() -> str:
    """``settings.MADOGUCHI_PAYMENT_DEMO_SECRET`` or the env var; a fixed default in demo/test only."""
    value = getattr(settings, DEMO_SECRET_ENV, None) or os.environ.get(DEMO_SECRET_ENV, "")
    if value:
        return str(value)
    if _env_name() in {"demo", "test"}:
        return DEMO_DEFAULT_SECRET
    raise PaymentError(f"{DEMO_SECRET_ENV} が設定されていません。", code="payment.config")


def demo_sign(body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
    """The headers the demo provider sends with ``body``: ``t=<unix time>,v1=<HMAC-SHA256 hex>``
    over ``f"{t}.".encode() + body`` (the timestamp is signed too, so it cannot be replayed later)."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret or demo_secret()).encode()
    mac = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {SIGNATURE_HEADER: f"t={t},v1={mac}", "Content-Type": "application/json"}


@gateways.register("demo")
class DemoGateway(PaymentPlugin):
    """デモ決済: a fake provider served inside the app (/pay/demo/checkout/<token>/). No real money."""

    verbose_name = "デモ決済"

    def is_enabled(self) -> bool:
        return _env_name() in {"demo", "test"} or bool(getattr(settings, "DEMO_MODE", False))

    def check_config(self) -> list[str]:
        problems = []
        if not self.is_enabled():
            problems.append("デモ決済は本番環境では使えません (MADOGUCHI_ENV=production)。")
        try:
            secret = demo_secret()
        except PaymentError as exc:
            problems.append(exc.message)
        else:
            if len(secret) < 32:
                problems.append(f"{DEMO_SECRET_ENV} は32文字以上にしてください。")
        return problems

    def start(self, payment: Payment, return_url: str) -> StartResult:
        # the provider's side: idempotent by the key we send (a retried start returns the same charge)
        charge, _ = DemoCharge.objects.get_or_create(
            idempotency_key=payment.idempotency_key,
            defaults={
                "token": secrets.token_urlsafe(24),
                "amount": payment.amount,
                "description": payment.application.procedure.name[:120],
                "return_url": return_url,
            },
        )
        url = reverse("payments:demo_checkout", kwargs={"token": charge.token})
        return StartResult(reference=charge.token, redirect_url=url)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        signature = header(headers, SIGNATURE_HEADER)
        parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
        t, given = parts.get("t", ""), parts.get("v1", "")
        if not t.isdigit() or not given:
            raise WebhookRejected("署名がありません。", code="payment.webhook.signature")
        expected = demo_sign(body, timestamp=int(t))[SIGNATURE_HEADER].split("v1=", 1)[1]
        if not hmac.compare_digest(expected, given):
            raise WebhookRejected("署名が一致しません。", code="payment.webhook.signature")
        if abs(time.time() - int(t)) > TOLERANCE_SECONDS:
            raise WebhookRejected(
                f"通知の時刻が許容範囲 ({TOLERANCE_SECONDS}秒) を外れています。", code="payment.webhook.stale"
            )
        try:
            data = json.loads(body)
            event_id, event_type, reference = str(data["id"]), str(data["type"]), str(data["reference"])
            amount = data.get("amount")
        except (ValueError, KeyError, TypeError):
            raise WebhookRejected(
                "通知の形式が正しくありません。", code="payment.webhook.malformed"
            ) from None
        if (
            event_type not in DEMO_TYPES
            or not event_id
            or (amount is not None and not isinstance(amount, int))
        ):
            raise WebhookRejected(
                f"通知の種類 {event_type[:40]!r} は扱えません。", code="payment.webhook.malformed"
            )
        return WebhookEvent(
            event_id=event_id[:100],
            reference=reference[:100],
            state=DEMO_TYPES[event_type],
            amount=amount,
            event_type=event_type,
            payload={k: data[k] for k in DEMO_PAYLOAD_FIELDS if k in data},
        )
