"""Writes for intake. Keyword-only, typed; one transaction per package (application, attachments,
history, import record and audit rows commit together or not at all)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from madoguchi.applications.models import Application, Channel
from madoguchi.applications.services import SubmitContext, application_submit
from madoguchi.applications.storage import attachment_check, blob_store
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.catalog.schema import parse_definition, validate_submission
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import AttachmentRejected, MadoguchiError, PermissionDeniedError, ValidationFailed
from madoguchi.core.models import Municipality
from madoguchi.core.scope import Actor
from madoguchi.intake.errors import REJECTION_CODES, PackageRejected
from madoguchi.intake.formats import IntakePackage, format_get
from madoguchi.intake.models import CertificateLink, CertificateLinkEvent, PackageImport, QuarantinedPackage
from madoguchi.intake.pki import serial_normalize
from madoguchi.intake.selectors import QUARANTINE_ROLES, LinkAnswer, certificate_resident_at

logger = logging.getLogger("madoguchi.intake")
ACTOR_LABEL = "pittari"


@dataclass(frozen=True)
class ImportResult:
    outcome: str  # accepted | duplicate | rejected
    filename: str
    reception_number: str = ""
    code: str = ""
    message: str = ""
    application_id: int | None = None

    def line(self) -> str:
        if self.outcome == "rejected":
            return f"rejected {self.code} {self.filename}: {self.message}"
        return f"{self.outcome} {self.reception_number} {self.filename}"


def quarantine_dir() -> Path:
    return Path(settings.DATA_DIR) / "quarantine"


# ----------------------------------------------------------------------------- package import
class ImportCache:
    """Look-ups shared by the packages of one import run (the command and the bench make one per run).

    Kept for the whole run: form versions by id (immutable) with their parsed definitions, and
    procedures, which are checked for every package against their row versions (one query, see
    ``_procedure_row``) and reloaded when changed. Municipalities by code are kept ``ttl`` seconds
    (a miss is never cached). Not shared between processes or threads; without one nothing is cached.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._items: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[Any, ...], load: Callable[[], Any], *, ttl: float | None = None) -> Any:
        now = time.monotonic()
        hit = self._items.get(key)
        limit = self.ttl if ttl is None else ttl
        if hit is not None and now - hit[0] < limit:
            return hit[1]
        value = load()
        self._items[key] = (now, value)
        return value


_FOREVER = float("inf")


# With a cache on PostgreSQL: one light query per package says which procedure row is meant, whether
# it, its department or its municipality changed since it was cached (xmin: the transaction that wrote
# the row version) and which form is current; the Procedure object is rebuilt only when a row changed.
_PROCEDURE_STAMP_SQL = """
SELECT p.id, p.xmin::text, d.xmin::text, m.xmin::text,
       (SELECT f.id FROM catalog_formversion f WHERE f.procedure_id = p.id AND f.published
        ORDER BY f.version DESC LIMIT 1), p.code
  FROM catalog_procedure p
  JOIN core_department d ON d.id = p.department_id
  JOIN core_municipality m ON m.id = p.municipality_id
 WHERE p.municipality_id = %s AND p.code = ANY(%s)
"""


def _procedure_row(
    package: IntakePackage, municipality: Municipality, cache: ImportCache | None
) -> tuple[Procedure | None, int | None]:
    """The procedure (with department and municipality) and the id of its current form, as the
    database has them now."""
    return _procedure_rows(municipality, [package.procedure_code], cache)[package.procedure_code]


def _procedure_rows(
    municipality: Municipality, codes: list[str], cache: ImportCache | None
) -> dict[str, tuple[Procedure | None, int | None]]:
    """``_procedure_row`` for several procedure codes at once (the batch importer: one query)."""
    if cache is None or connection.vendor != "postgresql":
        out: dict[str, tuple[Procedure | None, int | None]] = {}
        for code in codes:
            current = FormVersion.objects.filter(procedure=OuterRef("pk"), published=True).order_by("-version")
            found = list(
                Procedure.objects.select_related("department", "municipality")
                .annotate(current_form_id=Subquery(current.values("pk")[:1]))
                .filter(municipality=municipality, code=code)  # unique: procedure_code_unique
                .order_by()[:1]
            )
            out[code] = (found[0], found[0].current_form_id) if found else (None, None)  # type: ignore[attr-defined]
        return out
    with connection.cursor() as cursor:
        cursor.execute(_PROCEDURE_STAMP_SQL, [municipality.pk, list(codes)])
        fetched = {row[5]: row for row in cursor.fetchall()}
    result: dict[str, tuple[Procedure | None, int | None]] = {}
    for code in codes:
        row = fetched.get(code)
        if row is None:
            result[code] = (None, None)
            continue
        pk, stamp, form_id = row[0], tuple(row[1:4]), row[4]

        def load(pk: int = pk, stamp: tuple[str, ...] = stamp) -> tuple[tuple[str, ...], Procedure]:
            return stamp, Procedure.objects.select_related("department", "municipality").get(pk=pk)

        key = ("procedure", pk)
        cached = cache.get(key, load, ttl=_FOREVER)
        if cached[0] != stamp:
            cached = cache.get(key, load, ttl=0)
        result[code] = (cached[1], form_id)
    return result


