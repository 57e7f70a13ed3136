"""Reads for intake: applicant identification by certificate serial (②-2), quarantine lists, paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q, QuerySet

from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.models import Municipality, Resident, Role
from madoguchi.core.scope import Actor
from madoguchi.intake.models import CertificateLink, QuarantinedPackage

QUARANTINE_ROLES = {Role.ADMIN.value, Role.HANDLER.value}


@dataclass(frozen=True)
class LinkAnswer:
    """Who held a certificate at a time. ``resident`` is None with a ``code``/``reason`` when unsure."""

    resident: Resident | None
    link: CertificateLink | None
    code: str = ""
    reason: str = ""

    @property
    def needs_review(self) -> str:
        return f"【{self.code}】{self.reason}"[:200] if self.code else ""


def certificate_resident_at(
    *, municipality: Municipality, serial: str, issuer: str, at: dt.datetime
) -> LinkAnswer:
    """②-2: the resident a signing certificate belonged to at ``at`` (the signing time)."""
    links = list(
        CertificateLink.objects.filter(municipality=municipality, serial=serial, issuer=issuer).filter(
            valid_from__lte=at, valid_to__gte=at
        ).order_by("pk")  # links[0] / live[0] as the batch importer picks them
    )
    return link_answer(
        links=links,
        serial=serial,
        at=at,
        resident_for=lambda code: Resident.objects.filter(
            municipality=municipality, resident_code=code
        ).first(),
    )


def link_answer(
    *,
    links: list[CertificateLink],
    serial: str,
    at: dt.datetime,
    resident_for: Callable[[str], Resident | None],
) -> LinkAnswer:
    """The answer of ``certificate_resident_at`` from the links of (serial, issuer) valid at ``at``
    (also used by the batch importer, which reads the links and residents of a whole batch at once)."""
    if not links:
        return LinkAnswer(None, None, "identify.unknown",
                          f"署名用電子証明書 (シリアル番号 {serial}) の紐付情報がありません。")
    live = [link for link in links if link.revoked_at is None or link.revoked_at > at]
    if not live:
        link = links[0]
        return LinkAnswer(
            None, link, "identify.revoked",
            f"署名用電子証明書 (シリアル番号 {serial}) は署名時点で失効しています"
            f" ({link.get_revoked_reason_display() or '理由不明'})。",
        )
    codes = {link.resident_code for link in live}
    if len(codes) > 1:
        return LinkAnswer(None, None, "identify.ambiguous",
                          f"シリアル番号 {serial} が複数の住民に紐付いています。")
    link = live[0]
    resident = resident_for(link.resident_code)
    if resident is None:
        return LinkAnswer(None, link, "identify.resident_missing",
                          "紐付先の住民票コードが住民記録にありません。")
    return LinkAnswer(resident, link)


def certificate_link_history(*, municipality: Municipality, resident_code: str) -> QuerySet[CertificateLink]:
    return CertificateLink.objects.filter(municipality=municipality, resident_code=resident_code).order_by(
        "valid_from"
    )


def quarantine_list(*, actor: Actor, include_resolved: bool = False) -> QuerySet[QuarantinedPackage]:
    """Quarantined packages of the actor's municipality (admin / handler only)."""
    if actor.municipality is None or not (actor.all_roles & QUARANTINE_ROLES):
        raise PermissionDeniedError()
    qs = QuarantinedPackage.objects.filter(Q(municipality=actor.municipality))
    if not include_resolved:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-created_at")


def package_paths(paths: Iterable[str | Path], *, suffixes: tuple[str, ...] = (".zip",)) -> Iterator[Path]:
    """Files as given, and folders walked (sorted, recursively) for files with the format's suffix."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in suffixes:
                    yield child
        else:
            yield path
