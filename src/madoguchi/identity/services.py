"""Writes for identity. Keyword-only, typed; one transaction per state change with its audit row.

Every login attempt, successful or not, writes an audit row (``identity.login`` / ``identity.login_failed``)
with the method, the code and what identifies the credential (account id or certificate serial),
never the password, the email address or the resident's name.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.core.audit import audit_record
from madoguchi.core.cache import window_hits
from madoguchi.core.errors import ValidationFailed
from madoguchi.core.models import Municipality, Resident
from madoguchi.identity.api import PortalIdentity
from madoguchi.identity.errors import IdentityError
from madoguchi.identity.methods import demo_allowed
from madoguchi.identity.models import AuthCertificateLink, PortalAccount
from madoguchi.identity.pki import is_auth_certificate, jpki_trust_store
from madoguchi.identity.selectors import (
    account_by_email,
    auth_certificate_resident_at,
    demo_auth_link,
    identity_from_account,
    identity_from_resident,
)
from madoguchi.intake.errors import PackageRejected
from madoguchi.intake.pki import serial_normalize, serial_text

LOCK_AFTER = 5
LOCK_FOR = dt.timedelta(minutes=15)
CHALLENGE_TTL = dt.timedelta(minutes=5)
CHALLENGE_PREFIX = "madoguchi-jpki-auth:v1:"
MIN_PASSWORD = 10
_DUMMY_HASH: list[str] = []


def _audit_login(
    *, method: str, ok: bool, actor: str = "resident:anonymous", code: str = "", municipality_code: str = "",
    detail: Mapping[str, Any] | None = None,
) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="identity.login" if ok else "identity.login_failed",
            municipality_code=municipality_code,
            object_type="identity",
            object_id=method,
            detail={"method": method, **({"code": code} if code else {}), **(detail or {})},
        )


def _municipality_code(pk: int | None) -> str:
    if pk is None:
        return ""
    return Municipality.objects.filter(pk=pk).values_list("code", flat=True).first() or ""


# ------------------------------------------------------------------------------------ password
def account_signup(
    *,
    email: str,
    password: str,
    display_name: str,
    name_kana: str = "",
    postal_code: str = "",
    address: str = "",
    birth_date: dt.date | None = None,
) -> PortalAccount:
    """Create an email + password account (email unique whatever its case)."""
    email = email.strip()
    errors: dict[str, str] = {}
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = "メールアドレスの形式が正しくありません。"
    if not display_name.strip():
        errors["display_name"] = "お名前を入力してください。"
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"パスワードは{MIN_PASSWORD}文字以上にしてください。"
    else:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            errors["password"] = " ".join(str(m) for m in exc.messages)
    postal = re.sub(r"[^0-9]", "", postal_code.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if postal_code.strip() and len(postal) != 7:
        errors["postal_code"] = "郵便番号は7桁の数字で入力してください。"
    if errors:
        raise ValidationFailed("入力内容に誤りがあります。", code="identity.signup_invalid", details=errors)
    account = PortalAccount(
        email=email, display_name=display_name.strip()[:60], name_kana=name_kana.strip()[:120],
        postal_code=postal, address=address.strip()[:200], birth_date=birth_date,
    )
    account.set_password(password)
    try:
        with transaction.atomic():
            if account_by_email(email) is not None:
                raise IntegrityError("email taken")
            account.save()
            audit_record(
                actor=f"resident:acct:{account.pk}",
                action="identity.account_created",
                object_type="portal_account",
                object_id=account.pk,
                detail={"method": "password"},
            )
    except IntegrityError:
        raise ValidationFailed(
            "入力内容に誤りがあります。", code="identity.email_taken",
            details={"email": "このメールアドレスは既に登録されています。ログインしてください。"},
        ) from None
    return account


def account_login(*, email: str, password: str, now: dt.datetime | None = None) -> PortalIdentity:
    """Check an email + password. 5 failures in a row lock the account for 15 minutes."""
    now = now or timezone.now()
    error = ""
    account_id: int | None = None
    with transaction.atomic():
        account = PortalAccount.objects.select_for_update().filter(email__iexact=email.strip()).first()
        if account is None:
            if not _DUMMY_HASH:
                _DUMMY_HASH.append(make_password(secrets.token_hex(8)))
            PortalAccount(password=_DUMMY_HASH[0]).check_password(password)  # same time as a real check
            error = "identity.invalid_credentials"
        else:
            account_id = account.pk
            if account.locked_until is not None and account.locked_until > now:
                error = "identity.locked"
            elif not account.check_password(password):
                account.failed_attempts += 1
                error = "identity.invalid_credentials"
                if account.failed_attempts >= LOCK_AFTER:
                    account.locked_until, account.failed_attempts = now + LOCK_FOR, 0
                    error = "identity.locked"
                account.save(update_fields=["failed_attempts", "locked_until"])
            else:
                account.failed_attempts, account.locked_until, account.last_login_at = 0, None, now
                account.save(update_fields=["failed_attempts", "locked_until", "last_login_at"])
        audit_record(
            actor=f"resident:acct:{account_id}" if account_id and not error else "resident:anonymous",
            action="identity.login_failed" if error else "identity.login",
            object_type="identity",
            object_id="password",
            detail={"method": "password", "account": account_id, **({"code": error} if error else {})},
        )
    if error or account is None:
        raise IdentityError(error or "identity.invalid_credentials")
    return identity_from_account(account)


# ------------------------------------------------------------------------------------ rate limits
def rate_limit_hit(*, action: str, key: str, limit: int, window: int) -> bool:
    """Count one attempt of ``action`` by ``key`` (an IP address) in a fixed window of ``window``
    seconds (Django cache); True when over the limit."""
    bucket = f"identity:rl:{action}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    return window_hits([bucket], window=window)[0] > limit


# ------------------------------------------------------------------------------------ jpki
@dataclass(frozen=True)
class Challenge:
    value: str
    expires_at: dt.datetime

    def to_session(self) -> dict[str, str]:
        return {"value": self.value, "expires_at": self.expires_at.isoformat()}

    @classmethod
    def from_session(cls, raw: Any) -> Challenge | None:
        try:
            return cls(str(raw["value"]), dt.datetime.fromisoformat(raw["expires_at"]))
        except (TypeError, KeyError, ValueError):
            return None


def challenge_new(*, now: dt.datetime | None = None) -> Challenge:
    """A random challenge (256 bits) for the bridge to sign, valid for 5 minutes, used once."""
    now = now or timezone.now()
    return Challenge(CHALLENGE_PREFIX + secrets.token_urlsafe(32), now + CHALLENGE_TTL)


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise IdentityError("identity.certificate_invalid") from None


def _der(value: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(_b64(value))
    except ValueError:
        raise IdentityError("identity.certificate_invalid") from None


TRUST_CODES = {
    "certificate.untrusted": "identity.certificate_untrusted",
    "certificate.expired": "identity.certificate_expired",
    "certificate.revoked": "identity.certificate_revoked",
    "certificate.crl_unavailable": "identity.crl_unavailable",
}


def jpki_login(
    *,
    expected: Challenge | None,
    challenge: str,
    certificate: str,
    chain: Sequence[str],
    signature: str,
    now: dt.datetime | None = None,
) -> PortalIdentity:
    """Log in with the 利用者証明用 certificate: the bridge signed ``challenge`` (which must be the one
    this session was given, unexpired and unused), the certificate chains to the trust anchors and is
    unrevoked now, and its serial is linked to a resident. Audited whatever the outcome."""
    now = now or timezone.now()
    serial = ""
    try:
        if expected is None:
            raise IdentityError("identity.challenge_missing")
        if not secrets.compare_digest(expected.value.encode(), challenge.encode()):
            raise IdentityError("identity.challenge_mismatch")
        if now > expected.expires_at:
            raise IdentityError("identity.challenge_expired")
        if not cache.add(f"identity:challenge:{hashlib.sha256(challenge.encode()).hexdigest()}", 1,
                         timeout=int(CHALLENGE_TTL.total_seconds()) + 60):
            raise IdentityError("identity.challenge_missing")  # replayed (another session or a race)
        if not certificate.strip() or not signature.strip():
            raise IdentityError("identity.response_missing")
        cert = _der(certificate)
        serial = serial_text(cert.serial_number)
        intermediates = [_der(c) for c in chain if c.strip()][:5]
        if not is_auth_certificate(cert):
            raise IdentityError("identity.certificate_wrong_kind")
        try:
            jpki_trust_store().verify(cert, chain=intermediates, at=now)
        except PackageRejected as exc:
            raise IdentityError(TRUST_CODES.get(exc.code, "identity.certificate_untrusted")) from None
        public_key = cert.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise IdentityError("identity.certificate_invalid")
        try:
            public_key.verify(_b64(signature), challenge.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, IdentityError):
            raise IdentityError("identity.signature_invalid") from None
        issuer = cert.issuer.rfc4514_string()
        answer = auth_certificate_resident_at(serial=serial, issuer=issuer, at=now)
        if answer.resident is None:
            raise IdentityError(answer.code or "identity.certificate_unknown")
    except IdentityError as exc:
        _audit_login(method="jpki", ok=False, code=exc.code, detail={"serial": serial})
        raise
    identity = identity_from_resident(
        answer.resident, method="jpki", label=f"jpki:{serial}", cert_serial=serial, cert_issuer=issuer
    )
    _audit_login(method="jpki", ok=True, actor=identity.actor().label,
                 municipality_code=_municipality_code(identity.municipality_id), detail={"serial": serial})
    return identity


def auth_certificate_link_apply(
    *,
    municipality: Municipality,
    serial: str,
    issuer: str,
    resident_code: str,
    valid_from: dt.datetime,
    valid_to: dt.datetime,
    revoked_at: dt.datetime | None = None,
    reason: str = "",
    source: str = "jukki",
) -> str:
    """Link a 利用者証明用 certificate to a resident (or record its lapse). Idempotent: returns
    linked | updated | revoked | unchanged."""
    try:
        serial = serial_normalize(serial)
    except ValueError:
        raise ValidationFailed("シリアル番号の形式が正しくありません。", code="links.invalid_row") from None
    if not re.fullmatch(r"\d{11}", resident_code) or not issuer.strip():
        raise ValidationFailed("紐付情報の必須項目が不足しています。", code="links.invalid_row")
    with transaction.atomic():
        link, created = AuthCertificateLink.objects.select_for_update().get_or_create(
            municipality=municipality, issuer=issuer.strip(), serial=serial, resident_code=resident_code,
            defaults={"valid_from": valid_from, "valid_to": valid_to, "revoked_at": revoked_at,
                      "revoked_reason": reason if revoked_at else "", "source": source[:120]},
        )
        if created:
            outcome = "linked" if revoked_at is None else "revoked"
        elif revoked_at is not None and link.revoked_at is None:
            link.revoked_at, link.revoked_reason = revoked_at, reason or "other"
            link.save(update_fields=["revoked_at", "revoked_reason", "updated_at"])
            outcome = "revoked"
        elif (link.valid_from, link.valid_to) != (valid_from, valid_to):
            link.valid_from, link.valid_to = valid_from, valid_to
            link.save(update_fields=["valid_from", "valid_to", "updated_at"])
            outcome = "updated"
        else:
            return "unchanged"
        audit_record(
            actor=source[:150] or "jukki",
            action=f"auth_certificate_link.{outcome}",
            municipality_code=municipality.code,
            object_type="auth_certificate_link",
            object_id=link.pk,
            detail={"serial": serial},
        )
    return outcome


# ------------------------------------------------------------------------------------ demo
def demo_login(*, resident_id: int) -> PortalIdentity:
    """Log in as a demo card holder (DEMO_MODE only; never in production)."""
    if not demo_allowed():
        _audit_login(method="demo", ok=False, code="identity.demo_unavailable")
        raise IdentityError("identity.demo_unavailable")
    resident = Resident.objects.select_related("municipality").filter(pk=resident_id).first()
    link = demo_auth_link(resident=resident) if resident is not None else None
    if resident is None or link is None:
        _audit_login(method="demo", ok=False, code="identity.demo_unknown")
        raise IdentityError("identity.demo_unknown")
    identity = identity_from_resident(
        resident, method="demo", label=f"demo:{resident.pk}", cert_serial=link.serial, cert_issuer=link.issuer
    )
    _audit_login(method="demo", ok=True, actor=identity.actor().label,
                 municipality_code=resident.municipality.code, detail={"serial": link.serial})
    return identity
