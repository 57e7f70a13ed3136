"""ぴったり互換パッケージ v1 (docs/formats/pittari-v1.md): a zip with manifest.json, application.xml
(enveloped XML-DSig, RSA-SHA256, signer certificate in KeyInfo) and attachments."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import json
import re
import stat
import zipfile
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import XMLSigner, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration

from madoguchi.intake.errors import PackageRejected
from madoguchi.intake.fastsig import CertInfo, cert_info_cached, cert_info_store, verify_enveloped
from madoguchi.intake.formats import Attachment, IntakeFormat, IntakePackage, Signer, formats
from madoguchi.intake.pki import TrustStore, cert_pem, serial_text, trust_store
from madoguchi.intake.safexml import xml_parse
from madoguchi.intake.safezip import ZipLimits, zip_read

FORMAT = "pittari-v1"
NS = "urn:madoguchi:pittari:v1"
DS = "http://www.w3.org/2000/09/xmldsig#"
Q = f"{{{NS}}}"
MANIFEST = "manifest.json"
APPLICATION = "application.xml"
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,60}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _when(value: Any, what: str) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise PackageRejected("manifest.invalid", f"({what})") from None
    if at.tzinfo is None:
        raise PackageRejected("manifest.invalid", f"({what} にタイムゾーンがありません)")
    return at


# ------------------------------------------------------------------------------- manifest
def manifest_parse(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PackageRejected("manifest.invalid", "(JSON として読めません)") from None
    if not isinstance(manifest, dict):
        raise PackageRejected("manifest.invalid")
    if manifest.get("format") != FORMAT or manifest.get("format_version") != 1:
        raise PackageRejected("manifest.format_unsupported", f"({str(manifest.get('format'))[:30]})")
    for key in ("procedure_id", "application_id", "municipality"):
        if not isinstance(manifest.get(key), str) or not _ID.match(manifest[key]):
            raise PackageRejected("manifest.invalid", f"({key})")
    if not isinstance(manifest.get("form_version"), int) or isinstance(manifest["form_version"], bool):
        raise PackageRejected("manifest.invalid", "(form_version)")
    manifest["sent_at"] = _when(manifest.get("sent_at"), "sent_at")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise PackageRejected("manifest.invalid", "(files)")
    for f in files:
        if not (isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("sha256"), str)):
            raise PackageRejected("manifest.invalid", "(files)")
        if not _SHA.match(f["sha256"]):
            raise PackageRejected("manifest.invalid", "(sha256)")
    return manifest


def _check_hashes(manifest: Mapping[str, Any], members: Mapping[str, bytes]) -> None:
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    for required in (APPLICATION,):
        if required not in members:
            raise PackageRejected("zip.missing_entry", f"({required})")
        if required not in listed:
            raise PackageRejected("manifest.invalid", f"({required} の記載がありません)")
    for name in members:
        if name != MANIFEST and name not in listed:
            raise PackageRejected("zip.unexpected_entry", f"({name[:60]})")
    for name, digest in listed.items():
        if name not in members:
            raise PackageRejected("zip.missing_entry", f"({name[:60]})")
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise PackageRejected("manifest.hash_mismatch", f"({name[:60]})")


# ------------------------------------------------------------------------------- XML ⇄ data
def _text(el: etree._Element) -> str:
    return el.text or ""


def items_to_data(parent: etree._Element, refs: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The data dict from ``<Item>`` children (see the format document for the shapes)."""
    out: dict[str, Any] = {}
    for el in parent:
        if not isinstance(el.tag, str) or el.tag == f"{{{DS}}}Signature":
            continue
        if el.tag != f"{Q}Item":
            raise PackageRejected("xml.structure", f"(予期しない要素 {etree.QName(el).localname[:30]})")
        key = el.get("id", "")
        if not _ID.match(key) or key in out:
            raise PackageRejected("xml.structure", f"(項目ID {key[:30]!r})")
        kind = el.get("type", "string")
        if kind in {"list", "group", "file", "files"} and (el.text or "").strip():
            raise PackageRejected("xml.structure", f"({key}: 値の形式)")
        if kind == "string":
            if len(el):
                raise PackageRejected("xml.structure", f"({key}: 文字列に子要素があります)")
            out[key] = _text(el)
        elif kind == "number":
            raw = _text(el).strip()
            try:
                out[key] = int(raw) if re.fullmatch(r"-?\d{1,15}", raw) else float(raw)
            except ValueError:
                raise PackageRejected("xml.structure", f"({key}: 数値)") from None
        elif kind == "boolean":
            raw = _text(el).strip()
            if raw not in {"true", "false"}:
                raise PackageRejected("xml.structure", f"({key}: 真偽値)")
            out[key] = raw == "true"
        elif kind == "list":
            values = [v for v in el if isinstance(v.tag, str)]
            if any(v.tag != f"{Q}Value" or len(v) for v in values):
                raise PackageRejected("xml.structure", f"({key}: 一覧)")
            out[key] = [_text(v) for v in values]
        elif kind == "group":
            entries = [e for e in el if isinstance(e.tag, str)]
            if any(e.tag != f"{Q}Entry" for e in entries):
                raise PackageRejected("xml.structure", f"({key}: 繰り返し)")
            out[key] = [items_to_data(e, refs) for e in entries]
        elif kind in {"file", "files"}:
            files = [f for f in el if isinstance(f.tag, str)]
            if any(f.tag != f"{Q}File" for f in files) or (kind == "file" and len(files) != 1):
                raise PackageRejected("xml.structure", f"({key}: 添付ファイル)")
            values = []
            for f in files:
                ref = f.get("ref", "")
                digest = f.get("sha256", "")
                if not ref.startswith("attachments/") or not _SHA.match(digest):
                    raise PackageRejected("xml.structure", f"({key}: 添付ファイルの参照)")
                refs[ref] = {"sha256": digest, "name": f.get("name") or ref.rsplit("/", 1)[-1],
                             "mime": f.get("mime", "")}
                values.append({"$ref": ref})
            out[key] = values[0] if kind == "file" else values
        else:
            raise PackageRejected("xml.structure", f"({key}: 型 {kind[:20]})")
    return out


