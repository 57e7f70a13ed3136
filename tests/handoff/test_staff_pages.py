"""/staff/handoff/: targets with their job counts, the latest export files (download, audited, scoped),
the failed jobs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from madoguchi.applications.models import Application
from madoguchi.core.models import AuditEvent, Municipality, Role
from madoguchi.core.scope import Actor
from madoguchi.handoff import services
from madoguchi.handoff.models import HandoffBatch, HandoffJob, HandoffTarget, JobState

pytestmark = pytest.mark.django_db


def login(client: Client, username: str) -> None:
    assert client.login(username=username, password="demo-pass-2026")


def export(target: HandoffTarget, procedure: Any, tmp_path: Path, name: str) -> HandoffBatch:
    batch = services.handoff_batch_request(
        target=target, procedure=procedure, actor=Actor.system("test"), dispatch=False
    )
    return services.handoff_batch_build(batch_id=batch.pk, out=tmp_path / name)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def admin(make_staff: Callable[..., Actor]) -> Actor:
    return make_staff("kanri", (Role.ADMIN, None))


def test_admin_sees_targets_and_counts(
    client: Client,
    make_approved: Callable[..., Application],
    targets: dict[str, HandoffTarget],
    admin: Actor,
    tmp_path: Path,
    procedure: Any,
) -> None:
    make_approved("山田 太郎")
    make_approved("佐藤 花子")
    services.handoff_scan()
    export(targets["bulk"], procedure, tmp_path, "b.dat")
    login(client, "kanri")
    response = client.get("/staff/handoff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "基幹連携" in html and "受付一覧" in html
    for target in targets.values():
        assert target.name in html
    rows = response.context["target_rows"]
    counts = {row.target.method: dict((s, n) for s, _, n in row.counts) for row in rows}
    assert counts["transcribe"][JobState.PENDING] == 2
    assert counts["bulk"][JobState.DELIVERED] == 2 and counts["bulk"][JobState.PENDING] == 0
    assert all(row.total == 2 for row in rows)


def test_export_file_listed_downloads_and_is_audited(
    client: Client,
    make_approved: Callable[..., Application],
    targets: dict[str, HandoffTarget],
    admin: Actor,
    tmp_path: Path,
    procedure: Any,
) -> None:
    make_approved()
    services.handoff_scan()
    batch = export(targets["rpa"], procedure, tmp_path, "rpa.csv")
    assert batch.state == HandoffBatch.State.READY
    login(client, "kanri")
    html = client.get("/staff/handoff/").content.decode()
    assert f"/staff/handoff/files/{batch.pk}/" in html and batch.checksum[:12] in html
    response = client.get(f"/staff/handoff/files/{batch.pk}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "attachment" in response["Content-Disposition"]
    assert body(response) == (tmp_path / "rpa.csv").read_bytes()
    event = AuditEvent.objects.get(action="handoff.batch_download", object_id=str(batch.pk))
    assert event.actor == "kanri"


def test_download_is_refused_outside_scope(
    client: Client,
    make_approved: Callable[..., Application],
    targets: dict[str, HandoffTarget],
    make_staff: Callable[..., Actor],
    other_municipality: Municipality,
    kaigo_handler: Actor,
    tmp_path: Path,
    procedure: Any,
) -> None:
    make_approved()
    services.handoff_scan()
    batch = export(targets["bulk"], procedure, tmp_path, "b.dat")
    make_staff("yoso", (Role.ADMIN, None), m=other_municipality)
    make_staff("dx", (Role.DX, None))
    for username in ("yoso", "dx", "kaigo"):
        client.logout()
        login(client, username)
        assert client.get(f"/staff/handoff/files/{batch.pk}/").status_code in (403, 404)
        page = client.get("/staff/handoff/")
        assert page.status_code == 200
        assert f"/staff/handoff/files/{batch.pk}/" not in page.content.decode()
    assert not AuditEvent.objects.filter(action="handoff.batch_download").exists()
    # DX推進 and another municipality see no target at all
    for username in ("yoso", "dx"):
        client.logout()
        login(client, username)
        html = client.get("/staff/handoff/").content.decode()
        assert targets["bulk"].name not in html and "表示できる連携先はありません" in html


def test_failed_job_is_listed_with_its_error(
    client: Client,
    make_approved: Callable[..., Application],
    targets: dict[str, HandoffTarget],
    handler: Actor,
    kaigo_handler: Actor,
) -> None:
    app = make_approved()
    services.handoff_scan()
    HandoffJob.objects.filter(application=app, target=targets["pull"]).update(
        state=JobState.FAILED, attempts=3, last_error="受領確認がありません (テスト)"
    )
    login(client, "kosodate")
    html = client.get("/staff/handoff/").content.decode()
    assert "受領確認がありません (テスト)" in html
    assert f"/staff/applications/{app.pk}/" in html and app.reception_number in html
    # another department's handler does not see it
    client.logout()
    login(client, "kaigo")
    assert "受領確認がありません (テスト)" not in client.get("/staff/handoff/").content.decode()


def test_nav_link_on_inbox(client: Client, handler: Actor) -> None:
    login(client, "kosodate")
    assert "/staff/handoff/" in client.get("/staff/").content.decode()
