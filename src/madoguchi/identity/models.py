"""Identity: resident accounts (email + password) and the 利用者証明用 certificate links used to log in."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from madoguchi.core.models import Municipality
from madoguchi.intake.models import RevocationReason


class PortalAccount(models.Model):
    """An email + password account for procedures that need no card. What the resident typed about
    themselves (kana, postal code, address, birth date) is kept for prefill only: it is not verified."""

    email = models.EmailField(_("メールアドレス"), max_length=254)
    password = models.CharField(max_length=200)
    display_name = models.CharField(_("お名前"), max_length=60)
    name_kana = models.CharField(_("フリガナ"), max_length=120, blank=True)
    postal_code = models.CharField(_("郵便番号"), max_length=7, blank=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("最終ログイン"), null=True, blank=True)
    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("利用者アカウント")
        verbose_name_plural = _("利用者アカウント")
        constraints = [models.UniqueConstraint(Lower("email"), name="portal_account_email_ci_unique")]

    def __str__(self) -> str:
        return f"acct:{self.pk}"

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw)

    def check_password(self, raw: str) -> bool:
        def upgrade(raw_password: str) -> None:  # a stronger hasher configured since: rehash on login
            self.set_password(raw_password)
            self.save(update_fields=["password"])

        return check_password(raw, self.password, upgrade)


class AuthCertificateLink(models.Model):
    """利用者証明用電子証明書のシリアル番号 ↔ 住民票コード, as supplied by the 住基 side.

    The 署名用 links live in ``intake.CertificateLink``; login uses this separate table, so a 署名用
    certificate can never log in and a 利用者証明用 certificate can never identify a signed application.
    Never deleted: a lapse sets ``revoked_at`` and the reason (renewal arrives as a new row).
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
    source = models.CharField(_("登録元"), max_length=120, blank=True)  # jukki | demo | …
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("利用者証明用証明書の紐付")
        verbose_name_plural = _("利用者証明用証明書の紐付")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "issuer", "serial", "resident_code"], name="auth_certificate_link_unique"
            )
        ]
        indexes = [models.Index(fields=["serial"])]

    def __str__(self) -> str:
        return f"{self.serial} → {self.resident_code}"