def data_to_items(parent: etree._Element, data: Mapping[str, Any], files: Mapping[str, Attachment]) -> None:
    """Inverse of items_to_data. File values are ``{"$ref": path}`` (or a list of them)."""
    for key, value in data.items():
        el = etree.SubElement(parent, f"{Q}Item", id=key)
        if isinstance(value, bool):
            el.set("type", "boolean")
            el.text = "true" if value else "false"
        elif isinstance(value, int | float):
            el.set("type", "number")
            el.text = str(value)
        elif isinstance(value, dict) and "$ref" in value:
            el.set("type", "file")
            _file(el, files[value["$ref"]])
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "$ref" in v for v in value):
            el.set("type", "files")
            for v in value:
                _file(el, files[v["$ref"]])
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            el.set("type", "group")
            for entry in value:
                data_to_items(etree.SubElement(el, f"{Q}Entry"), entry, files)
        elif isinstance(value, list):
            el.set("type", "list")
            for v in value:
                etree.SubElement(el, f"{Q}Value").text = str(v)
        else:
            el.text = str(value)


def _file(parent: etree._Element, att: Attachment) -> None:
    etree.SubElement(
        parent, f"{Q}File", ref=att.ref, name=att.filename, mime=att.mime,
        sha256=hashlib.sha256(att.content).hexdigest(), size=str(len(att.content)),
    )


