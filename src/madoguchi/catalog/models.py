"""手続マスタ: procedures, their versioned form schemas, and the status workflow as data."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Department, Municipality, Role


class Workflow(models.Model):
    """A named status workflow. Procedures share one unless they need their own."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(_("ワークフロー名"), max_length=60)

    class Meta:
        verbose_name = _("ワークフロー")
        verbose_name_plural = _("ワークフロー")

    def __str__(self) -> str:
        return self.name


class StatusType(models.Model):
    """A status in a workflow (受付, 審査中, 補正依頼 …).

    ``staff_settable`` statuses can be chosen by staff; system-only ones (受付, 再提出, 取下げ) are set
    by services reacting to the applicant or the intake channel.
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="statuses")
    code = models.CharField(max_length=30)
    name = models.CharField(_("状態名"), max_length=30)
    order = models.PositiveSmallIntegerField(default=0)
    staff_settable = models.BooleanField(_("職員が設定可能"), default=True)
    is_initial = models.BooleanField(default=False)
    is_terminal = models.BooleanField(_("終了状態"), default=False)
    tone = models.CharField(max_length=20, default="neutral")  # neutral|info|warning|success|danger

    class Meta:
        verbose_name = _("状態")
        verbose_name_plural = _("状態")
        ordering = ["workflow", "order"]
        constraints = [models.UniqueConstraint(fields=["workflow", "code"], name="status_code_unique")]

    def __str__(self) -> str:
        return self.name


class Transition(models.Model):
    """An allowed move between two statuses, who may make it, and whether a reason is required."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.ForeignKey(StatusType, on_delete=models.CASCADE, related_name="transitions_out")
    to_status = models.ForeignKey(StatusType, on_delete=models.CASCADE, related_name="transitions_in")
    label = models.CharField(_("操作名"), max_length=30)
    roles = models.JSONField(_("実行できる役割"), default=list, help_text="Role codes; [] = system only")
    reason_required = models.BooleanField(_("理由必須"), default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("状態遷移")
        verbose_name_plural = _("状態遷移")
        ordering = ["workflow", "from_status__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "from_status", "to_status"], name="transition_unique")
        ]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"

    def allows(self, roles: set[str]) -> bool:
        return bool(roles & set(self.roles))


class Procedure(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="procedures")
    code = models.CharField(_("手続ID"), max_length=60)
    name = models.CharField(_("手続名"), max_length=100)
    category = models.CharField(_("分類"), max_length=20, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="procedures")
    legal_basis = models.CharField(_("根拠法令"), max_length=200, blank=True)
    standard_days = models.PositiveSmallIntegerField(_("標準処理期間 (開庁日)"), default=0)
    fee = models.PositiveIntegerField(_("手数料 (円)"), default=0)
    required_attachments = models.JSONField(_("必要書類"), default=list, blank=True)
    approval_chain = models.JSONField(
        _("決裁ルート"), default=list, blank=True, help_text="Role codes who must sign, in order, before 承認"
    )
    life_events = models.JSONField(_("ライフイベント"), default=list, blank=True)
    pittari = models.BooleanField(_("ぴったりサービス対応"), default=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="procedures")
    is_active = models.BooleanField(_("受付中"), default=True)
    # What the resident portal shows: summary, eligibility, timing, identity ("card"|"account"),
    # search keywords, and the やさしい日本語 ("easy") and English ("en") versions (fixtures' "portal").
    portal = models.JSONField(_("ポータル表示内容"), default=dict, blank=True)

    class Meta:
        verbose_name = _("手続")
        verbose_name_plural = _("手続")
        ordering = ["municipality", "category", "code"]
        constraints = [models.UniqueConstraint(fields=["municipality", "code"], name="procedure_code_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def identity_level(self) -> str:
        """"card" (マイナンバーカードで署名) or "account" (an email account is enough)."""
        return "card" if self.portal.get("identity") == "card" else "account"

    def portal_text(self, key: str, variant: str = "") -> str:
        """A portal text in a variant ("easy" = やさしい日本語, "en"), falling back to plain Japanese."""
        if variant:
            value = (self.portal.get(variant) or {}).get(key)
            if value:
                return str(value)
        if key == "name":
            return self.name
        return str(self.portal.get(key) or "")

    @property
    def current_form(self) -> FormVersion:
        form = self.forms.filter(published=True).order_by("-version").first()
        if form is None:
            raise FormVersion.DoesNotExist(f"手続 {self.code} に公開中の様式がありません")
        return form


class FormVersion(models.Model):
    """An immutable, versioned form schema. Applications keep the version they were made with."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="forms")
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("様式の版")
        verbose_name_plural = _("様式の版")
        ordering = ["procedure", "-version"]
        constraints = [models.UniqueConstraint(fields=["procedure", "version"], name="form_version_unique")]

    def __str__(self) -> str:
        return f"{self.procedure.code} v{self.version}"

    def parsed(self) -> Any:
        """The parsed ``FormDefinition``, parsed once per process (a form version never changes)."""
        return _parsed_definition(self.pk, self.created_at, self)


_PARSED: dict[tuple[int, Any], Any] = {}


def _parsed_definition(pk: int, created_at: Any, form: FormVersion) -> Any:
    from madoguchi.catalog.schema import parse_definition

    key = (pk, created_at)
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) > 512:
            _PARSED.clear()
        found = _PARSED[key] = parse_definition(form.definition)
    return found


__all__ = ["FormVersion", "Procedure", "Role", "StatusType", "Transition", "Workflow"]
