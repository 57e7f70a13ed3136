"""DX推進計画: the 工程表 (projects and milestones), the 標準化移行 tracker (20 基幹業務 × 17 作業項目)
and the マイナンバーカード交付率 tables imported from 総務省's publications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Municipality
from madoguchi.dxplan.catalog import BUSINESS_CHOICES, ITEM_CHOICES


class Priority(models.TextChoices):
    """自治体DX推進計画の重点取組事項."""

    STANDARDIZATION = "standardization", _("標準化・共通化")
    MYNUMBER = "mynumber", _("マイナンバーカード")
    ONLINE = "online", _("オンライン化")
    AI_RPA = "ai_rpa", _("AI・RPA")
    TELEWORK = "telework", _("テレワーク")
    SECURITY = "security", _("セキュリティ")
    FRONTYARD = "frontyard", _("フロントヤード改革")


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("未着手")
    IN_PROGRESS = "in_progress", _("実施中")
    DONE = "done", _("完了")
    ON_HOLD = "on_hold", _("保留")


class Project(models.Model):
    """One line of the DX推進計画 工程表."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="dx_projects")
    priority = models.CharField(_("重点取組事項"), max_length=20, choices=Priority.choices)
    title = models.CharField(_("取組名"), max_length=120)
    owner_department = models.CharField(_("担当課"), max_length=60, blank=True)
    owner_person = models.CharField(_("担当者"), max_length=60, blank=True)
    status = models.CharField(
        _("状況"), max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED
    )
    start_date = models.DateField(_("開始日"))
    end_date = models.DateField(_("終了予定日"))
    description = models.TextField(_("内容"), blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("工程表の取組")
        verbose_name_plural = _("工程表の取組")
        ordering = ["municipality", "priority", "start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="dxplan_project_dates"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("マイルストーン"), max_length=120)
    due_date = models.DateField(_("期日"))
    done = models.BooleanField(_("達成"), default=False)
    done_on = models.DateField(_("達成日"), null=True, blank=True)

    class Meta:
        verbose_name = _("マイルストーン")
        verbose_name_plural = _("マイルストーン")
        ordering = ["project", "due_date", "id"]

    def __str__(self) -> str:
        return self.title


class TaskStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未着手")
    STARTED = "started", _("着手")
    DONE = "done", _("完了")
    NOT_APPLICABLE = "na", _("対象外")


class MigrationTask(models.Model):
    """One cell of the 標準化移行 tracker: a 基幹業務 × a 作業項目. Cells nobody touched have no row
    (they read as 未着手); the first update creates it."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="migration_tasks")
    business = models.CharField(_("基幹業務"), max_length=30, choices=BUSINESS_CHOICES)
    item = models.PositiveSmallIntegerField(_("作業項目"), choices=ITEM_CHOICES)
    status = models.CharField(
        _("状況"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.NOT_STARTED
    )
    planned_start = models.DateField(_("開始予定日"), null=True, blank=True)
    planned_end = models.DateField(_("完了予定日"), null=True, blank=True)
    actual_start = models.DateField(_("着手日"), null=True, blank=True)
    actual_end = models.DateField(_("完了日"), null=True, blank=True)
    note = models.TextField(_("備考"), blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("標準化移行の作業")
        verbose_name_plural = _("標準化移行の作業")
        ordering = ["municipality", "business", "item"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "business", "item"], name="dxplan_task_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_business_display()} {self.get_item_display()}"


class MigrationEvidence(models.Model):
    """A file that shows a 作業項目 was done (議事録, 契約書, 評価書 …), stored as a content-addressed blob."""

    task = models.ForeignKey(MigrationTask, on_delete=models.CASCADE, related_name="evidence")
    blob = models.ForeignKey("applications.Blob", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("ファイル名"), max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("作業の証跡")
        verbose_name_plural = _("作業の証跡")
        ordering = ["task", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.filename


class CardRateImport(models.Model):
    """One imported 総務省 table (a file) for a date. The same file (by SHA-256) twice is a no-op."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="cardrate_imports")
    as_of = models.DateField(_("基準日"))
    sha256 = models.CharField(max_length=64)
    filename = models.CharField(_("ファイル名"), max_length=200)
    table_kind = models.CharField(_("表の種類"), max_length=20)
    row_count = models.PositiveIntegerField(_("行数"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("交付率表の取込")
        verbose_name_plural = _("交付率表の取込")
        ordering = ["municipality", "-as_of", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "sha256"], name="dxplan_cardrate_file_unique"),
            models.UniqueConstraint(
                fields=["municipality", "as_of", "table_kind"], name="dxplan_cardrate_date_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.as_of} {self.filename}"


class RowKind(models.TextChoices):
    MUNICIPALITY = "municipality", _("市区町村別")
    PREFECTURE = "prefecture", _("都道府県別")
    CATEGORY = "category", _("団体区分別")


class CardRateRow(models.Model):
    source = models.ForeignKey(CardRateImport, on_delete=models.CASCADE, related_name="rows")
    kind = models.CharField(max_length=20, choices=RowKind.choices)
    line = models.PositiveIntegerField(_("行"))
    code = models.CharField(_("団体コード"), max_length=6, blank=True)
    prefecture = models.CharField(_("都道府県"), max_length=10, blank=True)
    name = models.CharField(_("名称"), max_length=60)
    population = models.PositiveBigIntegerField(_("人口"))
    issued = models.PositiveBigIntegerField(_("交付枚数"))
    rate = models.DecimalField(_("人口に対する交付枚数率"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("交付率表の行")
        verbose_name_plural = _("交付率表の行")
        ordering = ["source", "line"]
        indexes = [models.Index(fields=["source", "kind", "-rate"], name="dxplan_cardrate_rank")]

    def __str__(self) -> str:
        return f"{self.prefecture}{self.name} {self.rate}%"
