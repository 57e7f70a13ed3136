"""Batch writes for applications: N new applications as one state change (one transaction), with the
same rows ``application_submit`` writes for each (application, 受付番号, inbox counter, attachments,
history event, audit row), but with one statement per table instead of one per row.

Used by the batch importer (``intake.bulk``). The caller validates each submission's data against its
procedure's current form (``validate_submission``) and checks idempotency keys under its own locks;
a concurrent duplicate surfaces as ``IntegrityError`` and rolls the whole batch back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from madoguchi.applications.models import (
    Application,
    ApplicationEvent,
    Attachment,
    Blob,
    EventKind,
    NumberSequence,
    StatusCount,
)
from madoguchi.applications.services import SubmitContext, _applicant_names, fiscal_year_start
from madoguchi.catalog.models import Procedure, StatusType
from madoguchi.catalog.schema import iter_files
from madoguchi.core.audit import AuditEntry, audit_record_many
from madoguchi.core.bulkcopy import rows_insert
from madoguchi.core.errors import ValidationFailed
from madoguchi.core.jp.business_days import add_business_days
from madoguchi.core.jp.normalize import search_key
from madoguchi.core.jp.wareki import era_year_code
from madoguchi.core.models import Resident
from madoguchi.core.scope import Actor
from madoguchi.core.selectors import closed_days


@dataclass(frozen=True)
class BulkSubmission:
    """One new application of a batch. ``cleaned`` is ``validate_submission``'s output for ``data``
    against ``context.definition`` (already checked by the caller, with ``today`` = the local date of
    ``submitted_at``, as ``application_submit`` does). ``audit_then`` adds the caller's own audit row
    for this application right after its ``application.submit`` row (chain order as one by one)."""

    procedure: Procedure
    context: SubmitContext
    cleaned: dict[str, Any]
    submitted_at: datetime
    applicant: Resident | None = None
    idempotency_key: str | None = None
    needs_review: str = ""
    audit_then: Callable[[Application], AuditEntry] | None = None


def _prefix(procedure: Procedure, at: datetime) -> str:
    local = timezone.localtime(at).date()
    return f"{era_year_code(fiscal_year_start(local))}-{procedure.department.short_name}"


def _number_blocks(wanted: Mapping[tuple[int, str], int]) -> dict[tuple[int, str], int]:
    """Take ``n`` consecutive numbers per (municipality, prefix); return the first of each block.

    Counters are locked in (municipality, prefix) order, so two batches never deadlock on them."""
    first: dict[tuple[int, str], int] = {}
    for (municipality_id, prefix), n in sorted(wanted.items()):
        last = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    'UPDATE "applications_numbersequence" SET "last" = "last" + %s'
                    ' WHERE "municipality_id" = %s AND "prefix" = %s RETURNING "last"',
                    [n, municipality_id, prefix],
                )
                row = cursor.fetchone()
            last = row[0] if row is not None else None
        if last is None:
            seq, _ = NumberSequence.objects.select_for_update().get_or_create(
                municipality_id=municipality_id, prefix=prefix
            )
            seq.last += n
            seq.save(update_fields=["last"])
            last = seq.last
        first[(municipality_id, prefix)] = last - n + 1
    return first


def _counts_add(deltas: Mapping[tuple[int, int, int], int]) -> None:
    """Add to the inbox counters (department, procedure, status), in key order (no deadlock)."""
    items = sorted((k, n) for k, n in deltas.items() if n)
    if not items:
        return
    if connection.vendor == "postgresql":
        columns: list[list[int]] = [[], [], [], []]
        for (department_id, procedure_id, status_id), n in items:
            for column, value in zip(columns, (department_id, procedure_id, status_id, n), strict=True):
                column.append(value)
        with connection.cursor() as cursor:
            cursor.execute(
                'INSERT INTO "applications_statuscount" ("department_id", "procedure_id", "status_id", "n")'
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::integer[])"
                ' ON CONFLICT ("department_id", "procedure_id", "status_id")'
                ' DO UPDATE SET "n" = "applications_statuscount"."n" + EXCLUDED."n"',
                columns,
            )
        return
    from django.db.models import F

    for (department_id, procedure_id, status_id), n in items:
        key = {"department_id": department_id, "procedure_id": procedure_id, "status_id": status_id}
        StatusCount.objects.bulk_create([StatusCount(**key, n=0)], ignore_conflicts=True)
        StatusCount.objects.filter(**key).update(n=F("n") + n)


@transaction.atomic
def applications_submit_bulk(
    *,
    submissions: Sequence[BulkSubmission],
    channel: str,
    actor: Actor,
    before_audit: Callable[[Sequence[Application]], None] | None = None,
) -> list[Application]:
    """Store validated new applications in one transaction; return them in the order given.

    Every row ``application_submit`` writes is written here too, in one statement per table;
    ``before_audit(applications)`` lets the caller write its own rows in the same transaction before
    the audit rows (the audit head is locked last and only briefly). Raises ``ValidationFailed`` as
    ``application_submit`` does (inactive procedure, attachment not stored); any error rolls back all."""
    if not submissions:
        return []
    from madoguchi.applications.models import Channel

    if channel not in Channel.values:
        raise ValidationFailed(f"受付経路 {channel!r} は不明です。", code="application.channel_unknown")
    for s in submissions:
        if s.context.procedure_id != s.procedure.pk:
            raise ValueError("submit context is for another procedure")
        if not s.procedure.is_active:
            raise ValidationFailed(
                f"「{s.procedure.name}」は現在受け付けていません。", code="procedure.inactive"
            )
    files = [list(iter_files(s.context.definition, s.cleaned)) for s in submissions]
    wanted = {r["sha256"] for refs in files for _, r in refs}
    known = set(Blob.objects.filter(sha256__in=wanted).values_list("sha256", flat=True)) if wanted else set()
    for refs in files:
        missing = [r["filename"] for _, r in refs if r["sha256"] not in known]
        if missing:
            raise ValidationFailed(
                f"添付ファイルが保存されていません: {'、'.join(missing)}", code="attachment.missing"
            )
    initial: dict[int, StatusType] = {}
    closed: dict[int, frozenset[date]] = {}
    for s in submissions:
        p = s.procedure
        if p.workflow_id not in initial:
            initial[p.workflow_id] = StatusType.objects.get(workflow_id=p.workflow_id, is_initial=True)
        if p.standard_days and p.municipality_id not in closed:
            closed[p.municipality_id] = closed_days(p.municipality)
    prefixes = [_prefix(s.procedure, s.submitted_at) for s in submissions]
    applications = []
    deadlines: dict[tuple[date, int, int], date] = {}
    for s in submissions:
        p, at = s.procedure, s.submitted_at
        name, kana = _applicant_names(s.context.definition, s.cleaned, s.applicant)
        deadline = None
        if p.standard_days:
            start = timezone.localtime(at).date()
            day_key = (start, p.standard_days, p.municipality_id)
            if day_key not in deadlines:  # the same few dates and periods recur within a batch
                deadlines[day_key] = add_business_days(start, p.standard_days, closed[p.municipality_id])
            deadline = deadlines[day_key]
        applications.append(
            Application(  # ids rather than objects: no related-object bookkeeping per row
                municipality_id=p.municipality_id,
                reception_number="",  # below, once the block of numbers is taken
                procedure_id=p.pk,
                form_version_id=s.context.form.pk,
                department_id=p.department_id,
                channel=channel,
                data=s.cleaned,
                applicant_id=s.applicant.pk if s.applicant is not None else None,
                applicant_name=name,
                applicant_kana=kana,
                name_key=search_key(name),
                kana_key=search_key(kana),
                status_id=initial[p.workflow_id].pk,
                submitted_at=at,
                deadline=deadline,
                idempotency_key=s.idempotency_key or None,
                needs_review=bool(s.needs_review),
                review_reason=s.needs_review[:200],
            )
        )
    attachment_rows = [
        [Attachment(blob_id=r["sha256"], field_path=path, filename=r["filename"]) for path, r in refs]
        for refs in files
    ]
    user_id = actor.user.pk if actor.user is not None else None
    events = [
        ApplicationEvent(
            kind=EventKind.SUBMITTED,
            at=s.submitted_at,
            actor_id=user_id,
            actor_label=actor.label,
            from_status_id=None,
            to_status_id=a.status_id,
            reason="",
            detail={"channel": channel, "form_version": s.context.form.version},
        )
        for s, a in zip(submissions, applications, strict=True)
    ]
    # Everything above is prepared before any shared row is locked: from the counter of 受付番号 on,
    # the locks are held until commit, so only the writes themselves happen while they are held.
    blocks = _number_blocks(
        Counter((s.procedure.municipality_id, pre) for s, pre in zip(submissions, prefixes, strict=True))
    )
    for a, prefix in zip(applications, prefixes, strict=True):
        key = (a.municipality_id, prefix)
        a.reception_number = f"{prefix}-{blocks[key]:06d}"
        blocks[key] += 1
    rows_insert(Application, applications)
    deltas: dict[tuple[int, int, int], int] = defaultdict(int)
    for a in applications:
        deltas[(a.department_id, a.procedure_id, a.status_id)] += 1
    _counts_add(deltas)
    for a, rows in zip(applications, attachment_rows, strict=True):
        for row in rows:
            row.application_id = a.pk
    rows_insert(Attachment, [row for rows in attachment_rows for row in rows])
    for a, event in zip(applications, events, strict=True):
        event.application_id = a.pk
    rows_insert(ApplicationEvent, events)
    if before_audit is not None:
        before_audit(applications)
    entries = []
    for s, a in zip(submissions, applications, strict=True):
        entries.append(
            AuditEntry(
                actor=actor.label,
                action="application.submit",
                municipality_code=s.procedure.municipality.code,
                object_type="application",
                object_id=a.reception_number,
                detail={"procedure": s.procedure.code, "channel": channel},
            )
        )
        if s.audit_then is not None:
            entries.append(s.audit_then(a))
    audit_record_many(entries=entries)
    return applications
