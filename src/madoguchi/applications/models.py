"""Applications (申請), their timeline, attachments and 受付番号 sequences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.catalog.models import FormVersion, Procedure, StatusType
from madoguchi.core.models import Department, Municipality, Resident


class Channel(models.TextChoices):
    ONLINE = "online", _("オンライン")
    PITTARI = "pittari", _("ぴったりサービス")
    COUNTER = "counter", _("窓口")
    PAPER = "paper", _("紙 (AI-OCR)")


class Application(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="applications")
    reception_number = models.CharField(_("受付番号"), max_length=30)
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="applications")
    form_version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="applications")
    # Denormalised from the procedure: every staff query is scoped by department.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="applications")
    channel = models.CharField(_("受付経路"), max_length=10, choices=Channel.choices)
    data = models.JSONField(_("申請内容"), default=dict)
    applicant = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="applications"
    )
    # The name exactly as submitted (never rewritten) and its folded keys for search.
    applicant_name = models.CharField(_("申請者氏名"), max_length=60)
    applicant_kana = models.CharField(_("申請者カナ"), max_length=120, blank=True)
    name_key = models.CharField(max_length=120, editable=False)
    kana_key = models.CharField(max_length=120, editable=False)
    status = models.ForeignKey(StatusType, on_delete=models.PROTECT, related_name="+")
    # Not a terminal status (完了, 却下, 取下げ). Kept by the services with the status, in the same
    # transaction, so the inbox's "未完了" pages walk a small partial index (docs/BENCHMARKS.md).
    is_open = models.BooleanField(default=True)
    submitted_at = models.DateTimeField(_("受付日時"))
    deadline = models.DateField(_("処理期限"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approval_step = models.PositiveSmallIntegerField(default=0)
    correction_fields = models.JSONField(_("補正対象項目"), default=list, blank=True)
    correction_requested_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(_("要確認"), default=False)
    review_reason = models.CharField(_("要確認の理由"), max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("申請")
        verbose_name_plural = _("申請")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "reception_number"], name="reception_number_unique"
            ),
            models.UniqueConstraint(
                fields=["municipality", "idempotency_key"],
                name="application_idempotency_unique",
                condition=models.Q(idempotency_key__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["department", "deadline", "id"],
                condition=models.Q(is_open=True),
                include=["municipality", "status", "procedure"],
                name="app_open_dept_deadline",
            ),
            models.Index(
                fields=["municipality", "deadline", "id"],
                condition=models.Q(is_open=True),
                include=["department", "status"],
                name="app_open_muni_deadline",
            ),
            models.Index(fields=["department", "status", "deadline"], name="app_inbox_dept_status"),
            models.Index(fields=["department", "procedure", "status"], name="app_dept_procedure_status"),
            models.Index(fields=["department", "deadline", "id"], name="app_inbox_dept_deadline"),
            models.Index(fields=["department", "submitted_at"], name="app_inbox_dept_submitted"),
            models.Index(fields=["assignee", "status"], name="app_assignee_status"),
            # prefix search within the departments a user sees (B-tree, LIKE 'key%' on PostgreSQL); the
            # status is included so the per-status counts of a search are an index-only scan
            models.Index(
                fields=["department", "name_key"],
                name="app_dept_name_key",
                opclasses=["int8_ops", "varchar_pattern_ops"],
                include=["status"],
            ),
            models.Index(
                fields=["department", "kana_key"],
                name="app_dept_kana_key",
                opclasses=["int8_ops", "varchar_pattern_ops"],
                include=["status"],
            ),
        ]

    def __str__(self) -> str:
        return self.reception_number


class EventKind(models.TextChoices):
    SUBMITTED = "submitted", _("受付")
    TRANSITION = "transition", _("状態変更")
    CORRECTION_REQUESTED = "correction", _("補正依頼")
    RESUBMITTED = "resubmitted", _("再提出")
    WITHDRAWN = "withdrawn", _("取下げ")
    APPROVAL = "approval", _("決裁")
    ASSIGNED = "assigned", _("担当者設定")
    COMMENT = "comment", _("メモ")


class ApplicationEvent(models.Model):
    """The history timeline: every change, with actor, reason and time."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    actor_label = models.CharField(max_length=150)
    from_status = models.ForeignKey(
        StatusType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_status = models.ForeignKey(
        StatusType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("申請履歴")
        verbose_name_plural = _("申請履歴")
        ordering = ["application", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class Blob(models.Model):
    """Content-addressed stored file: ``DATA_DIR/blobs/ab/cd/<sha256>``; stored once, never rewritten."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField()
    mime = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("保存ファイル")
        verbose_name_plural = _("保存ファイル")

    def __str__(self) -> str:
        return self.sha256


class Attachment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="attachments")
    field_path = models.CharField(max_length=120, blank=True)
    filename = models.CharField(_("ファイル名"), max_length=200)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("添付ファイル")
        verbose_name_plural = _("添付ファイル")
        ordering = ["application", "id"]

    def __str__(self) -> str:
        return self.filename


class StatusCount(models.Model):
    """How many applications each department has per procedure and status: inbox counts without a scan.

    Maintained by the services in the same transaction as every status change (a derived cache:
    ``madoguchi applications recount`` rebuilds it from the applications).
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    status = models.ForeignKey(StatusType, on_delete=models.CASCADE, related_name="+")
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "procedure", "status"], name="status_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.department_id}/{self.procedure_id}/{self.status_id}: {self.n}"


class NumberSequence(models.Model):
    """Counter behind 受付番号, locked FOR UPDATE while a number is taken."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE)
    prefix = models.CharField(max_length=20)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["municipality", "prefix"], name="sequence_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"
