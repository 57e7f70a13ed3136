"""Signing an application with the 署名用 certificate so it enters 申請管理 exactly like a ぴったりサービス
package (docs/formats/jpki-bridge.md, docs/formats/pittari-v1.md).

1. ``unsigned_application_xml``: the pittari-v1 ``Application`` element for the portal's data. The server
   sets ``signedAt`` (now, JST) when it builds the document; the bridge only appends the enveloped
   ``ds:Signature``, so the time is under the signature and the server checks it is recent.
2. The bridge signs it (``POST {bridge}/sign``), or, in the demo only, ``server_sign`` signs it with the
   demo card of the logged-in resident.
3. ``signed_application_submit``: checks that the signed document is the one built from ``data`` and
   that the signer is the logged-in resident, builds a pittari-v1 package (manifest + signed XML +
   attachments read from the blob store) and imports it with ``intake.services.package_import``: the
   application, its 受付番号 and the applicant identified by the certificate serial come from there.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from cryptography import x509
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from lxml import etree

from madoguchi.applications.models import Channel
from madoguchi.applications.storage import blob_read
from madoguchi.catalog.models import Procedure
from madoguchi.core.audit import audit_record
from madoguchi.identity.api import PortalIdentity
from madoguchi.identity.errors import IdentityError
from madoguchi.intake.errors import PackageRejected
from madoguchi.intake.formats import Attachment
from madoguchi.intake.formats.pittari_v1 import (
    APPLICATION,
    FORMAT,
    MANIFEST,
    NS,
    Q,
    data_to_items,
    items_to_data,
    zip_write,
)
from madoguchi.intake.pki import serial_text
from madoguchi.intake.safexml import xml_parse
from madoguchi.intake.selectors import certificate_resident_at
from madoguchi.intake.services import ImportResult, package_import

DS = "http://www.w3.org/2000/09/xmldsig#"
JST = dt.timezone(dt.timedelta(hours=9))
SIGNING_WINDOW = dt.timedelta(minutes=30)  # from building the document to submitting it signed
CLOCK_SKEW = dt.timedelta(minutes=5)
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,60}$")
_EXT = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def _is_file_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("sha256"), str) and "filename" in value


def _attachment(ref: Mapping[str, Any], files: dict[str, Attachment]) -> dict[str, str]:
    sha = str(ref["sha256"])
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise IdentityError("signing.malformed", "(添付ファイルの参照)")
    filename = str(ref.get("filename") or "attachment")[:200]
    suffix = PurePosixPath(filename).suffix.lower()
    path = f"attachments/{sha[:32]}{suffix if _EXT.match(suffix) else ''}"
    if path not in files:
        files[path] = Attachment(ref=path, filename=filename, mime=str(ref.get("mime") or ""), content=blob_read(sha))
    return {"$ref": path}


def _plain(value: Any, files: dict[str, Attachment]) -> Any:
    if _is_file_ref(value):
        return _attachment(value, files)
    if isinstance(value, Mapping):
        return {str(k): _plain(v, files) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v, files) for v in value if v is not None]
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def package_data(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Attachment]]:
    """The portal's data as pittari-v1 items (file refs → ``{"$ref": path}``) and the attachments."""
    files: dict[str, Attachment] = {}
    items = {str(k): _plain(v, files) for k, v in data.items() if v is not None}
    return items, files


def unsigned_application_xml(
    *, procedure: Procedure, form_version: int, data: Mapping[str, Any], external_id: str
) -> bytes:
    """The ``Application`` element to be signed (UTF-8, ``signedAt`` = now in JST, set by the server)."""
    if not _ID.match(external_id):
        raise ValueError(f"external_id must match {_ID.pattern}")
    items, files = package_data(data)
    root = etree.Element(
        f"{Q}Application",
        nsmap={None: NS},
        procedureId=procedure.code,
        formVersion=str(form_version),
        applicationId=external_id,
        signedAt=timezone.now().astimezone(JST).replace(microsecond=0).isoformat(),
    )
    data_to_items(root, items, files)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def server_sign(*, identity: PortalIdentity, xml: bytes) -> bytes:
    """Demo only: sign as the demo card of the logged-in resident (refused outside DEMO_MODE and tests)."""
    from madoguchi.identity.demo import demo_card
    from madoguchi.identity.pki import xml_sign

    allowed = getattr(settings, "DEMO_MODE", False) or getattr(settings, "MADOGUCHI_ENV", "") == "test"
    if not allowed or getattr(settings, "PRODUCTION", False):
        raise IdentityError("signing.not_allowed")
    if not identity.has_card or identity.resident_id is None:
        raise IdentityError("signing.card_required")
    card = demo_card(resident_id=identity.resident_id)
    if card is None:
        raise IdentityError("signing.signer_unknown", "(デモ用カードがありません)")
    return xml_sign(xml, key=card.sign_key, cert=card.sign_cert, chain=card.chain)


