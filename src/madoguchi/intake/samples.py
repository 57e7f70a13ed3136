"""Valid, signed pittari-v1 packages for existing residents, across procedures (demo, tests, bench)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import parse_definition, validate_submission
from madoguchi.core.errors import MadoguchiError
from madoguchi.core.models import Municipality, Resident
from madoguchi.demo.generator import sample_submission
from madoguchi.demo.services import PDF_SAMPLE, _sample_png
from madoguchi.intake.formats import Attachment
from madoguchi.intake.formats.pittari_v1 import package_build
from madoguchi.intake.pki import LocalCA, cert_pem, key_pem, serial_text
from madoguchi.intake.services import certificate_link_apply, links_csv_write

JST = dt.timezone(dt.timedelta(hours=9))


@dataclass
class SignerKit:
    resident_code: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def link_row(self) -> dict[str, str]:
        return {
            "serial": serial_text(self.cert.serial_number),
            "issuer": self.cert.issuer.rfc4514_string(),
            "resident_code": self.resident_code,
            "valid_from": self.cert.not_valid_before_utc.isoformat(),
            "valid_to": self.cert.not_valid_after_utc.isoformat(),
        }


def signer_for(ca: LocalCA, resident_code: str) -> SignerKit:
    """The resident's test 署名用 certificate, issued once and kept in the CA's private folder."""
    folder = ca.private / "signers"
    folder.mkdir(exist_ok=True)
    pem, keyfile = folder / f"{resident_code}.pem", folder / f"{resident_code}.key"
    if pem.exists() and keyfile.exists():
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        key = serialization.load_pem_private_key(keyfile.read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return SignerKit(resident_code, cert, key)
    cert, key = ca.signer_issue(label=resident_code[-4:], not_before=timezone.now() - dt.timedelta(days=30))
    keyfile.write_bytes(key_pem(key))
    pem.write_bytes(cert_pem(cert))
    return SignerKit(resident_code, cert, key)


SAMPLE_FILES = {
    "attachments/shorui.pdf": ("健康保険証の写し.pdf", "application/pdf", PDF_SAMPLE),
    "attachments/shashin.png": ("写真.png", "image/png", _sample_png()),
}


def _attachments() -> dict[str, Attachment]:
    return {ref: Attachment(ref, name, mime, content) for ref, (name, mime, content) in SAMPLE_FILES.items()}


def _file_refs() -> list[dict[str, Any]]:
    return [
        {"sha256": hashlib.sha256(c).hexdigest(), "filename": n, "mime": m, "size": len(c)}
        for n, m, c in SAMPLE_FILES.values()
    ]


_REF_BY_SHA = {hashlib.sha256(c).hexdigest(): ref for ref, (_, _, c) in SAMPLE_FILES.items()}


def _to_refs(value: Any, used: set[str]) -> Any:
    if isinstance(value, dict):
        if "sha256" in value and "filename" in value:
            used.add(_REF_BY_SHA[value["sha256"]])
            return {"$ref": _REF_BY_SHA[value["sha256"]]}
        return {k: _to_refs(v, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_refs(v, used) for v in value]
    return value


@dataclass
class SampleSummary:
    written: list[Path]
    links_csv: Path
    signers: int


def samples_make(
    *,
    municipality: Municipality,
    ca: LocalCA,
    out: Path,
    count: int,
    seed: int = 2026,
    signers: int = 20,
    link: bool = True,
) -> SampleSummary:
    """Write ``count`` packages to ``out`` (same data and 申請番号 for the same seed) and link signers."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    today = timezone.localdate()
    adults = [
        r for r in Resident.objects.filter(municipality=municipality, moved_out_on__isnull=True).order_by(
            "resident_code"
        )
        if today.year - r.birth_date.year >= 20
    ]
    if not adults:
        raise MadoguchiError("住民が登録されていません (madoguchi load_demo を先に実行してください)。",
                             code="samples.no_residents")
    chosen = rng.sample(adults, min(signers, len(adults)))
    kits = [signer_for(ca, r.resident_code) for r in chosen]
    if link:
        for kit in kits:
            certificate_link_apply(municipality=municipality, source="pittari make-sample", **kit.link_row())
    links_csv = out / "links.csv"
    links_csv.write_text(links_csv_write(k.link_row() for k in kits), encoding="utf-8")
    procedures = []
    for p in Procedure.objects.filter(municipality=municipality, is_active=True).order_by("code"):
        form = p.forms.filter(published=True).order_by("-version").first()
        if form is not None:
            procedures.append((p, form.version, parse_definition(form.definition)))
    chain = [ca.intermediate[0]]
    attachments, files = _attachments(), _file_refs()
    midnight = dt.datetime.combine(today, dt.time(0, 0), tzinfo=JST)
    written = []
    for i in range(count):
        procedure, version, definition = procedures[rng.randrange(len(procedures))]
        index = rng.randrange(len(chosen))
        resident, kit = chosen[index], kits[index]
        sent_at = midnight - dt.timedelta(seconds=rng.randint(60, 86_000))
        for _ in range(5):
            data = sample_submission(definition, rng=rng, today=sent_at.date(), resident=resident, files=files)
            if validate_submission(definition, data, today=sent_at.date()).ok:
                break
        else:
            raise MadoguchiError(
                f"手続「{procedure.code}」の見本データが検証を通りません。", code="samples.invalid"
            )
        external_id = f"S{seed}-{i + 1:06d}"
        used: set[str] = set()
        refs_data = _to_refs(data, used)
        content = package_build(
            procedure_code=procedure.code,
            form_version=version,
            external_id=external_id,
            municipality_code=municipality.code,
            data=refs_data,
            attachments={ref: a for ref, a in attachments.items() if ref in used},
            signer_cert=kit.cert,
            signer_key=kit.key,
            chain=chain,
            sent_at=sent_at,
            signed_at=sent_at - dt.timedelta(seconds=30),
        )
        path = out / f"{external_id}.zip"
        path.write_bytes(content)
        written.append(path)
    return SampleSummary(written, links_csv, len(kits))
