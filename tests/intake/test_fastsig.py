"""The narrow-profile XML-DSig verifier (intake.fastsig) and the cached certificate checks: the same
signed content as signxml, and every bad signature, digest or certificate still refused with its code,
through the one-by-one importer and the batch importer alike."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from madoguchi.applications.models import Application
from madoguchi.core.models import Resident
from madoguchi.intake.bulk import packages_import
from madoguchi.intake.fastsig import DS, verify_enveloped
from madoguchi.intake.formats.pittari_v1 import Q, _cert_info, _read_root, _signxml_verify
from madoguchi.intake.pki import LocalCA, key_new
from madoguchi.intake.safezip import zip_read
from madoguchi.intake.services import package_import
from tests.intake.conftest import PackageMaker, issue

pytestmark = pytest.mark.django_db

Importer = Callable[[bytes, str], Any]


def _one(content: bytes, name: str) -> Any:
    return package_import(content=content, filename=name)


def _batch(content: bytes, name: str) -> Any:
    return packages_import(packages=[(name, content)])[0]


IMPORTERS = pytest.mark.parametrize("importer", [_one, _batch], ids=["one-by-one", "batch"])


def _root(content: bytes) -> etree._Element:
    return _read_root(zip_read(content))


def test_same_signed_content_as_signxml(make_package: PackageMaker) -> None:
    root = _root(make_package())
    info = _cert_info(root)
    fast = verify_enveloped(root, info.public_key)
    slow = _signxml_verify(
        root, signer=info.signer, signed_at=dt.datetime.fromisoformat(root.get("signedAt"))
    )  # type: ignore[arg-type]
    assert fast is not None and fast.tag == f"{Q}Application"
    assert etree.tostring(fast, method="c14n") == etree.tostring(slow, method="c14n")
    assert fast.find(f"{{{DS}}}Signature") is None  # the signed content, without the signature


def _tamper_text(root: etree._Element) -> None:
    root.find(f"{Q}Item").text = "山田 改ざん"  # type: ignore[union-attr]


def _tamper_signature_value(root: etree._Element) -> None:
    value = root.find(f"{{{DS}}}Signature/{{{DS}}}SignatureValue")
    assert value is not None and value.text
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()


def _tamper_digest_value(root: etree._Element) -> None:
    value = root.find(f".//{{{DS}}}DigestValue")
    assert value is not None
    value.text = base64.b64encode(b"\0" * 32).decode()


@IMPORTERS
@pytest.mark.parametrize(
    "tamper",
    [_tamper_text, _tamper_signature_value, _tamper_digest_value],
    ids=["wrong-digest", "wrong-signature", "edited-digest-value"],
)
def test_bad_digest_or_signature_is_refused(
    importer: Importer, tamper: Any, make_package: PackageMaker
) -> None:
    content = make_package(tamper=tamper)
    root = _root(content)
    assert verify_enveloped(root, _cert_info(root).public_key) is None
    result = importer(content, "bad.zip")
    assert (result.outcome, result.code) == ("rejected", "signature.invalid")
    assert Application.objects.count() == 0


@IMPORTERS
def test_signed_with_another_key_than_the_certificate(
    importer: Importer, make_package: PackageMaker, test_ca: LocalCA, shared_key: rsa.RSAPrivateKey
) -> None:
    cert = issue(test_ca, shared_key)  # the certificate of shared_key, the signature by another key
    content = make_package(signer_cert=cert, signer_key=key_new())
    result = importer(content, "wrong-key.zip")
    assert (result.outcome, result.code) == ("rejected", "signature.invalid")


@IMPORTERS
def test_certificate_problems_keep_their_codes(
    importer: Importer,
    make_package: PackageMaker,
    test_ca: LocalCA,
    other_ca: LocalCA,
    shared_key: rsa.RSAPrivateKey,
) -> None:
    now = dt.datetime.now(dt.UTC)
    untrusted = issue(other_ca, shared_key)
    expired = issue(test_ca, shared_key, not_before=now - dt.timedelta(days=400), days=30)
    revoked = issue(test_ca, shared_key)
    good = make_package(signer_cert=revoked)
    assert importer(good, "before.zip").outcome == "accepted"  # the chain is now memoised for this store
    test_ca.revoke(format(revoked.serial_number, "X"), at=now - dt.timedelta(days=1))
    try:
        cases = [
            ("certificate.untrusted", {"signer_cert": untrusted, "chain": [other_ca.intermediate[0]]}),
            ("certificate.untrusted", {"signer_cert": untrusted, "chain": []}),
            ("certificate.expired", {"signer_cert": expired}),
            ("certificate.revoked", {"signer_cert": revoked}),
        ]
        for code, overrides in cases:
            result = importer(make_package(**overrides), "c.zip")
            assert (result.outcome, result.code) == ("rejected", code), (code, result)
        assert Application.objects.count() == 1
    finally:
        (test_ca.private / "revoked.json").write_text("[]")
        test_ca.crl_publish()


@IMPORTERS
def test_unsigned_comments_never_reach_the_data(
    importer: Importer, make_package: PackageMaker, resident: Resident
) -> None:
    """Comments are outside exclusive c14n: the signature stays valid, and the data must be the
    signed text (parsed from the canonical bytes), never the text before the comment."""

    def comment(root: etree._Element) -> None:
        item = root.find(f"{Q}Item")
        assert item is not None and item.text == "山田 太郎"
        item.text = "山田"
        c = etree.Comment("x")
        c.tail = " 太郎"
        item.append(c)

    result = importer(make_package(tamper=comment), "comment.zip")
    assert result.outcome == "accepted", result
    assert Application.objects.get(pk=result.application_id).data["name"] == "山田 太郎"


@IMPORTERS
def test_outside_the_profile_falls_back_to_signxml(importer: Importer, make_package: PackageMaker) -> None:
    def signature_first(root: etree._Element) -> None:
        sig = root.find(f"{{{DS}}}Signature")
        assert sig is not None
        root.insert(0, sig)  # still enveloped and valid, but not the profile (not the last child)

    content = make_package(tamper=signature_first)
    root = _root(content)
    assert verify_enveloped(root, _cert_info(root).public_key) is None
    assert importer(content, "first.zip").outcome == "accepted"
