"""書かない窓口: a counter session for one visitor and their household, the life-event rules that turn
an interview into procedures (data, editable by 管理者), and the items (one application each) the
resident signs once."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application
from madoguchi.catalog.models import Procedure
from madoguchi.core.models import Municipality, Resident


class LifeEvent(models.TextChoices):
    MOVE_IN = "move_in", _("転入")
    MOVE_OUT = "move_out", _("転出")
    MOVE_WITHIN = "move_within", _("市内転居")
    BIRTH = "birth", _("出生")
    DEATH = "death", _("死亡")
    MARRIAGE = "marriage", _("婚姻")
    DIVORCE = "divorce", _("離婚")
    CHILDCARE = "childcare", _("子育て開始（保育）")
    CARE = "care", _("介護が必要になった")


class LifeEventRule(models.Model):
    """「このできごとで、この条件なら、この手続が要る」. ``conditions`` is a list of predicates that must
    all hold (see ``counter.rules``), e.g. ``[{"any_member": {"age_lt": 19}}]`` or
    ``[{"answer": "insurance", "in": ["kokuho", "none"]}]``."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="life_event_rules")
    event = models.CharField(_("できごと"), max_length=20, choices=LifeEvent.choices)
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+", verbose_name=_("手続"))
    conditions = models.JSONField(_("条件"), default=list, blank=True)
    reason = models.CharField(_("理由（職員に表示）"), max_length=200)
    order = models.PositiveSmallIntegerField(_("表示順"), default=0)
    is_active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("ライフイベントのルール")
        verbose_name_plural = _("ライフイベントのルール")
        ordering = ["municipality", "event", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "event", "procedure"], name="life_event_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.procedure}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from madoguchi.counter.rules import RuleError, check_conditions

        try:
            check_conditions(self.conditions)
        except RuleError as exc:
            raise ValidationError({"conditions": str(exc)}) from None


class SessionStatus(models.TextChoices):
    OPEN = "open", _("聞き取り中")
    READY = "ready", _("署名待ち")
    SIGNED = "signed", _("署名済み")
    CANCELLED = "cancelled", _("中止")


class CounterSession(models.Model):
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.OPEN)
    opened_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    visitor = models.ForeignKey(Resident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    household_code = models.CharField(max_length=20, blank=True)
    # the card's 4 basic items as read (個人番号 never stored here) and the source plugin
    card = models.JSONField(default=dict, blank=True)
    events = models.JSONField(default=list, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    # household members taken into account: [{"name","kana","birth_date","sex","relationship","resident_id"?}]
    members = models.JSONField(default=list, blank=True)
    fields_typed = models.PositiveIntegerField(default=0)
    fields_total = models.PositiveIntegerField(default=0)
    signature = models.ForeignKey("applications.Blob", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("窓口セッション")
        verbose_name_plural = _("窓口セッション")
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.opened_at:%Y-%m-%d %H:%M} {self.card.get('name', '')}"

    @property
    def elapsed_seconds(self) -> float | None:
        if self.signed_at is None:
            return None
        return (self.signed_at - self.opened_at).total_seconds()

    @property
    def typed_ratio(self) -> float | None:
        return self.fields_typed / self.fields_total if self.fields_total else None


class ItemStatus(models.TextChoices):
    PROPOSED = "proposed", _("提案")
    INCLUDED = "included", _("申請する")
    EXCLUDED = "excluded", _("申請しない")
    SUBMITTED = "submitted", _("受付済み")


class SessionItem(models.Model):
    """One procedure for the household in a session: pre-filled data, what the clerk typed, and the
    application once the resident has signed."""

    session = models.ForeignKey(CounterSession, on_delete=models.CASCADE, related_name="items")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.INCLUDED)
    reason = models.CharField(max_length=200, blank=True)
    prefill = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)
    typed_paths = models.JSONField(default=list, blank=True)
    application = models.ForeignKey(Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("窓口セッションの手続")
        verbose_name_plural = _("窓口セッションの手続")
        ordering = ["session", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["session", "procedure"], name="session_item_unique")]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.procedure}"
