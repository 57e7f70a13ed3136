"""保育課's matching runs: upload (validated before anything is stored), run (a Celery job on the
``matching`` queue, progress on the run row), results. Keyword-only; one transaction per change with
its audit row."""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.applications.models import Blob
from madoguchi.applications.storage import blob_path, blob_write
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import PermissionDeniedError, ValidationFailed
from madoguchi.core.scope import Actor
from madoguchi.nursery import io
from madoguchi.nursery.instance import AGES, Instance
from madoguchi.nursery.models import MatchingRun, RunStatus
from madoguchi.nursery.solvers import solvers
from madoguchi.nursery.verify import verify

DEPARTMENT = "hoiku"  # 保育課
MAX_BYTES = 20 * 1024 * 1024


def require_hoiku(actor: Actor) -> None:
    """保育課 staff (any role there) or the municipality's 管理者."""
    if actor.municipality is None or not actor.works_in(DEPARTMENT):
        raise PermissionDeniedError("保育課の職員（または管理者）だけが使えます。", code="nursery.forbidden")


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def _safe_name(name: str, default: str) -> str:
    stem = PurePath(name or default).name
    return "".join(ch for ch in stem if ch.isprintable() and ch not in "/\\")[:80] or default


def read_uploads(children: Upload, facilities: Upload, combinations: Upload | None) -> Instance:
    """The instance, or ``NurseryInputError`` naming every problem (file, row, column, code)."""
    for up in filter(None, (children, facilities, combinations)):
        if not up.content:
            raise ValidationFailed(f"「{up.filename}」は空のファイルです。", code="nursery.file_empty")
        if len(up.content) > MAX_BYTES:
            raise ValidationFailed(
                f"「{up.filename}」は大きすぎます（上限 20MB）。", code="nursery.file_too_large"
            )
    with tempfile.TemporaryDirectory(prefix="mdg-nursery-") as tmp:
        paths: list[Path | None] = []
        uploads: tuple[tuple[Upload | None, str], ...] = (
            (children, "children.csv"),
            (facilities, "facilities.csv"),
            (combinations, "combinations.csv"),
        )
        for upload, default in uploads:
            if upload is None:
                paths.append(None)
                continue
            path = Path(tmp) / f"{len(paths)}" / _safe_name(upload.filename, default)
            path.parent.mkdir()
            path.write_bytes(upload.content)
            paths.append(path)
        assert paths[0] is not None and paths[1] is not None
        return io.read_instance(paths[0], paths[1], paths[2])


def _store(up: Upload) -> Blob:
    digest = hashlib.sha256(up.content).hexdigest()
    blob_write(content=up.content, sha256=digest)
    blob, _ = Blob.objects.get_or_create(
        sha256=digest, defaults={"size": len(up.content), "mime": "text/csv"}
    )
    return blob


def run_create(
    *,
    actor: Actor,
    name: str,
    children: Upload,
    facilities: Upload,
    combinations: Upload | None = None,
    solver: str = "exact",
    time_limit: int = 300,
) -> MatchingRun:
    """Validate the files (nothing is stored when any is wrong), store them and queue the run."""
    require_hoiku(actor)
    assert actor.municipality is not None and actor.user is not None
    if solver not in solvers:
        raise ValidationFailed("解法を選んでください。", code="nursery.solver_unknown")
    if not 1 <= time_limit <= 3600:
        raise ValidationFailed("制限時間は1〜3600秒にしてください。", code="nursery.time_limit")
    instance = read_uploads(children, facilities, combinations)
    with transaction.atomic():
        run = MatchingRun.objects.create(
            municipality=actor.municipality,
            name=(name.strip() or f"{timezone.localdate():%Y-%m-%d} 利用調整")[:80],
            solver=solver,
            time_limit=time_limit,
            children_blob=_store(children),
            facilities_blob=_store(facilities),
            combinations_blob=_store(combinations) if combinations else None,
            created_by_id=actor.user.pk,
            summary={"children": len(instance.children), "facilities": len(instance.facilities)},
        )
        audit_record(
            actor=actor.label,
            action="nursery.run_created",
            municipality_code=actor.municipality.code,
            object_type="nursery_run",
            object_id=run.pk,
            detail={"solver": solver, "children": len(instance.children)},
        )
        from madoguchi.nursery.tasks import run_matching

        transaction.on_commit(lambda: run_matching.delay(run.pk))
    return run


def run_instance(run: MatchingRun) -> Instance:
    def up(blob: Blob | None, default: str) -> Upload | None:
        return Upload(default, blob_path(blob.sha256).read_bytes()) if blob is not None else None

    children = up(run.children_blob, "children.csv")
    facilities = up(run.facilities_blob, "facilities.csv")
    assert children is not None and facilities is not None
    return read_uploads(children, facilities, up(run.combinations_blob, "combinations.csv"))


def _progress(run_id: int, progress: int, step: str, **extra: Any) -> None:
    MatchingRun.objects.filter(pk=run_id).update(progress=progress, step=step, **extra)


def run_execute(*, run_id: int) -> MatchingRun:
    """The job: read the stored files, solve, verify, keep the result. A failure is kept on the run."""
    run = MatchingRun.objects.select_related("children_blob", "facilities_blob", "combinations_blob").get(
        pk=run_id
    )
    if run.status == RunStatus.DONE:
        return run
    _progress(run_id, 5, "読み込み中", status=RunStatus.RUNNING)
    try:
        instance = run_instance(run)
        _progress(run_id, 20, "選考中")
        started = time.perf_counter()
        result = solvers[run.solver].solve(instance, time_limit=float(run.time_limit))
        _progress(run_id, 80, "検証中")
        report = verify(instance, result)
        summary = {
            **run.summary,
            "solver": result.solver,
            "status": result.status,
            "placed": result.stats.placed,
            "placed_by_age": {str(a): result.stats.placed_by_age[a] for a in AGES},
            "unplaced": result.stats.unplaced,
            "seconds": round(time.perf_counter() - started, 3),
            "verifier": report.summary(),
            "blocking_coalitions": len(report.blocking),
            "notes": result.notes + report.not_covered,
        }
        with transaction.atomic():
            MatchingRun.objects.filter(pk=run_id).update(
                status=RunStatus.DONE,
                progress=100,
                step="完了",
                summary=summary,
                assignment=result.assignment,
                finished_at=timezone.now(),
            )
            audit_record(
                actor="system",
                action="nursery.run_done",
                municipality_code=run.municipality.code,
                object_type="nursery_run",
                object_id=run_id,
                detail={"placed": result.stats.placed, "blocking": len(report.blocking)},
            )
    except Exception as exc:  # kept on the run for the 保育課 to see; the job itself does not fail again
        code = getattr(exc, "code", "nursery.run_failed")
        message = getattr(exc, "message", None) or "選考を実行できませんでした。"
        _progress(
            run_id,
            100,
            "失敗",
            status=RunStatus.FAILED,
            error=f"{message}（{code}）",
            finished_at=timezone.now(),
        )
    run.refresh_from_db()
    return run
