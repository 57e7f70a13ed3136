"""基幹連携 hand-off outbox: targets (基幹 systems), one job per (application, target), attempts, batches,
and the OAuth2 client registrations of the pull API (方式3). See docs/handoff.md."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application
from madoguchi.catalog.models import Procedure
from madoguchi.core.models import Municipality


class Method(models.TextChoices):
    TRANSCRIBE = "transcribe", _("方式1 転記")
    RPA = "rpa", _("方式2 RPA")
    PULL = "pull", _("方式3 取込 (API)")
    BULK = "bulk", _("方式4 一括取込")


class HandoffTarget(models.Model):
    """A 基幹 system (or one of its import interfaces) that receives approved applications by one method."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="handoff_targets")
    code = models.SlugField(_("連携先コード"), max_length=40)
    name = models.CharField(_("連携先名"), max_length=100)
    method = models.CharField(_("連携方式"), max_length=12, choices=Method.choices)
    procedures = models.ManyToManyField(
        Procedure, blank=True, related_name="handoff_targets", help_text="空欄 = すべての手続"
    )
    trigger_statuses = models.JSONField(
        _("連携する状態"), default=list, blank=True, help_text='状態コード。空欄 = ["approved", "completed"]'
    )
    # layout of file methods: {"format": "csv"|"fixed"|"xlsx", "encoding": "cp932"|"utf-8-sig",
    #                          "widths": {"column": bytes, ...}}
    layout = models.JSONField(_("ファイル形式"), default=dict, blank=True)
    include_mynumber = models.BooleanField(_("個人番号を渡す (方式3のみ、監査記録あり)"), default=False)
    max_attempts = models.PositiveSmallIntegerField(_("最大試行回数"), default=5)
    is_active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("連携先")
        verbose_name_plural = _("連携先")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="handoff_target_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_method_display()})"

    @property
    def statuses(self) -> list[str]:
        return list(self.trigger_statuses) or ["approved", "completed"]


class JobState(models.TextChoices):
    PENDING = "pending", _("未連携")
    IN_PROGRESS = "in_progress", _("受領待ち")  # handed over (API), not yet acknowledged
    DELIVERED = "delivered", _("出力済")  # written to an export file
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class HandoffBatch(models.Model):
    """One export file (方式2/方式4). Which jobs it carried is recorded as a range of job ids, not on
    each job: jobs of (target, procedure) with ``low_water < id <= high_water`` that were 未連携 when it was
    claimed (all of them up to ``high_water`` with ``include_exported``), plus the few re-sent jobs it
    re-pointed (``HandoffJob.batch``). See docs/handoff.md "Export ranges"."""

    class State(models.TextChoices):
        BUILDING = "building", _("作成中")
        READY = "ready", _("作成済")
        FAILED = "failed", _("失敗")

    target = models.ForeignKey(HandoffTarget, on_delete=models.PROTECT, related_name="batches")
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.BUILDING)
    include_exported = models.BooleanField(default=False)
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True)
    rows = models.PositiveIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # the job id range the file covers (set when it is claimed; counts only once the batch is ready)
    low_water = models.BigIntegerField(null=True, blank=True)
    high_water = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("連携ファイル")
        verbose_name_plural = _("連携ファイル")
        indexes = [models.Index(fields=["state", "created_at"], name="handoff_batch_state")]

    def __str__(self) -> str:
        return f"batch {self.pk} ({self.state})"


class HandoffJob(models.Model):
    """The outbox row: one per (application, target). Its idempotency key never changes, whatever the
    number of attempts, so a 基幹 system that keys on it never creates a second record."""

    # no separate FK indexes: (application, target) is unique and (target, state, id) is indexed
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="handoff_jobs", db_index=False
    )
    target = models.ForeignKey(HandoffTarget, on_delete=models.PROTECT, related_name="jobs", db_index=False)
    method = models.CharField(max_length=12, choices=Method.choices)
    idempotency_key = models.CharField(_("連携キー"), max_length=40, unique=True)
    state = models.CharField(_("連携状態"), max_length=12, choices=JobState.choices, default=JobState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    last_error = models.TextField(blank=True)
    # last file that re-pointed this job (a re-sent job); jobs exported by range are not written to:
    # their 出力済 state and file are derived from the ready batches' ranges (selectors.job_view)
    batch = models.ForeignKey(
        HandoffBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    # 再送 of a file job: back to 未連携 although its id is inside an exported range
    requeued = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("連携ジョブ")
        verbose_name_plural = _("連携ジョブ")
        constraints = [models.UniqueConstraint(fields=["application", "target"], name="handoff_job_unique")]
        indexes = [
            models.Index(fields=["target", "state", "id"], name="handoff_job_target_state"),
            models.Index(
                fields=["claimed_at"], condition=models.Q(state="in_progress"), name="handoff_job_inflight"
            ),
            models.Index(fields=["target"], condition=models.Q(requeued=True), name="handoff_job_requeued"),
        ]

    def __str__(self) -> str:
        return self.idempotency_key


class HandoffAttempt(models.Model):
    """Per-attempt state of a job handed over one by one (API delivery, 転記, resend, sweep)."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("送信")
        ACKED = "acked", _("受領確認")
        DONE = "done", _("完了")
        TIMEOUT = "timeout", _("応答なし (再送待ち)")
        FAILED = "failed", _("失敗")
        RESEND = "resend", _("再送指示")

    job = models.ForeignKey(HandoffJob, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    actor_label = models.CharField(max_length=150)
    detail = models.TextField(blank=True)

    class Meta:
        verbose_name = _("連携の試行")
        verbose_name_plural = _("連携の試行")
        ordering = ["job", "at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number} {self.outcome}"


class HandoffClient(models.Model):
    """OAuth2 client of a 基幹 system for the pull API (client_secret_jwt, RFC 7523).

    The client secret is the HMAC key of the client's assertions, so it is kept encrypted (Fernet,
    ``core.crypto``), never hashed; access tokens are kept as SHA-256 hashes only."""

    target = models.ForeignKey(HandoffTarget, on_delete=models.CASCADE, related_name="clients")
    client_id = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("連携クライアント")
        verbose_name_plural = _("連携クライアント")

    def __str__(self) -> str:
        return self.client_id


class HandoffAccessToken(models.Model):
    client = models.ForeignKey(HandoffClient, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of {self.client_id}"


class HandoffAssertionJti(models.Model):
    """Assertion ids already used (replay protection), kept until the assertion has expired."""

    client = models.ForeignKey(HandoffClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "jti"], name="handoff_jti_unique")]

    def __str__(self) -> str:
        return self.jti
