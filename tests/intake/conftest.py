"""Fixtures for intake: one test CA per module run, a resident with a linked signing certificate,
and a builder for signed packages (``make_package(**overrides)``)."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from madoguchi.core.models import Municipality, Resident
from madoguchi.demo.services import PDF_SAMPLE
from madoguchi.intake.formats import Attachment
from madoguchi.intake.formats.pittari_v1 import package_build, zip_write
from madoguchi.intake.pki import LocalCA, key_new
from madoguchi.intake.services import certificate_link_apply

JST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(scope="session")
def shared_key() -> rsa.RSAPrivateKey:
    return key_new()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("other-ca"))


@pytest.fixture(autouse=True)
def _trust(settings: Any, test_ca: LocalCA, tmp_path: Path) -> None:
    settings.MADOGUCHI_PITTARI_TRUST_DIR = str(test_ca.path)
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def resident(municipality: Municipality) -> Resident:
    return Resident.objects.create(
        municipality=municipality, resident_code="12345678901", name="山田 太郎", name_kana="ヤマダ タロウ",
        birth_date=dt.date(1985, 4, 1), sex="1", address="架空県みどり市本町1-1", household_code="H1",
    )


def issue(ca: LocalCA, key: rsa.RSAPrivateKey, **kw: Any) -> x509.Certificate:
    cert, _ = ca.signer_issue(label="t", key=key, **kw)
    return cert


def link(municipality: Municipality, cert: x509.Certificate, resident_code: str, **kw: Any) -> str:
    return certificate_link_apply(
        municipality=municipality, serial=format(cert.serial_number, "X"), issuer=cert.issuer.rfc4514_string(),
        resident_code=resident_code, valid_from=cert.not_valid_before_utc, valid_to=cert.not_valid_after_utc,
        **kw,
    )


@pytest.fixture
def signer(test_ca: LocalCA, shared_key: rsa.RSAPrivateKey, municipality: Municipality,
           resident: Resident) -> x509.Certificate:
    cert = issue(test_ca, shared_key)
    link(municipality, cert, resident.resident_code)
    return cert


PackageMaker = Callable[..., bytes]


@pytest.fixture
def make_package(procedure: Any, municipality: Municipality, test_ca: LocalCA, shared_key: rsa.RSAPrivateKey,
                 signer: x509.Certificate) -> PackageMaker:
    counter = iter(range(1, 10_000))

    def make(**overrides: Any) -> bytes:
        now = dt.datetime.now(JST).replace(microsecond=0) - dt.timedelta(minutes=5)
        attachments = {"attachments/proof.pdf": Attachment("attachments/proof.pdf", "保険証.pdf",
                                                           "application/pdf", PDF_SAMPLE)}
        kwargs: dict[str, Any] = {
            "procedure_code": procedure.code,
            "form_version": procedure.current_form.version,
            "external_id": f"T-{next(counter):05d}",
            "municipality_code": municipality.code,
            "data": {
                "name": "山田 太郎", "name_kana": "ヤマダ タロウ", "birth_date": "1985-04-01",
                "mynumber": "123456789018", "proof": {"$ref": "attachments/proof.pdf"},
                "children": [{"child_name": "山田 花子"}, {"child_name": "山田 次郎"}],
            },
            "attachments": attachments,
            "signer_cert": signer,
            "signer_key": shared_key,
            "chain": [test_ca.intermediate[0]],
            "sent_at": now,
        }
        kwargs.update(overrides)
        return package_build(**kwargs)

    return make


def zip_members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(content: bytes, *, rehash: bool = True, **replace: bytes) -> bytes:
    """Replace members (keyword = member name with / as __) and, by default, fix the manifest hashes."""
    import hashlib

    members = zip_members(content)
    for key, value in replace.items():
        members[key.replace("__", "/")] = value
    if rehash:
        manifest = json.loads(members["manifest.json"])
        manifest["files"] = [
            {"path": n, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
            for n, b in members.items() if n != "manifest.json"
        ]
        members["manifest.json"] = json.dumps(manifest).encode()
    return zip_write(members)