def _procedure(
    package: IntakePackage,
    municipality: Municipality,
    cache: ImportCache | None = None,
    rows: dict[tuple[int, str], tuple[Procedure | None, int | None]] | None = None,
) -> tuple[Procedure, SubmitContext]:
    """The procedure and its current form, checked against the database for every package; with a
    cache, unchanged rows, the form (immutable) and its parsed definition are not fetched again.
    ``rows`` (the batch importer: one per batch) keeps the procedure row read for the batch."""
    if rows is None:
        procedure, form_id = _procedure_row(package, municipality, cache)
    else:
        key = (municipality.pk, package.procedure_code)
        if key not in rows:
            rows[key] = _procedure_row(package, municipality, cache)
        procedure, form_id = rows[key]
    if procedure is None:
        raise PackageRejected("procedure.unknown", f"({package.procedure_code})")
    if not procedure.is_active:
        raise PackageRejected("procedure.inactive", f"({package.procedure_code})")

    def load_form(pk: int) -> tuple[FormVersion, Any]:
        form = FormVersion.objects.get(pk=pk)
        return form, parse_definition(form.definition)

    form, definition = None, None
    if form_id is not None:
        fid: int = form_id
        if cache is not None:
            form, definition = cache.get(("form", fid), lambda: load_form(fid), ttl=_FOREVER)
        else:
            form, definition = load_form(fid)
    if form is None or form.version != package.form_version:
        raise PackageRejected(
            "procedure.version_unknown",
            f"(受信 v{package.form_version}, 公開中 v{form.version if form else '-'})",
        )
    return procedure, SubmitContext(procedure_id=procedure.pk, form=form, definition=definition)


