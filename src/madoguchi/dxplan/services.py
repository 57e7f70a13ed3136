"""Writes of the DX推進計画 app. Keyword-only, typed, one transaction per change with its audit row.
Every service re-checks that the actor is DX推進 or 管理者 and works inside the actor's municipality."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.applications.models import Blob
from madoguchi.applications.storage import blob_store
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import ConcurrentUpdate, ValidationFailed
from madoguchi.core.models import Municipality
from madoguchi.core.scope import Actor
from madoguchi.dx.access import require_dx
from madoguchi.dxplan.cardrate import cardrate_parse, fail
from madoguchi.dxplan.catalog import BUSINESS_NAMES, ITEMS
from madoguchi.dxplan.models import (
    CardRateImport,
    CardRateRow,
    MigrationEvidence,
    MigrationTask,
    Milestone,
    Priority,
    Project,
    ProjectStatus,
    TaskStatus,
)

EVIDENCE_TYPES = ["application/pdf", "image/jpeg", "image/png"]
STALE = "他の職員が先にこの内容を更新しました。画面を再読み込みしてから、もう一度操作してください。"


def _municipality(actor: Actor) -> Municipality:
    require_dx(actor)
    assert actor.municipality is not None  # require_dx refuses an actor without one
    return actor.municipality


def _audit(actor: Actor, action: str, obj: Any, detail: dict[str, Any]) -> None:
    municipality = actor.municipality
    audit_record(
        actor=actor.label,
        action=f"dxplan.{action}",
        municipality_code=municipality.code if municipality else "",
        object_type=f"dxplan.{type(obj).__name__}",
        object_id=obj.pk,
        detail=detail,
    )


def _apply(
    row: Project | MigrationTask, values: dict[str, Any], expected_version: int | None
) -> dict[str, str]:
    """Set ``values`` on a locked row and bump its version; refuse a form loaded before someone else's
    save. Returns what changed, for the audit row."""
    if expected_version is not None and row.version != expected_version:
        raise ConcurrentUpdate(STALE, code="dxplan.concurrent_update")
    changed = {k: str(v) for k, v in values.items() if getattr(row, k) != v}
    for k, v in values.items():
        setattr(row, k, v)
    row.version += 1
    row.save()
    return changed


def _user(actor: Actor) -> Any:
    return actor.user if actor.user is not None and actor.user.pk else None


# --- 工程表 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFields:
    priority: str
    title: str
    start_date: date
    end_date: date
    status: str = ProjectStatus.PLANNED
    owner_department: str = ""
    owner_person: str = ""
    description: str = ""

    def check(self) -> None:
        if self.priority not in Priority.values:
            raise ValidationFailed("重点取組事項を選んでください。", code="dxplan.priority_invalid")
        if self.status not in ProjectStatus.values:
            raise ValidationFailed("状況を選んでください。", code="dxplan.status_invalid")
        if not self.title.strip():
            raise ValidationFailed("取組名を入力してください。", code="dxplan.title_required")
        if self.end_date < self.start_date:
            raise ValidationFailed("終了予定日は開始日より後にしてください。", code="dxplan.dates_reversed")


def project_save(
    *,
    actor: Actor,
    fields: ProjectFields,
    project: Project | None = None,
    expected_version: int | None = None,
) -> Project:
    """Create a 工程表 line (``project`` None) or update one; a stale ``expected_version`` is refused."""
    municipality = _municipality(actor)
    fields.check()
    values = asdict(fields) | {"title": fields.title.strip()}
    with transaction.atomic():
        if project is None:
            project = Project.objects.create(municipality=municipality, **values)
            _audit(actor, "project_create", project, {"title": project.title, "priority": project.priority})
            return project
        locked = Project.objects.select_for_update().get(pk=project.pk, municipality=municipality)
        changed = _apply(locked, values, expected_version)
        _audit(actor, "project_update", locked, {"changed": changed})
        return locked


def milestone_add(*, actor: Actor, project: Project, title: str, due_date: date) -> Milestone:
    municipality = _municipality(actor)
    if not title.strip():
        raise ValidationFailed("マイルストーン名を入力してください。", code="dxplan.title_required")
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk, municipality=municipality)
        milestone = Milestone.objects.create(project=project, title=title.strip(), due_date=due_date)
        _audit(actor, "milestone_add", milestone, {"project": project.pk, "title": milestone.title})
        return milestone


def milestone_set_done(
    *, actor: Actor, milestone_id: int, done: bool, today: date | None = None
) -> Milestone:
    municipality = _municipality(actor)
    with transaction.atomic():
        milestone = Milestone.objects.select_for_update().get(
            pk=milestone_id, project__municipality=municipality
        )
        if milestone.done != done:
            milestone.done = done
            milestone.done_on = (today or timezone.localdate()) if done else None
            milestone.save(update_fields=["done", "done_on"])
            _audit(
                actor, "milestone_done" if done else "milestone_reopen", milestone, {"title": milestone.title}
            )
        return milestone


# --- 標準化移行 tracker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFields:
    status: str
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    note: str = ""


def _check_cell(business: str, item: int) -> None:
    if business not in BUSINESS_NAMES or item not in ITEMS:
        raise ValidationFailed("基幹業務または作業項目が正しくありません。", code="dxplan.cell_unknown")


def migration_task_update(
    *,
    actor: Actor,
    business: str,
    item: int,
    fields: TaskFields,
    expected_version: int | None = None,
    today: date | None = None,
) -> MigrationTask:
    """Set one cell of the tracker. 着手 without a start date starts today; 完了 without an end date ends
    today. ``expected_version`` (0 for a cell never saved) guards against two people editing at once."""
    municipality = _municipality(actor)
    _check_cell(business, item)
    if fields.status not in TaskStatus.values:
        raise ValidationFailed("状況を選んでください。", code="dxplan.status_invalid")
    for a, b, label in (
        (fields.planned_start, fields.planned_end, "予定"),
        (fields.actual_start, fields.actual_end, "実績"),
    ):
        if a and b and b < a:
            raise ValidationFailed(
                f"{label}の終了日は開始日より後にしてください。", code="dxplan.dates_reversed"
            )
    today = today or timezone.localdate()
    values = asdict(fields)
    if fields.status in (TaskStatus.STARTED, TaskStatus.DONE) and not fields.actual_start:
        values["actual_start"] = min(today, fields.actual_end) if fields.actual_end else today
    if fields.status == TaskStatus.DONE and not fields.actual_end:
        values["actual_end"] = max(today, values["actual_start"])
    if fields.status == TaskStatus.NOT_STARTED:
        values["actual_start"] = values["actual_end"] = None
    with transaction.atomic():
        task, _ = MigrationTask.objects.select_for_update().get_or_create(
            municipality=municipality, business=business, item=item, defaults={"version": 0}
        )
        changed = _apply(task, values, expected_version)
        _audit(actor, "migration_update", task, {"business": business, "item": item, "changed": changed})
        return task


def migration_evidence_add(
    *, actor: Actor, business: str, item: int, content: bytes, filename: str, declared_mime: str | None = None
) -> MigrationEvidence:
    """Attach a file (PDF, JPEG, PNG) to a cell; stored once by content (``applications.storage``)."""
    municipality = _municipality(actor)
    _check_cell(business, item)
    stored = blob_store(
        content=content, filename=filename, declared_mime=declared_mime, allowed=EVIDENCE_TYPES
    )
    with transaction.atomic():
        task, _ = MigrationTask.objects.get_or_create(
            municipality=municipality, business=business, item=item, defaults={"version": 0}
        )
        evidence = MigrationEvidence.objects.create(
            task=task,
            blob=Blob.objects.get(sha256=stored.sha256),
            filename=stored.filename,
            uploaded_by=_user(actor),
        )
        _audit(
            actor,
            "migration_evidence_add",
            evidence,
            {"business": business, "item": item, "sha256": stored.sha256, "filename": stored.filename},
        )
        return evidence


def migration_export_record(*, actor: Actor, fmt: str) -> None:
    """Write who exported the tracker (for the prefecture's survey) and in which format."""
    municipality = _municipality(actor)
    with transaction.atomic():
        audit_record(
            actor=actor.label,
            action="dxplan.migration_export",
            municipality_code=municipality.code,
            object_type="dxplan.MigrationTask",
            detail={"format": fmt},
        )


# --- マイナンバーカード交付率 ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    record: CardRateImport
    created: bool  # False: the same file had been imported before (nothing written)


def cardrate_import(
    *, actor: Actor, content: bytes, filename: str, as_of: date | None = None
) -> ImportOutcome:
    """Import one 総務省 table. All rows or none; the same file (SHA-256) again is a no-op; another file
    for a date and table kind already imported is refused (``cardrate.date_exists``)."""
    municipality = _municipality(actor)
    with transaction.atomic():
        outcome = cardrate_store(
            municipality=municipality,
            content=content,
            filename=filename,
            as_of=as_of,
            imported_by=_user(actor),
        )
        if outcome.created:
            record = outcome.record
            _audit(
                actor,
                "cardrate_import",
                record,
                {"as_of": record.as_of.isoformat(), "sha256": record.sha256, "rows": record.row_count},
            )
    return outcome


def cardrate_store(
    *,
    municipality: Municipality,
    content: bytes,
    filename: str,
    as_of: date | None = None,
    imported_by: Any = None,
) -> ImportOutcome:
    """Parse and write a table for ``municipality`` in one transaction (no access check, no audit: the
    caller's — ``cardrate_import`` for people, the demo loader for its sample tables)."""
    digest = hashlib.sha256(content).hexdigest()
    existing = CardRateImport.objects.filter(municipality=municipality, sha256=digest).first()
    if existing is not None:
        return ImportOutcome(record=existing, created=False)
    table = cardrate_parse(content=content, filename=filename)
    as_of = as_of or table.as_of
    if as_of is None:
        raise fail(
            "cardrate.date_missing",
            "基準日が分かりません。表題に「（令和N年M月D日現在）」がない表は基準日を指定してください。",
        )
    with transaction.atomic():
        if CardRateImport.objects.filter(
            municipality=municipality, as_of=as_of, table_kind=table.kind
        ).exists():
            raise fail(
                "cardrate.date_exists",
                f"基準日 {as_of:%Y-%m-%d} の同じ種類の表は既に取り込まれています (内容の違うファイルです)。",
            )
        try:
            with transaction.atomic():
                record = CardRateImport.objects.create(
                    municipality=municipality,
                    as_of=as_of,
                    sha256=digest,
                    filename=filename[:200],
                    table_kind=table.kind,
                    row_count=len(table.rows),
                    imported_by=imported_by,
                )
        except IntegrityError:  # imported by someone else a moment ago: this file, or another for the date
            same = CardRateImport.objects.filter(municipality=municipality, sha256=digest).first()
            if same is None:
                raise fail("cardrate.date_exists", "同じ基準日の表が同時に取り込まれました。") from None
            return ImportOutcome(record=same, created=False)
        CardRateRow.objects.bulk_create(
            [
                CardRateRow(
                    source=record,
                    kind=r.kind,
                    line=r.line,
                    code=r.code,
                    prefecture=r.prefecture,
                    name=r.name,
                    population=r.population,
                    issued=r.issued,
                    rate=r.rate,
                )
                for r in table.rows
            ],
            batch_size=1000,
        )
    return ImportOutcome(record=record, created=True)
