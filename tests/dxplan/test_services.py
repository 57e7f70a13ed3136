"""工程表 and 標準化移行 services: validation, optimistic locking, automatic dates, evidence, audit rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from madoguchi.core.errors import (
    AttachmentRejected,
    ConcurrentUpdate,
    PermissionDeniedError,
    ValidationFailed,
)
from madoguchi.core.models import AuditEvent, ClosedDay
from madoguchi.core.scope import Actor
from madoguchi.dxplan import selectors
from madoguchi.dxplan.models import MigrationTask, Priority, TaskStatus
from madoguchi.dxplan.services import (
    ProjectFields,
    TaskFields,
    migration_evidence_add,
    migration_task_update,
    milestone_add,
    milestone_set_done,
    project_save,
)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\x8f\xcb\x00\x00\x00\x00IEND\xaeB`\x82"
)


def fields(**kw: Any) -> ProjectFields:
    base: dict[str, Any] = {
        "priority": Priority.ONLINE,
        "title": "子育て手続のオンライン化",
        "start_date": date(2025, 4, 1),
        "end_date": date(2026, 3, 31),
    }
    return ProjectFields(**(base | kw))


def test_project_create_update_and_stale_version(dx: Actor) -> None:
    project = project_save(actor=dx, fields=fields(owner_department="DX推進課"))
    assert project.version == 1 and project.municipality == dx.municipality
    updated = project_save(actor=dx, project=project, fields=fields(status="in_progress"), expected_version=1)
    assert updated.version == 2 and updated.status == "in_progress"
    with pytest.raises(ConcurrentUpdate):
        project_save(actor=dx, project=project, fields=fields(title="古い画面から"), expected_version=1)
    actions = list(
        AuditEvent.objects.filter(action__startswith="dxplan.project").values_list("action", flat=True)
    )
    assert actions == ["dxplan.project_create", "dxplan.project_update"]


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"end_date": date(2025, 3, 1)}, "dxplan.dates_reversed"),
        ({"title": "  "}, "dxplan.title_required"),
        ({"priority": "nope"}, "dxplan.priority_invalid"),
        ({"status": "nope"}, "dxplan.status_invalid"),
    ],
)
def test_project_validation(dx: Actor, kw: dict[str, Any], code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        project_save(actor=dx, fields=fields(**kw))
    assert info.value.code == code


def test_milestones(dx: Actor) -> None:
    project = project_save(actor=dx, fields=fields())
    m = milestone_add(actor=dx, project=project, title="様式登録", due_date=date(2025, 9, 30))
    done = milestone_set_done(actor=dx, milestone_id=m.pk, done=True, today=date(2025, 9, 1))
    assert done.done and done.done_on == date(2025, 9, 1)
    assert not milestone_set_done(actor=dx, milestone_id=m.pk, done=False).done
    assert AuditEvent.objects.filter(action__startswith="dxplan.milestone").count() == 3


def test_only_dx_or_admin(handler: Actor) -> None:
    with pytest.raises(PermissionDeniedError):
        project_save(actor=handler, fields=fields())
    with pytest.raises(PermissionDeniedError):
        migration_task_update(actor=handler, business="koseki", item=1, fields=TaskFields(status="done"))


def test_task_update_fills_dates_and_guards_versions(dx: Actor) -> None:
    today = date(2025, 6, 2)
    task = migration_task_update(
        actor=dx,
        business="koseki",
        item=1,
        fields=TaskFields(status=TaskStatus.STARTED),
        expected_version=0,
        today=today,
    )
    assert (task.actual_start, task.actual_end, task.version) == (today, None, 1)
    task = migration_task_update(
        actor=dx, business="koseki", item=1, fields=TaskFields(status=TaskStatus.DONE, actual_start=date(2025, 5, 1)),
        expected_version=1, today=today,
    )  # fmt: skip
    assert (task.actual_start, task.actual_end) == (date(2025, 5, 1), today)
    with pytest.raises(ConcurrentUpdate):
        migration_task_update(
            actor=dx,
            business="koseki",
            item=1,
            fields=TaskFields(status="na"),
            expected_version=1,
            today=today,
        )
    assert MigrationTask.objects.get().status == TaskStatus.DONE
    assert AuditEvent.objects.filter(action="dxplan.migration_update").count() == 2


@pytest.mark.parametrize(
    ("business", "item", "task_fields", "code"),
    [
        ("nope", 1, TaskFields(status="done"), "dxplan.cell_unknown"),
        ("koseki", 18, TaskFields(status="done"), "dxplan.cell_unknown"),
        ("koseki", 1, TaskFields(status="maybe"), "dxplan.status_invalid"),
        ("koseki", 1, TaskFields(status="started", planned_start=date(2025, 5, 1), planned_end=date(2025, 4, 1)), "dxplan.dates_reversed"),
    ],
)  # fmt: skip
def test_task_validation(dx: Actor, business: str, item: int, task_fields: TaskFields, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        migration_task_update(actor=dx, business=business, item=item, fields=task_fields)
    assert info.value.code == code
    assert not MigrationTask.objects.exists()


def test_tracker_progress_and_overdue_in_office_days(dx: Actor, municipality: Any) -> None:
    ClosedDay.objects.create(municipality=municipality, date=date(2025, 6, 4), reason="市制記念日")
    migration_task_update(
        actor=dx, business="koseki", item=1, fields=TaskFields(status="done"), today=date(2025, 5, 1)
    )
    migration_task_update(actor=dx, business="koseki", item=2, fields=TaskFields(status="na"))
    migration_task_update(
        actor=dx, business="jido_teate", item=5,
        fields=TaskFields(status="started", planned_start=date(2025, 4, 1), planned_end=date(2025, 5, 30)),
        today=date(2025, 4, 10),
    )  # fmt: skip
    tracker = selectors.migration_tracker(municipality=municipality, today=date(2025, 6, 6))
    plan = tracker.phases[0]
    assert plan.counts == {"done": 1, "na": 1, "not_started": 78}
    assert plan.applicable == 79 and plan.percent == 1
    # 5/30 (金) → 6/6 (金): 6/2, 6/3, 6/5, 6/6 — 6/4 is the municipality's closed day
    assert [(c.business, c.item, c.overdue_days) for c in tracker.overdue] == [("jido_teate", 5, 4)]
    koseki = next(r for r in tracker.rows if r.code == "koseki")
    assert (koseki.done, koseki.applicable) == (1, 16)
    chart, cells = selectors.migration_business_gantt(
        municipality=municipality, business="jido_teate", today=date(2025, 6, 6)
    )
    assert len(cells) == 17 and any("bar--late" in b.css for r in chart.rows for b in r.bars)
    assert chart.ticks[0].label == "令和7年度"


def test_evidence_is_stored_by_content_and_type_checked(dx: Actor) -> None:
    first = migration_evidence_add(actor=dx, business="koseki", item=12, content=PNG, filename="評価書.png")
    second = migration_evidence_add(actor=dx, business="koseki", item=12, content=PNG, filename="再掲.png")
    assert first.blob_id == second.blob_id and first.task_id == second.task_id
    assert first.task.version == 0  # a cell created by an upload is still "never saved"
    with pytest.raises(AttachmentRejected):
        migration_evidence_add(
            actor=dx, business="koseki", item=12, content=b"MZ\x90\x00 exe", filename="x.pdf"
        )
    assert AuditEvent.objects.filter(action="dxplan.migration_evidence_add").count() == 2
