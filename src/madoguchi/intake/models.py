"""Intake: who signed (CertificateLink, ②-1/②-2/③-3), what was imported, what was quarantined."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application
from madoguchi.core.models import Municipality


class RevocationReason(models.TextChoices):
    ADDRESS_CHANGE = "address_change", _("住所変更")
    NAME_CHANGE = "name_change", _("氏名変更")
    RENEWAL = "renewal", _("更新 (新しいシリアル番号)")
    LOST = "lost", _("紛失・廃止")
    DEATH = "death", _("死亡・転出")
    OTHER = "other", _("その他")


class CertificateLink(models.Model):
    """署名用電子証明書のシリアル番号 ↔ 住民票コード (紐付情報), as supplied by the 住基 side.

    A link is never deleted: a lapse (address or name change, renewal …) sets ``revoked_at`` and the
    reason; the renewed certificate arrives as a new row with a new serial. ``events`` is the history.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    serial = models.CharField(_("シリアル番号"), max_length=64)
    issuer = models.CharField(_("発行者"), max_length=300)
    resident_code = models.CharField(_("住民票コード"), max_length=11)
    valid_from = models.DateTimeField(_("有効期間の開始"))
    valid_to = models.DateTimeField(_("有効期間の満了"))
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    revoked_reason = models.CharField(
        _("失効理由"), max_length=20, choices=RevocationReason.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("証明書の紐付")
        verbose_name_plural = _("証明書の紐付")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "issuer", "serial", "resident_code"], name="certificate_link_unique"
            )
        ]
        indexes = [models.Index(fields=["municipality", "serial"])]

    def __str__(self) -> str:
        return f"{self.serial} → {self.resident_code}"


class CertificateLinkEvent(models.Model):
    link = models.ForeignKey(CertificateLink, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20)  # linked | updated | revoked
    source = models.CharField(max_length=120, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["link", "at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d}"


class PackageImport(models.Model):
    """One accepted package, written in the same transaction as its application."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="package_import")
    format_key = models.CharField(max_length=30)
    external_id = models.CharField(_("申請番号 (送信元)"), max_length=60)
    package_sha256 = models.CharField(max_length=64)
    signer_serial = models.CharField(max_length=64, blank=True)
    signer_issuer = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField(null=True)
    sent_at = models.DateTimeField(null=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "format_key", "external_id"], name="package_import_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.format_key}:{self.external_id}"


class QuarantinedPackage(models.Model):
    """A rejected package, kept under DATA_DIR/quarantine/ with a reason file until re-imported."""

    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(_("ファイル名"), max_length=255)
    stored_path = models.CharField(max_length=500)
    package_sha256 = models.CharField(max_length=64)
    code = models.CharField(_("理由コード"), max_length=60)
    message = models.TextField(_("理由"))
    created_at = models.DateTimeField(_("隔離日時"), auto_now_add=True)
    attempts = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(_("再取込日時"), null=True, blank=True)
    resolved_application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["package_sha256"], name="quarantine_package_unique")
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.code})"
