"""②-1 / ②-2 / ③-3: serial ↔ resident links with history, and identification at signing time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

from madoguchi.applications.models import Application
from madoguchi.core.models import Municipality, Resident
from madoguchi.intake.models import CertificateLink, CertificateLinkEvent
from madoguchi.intake.pki import LocalCA
from madoguchi.intake.selectors import certificate_resident_at
from madoguchi.intake.services import links_csv_write, package_import
from tests.intake.conftest import PackageMaker, issue, link

pytestmark = pytest.mark.django_db


def _serial(cert: object) -> str:
    return format(cert.serial_number, "X")  # type: ignore[attr-defined]


def test_renewed_and_revoked_certificates(make_package: PackageMaker, test_ca: LocalCA,
                                          shared_key: rsa.RSAPrivateKey, municipality: Municipality,
                                          resident: Resident, signer: object) -> None:
    now = dt.datetime.now(dt.UTC)
    old = issue(test_ca, shared_key, not_before=now - dt.timedelta(days=100))
    link(municipality, old, resident.resident_code)
    # 住所変更: the old certificate lapses (住基 side), a renewed one with a new serial is linked
    assert link(municipality, old, resident.resident_code, revoked_at=now - dt.timedelta(days=10),
                reason="address_change") == "revoked"
    renewed = issue(test_ca, shared_key, not_before=now - dt.timedelta(days=9))
    assert link(municipality, renewed, resident.resident_code) == "linked"
    issuer = old.issuer.rfc4514_string()

    before = certificate_resident_at(municipality=municipality, serial=_serial(old), issuer=issuer,
                                     at=now - dt.timedelta(days=20))
    assert before.resident == resident
    after = certificate_resident_at(municipality=municipality, serial=_serial(old), issuer=issuer, at=now)
    assert after.resident is None and after.code == "identify.revoked" and "住所変更" in after.reason
    assert certificate_resident_at(municipality=municipality, serial=_serial(renewed), issuer=issuer,
                                   at=now).resident == resident
    assert CertificateLinkEvent.objects.filter(link__serial=_serial(old)).count() == 2

    ok = package_import(content=make_package(signer_cert=renewed), filename="r.zip")
    assert not Application.objects.get(pk=ok.application_id).needs_review
    # signed with the lapsed certificate (not on the CRL): accepted but flagged 要確認 with the reason
    flagged = package_import(content=make_package(signer_cert=old), filename="o.zip")
    app = Application.objects.get(pk=flagged.application_id)
    assert flagged.outcome == "accepted" and app.needs_review and app.applicant is None
    assert app.review_reason.startswith("【identify.revoked】")


def test_unknown_and_ambiguous_serials_are_flagged(make_package: PackageMaker, test_ca: LocalCA,
                                                   shared_key: rsa.RSAPrivateKey, municipality: Municipality,
                                                   resident: Resident) -> None:
    unknown = issue(test_ca, shared_key)
    app = Application.objects.get(pk=package_import(content=make_package(signer_cert=unknown),
                                                    filename="u.zip").application_id)
    assert app.needs_review and app.review_reason.startswith("【identify.unknown】")
    shared = issue(test_ca, shared_key)
    link(municipality, shared, resident.resident_code)
    link(municipality, shared, "98765432109")
    app = Application.objects.get(pk=package_import(content=make_package(signer_cert=shared),
                                                    filename="a.zip").application_id)
    assert app.review_reason.startswith("【identify.ambiguous】")


def test_import_links_csv_is_idempotent(tmp_path: Path, municipality: Municipality, test_ca: LocalCA,
                                        shared_key: rsa.RSAPrivateKey,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    a, b = issue(test_ca, shared_key), issue(test_ca, shared_key)
    rows = [
        {"serial": _serial(c), "issuer": c.issuer.rfc4514_string(), "resident_code": code,
         "valid_from": c.not_valid_before_utc.isoformat(), "valid_to": c.not_valid_after_utc.isoformat()}
        for c, code in ((a, "11111111111"), (b, "22222222222"))
    ]
    csv_file = tmp_path / "links.csv"
    csv_file.write_text(links_csv_write(rows), encoding="utf-8")
    args = ("jukki", "import-links", str(csv_file), "--municipality", municipality.code)
    call_command(*args)
    call_command(*args)
    rows[0]["revoked_at"], rows[0]["reason"] = dt.datetime.now(dt.UTC).isoformat(), "name_change"
    csv_file.write_text(links_csv_write(rows), encoding="utf-8")
    call_command(*args)
    call_command(*args)
    assert capsys.readouterr().out.splitlines() == [
        "2 linked, 0 updated, 0 revoked, 0 unchanged",
        "0 linked, 0 updated, 0 revoked, 2 unchanged",
        "0 linked, 0 updated, 1 revoked, 1 unchanged",
        "0 linked, 0 updated, 0 revoked, 2 unchanged",
    ]
    assert CertificateLink.objects.get(serial=_serial(a)).revoked_reason == "name_change"
    assert CertificateLinkEvent.objects.count() == 3
