"""PKI for identity: the card-reader bridge's address, the trust store used for login, the test CA's
利用者証明用 certificates, and XML signing as the bridge does it (for the fake bridge and the demo card).

The trust store is the intake one (``madoguchi.intake.pki``): ``MADOGUCHI_JPKI_TRUST_DIR`` when set,
else ``MADOGUCHI_PITTARI_TRUST_DIR`` / ``DATA_DIR/pittari-trust`` (the JPKI CAs issue both kinds).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from madoguchi.intake.pki import LocalCA, TrustStore, cert_pem, trust_dir, trust_store

UTC = dt.UTC
DEFAULT_BRIDGE_URL = "http://127.0.0.1:8765"
# certificatePolicies of the JPKI profiles (署名用 / 利用者証明用), used by the test CA
POLICY_SIGNING = x509.ObjectIdentifier("1.2.392.200149.8.5.1.1.10")
POLICY_AUTH = x509.ObjectIdentifier("1.2.392.200149.8.5.1.3.10")


def bridge_url() -> str:
    """The card-reader bridge (a local app on the resident's computer): ``MADOGUCHI_JPKI_BRIDGE_URL``."""
    value = getattr(settings, "MADOGUCHI_JPKI_BRIDGE_URL", None) or os.environ.get(
        "MADOGUCHI_JPKI_BRIDGE_URL", DEFAULT_BRIDGE_URL
    )
    return str(value).rstrip("/")


def bridge_origin() -> str:
    """``scheme://host[:port]`` of the bridge, for the CSP ``connect-src``."""
    parts = urlsplit(bridge_url())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""


def jpki_trust_dir() -> Path:
    value = getattr(settings, "MADOGUCHI_JPKI_TRUST_DIR", None) or os.environ.get("MADOGUCHI_JPKI_TRUST_DIR")
    return Path(value) if value else trust_dir()


def jpki_trust_store() -> TrustStore:
    return trust_store(jpki_trust_dir())


def is_auth_certificate(cert: x509.Certificate) -> bool:
    """利用者証明用: digitalSignature without nonRepudiation (署名用 certificates carry both)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return usage.digital_signature and not usage.content_commitment


def auth_cert_issue(
    ca: LocalCA,
    *,
    label: str,
    key: rsa.RSAPrivateKey | None = None,
    not_before: dt.datetime | None = None,
    days: int = 5 * 365,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A 利用者証明用 certificate from the test CA (JPKI-like: digitalSignature only, the 利用者証明用
    policy, no personal data: the real one carries none either). No EKU: the intake trust store only
    accepts certificates without one or with a 署名 EKU, and JPKI puts none in this profile."""
    return ca.leaf_issue(
        common_name=f"Test Auth {label}",
        non_repudiation=False,
        policies=(POLICY_AUTH,),
        not_before=not_before,
        days=days,
        key=key,
    )


def challenge_sign(key: rsa.RSAPrivateKey, challenge: str) -> bytes:
    """What the bridge does for /auth: RSA-SHA256 PKCS#1 v1.5 over the UTF-8 bytes of the challenge."""
    return key.sign(challenge.encode(), padding.PKCS1v15(), hashes.SHA256())


def xml_sign(xml: bytes, *, key: rsa.RSAPrivateKey, cert: x509.Certificate, chain: list[x509.Certificate]) -> bytes:
    """What the bridge does for /sign: an enveloped XML-DSig over the whole document (reference URI
    ``""``, RSA-SHA256, SHA-256, exclusive C14N) with the certificate and the chain in KeyInfo. The
    document itself is not changed (``signedAt`` was set by the server and is under the signature)."""
    from madoguchi.intake.safexml import xml_parse

    root = xml_parse(xml)
    signed = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    ).sign(root, key=key, cert=[cert_pem(cert).decode(), *(cert_pem(c).decode() for c in chain)])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