# ------------------------------------------------------------------------------- signature
def _cert_info(root: etree._Element) -> CertInfo:
    """The KeyInfo certificates and the signer among them; parsed once per distinct KeyInfo (cached)."""
    sigs = root.findall(f"{{{DS}}}Signature")
    if len(sigs) != 1:
        raise PackageRejected("signature.missing" if not sigs else "signature.invalid")
    texts = tuple("".join((el.text or "").split()) for el in sigs[0].iterfind(f".//{{{DS}}}X509Certificate"))
    info = cert_info_cached(texts)
    if info is None:
        certs = []
        for text in texts:
            try:
                certs.append(x509.load_der_x509_certificate(base64.b64decode(text)))
            except (ValueError, binascii.Error):
                raise PackageRejected("certificate.invalid") from None
        if not certs:
            raise PackageRejected("certificate.invalid", "(X509Certificate がありません)")
        leaves = [c for c in certs if not any(o.issuer == c.subject and o is not c for o in certs)]
        signer = leaves[0] if len(leaves) == 1 else None
        info = CertInfo(
            certs=tuple(certs),
            signer=signer,
            public_key=signer.public_key() if signer is not None else None,
            details=Signer(
                serial=serial_text(signer.serial_number),
                issuer=signer.issuer.rfc4514_string(),
                subject=signer.subject.rfc4514_string(),
                not_before=signer.not_valid_before_utc,
                not_after=signer.not_valid_after_utc,
            ) if signer is not None else None,
        )
        cert_info_store(texts, info)
    if info.signer is None:
        raise PackageRejected("certificate.invalid", "(署名者の証明書を特定できません)")
    return info


def signature_verify(
    root: etree._Element, *, trust: TrustStore, signed_at: dt.datetime
) -> tuple[etree._Element, x509.Certificate]:
    """Check the chain at the signing time, then the XML-DSig; return (signed element, signer cert)."""
    signed, info = _signature_verify(root, trust=trust, signed_at=signed_at)
    assert info.signer is not None
    return signed, info.signer


def _signature_verify(
    root: etree._Element, *, trust: TrustStore, signed_at: dt.datetime
) -> tuple[etree._Element, CertInfo]:
    info = _cert_info(root)
    signer = info.signer
    assert signer is not None
    trust.verify(signer, chain=[c for c in info.certs if c is not signer], at=signed_at)
    # the narrow profile (intake.fastsig) first; anything else, and any failure, by signxml as before
    signed = verify_enveloped(root, info.public_key)
    if signed is None:
        signed = _signxml_verify(root, signer=signer, signed_at=signed_at)
    if signed is None or signed.tag != f"{Q}Application":
        raise PackageRejected("signature.invalid", "(署名対象が申請全体ではありません)")
    return signed, info


def _signxml_verify(root: etree._Element, *, signer: x509.Certificate, signed_at: dt.datetime) -> Any:
    config = SignatureConfiguration(
        require_x509=True,
        location="./",
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        verification_time=signed_at,
    )
    try:
        result = XMLVerifier().verify(root, x509_cert=signer, expect_config=config)
    except (InvalidSignature, InvalidInput) as exc:
        raise PackageRejected("signature.invalid", f"({type(exc).__name__})") from None
    except Exception as exc:
        raise PackageRejected("signature.invalid", f"({type(exc).__name__})") from None
    assert not isinstance(result, list)
    return result.signed_xml


def _read_root(members: Mapping[str, bytes]) -> etree._Element:
    root = xml_parse(members[APPLICATION])
    if root.tag != f"{Q}Application":
        raise PackageRejected("xml.structure", "(ルート要素は Application)")
    return root


