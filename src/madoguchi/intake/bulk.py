"""The batch importer: packages checked one by one exactly as ``package_import`` does, then accepted
N at a time in one transaction (a batch is one state change of N packages).

Per package, nothing is skipped: zip and manifest checks, XML safety, the signature and every file
digest, the certificate chain with its CRL at the signing time, procedure and form version, attachment
checks and the form schema. A refused package is quarantined at once (as today, its own transaction).
The packages that pass are written together: one advisory lock per idempotency key (the same keys
``package_import`` locks), duplicates found with one query, signers identified with one query for the
links and one for the residents, then ``applications.bulk.applications_submit_bulk`` (applications,
受付番号 as a block, counters, attachments, history, audit rows chained in order under one lock) and the
import records, all in the same transaction.

If anything in that transaction fails (a concurrent duplicate, a deadlock, anything else), it is rolled
back and each package of the batch goes through ``package_import`` on its own, so every package still
gets its exact outcome. A killed run leaves whole batches or nothing, and a re-run reports the rest as
``duplicate``. Results come back in the order of the input, after their batch has committed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from madoguchi.applications.bulk import BulkSubmission, applications_submit_bulk
from madoguchi.applications.models import Application, Blob, Channel
from madoguchi.applications.services import SubmitContext
from madoguchi.applications.storage import blob_write
from madoguchi.catalog.models import Procedure
from madoguchi.catalog.schema import validate_submission
from madoguchi.core.audit import AuditEntry
from madoguchi.core.bulkcopy import rows_insert
from madoguchi.core.models import Municipality, Resident
from madoguchi.core.scope import Actor
from madoguchi.intake.errors import PackageRejected
from madoguchi.intake.formats import IntakeFormat, IntakePackage, format_get
from madoguchi.intake.models import CertificateLink, PackageImport, QuarantinedPackage
from madoguchi.intake.pki import trust_store
from madoguchi.intake.selectors import LinkAnswer, link_answer
from madoguchi.intake.services import (
    ACTOR_LABEL,
    ImportCache,
    ImportResult,
    _check_cleaned,
    _municipality,
    _municipality_by_code,
    _procedure,
    _procedure_rows,
    _with_refs,
    accepted_detail,
    municipality_unknown,
    package_import,
    package_record,
    quarantine_store,
    unreadable,
)

logger = logging.getLogger("madoguchi.intake")
BATCH_SIZE = 256
BATCH_BYTES = 64 * 1024 * 1024  # a batch also ends when its packages add up to this (large attachments)
NO_SIGNER = "【identify.unknown】署名者の情報がありません。"


@dataclass
class _Item:
    filename: str
    content: bytes
    source_path: Path | None
    result: ImportResult | None = None
    package: IntakePackage | None = None
    procedure: Procedure | None = None
    context: SubmitContext | None = None
    cleaned: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref -> stored file reference
    mimes: dict[str, str] = field(default_factory=dict)  # ref -> sniffed MIME type
    first: _Item | None = None  # an earlier package of the batch with the same idempotency key

    @property
    def lock_key(self) -> str:
        assert self.procedure is not None and self.package is not None
        return f"{self.procedure.municipality_id}:{self.package.idempotency_key}"


def packages_import_paths(
    *,
    paths: Iterable[str | Path],
    municipality_code: str | None = None,
    quarantine: bool = True,
    cache: ImportCache | None = None,
    batch_size: int = BATCH_SIZE,
    format_key: str = "pittari-v1",
) -> Iterator[ImportResult]:
    """Import files by path in batches; one result per path, in order (what ``package_import_path``
    would give for each). Batches grow 1, 2, 4 … up to ``batch_size``, so the first lines come soon,
    and end early at ``BATCH_BYTES`` of package files (a batch is held in memory until it commits)."""
    municipality = None
    if municipality_code:
        municipality = _municipality_by_code(municipality_code, cache)
        if municipality is None:
            for raw in paths:
                yield municipality_unknown(Path(raw).name, municipality_code)
            return
    run = partial(
        _batch,
        fmt=format_get(format_key),
        municipality=municipality,
        quarantine=quarantine,
        cache=cache,
        format_key=format_key,
    )
    size, pending, held = 1, [], 0
    for raw in paths:
        path = Path(raw)
        try:
            item = _Item(path.name, path.read_bytes(), path)
        except OSError as exc:
            item = _Item(path.name, b"", path, result=unreadable(path.name, exc))
        pending.append(item)
        held += len(item.content)
        if len(pending) >= size or held >= BATCH_BYTES:
            yield from run(pending)
            pending, held, size = [], 0, min(size * 2, max(batch_size, 1))
    if pending:
        yield from run(pending)


def packages_import(
    *,
    packages: Sequence[tuple[str, bytes]],
    municipality: Municipality | None = None,
    quarantine: bool = True,
    cache: ImportCache | None = None,
    format_key: str = "pittari-v1",
) -> list[ImportResult]:
    """Import (filename, content) pairs as one batch; results in order."""
    items = [_Item(Path(name).name, content, None) for name, content in packages]
    return list(
        _batch(
            items,
            fmt=format_get(format_key),
            municipality=municipality,
            quarantine=quarantine,
            cache=cache,
            format_key=format_key,
        )
    )


# ----------------------------------------------------------------------------- one batch
def _reject(
    item: _Item, exc: PackageRejected, *, municipality: Municipality | None, quarantine: bool
) -> None:
    logger.info("intake.rejected", extra={"code": exc.code, "file": item.filename})
    if quarantine:
        quarantine_store(
            content=item.content,
            filename=item.filename,
            error=exc,
            municipality=municipality,
            source_path=item.source_path,
        )
    item.result = ImportResult("rejected", item.filename, code=exc.code, message=exc.message)


def _read(
    item: _Item,
    *,
    fmt: IntakeFormat,
    read_kw: dict[str, Any],
    municipality: Municipality | None,
    quarantine: bool,
    cache: ImportCache | None,
) -> Municipality | None:
    """The first checks of ``package_import`` (the package itself, its municipality)."""
    try:
        item.package = fmt.read(item.content, **read_kw)
        return _municipality(item.package, municipality, cache)
    except PackageRejected as exc:
        _reject(item, exc, municipality=municipality, quarantine=quarantine)
        return None


def _prepare(
    item: _Item,
    target: Municipality,
    *,
    municipality: Municipality | None,
    quarantine: bool,
    cache: ImportCache | None,
    rows: dict[tuple[int, str], Any],
) -> None:
    """The remaining checks of ``package_import`` before its transaction (procedure and form version,
    attachments, form schema); sets ``item.result`` when refused."""
    package = item.package
    assert package is not None
    try:
        procedure, context = _procedure(package, target, cache, rows)
        refs, cleaned = _check_cleaned(package, context)
    except PackageRejected as exc:
        _reject(item, exc, municipality=municipality, quarantine=quarantine)
        return
    stored = {
        ref: {
            "sha256": r["sha256"],
            "filename": Path(package.attachments[ref].filename).name[:200],
            "mime": r["mime"],
            "size": r["size"],
        }
        for ref, r in refs.items()
    }
    if stored != refs:  # a file name with a folder in it: validate what will be stored, as submit does
        result = validate_submission(
            context.definition,
            _with_refs(package.data, stored),
            today=timezone.localtime(package.sent_at).date(),
        )
        if not result.ok:
            item.package = None  # left to package_import (the fallback) for its exact outcome
            return
        cleaned = result.cleaned
    item.procedure, item.context, item.cleaned = procedure, context, cleaned
    item.stored, item.mimes = stored, {ref: r["mime"] for ref, r in refs.items()}


def _batch(
    items: list[_Item],
    *,
    fmt: IntakeFormat,
    municipality: Municipality | None,
    quarantine: bool,
    cache: ImportCache | None,
    format_key: str,
) -> Iterator[ImportResult]:
    from madoguchi.intake.formats.pittari_v1 import PittariV1

    # the trust folder is read once per batch (a CRL replaced mid-batch applies from the next batch)
    read_kw: dict[str, Any] = {"trust": trust_store()} if isinstance(fmt, PittariV1) else {}
    targets: dict[int, Municipality] = {}
    for item in items:
        if item.result is None:
            target = _read(
                item, fmt=fmt, read_kw=read_kw, municipality=municipality, quarantine=quarantine, cache=cache
            )
            if target is not None:
                targets[id(item)] = target
    # the procedure rows of the batch, one query per municipality (checked again for every batch)
    rows: dict[tuple[int, str], Any] = {}
    codes: dict[int, tuple[Municipality, set[str]]] = {}
    for item in items:
        if id(item) in targets and item.package is not None:
            target = targets[id(item)]
            codes.setdefault(target.pk, (target, set()))[1].add(item.package.procedure_code)
    for target, wanted in codes.values():
        for code, row in _procedure_rows(target, sorted(wanted), cache).items():
            rows[(target.pk, code)] = row
    for item in items:
        if id(item) in targets:
            _prepare(
                item,
                targets[id(item)],
                municipality=municipality,
                quarantine=quarantine,
                cache=cache,
                rows=rows,
            )
    ready = [i for i in items if i.result is None and i.package is not None and i.procedure is not None]
    firsts: dict[str, _Item] = {}
    for item in ready:
        key = item.lock_key
        if key in firsts:
            item.first = firsts[key]
        else:
            firsts[key] = item
    if ready:
        try:
            _write(list(firsts.values()))
        except Exception:
            logger.warning("intake.batch_fallback", extra={"packages": len(ready)}, exc_info=True)
            for item in ready:
                item.result = None
        else:
            for item in ready:
                if item.first is not None:
                    first = item.first.result
                    assert first is not None
                    item.result = ImportResult(
                        "duplicate",
                        item.filename,
                        reception_number=first.reception_number,
                        application_id=first.application_id,
                    )
    for item in items:  # the rest one by one, in input order, exactly as before
        if item.result is None:
            item.result = package_import(
                content=item.content,
                filename=item.filename,
                municipality=municipality,
                format_key=format_key,
                quarantine=quarantine,
                source_path=item.source_path,
                cache=cache,
            )
    for item in items:
        assert item.result is not None
        yield item.result


def _identify(items: Sequence[_Item]) -> list[LinkAnswer | None]:
    """``certificate_resident_at`` for every package (signer at its signing time), two queries per
    municipality whatever the batch size."""
    by_municipality: dict[int, list[_Item]] = defaultdict(list)
    for item in items:
        if item.package is not None and item.package.signer is not None:
            assert item.procedure is not None
            by_municipality[item.procedure.municipality_id].append(item)
    links: dict[tuple[int, str], list[CertificateLink]] = defaultdict(list)
    residents: dict[tuple[int, str], Resident] = {}
    for municipality_id, group in by_municipality.items():
        serials = {i.package.signer.serial for i in group if i.package and i.package.signer}
        found = list(
            CertificateLink.objects.filter(municipality_id=municipality_id, serial__in=serials).order_by("pk")
        )
        for link in found:
            links[(municipality_id, link.serial)].append(link)
        codes = {link.resident_code for link in found}
        if codes:
            for r in Resident.objects.filter(
                municipality_id=municipality_id, resident_code__in=codes
            ).order_by("-pk"):
                residents[(municipality_id, r.resident_code)] = r  # the lowest pk wins, as .first()
    answers: list[LinkAnswer | None] = []
    for item in items:
        package, procedure = item.package, item.procedure
        assert package is not None and procedure is not None
        signer = package.signer
        if signer is None:
            answers.append(None)
            continue
        m, at = procedure.municipality_id, package.signed_at
        valid = [
            link
            for link in links[(m, signer.serial)]
            if link.issuer == signer.issuer and link.valid_from <= at <= link.valid_to
        ]
        answers.append(
            link_answer(
                links=valid, serial=signer.serial, at=at, resident_for=partial(_resident, residents, m)
            )
        )
    return answers


def _resident(residents: dict[tuple[int, str], Resident], municipality_id: int, code: str) -> Resident | None:
    return residents.get((municipality_id, code))


def _lock_keys(keys: Sequence[str]) -> None:
    """The advisory locks ``package_import`` takes, for a whole batch, in one sorted order."""
    if connection.vendor == "postgresql" and keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS t(k, i)",
                [sorted(keys)],
            )


def _write(items: list[_Item]) -> None:
    """Accept the distinct packages of a batch in one transaction (or raise, writing nothing)."""
    actor = Actor.system(ACTOR_LABEL)
    with transaction.atomic():
        _lock_keys([i.lock_key for i in items])
        wanted: dict[int, list[str]] = defaultdict(list)
        for item in items:
            assert item.procedure is not None and item.package is not None
            wanted[item.procedure.municipality_id].append(item.package.idempotency_key)
        existing: dict[tuple[int, str], tuple[int, str]] = {}
        for municipality_id, keys in wanted.items():
            for pk, key, number in Application.objects.filter(
                municipality_id=municipality_id, idempotency_key__in=keys
            ).values_list("id", "idempotency_key", "reception_number"):
                existing[(municipality_id, str(key))] = (pk, number)
        fresh = []
        for item in items:
            assert item.procedure is not None and item.package is not None
            found = existing.get((item.procedure.municipality_id, item.package.idempotency_key))
            if found is not None:
                item.result = ImportResult(
                    "duplicate", item.filename, reception_number=found[1], application_id=found[0]
                )
            else:
                fresh.append(item)
        if not fresh:
            return
        blobs: dict[str, Blob] = {}
        for item in fresh:
            assert item.package is not None
            for ref, att in item.package.attachments.items():
                digest = item.stored[ref]["sha256"]
                if digest not in blobs:
                    blob_write(content=att.content, sha256=digest)
                    blobs[digest] = Blob(sha256=digest, size=len(att.content), mime=item.mimes[ref])
        Blob.objects.bulk_create(blobs.values(), ignore_conflicts=True)
        answers = _identify(fresh)
        submissions = []
        accepted: list[tuple[IntakePackage, int]] = []  # (package, municipality id) of each submission
        for item, answer in zip(fresh, answers, strict=True):
            package, procedure, context = item.package, item.procedure, item.context
            assert package is not None and procedure is not None and context is not None
            accepted.append((package, procedure.municipality_id))
            submissions.append(
                BulkSubmission(
                    procedure=procedure,
                    context=context,
                    cleaned=item.cleaned,
                    submitted_at=package.sent_at,
                    applicant=answer.resident if answer else None,
                    idempotency_key=package.idempotency_key,
                    needs_review=answer.needs_review if answer else NO_SIGNER,
                    audit_then=_accepted_audit(package, procedure, answer),
                )
            )

        def records(applications: Sequence[Application]) -> None:
            pairs = list(zip(accepted, applications, strict=True))
            rows_insert(
                PackageImport,
                [
                    package_record(package, municipality_id=municipality_id, application_id=application.pk)
                    for (package, municipality_id), application in pairs
                ],
            )
            by_sha = {package.package_sha256: application.pk for (package, _m), application in pairs}
            # resolve the quarantined copies of the accepted packages: one look-up (almost always empty),
            # then one UPDATE per package that had been quarantined before
            quarantined = QuarantinedPackage.objects.filter(
                package_sha256__in=list(by_sha), resolved_at__isnull=True
            ).values_list("pk", "package_sha256")
            now = timezone.now()
            for pk, sha in quarantined:
                QuarantinedPackage.objects.filter(pk=pk).update(
                    resolved_at=now, resolved_application_id=by_sha[sha]
                )

        applications = applications_submit_bulk(
            submissions=submissions, channel=Channel.PITTARI, actor=actor, before_audit=records
        )
        for item, application in zip(fresh, applications, strict=True):
            item.result = ImportResult(
                "accepted",
                item.filename,
                reception_number=application.reception_number,
                application_id=application.pk,
            )


def _accepted_audit(package: IntakePackage, procedure: Procedure, answer: LinkAnswer | None) -> Any:
    def entry(application: Application) -> AuditEntry:
        return AuditEntry(
            actor=ACTOR_LABEL,
            action="intake.package_accepted",
            municipality_code=procedure.municipality.code,
            object_type="application",
            object_id=application.reception_number,
            detail=accepted_detail(package, answer),
        )

    return entry
