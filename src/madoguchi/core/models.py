"""Tenancy, staff roles, the resident register mirror, closed days and the hash-chained audit log."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.jp.codes import is_valid_municipality_code
from madoguchi.core.jp.normalize import search_key


def validate_municipality_code(value: str) -> None:
    if not is_valid_municipality_code(value):
        raise ValidationError(
            "【municipality.code_invalid】全国地方公共団体コードは6桁で、末尾の検査数字が正しい必要があります。",
            code="municipality.code_invalid",
        )


class Municipality(models.Model):
    """A tenant. One deployment may host many (共同利用)."""

    code = models.CharField(
        _("全国地方公共団体コード"), max_length=6, unique=True, validators=[validate_municipality_code]
    )
    name = models.CharField(_("団体名"), max_length=40)
    prefecture = models.CharField(_("都道府県"), max_length=10)
    name_kana = models.CharField(_("団体名カナ"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("自治体")
        verbose_name_plural = _("自治体")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.prefecture}{self.name}"


class Department(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="departments")
    code = models.CharField(_("課コード"), max_length=20)
    name = models.CharField(_("課名"), max_length=40)
    short_name = models.CharField(_("略称 (受付番号用)"), max_length=4)

    class Meta:
        verbose_name = _("担当課")
        verbose_name_plural = _("担当課")
        ordering = ["municipality", "code"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="department_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLERK = "clerk", _("窓口")
    HANDLER = "handler", _("担当")
    APPROVER = "approver", _("決裁者")
    ADMIN = "admin", _("管理者")
    DX = "dx", _("DX推進")


class StaffAssignment(models.Model):
    """A staff user's role in one municipality, optionally limited to one department.

    A user may hold several (e.g. 担当 in 子育て支援課 and 窓口). Without a department the role
    covers the whole municipality (管理者, DX推進, 窓口).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="staff")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    role = models.CharField(_("役割"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("職員の役割")
        verbose_name_plural = _("職員の役割")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "municipality", "department", "role"], name="assignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} {self.department or self.municipality}"

    def clean(self) -> None:
        if self.role == Role.DX and self.department_id is not None:
            raise ValidationError(
                {"department": "【assignment.dx_department】DX推進の役割は課を指定せずに設定してください。"}
            )
        if self.department is not None and self.department.municipality_id != self.municipality_id:
            raise ValidationError(
                {"department": "【assignment.department_mismatch】担当課は同じ自治体の課を選んでください。"}
            )


class ClosedDay(models.Model):
    """A municipality-specific closed day (e.g. 市制記念日), on top of 土日・祝日・12/29–1/3."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField(_("閉庁日"))
    reason = models.CharField(_("理由"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("独自閉庁日")
        verbose_name_plural = _("独自閉庁日")
        constraints = [models.UniqueConstraint(fields=["municipality", "date"], name="closed_day_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class Sex(models.TextChoices):
    MALE = "1", _("男")
    FEMALE = "2", _("女")


class Resident(models.Model):
    """A minimal mirror of the 住民基本台帳: enough to identify an applicant and pre-fill forms.

    Names are stored exactly as registered (外字 and 異体字 kept); ``name_search`` holds the folded
    key used for matching only.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="residents")
    resident_code = models.CharField(_("住民票コード"), max_length=11)
    name = models.CharField(_("氏名"), max_length=60)
    name_kana = models.CharField(_("氏名カナ"), max_length=120, blank=True)
    name_search = models.CharField(max_length=200, editable=False, db_index=True)
    birth_date = models.DateField(_("生年月日"))
    sex = models.CharField(_("性別"), max_length=1, choices=Sex.choices)
    postal_code = models.CharField(_("郵便番号"), max_length=7, blank=True)
    address = models.CharField(_("住所"), max_length=200)
    household_code = models.CharField(_("世帯番号"), max_length=20, db_index=True)
    relationship = models.CharField(_("続柄"), max_length=20, blank=True)
    moved_out_on = models.DateField(_("転出日"), null=True, blank=True)

    class Meta:
        verbose_name = _("住民")
        verbose_name_plural = _("住民")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "resident_code"], name="resident_code_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.refresh_search_key()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def refresh_search_key(self) -> None:
        """Recompute the matching key from the stored name and カナ (the name itself is never changed)."""
        self.name_search = search_key(f"{self.name} {self.name_kana}")


class AuditEvent(models.Model):
    """Append-only, hash-chained audit log. ``madoguchi audit verify`` recomputes the chain.

    ``hash = sha256(prev_hash + canonical JSON of the row)``; editing, deleting or reordering any row
    breaks every later hash. Written in the same transaction as the change it records.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)  # username, "system" or "resident:<id>"
    municipality_code = models.CharField(max_length=6, blank=True)
    action = models.CharField(max_length=60)  # e.g. application.transition, mynumber.view
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.actor}"


class AuditHead(models.Model):
    """Single row locked (SELECT … FOR UPDATE) to append to the chain one writer at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