# ------------------------------------------------------------------------------- the plugin
@formats.register(FORMAT)
class PittariV1(IntakeFormat):
    verbose_name = "ぴったり互換パッケージ v1"
    suffixes = (".zip",)
    limits = ZipLimits()

    def check_config(self) -> list[str]:
        return trust_store().check_config()

    def parse_only(self, content: bytes) -> etree._Element:
        """Unzip and parse the XML only (the benchmark's ceiling)."""
        members = zip_read(content, limits=self.limits)
        manifest_parse(members.get(MANIFEST, b""))
        return _read_root(members)

    def read(self, content: bytes, *, trust: TrustStore | None = None) -> IntakePackage:
        members = zip_read(content, limits=self.limits)
        if MANIFEST not in members:
            raise PackageRejected("zip.missing_entry", f"({MANIFEST})")
        manifest = manifest_parse(members[MANIFEST])
        _check_hashes(manifest, members)
        root = _read_root(members)
        signed_at = root.get("signedAt")
        if not signed_at:
            raise PackageRejected("signing_time.invalid")
        try:
            at = dt.datetime.fromisoformat(signed_at)
        except ValueError:
            raise PackageRejected("signing_time.invalid") from None
        if at.tzinfo is None or at > manifest["sent_at"] + dt.timedelta(minutes=5):
            raise PackageRejected("signing_time.invalid")
        signed, info = _signature_verify(root, trust=trust or trust_store(), signed_at=at)
        if signed.get("procedureId") != manifest["procedure_id"] or signed.get("applicationId") != manifest[
            "application_id"
        ] or signed.get("formVersion") != str(manifest["form_version"]):
            raise PackageRejected("manifest.invalid", "(manifest.json と application.xml の記載が一致しません)")
        refs: dict[str, dict[str, str]] = {}
        data = items_to_data(signed, refs)
        attachments = {}
        for ref, meta in refs.items():
            content_bytes = members.get(ref)
            if content_bytes is None:
                raise PackageRejected("attachment.missing", f"({ref[:60]})")
            if hashlib.sha256(content_bytes).hexdigest() != meta["sha256"]:
                raise PackageRejected("attachment.hash_mismatch", f"({ref[:60]})")
            attachments[ref] = Attachment(ref=ref, filename=meta["name"][:200], mime=meta["mime"],
                                          content=content_bytes)
        return IntakePackage(
            format_key=FORMAT,
            package_sha256=hashlib.sha256(content).hexdigest(),
            external_id=manifest["application_id"],
            procedure_code=manifest["procedure_id"],
            form_version=manifest["form_version"],
            municipality_code=manifest["municipality"],
            sent_at=manifest["sent_at"],
            signed_at=at,
            data=data,
            attachments=attachments,
            signer=info.details,
        )


# ------------------------------------------------------------------------------- building (samples, tests)
def package_build(
    *,
    procedure_code: str,
    form_version: int,
    external_id: str,
    municipality_code: str,
    data: Mapping[str, Any],
    attachments: Mapping[str, Attachment],
    signer_cert: x509.Certificate,
    signer_key: rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
    sent_at: dt.datetime,
    signed_at: dt.datetime | None = None,
    encoding: str = "UTF-8",
    tamper: Any = None,
) -> bytes:
    """A signed pittari-v1 package. ``tamper(root)`` may change the tree after signing (tests)."""
    root = etree.Element(
        f"{Q}Application",
        nsmap={None: NS},
        procedureId=procedure_code,
        formVersion=str(form_version),
        applicationId=external_id,
        signedAt=(signed_at or sent_at).isoformat(),
    )
    data_to_items(root, data, attachments)
    signed = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    ).sign(root, key=signer_key, cert=[cert_pem(signer_cert).decode(), *(cert_pem(c).decode() for c in chain)])
    if tamper is not None:
        tamper(signed)
    xml = etree.tostring(signed, xml_declaration=True, encoding=encoding)
    files = {APPLICATION: xml, **{a.ref: a.content for a in attachments.values()}}
    manifest = {
        "format": FORMAT,
        "format_version": 1,
        "procedure_id": procedure_code,
        "form_version": form_version,
        "application_id": external_id,
        "municipality": municipality_code,
        "sent_at": sent_at.isoformat(),
        "files": [{"path": name, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                  for name, b in files.items()],
    }
    return zip_write({MANIFEST: json.dumps(manifest, ensure_ascii=False, indent=1).encode(), **files})


def zip_write(members: Mapping[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, content)
    return buf.getvalue()
