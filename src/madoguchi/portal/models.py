"""The resident portal's own rows: drafts being filled in, and who submitted which application online
(visit reservations, the 転入予約 included, live in ``reception.Reservation``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.applications.models import Application
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.core.models import Municipality


class Draft(models.Model):
    """A form being filled in. ``data`` is the resident's raw input (a 個人番号 is sealed, never
    kept in clear); the token in the URL is unguessable and the owner is checked on every request."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="+")
    form_version = models.ForeignKey(FormVersion, on_delete=models.CASCADE, related_name="+")
    owner = models.CharField(max_length=80, db_index=True)
    data = models.JSONField(default=dict)
    step = models.PositiveSmallIntegerField(default=0)
    application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("下書き")
        verbose_name_plural = _("下書き")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.procedure.name} ({self.token})"

    @property
    def submitted(self) -> bool:
        return self.application_id is not None

    @property
    def idempotency_key(self) -> str:
        return f"portal:{self.token}"


class PortalApplication(models.Model):
    """Which portal user submitted an application (for マイページ), whatever identity they used."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="portal_link")
    owner = models.CharField(max_length=80, db_index=True)
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("オンライン申請の申請者")
        verbose_name_plural = _("オンライン申請の申請者")

    def __str__(self) -> str:
        return f"{self.application_id} ({self.owner})"


class ResidentMessage(models.Model):
    """A message from the department to the applicant, shown in マイページ (never internal memos)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="resident_messages")
    body = models.TextField(_("本文"))
    sender_label = models.CharField(max_length=150)
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = _("申請者へのお知らせ")
        verbose_name_plural = _("申請者へのお知らせ")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.sent_at:%Y-%m-%d}"


class IssuedDocument(models.Model):
    """A document the department issues to the applicant (e.g. 罹災証明書 PDF), downloadable in マイページ."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="issued_documents")
    blob = models.ForeignKey("applications.Blob", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("ファイル名"), max_length=200)
    issued_by_label = models.CharField(max_length=150)
    issued_at = models.DateTimeField()

    class Meta:
        verbose_name = _("交付文書")
        verbose_name_plural = _("交付文書")
        ordering = ["issued_at", "pk"]

    def __str__(self) -> str:
        return self.filename
