"""The outbox: one job per (application, target), stable keys, file exports without duplicates after a
forced retry, the sweeper, the staff panel."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.models import AuditEvent, Role
from madoguchi.core.scope import Actor
from madoguchi.handoff import layout, selectors, services
from madoguchi.handoff.models import HandoffBatch, HandoffJob, HandoffTarget, JobState

pytestmark = pytest.mark.django_db


def export(
    target: HandoffTarget, procedure: Any, tmp_path: Path, name: str, **kw: Any
) -> tuple[HandoffBatch, bytes]:
    batch = services.handoff_batch_request(
        target=target, procedure=procedure, actor=Actor.system("test"), dispatch=False, **kw
    )
    batch = services.handoff_batch_build(batch_id=batch.pk, out=tmp_path / name)
    return batch, (tmp_path / name).read_bytes()


def rpa_keys(raw: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(raw.decode("cp932"), newline="")))
    assert rows[0][:3] == ["idempotency_key", "reception_number", "procedure_code"]
    return [r[0] for r in rows[1:]]


def fixed_parse(raw: bytes) -> tuple[bytes, list[bytes], bytes]:
    lines = raw.split(b"\r\n")
    assert lines[-1] == b""
    return lines[0], lines[1:-2], lines[-2]


def fixed_keys(raw: bytes) -> list[str]:
    header, records, trailer = fixed_parse(raw)
    assert header.startswith(b"HMDGHO1")
    assert trailer.startswith(b"T")
    count = int(trailer[1:11])
    body = b"".join(r + b"\r\n" for r in records)
    assert count == len(records)
    assert trailer[11:75].decode() == hashlib.sha256(body).hexdigest()
    assert {len(r) for r in [header, trailer, *records]} == {len(header)}  # every record the same length
    return [r[1:37].decode().strip() for r in records]


class TestEnqueue:
    def test_one_job_per_target_with_a_stable_key(
        self, make_approved: Callable[..., Application], targets: dict[str, HandoffTarget]
    ) -> None:
        app = make_approved()
        jobs = services.handoff_enqueue_for(application=app, actor=Actor.system("t"))
        assert sorted(j.method for j in jobs) == ["bulk", "pull", "rpa", "transcribe"]
        assert services.handoff_enqueue_for(application=app, actor=Actor.system("t")) == []
        key = services.handoff_key(
            municipality_code=app.municipality.code,
            target_code="ikkatsu",
            reception_number=app.reception_number,
        )
        assert HandoffJob.objects.get(application=app, target=targets["bulk"]).idempotency_key == key
        assert (
            AuditEvent.objects.filter(action="handoff.enqueue", object_id=app.reception_number).count() == 1
        )

    def test_scan_picks_up_approved_applications_without_jobs(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        valid_data: dict[str, Any],
    ) -> None:
        make_approved()
        make_approved("佐藤 花子")
        from madoguchi.applications.services import application_submit

        application_submit(procedure=procedure, data=valid_data, channel="online", actor=Actor.system("o"))
        assert services.handoff_scan() == 8  # 2 approved × 4 targets; the 受付 one is not handed off
        assert services.handoff_scan() == 0


class TestFileExports:
    def test_rpa_csv_no_duplicates_after_forced_retry(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
    ) -> None:
        apps = [make_approved(n) for n in ("山田 太郎", "𠮷田 﨑子", "鈴木 一郎")]
        services.handoff_scan()
        batch1, raw1 = export(targets["rpa"], procedure, tmp_path, "a.csv")
        keys1 = rpa_keys(raw1)
        assert len(keys1) == 3 == batch1.rows
        rows = list(csv.reader(io.StringIO(raw1.decode("cp932"), newline="")))
        assert rows[2][6] == "〓田 﨑子"  # 𠮷 is not in cp932: ゲタ, never an error; 﨑 is (IBM ext.)
        assert "form.mynumber" not in rows[0] and all("$enc" not in c for r in rows for c in r)
        # nothing new: an empty export
        assert rpa_keys(export(targets["rpa"], procedure, tmp_path, "b.csv")[1]) == []
        job = HandoffJob.objects.get(application=apps[1], target=targets["rpa"])
        # the export wrote no job row: 出力済 is derived from the batch's id range
        assert (job.state, job.attempts, job.batch_id) == (JobState.PENDING, 0, None)
        assert selectors.job_view(job) == selectors.JobView(JobState.DELIVERED, batch1.pk, 1)
        services.handoff_job_resend(job=job, actor=Actor.system("t"))
        keys3 = rpa_keys(export(targets["rpa"], procedure, tmp_path, "c.csv")[1])
        assert keys3 == [job.idempotency_key]
        downstream = {k for k in keys1 + keys3}
        assert len(downstream) == 3
        # asked explicitly: everything again, same keys
        assert sorted(
            rpa_keys(export(targets["rpa"], procedure, tmp_path, "d.csv", include_exported=True)[1])
        ) == sorted(keys1)

    def test_bulk_fixed_length_is_byte_accurate_with_header_and_trailer(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
    ) -> None:
        make_approved("山田 太郎")
        make_approved("ABC長い名前です")  # 3 + 2×6 bytes > 12: cut on a character boundary
        services.handoff_scan()
        batch, raw = export(targets["bulk"], procedure, tmp_path, "bulk.dat")
        keys = fixed_keys(raw)
        assert len(keys) == 2 and batch.rows == 2
        _, records, _ = fixed_parse(raw)
        columns = layout.columns_for(procedure=procedure, widths=targets["bulk"].layout["widths"])
        offsets = {}
        pos = 1
        for c in columns:
            offsets[c.name] = (pos, pos + c.width)
            pos += c.width
        start, end = offsets["applicant_name"]
        assert end - start == 12
        assert records[0][start:end] == "山田 太郎".encode("cp932").ljust(12)
        assert records[1][start:end] == "ABC長い名前".encode("cp932") + b" "  # 11 bytes + 1 pad
        s, e = offsets["submitted_at"]
        assert records[0][s:e].decode().count("T") == 1

    def test_bulk_csv_has_header_columns_and_trailer(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
    ) -> None:
        target = targets["bulk"]
        target.layout = {"format": "csv", "encoding": "utf-8-sig"}
        target.save()
        make_approved()
        services.handoff_scan()
        _, raw = export(target, procedure, tmp_path, "bulk.csv")
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = raw[3:].split(b"\r\n")
        assert lines[0].startswith(b"H,MDGHO1,") and lines[1].startswith(b"C,idempotency_key,")
        data = lines[2:-2]
        trailer = lines[-2].decode().split(",")
        assert trailer[:2] == ["T", "1"] and len(data) == 1
        assert trailer[2] == hashlib.sha256(b"".join(d + b"\r\n" for d in data)).hexdigest()

    @pytest.mark.parametrize("fmt", ["fixed", "csv"])
    def test_python_path_writes_the_same_records_as_copy(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        fmt: str,
    ) -> None:
        target = targets["bulk"]
        target.layout = {**target.layout, "format": fmt}
        target.save()
        make_approved("山田 太郎")
        make_approved('渡辺 "引用" , 﨑 vv\\')
        odd = make_approved("鈴木 三郎")  # stored text with COPY escapes, a NULL-like value, a JSON null
        odd_text = "改行\r\nタブ\t制御\x1f\x0b\x08\x0c\\N 末尾\\"
        Application.objects.filter(pk=odd.pk).update(
            applicant_name=odd_text,
            applicant_kana="\\N",
            data={**odd.data, "name": odd_text, "address": None},
        )
        services.handoff_scan()
        _, raw_copy = export(target, procedure, tmp_path, "copy")
        monkeypatch.setattr(layout, "uses_copy", lambda: False)
        _, raw_py = export(target, procedure, tmp_path, "py", include_exported=True)

        def body(raw: bytes) -> list[bytes]:  # data records and trailer (the header names the batch)
            return raw.split(b"\r\n")[1:]

        assert body(raw_copy) == body(raw_py)
        flat = "改行  タブ 制御    \\N 末尾\\".encode("cp932")  # control characters → spaces, one line
        assert flat in raw_copy or fmt == "csv"

    def test_celery_task_builds_the_file(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        eager_celery: None,
        django_capture_on_commit_callbacks: Any,
        settings: Any,
        tmp_path: Path,
    ) -> None:
        settings.DATA_DIR = tmp_path
        make_approved()
        services.handoff_scan()
        with django_capture_on_commit_callbacks(execute=True):
            batch = services.handoff_batch_request(
                target=targets["bulk"], procedure=procedure, actor=Actor.system("t")
            )
        batch.refresh_from_db()
        assert batch.state == HandoffBatch.State.READY and batch.rows == 1
        assert len(fixed_keys(Path(batch.path).read_bytes())) == 1

    def test_failed_build_marks_nothing_and_is_retried(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        make_approved()
        services.handoff_scan()
        batch = services.handoff_batch_request(
            target=targets["bulk"], procedure=procedure, actor=Actor.system("t"), dispatch=False
        )

        def boom(*a: Any, **k: Any) -> Any:
            raise OSError("disk full")

        monkeypatch.setattr(layout, "fixed_trailer", boom)
        with pytest.raises(OSError):
            services.handoff_batch_build(batch_id=batch.pk, out=tmp_path / "x.dat")
        assert not (tmp_path / "x.dat").exists()
        job = HandoffJob.objects.get(target=targets["bulk"])
        assert selectors.job_view(job).state == JobState.PENDING  # rolled back: nothing marked
        batch.refresh_from_db()
        assert batch.state == HandoffBatch.State.BUILDING and "disk full" in batch.error
        assert batch.high_water is None
        monkeypatch.undo()
        assert services.handoff_batch_build(batch_id=batch.pk, out=tmp_path / "x.dat").rows == 1

    def test_export_ranges_resend_done_and_late_jobs(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
    ) -> None:
        target = targets["bulk"]
        apps = [make_approved(n) for n in ("山田 太郎", "佐藤 花子", "鈴木 一郎")]
        services.handoff_scan()
        b1, raw1 = export(target, procedure, tmp_path, "1.dat")
        keys1 = fixed_keys(raw1)
        assert len(keys1) == 3 and (b1.low_water, b1.rows) == (0, 3)
        jobs = [HandoffJob.objects.get(application=a, target=target) for a in apps]
        assert selectors.target_state_counts(target=target) == {JobState.DELIVERED: 3}
        # a job created after the file: only it goes into the next one
        late = make_approved("高橋 次郎")
        services.handoff_scan()
        b2, raw2 = export(target, procedure, tmp_path, "2.dat")
        late_job = HandoffJob.objects.get(application=late, target=target)
        assert fixed_keys(raw2) == [late_job.idempotency_key] and b2.low_water == b1.high_water
        # 取込完了 of a job exported by range; a resend of it and of another one: both in the next file only
        services.handoff_job_mark_done(job=jobs[0], actor=Actor.system("t"))
        jobs[0].refresh_from_db()
        assert (jobs[0].state, jobs[0].batch_id, jobs[0].attempts) == (JobState.DONE, b1.pk, 1)
        with pytest.raises(services.HandoffError) as exc:
            services.handoff_job_mark_done(job=jobs[0], actor=Actor.system("t"))
        assert exc.value.code == "handoff.state"
        for job in (jobs[0], jobs[2]):
            services.handoff_job_resend(job=job, actor=Actor.system("t"))
            assert selectors.job_view(HandoffJob.objects.get(pk=job.pk)).state == JobState.PENDING
        with pytest.raises(services.HandoffError) as exc:
            services.handoff_job_resend(job=jobs[2], actor=Actor.system("t"))
        assert exc.value.code == "handoff.not_sent"
        b3, raw3 = export(target, procedure, tmp_path, "3.dat")
        assert fixed_keys(raw3) == [jobs[0].idempotency_key, jobs[2].idempotency_key] and b3.rows == 2
        assert fixed_keys(export(target, procedure, tmp_path, "4.dat")[1]) == []
        views = {j.pk: selectors.job_view(HandoffJob.objects.get(pk=j.pk)) for j in [*jobs, late_job]}
        assert views[jobs[0].pk] == selectors.JobView(JobState.DELIVERED, b3.pk, 1)
        assert views[jobs[1].pk] == selectors.JobView(JobState.DELIVERED, b1.pk, 1)
        assert views[late_job.pk] == selectors.JobView(JobState.DELIVERED, b2.pk, 1)
        # --include-exported: everything again with the same keys, counted as one more delivery
        b5, raw5 = export(target, procedure, tmp_path, "5.dat", include_exported=True)
        assert sorted(fixed_keys(raw5)) == sorted([*keys1, late_job.idempotency_key])
        assert selectors.job_view(HandoffJob.objects.get(pk=jobs[1].pk)) == selectors.JobView(
            JobState.DELIVERED, b5.pk, 2
        )
        assert fixed_keys(export(target, procedure, tmp_path, "6.dat")[1]) == []

    def test_staff_panel_shows_range_exported_jobs(
        self,
        client: Any,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        make_staff: Callable[..., Actor],
        tmp_path: Path,
    ) -> None:
        app = make_approved()
        services.handoff_scan()
        batch, _ = export(targets["bulk"], procedure, tmp_path, "p.dat")
        make_staff("madoguchi", (Role.CLERK, None))
        client.login(username="madoguchi", password="demo-pass-2026")
        page = client.get(f"/staff/applications/{app.pk}/").content.decode()
        assert "出力済" in page and f"#{batch.pk}" in page and "取込完了にする" in page

    def test_cli_export(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        procedure: Any,
        tmp_path: Path,
    ) -> None:
        make_approved()
        services.handoff_scan()
        out = io.StringIO()
        call_command(
            "handoff",
            "export",
            "--method",
            "bulk",
            "--procedure",
            procedure.code,
            "--out",
            str(tmp_path / "f.dat"),
            stdout=out,
        )
        assert "1 件" in out.getvalue()
        assert len(fixed_keys((tmp_path / "f.dat").read_bytes())) == 1


class TestSweeper:
    def test_stuck_jobs_are_requeued_then_failed_after_max_attempts(
        self, make_approved: Callable[..., Application], targets: dict[str, HandoffTarget]
    ) -> None:
        app = make_approved()
        services.handoff_scan()
        job = HandoffJob.objects.get(application=app, target=targets["pull"])
        later = timezone.now() + timedelta(hours=1)
        for attempt in (1, 2, 3):
            HandoffJob.objects.filter(pk=job.pk).update(
                state=JobState.IN_PROGRESS, attempts=attempt, claimed_at=timezone.now()
            )
            result = services.handoff_sweep(now=later, scan=False)
            job.refresh_from_db()
            if attempt < 3:
                assert job.state == JobState.PENDING and result.requeued == 1
        assert job.state == JobState.FAILED and "受領確認がありません" in job.last_error
        services.handoff_job_resend(job=job, actor=Actor.system("t"))
        job.refresh_from_db()
        assert job.state == JobState.PENDING and job.attempts == 0

    def test_stuck_batch_is_retried_then_failed(
        self,
        targets: dict[str, HandoffTarget],
        procedure: Any,
        eager_celery: None,
        django_capture_on_commit_callbacks: Any,
        settings: Any,
        tmp_path: Path,
    ) -> None:
        settings.DATA_DIR = tmp_path
        batch = services.handoff_batch_request(
            target=targets["bulk"], procedure=procedure, actor=Actor.system("t"), dispatch=False
        )
        with django_capture_on_commit_callbacks(execute=True):
            result = services.handoff_sweep(now=timezone.now() + timedelta(hours=1), scan=False)
        assert result.batches_retried == [batch.pk]
        batch.refresh_from_db()
        assert batch.state == HandoffBatch.State.READY and batch.rows == 0
        stuck = services.handoff_batch_request(
            target=targets["bulk"], procedure=procedure, actor=Actor.system("t"), dispatch=False
        )
        HandoffBatch.objects.filter(pk=stuck.pk).update(attempts=3)
        assert services.handoff_sweep(now=timezone.now() + timedelta(hours=1), scan=False).batches_failed == 1


class TestStaffPanel:
    def test_transcribe_done_and_resend_buttons(
        self,
        client: Any,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        make_staff: Callable[..., Actor],
    ) -> None:
        app = make_approved()
        services.handoff_scan()
        make_staff("madoguchi", (Role.CLERK, None))
        client.login(username="madoguchi", password="demo-pass-2026")
        page = client.get(f"/staff/applications/{app.pk}/").content.decode()
        assert "基幹システム連携" in page and "転記完了にする" in page and "未連携" in page
        job = HandoffJob.objects.get(application=app, target=targets["transcribe"])
        response = client.post(f"/staff/handoff/applications/{app.pk}/jobs/{job.pk}/done/")
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.state == JobState.DONE
        assert AuditEvent.objects.filter(action="handoff.done", object_id=job.idempotency_key).exists()
        # a clerk may not force a resend; a done 転記 is never re-sent
        with pytest.raises(PermissionDeniedError):
            services.handoff_job_resend(job=job, actor=Actor.system("x") if False else _clerk(make_staff))
        with pytest.raises(services.HandoffError) as exc:
            services.handoff_job_resend(job=job, actor=Actor.system("t"))
        assert exc.value.code == "handoff.already_done"

    def test_other_department_cannot_mark_done(
        self,
        make_approved: Callable[..., Application],
        targets: dict[str, HandoffTarget],
        kaigo_handler: Actor,
    ) -> None:
        app = make_approved()
        services.handoff_scan()
        job = HandoffJob.objects.get(application=app, target=targets["transcribe"])
        with pytest.raises(PermissionDeniedError):
            services.handoff_job_mark_done(job=job, actor=kaigo_handler)


def _clerk(make_staff: Callable[..., Actor]) -> Actor:
    from django.contrib.auth import get_user_model

    from madoguchi.core.scope import staff_actor

    return staff_actor(get_user_model().objects.get(username="madoguchi"))
