"""A fast XML-DSig verifier for the one narrow profile pittari-v1 packages use, and caches of what does
not change between packages of a run (parsed certificates, the signer's names).

The profile (what ``package_build`` writes, docs/formats/pittari-v1.md): one enveloped ``ds:Signature``,
the last child of the root element and the only one in the document, whose ``SignedInfo`` is exactly
exclusive c14n 1.0 (without comments), RSA-SHA256 and one ``Reference URI=""`` with the transforms
enveloped-signature then exclusive c14n and a SHA-256 digest; ``KeyInfo`` holds ``X509Data`` with
``X509Certificate``s only. Nothing else: no ``Id``s, ``Object``s, ``InclusiveNamespaces``, no comments
or processing instructions around the root element.

``verify_enveloped`` answers ``None`` for anything outside the profile and for any failure; the caller
then runs the general verifier (signxml), which decides (and words the rejection) exactly as before.
On success the digest and the signature have both been checked, and the element returned is parsed
from the very canonical bytes that were digested, so no unsigned content (comments included) can reach
the data, as with signxml's ``signed_xml``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def _t(name: str) -> str:
    return f"{{{DS}}}{name}"


SIGNATURE, SIGNED_INFO, SIGNATURE_VALUE, KEY_INFO = (
    _t("Signature"),
    _t("SignedInfo"),
    _t("SignatureValue"),
    _t("KeyInfo"),
)
C14N_METHOD, SIGNATURE_METHOD, REFERENCE = (
    _t("CanonicalizationMethod"),
    _t("SignatureMethod"),
    _t("Reference"),
)
TRANSFORMS, TRANSFORM, DIGEST_METHOD, DIGEST_VALUE = (
    _t("Transforms"),
    _t("Transform"),
    _t("DigestMethod"),
    _t("DigestValue"),
)
X509_DATA, X509_CERTIFICATE = _t("X509Data"), _t("X509Certificate")

# Parsing canonical bytes we produced ourselves from an already safely parsed tree: still no entities,
# no DTD, no network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _c14n(el: etree._Element) -> bytes:
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False)


def _children(el: etree._Element) -> list[etree._Element] | None:
    """Element children, or None if there is any comment, PI or non-blank text/tail in between."""
    if (el.text or "").strip():
        return None
    out = []
    for child in el:
        if not isinstance(child.tag, str) or (child.tail or "").strip():
            return None
        out.append(child)
    return out


def _algorithm_leaf(el: etree._Element, tag: str, algorithm: str) -> bool:
    return (
        el.tag == tag
        and dict(el.attrib) == {"Algorithm": algorithm}
        and len(el) == 0
        and not (el.text or "").strip()
    )


def _b64(text: str | None) -> bytes | None:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (ValueError, binascii.Error):
        return None


def _profile_signed_info(signed_info: etree._Element) -> bytes | None:
    """The expected DigestValue if ``SignedInfo`` is exactly the profile, else None."""
    parts = _children(signed_info)
    if parts is None or len(parts) != 3 or signed_info.attrib:
        return None
    c14n, method, reference = parts
    if not _algorithm_leaf(c14n, C14N_METHOD, EXC_C14N) or not _algorithm_leaf(
        method, SIGNATURE_METHOD, RSA_SHA256
    ):
        return None
    if reference.tag != REFERENCE or dict(reference.attrib) != {"URI": ""}:
        return None
    ref_parts = _children(reference)
    if ref_parts is None or len(ref_parts) != 3:
        return None
    transforms, digest_method, digest_value = ref_parts
    if transforms.tag != TRANSFORMS or transforms.attrib:
        return None
    steps = _children(transforms)
    if steps is None or len(steps) != 2:
        return None
    if not _algorithm_leaf(steps[0], TRANSFORM, ENVELOPED) or not _algorithm_leaf(
        steps[1], TRANSFORM, EXC_C14N
    ):
        return None
    if not _algorithm_leaf(digest_method, DIGEST_METHOD, SHA256):
        return None
    if digest_value.tag != DIGEST_VALUE or digest_value.attrib or len(digest_value):
        return None
    digest = _b64(digest_value.text)
    return digest if digest is not None and len(digest) == 32 else None


def verify_enveloped(root: etree._Element, public_key: Any) -> etree._Element | None:
    """The signed root element (parsed from its canonical form) if the narrow profile applies and both
    the digest and the RSA-SHA256 signature check; None otherwise (the caller falls back)."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        return None
    if root.getprevious() is not None or root.getnext() is not None:  # comments/PIs beside the root
        return None
    if len(root) == 0:
        return None
    signature = root[len(root) - 1]
    if signature.tag != SIGNATURE or signature.attrib or signature.tail is not None:
        return None
    if sum(1 for _ in root.iter(SIGNATURE)) != 1:
        return None
    parts = _children(signature)
    if parts is None or len(parts) != 3:
        return None
    signed_info, value, key_info = parts
    if signed_info.tag != SIGNED_INFO or value.tag != SIGNATURE_VALUE or key_info.tag != KEY_INFO:
        return None
    if value.attrib or len(value) or key_info.attrib:
        return None
    key_parts = _children(key_info)
    if key_parts is None or len(key_parts) != 1 or key_parts[0].tag != X509_DATA or key_parts[0].attrib:
        return None
    certs = _children(key_parts[0])
    if not certs or any(c.tag != X509_CERTIFICATE or c.attrib or len(c) for c in certs):
        return None
    raw_signature = _b64(value.text)
    if raw_signature is None:
        return None
    # 1. the signature over the canonical SignedInfo; the Reference is then read from those bytes
    signed_info_c14n = _c14n(signed_info)
    try:
        public_key.verify(raw_signature, signed_info_c14n, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return None
    try:
        verified_info = etree.fromstring(signed_info_c14n, parser=_PARSER)
    except etree.XMLSyntaxError:
        return None
    expected = _profile_signed_info(verified_info)
    if expected is None:
        return None
    # 2. the digest of the document without its signature (enveloped-signature, then exc-c14n)
    # (the signature, last child without tail, is detached for the c14n and put back as it was)
    root.remove(signature)
    try:
        payload = _c14n(root)
    finally:
        root.append(signature)
    if not hmac.compare_digest(hashlib.sha256(payload).digest(), expected):
        return None
    try:
        return etree.fromstring(payload, parser=_PARSER)
    except etree.XMLSyntaxError:
        return None


# ------------------------------------------------------------------------------- certificate caches
@dataclass(frozen=True)
class CertInfo:
    """The certificates of one KeyInfo, the signer among them and the signer's names (all immutable)."""

    certs: tuple[x509.Certificate, ...]
    signer: x509.Certificate | None  # None: no single leaf (the caller rejects as before)
    public_key: Any
    details: Any  # formats.Signer of the signer (serial, issuer, subject, validity)


_INFO: dict[tuple[str, ...], CertInfo] = {}
_INFO_MAX = 4096


def cert_info_cached(key: tuple[str, ...]) -> CertInfo | None:
    return _INFO.get(key)


def cert_info_store(key: tuple[str, ...], info: CertInfo) -> None:
    if len(_INFO) >= _INFO_MAX:
        _INFO.clear()
    _INFO[key] = info
