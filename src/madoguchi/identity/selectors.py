"""Reads for identity: accounts by email, who held a 利用者証明用 certificate, the demo card holders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from madoguchi.core.models import Municipality, Resident
from madoguchi.identity.api import PortalIdentity
from madoguchi.identity.models import AuthCertificateLink, PortalAccount

DEMO_SOURCE = "demo"


def account_by_email(email: str) -> PortalAccount | None:
    return PortalAccount.objects.filter(email__iexact=email.strip()).first()


@dataclass(frozen=True)
class AuthLinkAnswer:
    """Who held a 利用者証明用 certificate at a time; ``resident`` None with an identity ``code`` if not."""

    resident: Resident | None
    link: AuthCertificateLink | None
    code: str = ""


def auth_certificate_resident_at(*, serial: str, issuer: str, at: dt.datetime) -> AuthLinkAnswer:
    """The resident a 利用者証明用 certificate (serial + issuer) is linked to at ``at`` (any municipality:
    serial + issuer name one certificate)."""
    links = list(
        AuthCertificateLink.objects.filter(
            serial=serial, issuer=issuer, valid_from__lte=at, valid_to__gte=at
        ).order_by("pk")
    )
    if not links:
        return AuthLinkAnswer(None, None, "identity.certificate_unknown")
    live = [link for link in links if link.revoked_at is None or link.revoked_at > at]
    if not live:
        return AuthLinkAnswer(None, links[0], "identity.certificate_revoked")
    holders = {(link.municipality_id, link.resident_code) for link in live}
    if len(holders) > 1:
        return AuthLinkAnswer(None, None, "identity.certificate_unknown")
    link = live[0]
    resident = Resident.objects.filter(municipality_id=link.municipality_id, resident_code=link.resident_code).first()
    if resident is None or (resident.moved_out_on is not None and resident.moved_out_on <= at.date()):
        return AuthLinkAnswer(None, link, "identity.certificate_unknown")
    return AuthLinkAnswer(resident, link)


def identity_from_resident(
    resident: Resident, *, method: str, label: str, cert_serial: str = "", cert_issuer: str = ""
) -> PortalIdentity:
    """A card-level identity: the 基本4情報 (+ kana, postal code) as the resident register has them."""
    return PortalIdentity(
        method=method,
        label=label,
        resident_id=resident.pk,
        municipality_id=resident.municipality_id,
        name=resident.name,
        name_kana=resident.name_kana,
        birth_date=resident.birth_date,
        sex=resident.sex,
        address=resident.address,
        postal_code=resident.postal_code,
        cert_serial=cert_serial,
        cert_issuer=cert_issuer,
    )


def identity_from_account(account: PortalAccount) -> PortalIdentity:
    """An account-level identity: what the resident typed (not verified)."""
    return PortalIdentity(
        method="password",
        label=f"acct:{account.pk}",
        account_id=account.pk,
        name=account.display_name,
        name_kana=account.name_kana,
        birth_date=account.birth_date,
        address=account.address,
        postal_code=account.postal_code,
        email=account.email,
    )


def demo_residents(*, municipality: Municipality | None = None) -> list[Resident]:
    """Residents holding a demo card (links written by ``identity.demo.demo_cards_ensure``)."""
    links = AuthCertificateLink.objects.filter(source=DEMO_SOURCE, revoked_at__isnull=True)
    if municipality is not None:
        links = links.filter(municipality=municipality)
    pairs = set(links.values_list("municipality_id", "resident_code"))
    residents = [
        r
        for r in Resident.objects.filter(resident_code__in={code for _, code in pairs}).order_by("resident_code")
        if (r.municipality_id, r.resident_code) in pairs
    ]
    return residents


def demo_auth_link(*, resident: Resident) -> AuthCertificateLink | None:
    return (
        AuthCertificateLink.objects.filter(
            source=DEMO_SOURCE, municipality_id=resident.municipality_id, resident_code=resident.resident_code,
            revoked_at__isnull=True,
        )
        .order_by("-valid_from")
        .first()
    )