def _refuse(code: str, *, identity: PortalIdentity, procedure: Procedure, detail: dict[str, Any]) -> IdentityError:
    with transaction.atomic():
        audit_record(
            actor=identity.actor().label,
            action="identity.signing_refused",
            municipality_code=procedure.municipality.code,
            object_type="procedure",
            object_id=procedure.code,
            detail={"code": code, **detail},
        )
    return IdentityError(code)


def _signer(root: etree._Element) -> x509.Certificate:
    """The leaf certificate in KeyInfo (the one that issued none of the others). Only used to tell who
    signed; the importer verifies the chain and the signature."""
    certs = []
    for el in root.iterfind(f"./{{{DS}}}Signature//{{{DS}}}X509Certificate"):
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode("".join((el.text or "").split()))))
        except (ValueError, binascii.Error):
            raise IdentityError("signing.malformed", "(証明書)") from None
    leaves = [c for c in certs if not any(o.issuer == c.subject and o is not c for o in certs)]
    if len(leaves) != 1:
        raise IdentityError("signing.missing" if not certs else "signing.malformed")
    return leaves[0]


def _items(root: etree._Element) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    refs: dict[str, dict[str, str]] = {}
    return items_to_data(root, refs), refs


def signed_application_submit(
    *,
    identity: PortalIdentity,
    procedure: Procedure,
    signed_xml: bytes,
    data: Mapping[str, Any],
    external_id: str,
) -> ImportResult:
    """Import an application signed with the 署名用 certificate as a pittari-v1 package.

    Raises ``IdentityError`` (signing.*) when the document is not the one built from ``data``, is too old,
    or was not signed by the logged-in resident; returns the ``ImportResult`` otherwise (accepted with
    the 受付番号, duplicate, or rejected with the intake code and message for the resident)."""
    if not identity.has_card or identity.resident_id is None:
        raise IdentityError("signing.card_required")
    if not signed_xml:
        raise IdentityError("signing.missing")
    try:
        root = xml_parse(signed_xml)
    except PackageRejected:
        raise IdentityError("signing.malformed") from None
    if (
        root.tag != f"{Q}Application"
        or root.get("procedureId") != procedure.code
        or root.get("applicationId") != external_id
        or not re.fullmatch(r"\d{1,6}", root.get("formVersion") or "")
    ):
        raise IdentityError("signing.mismatch")
    now = timezone.now()
    try:
        signed_at = dt.datetime.fromisoformat(root.get("signedAt") or "")
    except ValueError:
        raise IdentityError("signing.malformed") from None
    if signed_at.tzinfo is None or not (now - SIGNING_WINDOW <= signed_at <= now + CLOCK_SKEW):
        raise IdentityError("signing.stale")
    form_version = int(root.get("formVersion") or 0)
    items, files = package_data(data)
    expected = etree.Element(f"{Q}Application", nsmap={None: NS})
    data_to_items(expected, items, files)
    try:
        if _items(root) != _items(expected):
            raise IdentityError("signing.mismatch")
    except PackageRejected:
        raise IdentityError("signing.malformed") from None
    signer = _signer(root)
    serial = serial_text(signer.serial_number)
    answer = certificate_resident_at(
        municipality=procedure.municipality, serial=serial, issuer=signer.issuer.rfc4514_string(), at=signed_at
    )
    if answer.resident is None:
        raise _refuse("signing.signer_unknown", identity=identity, procedure=procedure,
                      detail={"serial": serial, "review": answer.code})
    if answer.resident.pk != identity.resident_id:
        raise _refuse("signing.signer_mismatch", identity=identity, procedure=procedure, detail={"serial": serial})
    members = {APPLICATION: signed_xml, **{path: att.content for path, att in files.items()}}
    manifest = {
        "format": FORMAT,
        "format_version": 1,
        "procedure_id": procedure.code,
        "form_version": form_version,
        "application_id": external_id,
        "municipality": procedure.municipality.code,
        "sent_at": now.astimezone(JST).isoformat(),
        "files": [{"path": name, "sha256": hashlib.sha256(b).hexdigest(), "size": len(b)}
                  for name, b in members.items()],
    }
    content = zip_write({MANIFEST: json.dumps(manifest, ensure_ascii=False, indent=1).encode(), **members})
    return package_import(
        content=content, filename=f"portal-{external_id}.zip", municipality=procedure.municipality, quarantine=False,
        channel=Channel.ONLINE,  # signed like a ぴったり package, but it came through our own portal
    )
