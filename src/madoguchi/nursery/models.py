"""保育課's matching runs (/staff/nursery/): the uploaded files (content-addressed blobs), the solver's
result and its summary, run as a Celery job on the ``matching`` queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Municipality


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("待機中")
    RUNNING = "running", _("実行中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class MatchingRun(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("名前"), max_length=80)
    solver = models.CharField(_("解法"), max_length=20, default="exact")
    time_limit = models.PositiveIntegerField(_("制限時間（秒）"), default=300)
    children_blob = models.ForeignKey("applications.Blob", on_delete=models.PROTECT, related_name="+")
    facilities_blob = models.ForeignKey("applications.Blob", on_delete=models.PROTECT, related_name="+")
    combinations_blob = models.ForeignKey(
        "applications.Blob", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    status = models.CharField(_("状態"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # 0–100
    step = models.CharField(max_length=40, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    assignment = models.JSONField(default=dict, blank=True)  # 申請者番号 → 保育所ID or null
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name