def _with_refs(value: Any, refs: Mapping[str, dict[str, Any]]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            return refs[value["$ref"]]
        return {k: _with_refs(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_refs(v, refs) for v in value]
    return value


def _check(package: IntakePackage, context: SubmitContext) -> dict[str, dict[str, Any]]:
    """Everything that can be refused before writing: attachment types/sizes and the form schema."""
    return _check_cleaned(package, context)[0]


def _check_cleaned(
    package: IntakePackage, context: SubmitContext
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``_check``, also returning the cleaned data (validated with the package's file references)."""
    refs: dict[str, dict[str, Any]] = {}
    for ref, att in package.attachments.items():
        try:
            mime = attachment_check(content=att.content, filename=att.filename, declared_mime=att.mime or None)
        except AttachmentRejected as exc:
            raise PackageRejected("attachment.rejected", f"({exc.code}: {ref[:60]})") from None
        refs[ref] = {"sha256": hashlib.sha256(att.content).hexdigest(), "filename": att.filename,
                     "mime": mime, "size": len(att.content)}
    result = validate_submission(
        context.definition, _with_refs(package.data, refs), today=timezone.localtime(package.sent_at).date()
    )
    if not result.ok:  # paths and codes only: values may be personal data (個人番号 included)
        paths = ", ".join(f"{e.path}:{e.code}" for e in result.errors[:5])
        raise PackageRejected("form.invalid", f"({paths})", details=result.errors)
    return refs, result.cleaned


def _lock_key(key: str) -> None:
    """Serialise concurrent imports of the same package (PostgreSQL advisory lock, transaction-scoped)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _municipality_by_code(code: str, cache: ImportCache | None) -> Municipality | None:
    def load() -> Municipality | None:
        return Municipality.objects.filter(code=code).first()

    if cache is None:
        return load()
    found: Municipality | None = cache.get(("municipality", code), load)
    return found if found is not None else cache.get(("municipality", code), load, ttl=0)  # a miss: ask again


def _municipality(
    package: IntakePackage, expected: Municipality | None, cache: ImportCache | None = None
) -> Municipality:
    if expected is not None:
        if package.municipality_code != expected.code:
            raise PackageRejected("municipality.mismatch", f"({package.municipality_code} ≠ {expected.code})")
        return expected
    municipality = _municipality_by_code(package.municipality_code, cache)
    if municipality is None:
        raise PackageRejected("municipality.unknown", f"({package.municipality_code})")
    return municipality


def package_import(
    *,
    content: bytes,
    filename: str,
    municipality: Municipality | None = None,
    format_key: str = "pittari-v1",
    quarantine: bool = True,
    source_path: Path | None = None,
    cache: ImportCache | None = None,
    channel: str = Channel.PITTARI,
) -> ImportResult:
    """Check one package and store it as an application, or refuse it (and quarantine it).

    ``cache`` (one ``ImportCache`` per run) saves the look-ups that do not change between packages.
    ``channel``: ぴったりサービス by default; the resident portal imports its card-signed applications
    the same way as ``online``."""
    fmt = format_get(format_key)
    name = Path(filename).name
    try:
        package = fmt.read(content)
        target = _municipality(package, municipality, cache)
        procedure, context = _procedure(package, target, cache)
        refs = _check(package, context)
        return _accept(package=package, procedure=procedure, context=context, refs=refs, filename=name,
                       channel=channel)
    except PackageRejected as exc:
        logger.info("intake.rejected", extra={"code": exc.code, "file": name})
        if quarantine:
            quarantine_store(content=content, filename=name, error=exc, municipality=municipality,
                             source_path=source_path)
        return ImportResult("rejected", name, code=exc.code, message=exc.message)


def _accept(
    *,
    package: IntakePackage,
    procedure: Procedure,
    context: SubmitContext,
    refs: Mapping[str, dict[str, Any]],
    filename: str,
    channel: str = Channel.PITTARI,
) -> ImportResult:
    key = package.idempotency_key
    actor = Actor.system(ACTOR_LABEL)
    with transaction.atomic():
        _lock_key(f"{procedure.municipality_id}:{key}")
        existing = (
            Application.objects.filter(municipality_id=procedure.municipality_id, idempotency_key=key)
            .values_list("id", "reception_number")
            .first()
        )
        if existing is not None:
            return ImportResult("duplicate", filename, reception_number=existing[1], application_id=existing[0])
        stored = {}
        for ref, att in package.attachments.items():
            stored[ref] = blob_store(
                content=att.content, filename=att.filename, declared_mime=refs[ref]["mime"]
            ).as_reference()
        answer = None
        if package.signer is not None:
            answer = certificate_resident_at(
                municipality=procedure.municipality,
                serial=package.signer.serial,
                issuer=package.signer.issuer,
                at=package.signed_at,
            )
        try:
            application = application_submit(
                procedure=procedure,
                data=_with_refs(package.data, stored),
                channel=channel,
                actor=actor,
                applicant=answer.resident if answer else None,
                idempotency_key=key,
                submitted_at=package.sent_at,
                needs_review=answer.needs_review if answer else "【identify.unknown】署名者の情報がありません。",
                context=context,
                idempotency_checked=True,  # looked up above, under the advisory lock
            )
        except ValidationFailed as exc:
            code = exc.code if exc.code in REJECTION_CODES else "form.invalid"
            raise PackageRejected(code, f"({exc.code})", details=exc.details) from None
        package_record(package, municipality_id=procedure.municipality_id, application_id=application.pk).save(
            force_insert=True
        )
        QuarantinedPackage.objects.filter(package_sha256=package.package_sha256, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_application=application
        )
        audit_record(
            actor=actor.label,
            action="intake.package_accepted",
            municipality_code=procedure.municipality.code,
            object_type="application",
            object_id=application.reception_number,
            detail=accepted_detail(package, answer),
        )
    return ImportResult("accepted", filename, reception_number=application.reception_number,
                        application_id=application.pk)


def package_record(package: IntakePackage, *, municipality_id: int, application_id: int) -> PackageImport:
    """The import record of an accepted package (unsaved; ``package_import`` and the batch importer)."""
    return PackageImport(
        municipality_id=municipality_id,
        application_id=application_id,
        format_key=package.format_key,
        external_id=package.external_id,
        package_sha256=package.package_sha256,
        signer_serial=package.signer.serial if package.signer else "",
        signer_issuer=package.signer.issuer[:300] if package.signer else "",
        signed_at=package.signed_at,
        sent_at=package.sent_at,
    )


def accepted_detail(package: IntakePackage, answer: LinkAnswer | None) -> dict[str, Any]:
    """The detail of the ``intake.package_accepted`` audit row."""
    return {
        "format": package.format_key,
        "external_id": package.external_id,
        "package_sha256": package.package_sha256,
        "signer_serial": package.signer.serial if package.signer else "",
        "identified": bool(answer and answer.resident),
        "review": answer.code if answer else "identify.unknown",
    }


def municipality_unknown(filename: str, code: str) -> ImportResult:
    return ImportResult("rejected", filename, code="municipality.unknown",
                        message=f"団体コード {code} の自治体は登録されていません。")


def unreadable(filename: str, exc: OSError) -> ImportResult:
    return ImportResult("rejected", filename, code="package.unreadable",
                        message=f"ファイルを読めません ({type(exc).__name__})。")


def package_import_path(
    *,
    path: str | Path,
    municipality_code: str | None = None,
    quarantine: bool = True,
    cache: ImportCache | None = None,
) -> ImportResult:
    """Import one file by path (used by the command and by Celery tasks)."""
    path = Path(path)
    municipality = None
    if municipality_code:
        municipality = _municipality_by_code(municipality_code, cache)
        if municipality is None:
            return municipality_unknown(path.name, municipality_code)
    try:
        content = path.read_bytes()
    except OSError as exc:
        return unreadable(path.name, exc)
    return package_import(content=content, filename=path.name, municipality=municipality,
                          quarantine=quarantine, source_path=path, cache=cache)


# ----------------------------------------------------------------------------- quarantine
def _peek_municipality(content: bytes) -> Municipality | None:
    from madoguchi.intake.safezip import zip_read

    try:
        manifest = json.loads(zip_read(content).get("manifest.json", b"{}"))
        code = str(manifest.get("municipality", ""))
    except (MadoguchiError, ValueError, AttributeError):
        return None
    return Municipality.objects.filter(code=code).first() if code else None


def _atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.replace(tmp, path)


def quarantine_store(
    *,
    content: bytes,
    filename: str,
    error: MadoguchiError,
    municipality: Municipality | None = None,
    source_path: Path | None = None,
) -> QuarantinedPackage:
    """Keep a refused package and its reason file under DATA_DIR/quarantine/, with a row and audit."""
    digest = hashlib.sha256(content).hexdigest()
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[-80:] or "package.zip"
    owner = municipality or _peek_municipality(content)
    folder = quarantine_dir() / (owner.code if owner else "unknown")
    target = folder / f"{digest[:16]}-{safe}"
    if not target.exists():
        _atomic_write(target, content)
    reason = {"code": error.code, "message": error.message, "file": filename,
              "source": str(source_path or ""), "at": timezone.now().isoformat(), "sha256": digest}
    _atomic_write(target.with_name(target.name + ".reason.json"),
                  json.dumps(reason, ensure_ascii=False, indent=1).encode())
    with transaction.atomic():
        item, created = QuarantinedPackage.objects.select_for_update().get_or_create(
            package_sha256=digest,
            defaults={"municipality": owner, "filename": filename[:255], "stored_path": str(target),
                      "code": error.code, "message": error.message},
        )
        if not created:
            item.code, item.message, item.attempts = error.code, error.message, item.attempts + 1
            item.resolved_at = None
            item.save(update_fields=["code", "message", "attempts", "resolved_at"])
        audit_record(
            actor=ACTOR_LABEL,
            action="intake.package_rejected",
            municipality_code=owner.code if owner else "",
            object_type="quarantine",
            object_id=item.pk,
            detail={"code": error.code, "file": filename[:120], "package_sha256": digest},
        )
    return item


def quarantine_reimport(*, item: QuarantinedPackage, actor: Actor) -> ImportResult:
    """Import a quarantined package again (after the sender fixed it in place or trust was updated)."""
    if (
        actor.municipality is None
        or item.municipality_id != actor.municipality.pk
        or not (actor.all_roles & QUARANTINE_ROLES)
    ):
        raise PermissionDeniedError()
    path = Path(item.stored_path)
    try:
        content = path.read_bytes()
    except OSError:
        raise MadoguchiError("隔離したファイルが見つかりません。", code="quarantine.missing") from None
    result = package_import(content=content, filename=item.filename, municipality=actor.municipality,
                            quarantine=False)
    with transaction.atomic():
        locked = QuarantinedPackage.objects.select_for_update().get(pk=item.pk)
        locked.attempts += 1
        if result.outcome == "rejected":
            locked.code, locked.message = result.code, result.message
        else:
            locked.resolved_at = timezone.now()
            locked.resolved_application_id = result.application_id
        locked.save()
        audit_record(
            actor=actor.label,
            action="intake.quarantine_reimport",
            municipality_code=actor.municipality.code,
            object_type="quarantine",
            object_id=item.pk,
            detail={"outcome": result.outcome, "code": result.code},
        )
    return result


# ----------------------------------------------------------------------------- certificate links
LINK_COLUMNS = ("serial", "issuer", "resident_code", "valid_from", "valid_to", "revoked_at", "reason")


def _aware(value: str | dt.datetime | None) -> dt.datetime | None:
    if value in (None, ""):
        return None
    at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return at if at.tzinfo else timezone.make_aware(at)


def certificate_link_apply(
    *,
    municipality: Municipality,
    serial: str,
    issuer: str,
    resident_code: str,
    valid_from: dt.datetime | str,
    valid_to: dt.datetime | str,
    revoked_at: dt.datetime | str | None = None,
    reason: str = "",
    source: str = "",
) -> str:
    """②-1: apply one 紐付 update from the 住基 side. Idempotent: returns linked|updated|revoked|unchanged."""
    try:
        serial = serial_normalize(serial)
        start, end, revoked = _aware(valid_from), _aware(valid_to), _aware(revoked_at)
    except ValueError:
        raise ValidationFailed("シリアル番号または日時の形式が正しくありません。", code="links.invalid_row") from None
    if start is None or end is None or not re.fullmatch(r"\d{11}", resident_code) or not issuer.strip():
        raise ValidationFailed("紐付情報の必須項目が不足しています。", code="links.invalid_row")
    if revoked and not reason:
        reason = "other"
    with transaction.atomic():
        link, created = CertificateLink.objects.select_for_update().get_or_create(
            municipality=municipality, issuer=issuer.strip(), serial=serial, resident_code=resident_code,
            defaults={"valid_from": start, "valid_to": end, "revoked_at": revoked, "revoked_reason": reason},
        )
        if created:
            outcome = "linked" if revoked is None else "revoked"
            detail: dict[str, Any] = {"valid_to": end.isoformat()}
        else:
            changes: dict[str, Any] = {}
            if (link.valid_from, link.valid_to) != (start, end):
                changes["valid"] = [start.isoformat(), end.isoformat()]
                link.valid_from, link.valid_to = start, end
            if revoked is not None and link.revoked_at is None:
                link.revoked_at, link.revoked_reason = revoked, reason
                changes["revoked"] = reason
            if not changes:
                return "unchanged"
            link.save()
            outcome = "revoked" if "revoked" in changes else "updated"
            detail = changes
        CertificateLinkEvent.objects.create(link=link, kind=outcome, source=source[:120], detail=detail)
        audit_record(
            actor=source[:150] or "jukki",
            action=f"certificate_link.{outcome}",
            municipality_code=municipality.code,
            object_type="certificate_link",
            object_id=link.pk,
            detail={"serial": serial, **({"reason": reason} if revoked else {})},
        )
    return outcome


def certificate_links_import(
    *, municipality: Municipality, rows: Iterable[Mapping[str, str]], source: str = "jukki"
) -> dict[str, int]:
    """Apply rows (LINK_COLUMNS) one transaction each; a bad row raises with its line number."""
    counts = {"linked": 0, "updated": 0, "revoked": 0, "unchanged": 0}
    for n, row in enumerate(rows, start=2):
        try:
            outcome = certificate_link_apply(
                municipality=municipality,
                serial=row.get("serial", ""),
                issuer=row.get("issuer", ""),
                resident_code=row.get("resident_code", "").strip(),
                valid_from=row.get("valid_from", ""),
                valid_to=row.get("valid_to", ""),
                revoked_at=row.get("revoked_at") or None,
                reason=row.get("reason", "") or "",
                source=source,
            )
        except ValidationFailed as exc:
            raise ValidationFailed(f"{n} 行目: {exc.message}", code=exc.code) from None
        counts[outcome] += 1
    return counts


def links_csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in LINK_COLUMNS[:5] if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(f"CSV の列が不足しています: {', '.join(missing)}", code="links.columns")
    return list(reader)


def links_csv_write(rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LINK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") or "" for k in LINK_COLUMNS})
    return buf.getvalue()
