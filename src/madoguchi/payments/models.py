"""手数料の支払い: one ``Payment`` per attempt, and every provider message received (``PaymentEvent``).

The state of a payment comes only from the provider (a signed webhook), never from the browser's
return. docs/payments.md explains the rules (idempotency, no downgrade, late events).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application
from madoguchi.core.models import Municipality


class PaymentState(models.TextChoices):
    PENDING = "pending", _("支払待ち")
    PAID = "paid", _("支払済み")
    FAILED = "failed", _("失敗")
    CANCELLED = "cancelled", _("取消")
    EXPIRED = "expired", _("期限切れ")


# a new attempt is allowed only when every earlier attempt ended without payment
CLOSED_UNPAID = frozenset({PaymentState.FAILED, PaymentState.CANCELLED, PaymentState.EXPIRED})


class Payment(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    amount = models.PositiveIntegerField(_("金額 (円)"))
    plugin = models.CharField(_("決済方法"), max_length=30)
    state = models.CharField(
        _("支払状況"), max_length=10, choices=PaymentState.choices, default=PaymentState.PENDING
    )
    # the provider's id of this checkout (unique per plugin), and where the resident pays
    provider_reference = models.CharField(_("決済事業者の参照番号"), max_length=100, blank=True)
    checkout_url = models.CharField(max_length=500, blank=True)
    # sent with the start request: a retried start never creates a second charge at the provider
    idempotency_key = models.CharField(max_length=64, unique=True)
    # a late "paid" for an attempt that was closed while another one was paid too: refund by hand
    needs_refund = models.BooleanField(_("要返金確認"), default=False)
    created_at = models.DateTimeField(_("開始日時"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(_("支払日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("支払い")
        verbose_name_plural = _("支払い")
        ordering = ["application", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=models.Q(state="pending"),
                name="payment_one_pending_per_application",
            ),
            models.UniqueConstraint(
                fields=["plugin", "provider_reference"],
                condition=~models.Q(provider_reference=""),
                name="payment_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.amount}円 {self.get_state_display()}"


class EventKind(models.TextChoices):
    WEBHOOK = "webhook", _("通知 (webhook)")
    RETURN = "return", _("ブラウザの戻り")


class Outcome(models.TextChoices):
    APPLIED = "applied", _("反映")
    DUPLICATE = "duplicate", _("重複 (反映済み)")
    IGNORED = "ignored", _("無視 (支払済みは戻さない)")
    UNKNOWN_PAYMENT = "unknown_payment", _("該当する支払いなし")
    AMOUNT_MISMATCH = "amount_mismatch", _("金額不一致")
    RETURN_SEEN = "return_seen", _("戻りを記録 (状態は変えない)")


class PaymentEvent(models.Model):
    """Every webhook and browser return received (a bad signature is refused and not stored).

    ``payload`` keeps only the fields the plugin declares (no personal data)."""

    plugin = models.CharField(max_length=30)
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    # the provider's event id: the same id twice is the same event (idempotency); "" for returns
    event_id = models.CharField(max_length=100, blank=True)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    reference = models.CharField(max_length=100, blank=True)
    event_type = models.CharField(max_length=30, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("支払い通知")
        verbose_name_plural = _("支払い通知")
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["plugin", "event_id"],
                condition=~models.Q(event_id=""),
                name="payment_event_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.plugin} {self.event_id or self.kind}: {self.outcome}"


class DemoCharge(models.Model):
    """The demo gateway's own record (what a real provider keeps on its side): it plays the provider,
    so it is written only by the demo plugin, never read by the payment services."""

    token = models.CharField(max_length=64, unique=True)
    amount = models.PositiveIntegerField()
    description = models.CharField(max_length=120)
    return_url = models.CharField(max_length=500)
    idempotency_key = models.CharField(max_length=64, unique=True)
    # "" until the resident chooses; then succeeded | failed | canceled
    result = models.CharField(max_length=12, blank=True)
    # a signed event not delivered yet (「通知を遅らせる」), and the last one delivered (for 重複)
    held_body = models.TextField(blank=True)
    last_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("デモ決済")
        verbose_name_plural = _("デモ決済")

    def __str__(self) -> str:
        return self.token
