"""/staff/nursery/ for 保育課: upload (a bad file gets the row/column report and nothing is stored), the
run as a job (eager here) with its progress, results with ボーダー and why-not, comparison, export."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from madoguchi.core.models import Role
from madoguchi.nursery import io as nio
from madoguchi.nursery.explain import borders, why
from madoguchi.nursery.generate import generate_instance
from madoguchi.nursery.models import MatchingRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    instance = generate_instance(children=120, facilities=6, seed=11)
    nio.write_children_csv(instance, tmp_path / "children.csv")
    nio.write_facilities_csv(instance, tmp_path / "facilities.csv")
    return {
        "children": (tmp_path / "children.csv").read_bytes(),
        "facilities": (tmp_path / "facilities.csv").read_bytes(),
    }


def _post(client: Client, files: dict[str, bytes], **extra: Any) -> Any:
    data = {k: io.BytesIO(v) for k, v in files.items()}
    for k, f in data.items():
        f.name = f"{k}.csv"
    return client.post("/staff/nursery/", {**data, "name": "令和8年4月一次", **extra})


def test_hoiku_runs_a_round_and_reads_the_results(
    client: Client, make_staff: Any, files: dict[str, bytes], django_capture_on_commit_callbacks: Any
) -> None:
    staff = make_staff("hoiku", (Role.HANDLER, "hoiku"))
    client.force_login(staff.user)
    assert client.get("/staff/nursery/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued after the commit
        response = _post(client, files, solver="exact", time_limit="60")
    run = MatchingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/nursery/runs/{run.pk}/"
    assert run.status == "done" and run.progress == 100  # Celery is eager in tests
    assert run.summary["placed"] + run.summary["unplaced"] == 120 and run.summary["blocking_coalitions"] == 0
    page = client.get(f"/staff/nursery/runs/{run.pk}/").content.decode()
    assert "ボーダー" in page and "令和8年4月一次" in page
    unplaced = (
        next(cid for cid, d in run.assignment.items() if d is None)
        if None in run.assignment.values()
        else None
    )
    if unplaced:
        html = client.get(f"/staff/nursery/runs/{run.pk}/", {"child": unplaced}).content.decode()
        assert "第1希望" in html and "定員" in html
    csv_bytes = client.get(f"/staff/nursery/runs/{run.pk}/result.csv").content
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and "入所選考結果保育所ID".encode() in csv_bytes
    wb = load_workbook(io.BytesIO(client.get(f"/staff/nursery/runs/{run.pk}/result.xlsx").content))
    assert wb["結果"].max_row == 121
    # a second run with the rule procedure, compared with the first
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, files, solver="rule")
    second = MatchingRun.objects.exclude(pk=run.pk).get()
    html = client.get(f"/staff/nursery/runs/{second.pk}/", {"compare": run.pk}).content.decode()
    assert "結果が違う申込者" in html
    status = client.get(f"/staff/nursery/runs/{second.pk}/status/")
    assert status["HX-Refresh"] == "true"


def test_bad_file_gets_the_report_and_nothing_is_stored(
    client: Client, make_staff: Any, files: dict[str, bytes]
) -> None:
    from madoguchi.applications.models import Blob

    client.force_login(make_staff("hoiku", (Role.HANDLER, "hoiku")).user)
    lines = files["children"].decode("utf-8-sig").splitlines()
    cells = lines[2].split(",")
    cells[2] = "9"  # 年齢 out of 0〜5
    lines[2] = ",".join(cells)
    bad = {**files, "children": ("\n".join(lines) + "\n").encode("utf-8-sig")}
    page = _post(client, bad).content.decode()
    assert "入力データに" in page and "選考は実行していません" in page and "年齢" in page
    assert not MatchingRun.objects.exists() and not Blob.objects.exists()


def test_other_departments_cannot_open_it(client: Client, make_staff: Any) -> None:
    client.force_login(make_staff("kosodate", (Role.HANDLER, "kosodate")).user)
    assert client.get("/staff/nursery/").status_code == 403


def test_border_and_why_not_agree_with_the_assignment() -> None:
    instance = generate_instance(children=80, facilities=4, seed=5)
    from madoguchi.nursery.solvers import solvers

    result = solvers["stable"].solve(instance)
    table = {(b.facility, b.age): b for b in borders(instance, result.assignment)}
    for child in instance.children:
        given = result.assignment.get(child.id)
        if given is not None:
            assert table[(given, child.age)].lowest is not None
            assert table[(given, child.age)].lowest <= child.points_at(given)
        reasons = why(instance, result.assignment, child)
        assert reasons and all(r.outcome for r in reasons)
        assert (reasons[-1].outcome == "内定") == (given is not None and given in child.wishes)
        # borders computed once and passed in give the same reasons
        shared = borders(instance, result.assignment)
        assert why(instance, result.assignment, child, shared) == reasons


def test_household_notice_pdf(
    client: Client, make_staff: Any, files: dict[str, bytes], django_capture_on_commit_callbacks: Any
) -> None:
    from tests.printing.pdfcheck import page_texts

    client.force_login(make_staff("hoiku", (Role.HANDLER, "hoiku")).user)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, files, solver="stable")
    run = MatchingRun.objects.get()
    unplaced = [cid for cid, d in run.assignment.items() if d is None]
    child = unplaced[0] if unplaced else next(iter(run.assignment))
    household = next(
        line.split(",")[1]
        for line in files["children"].decode("utf-8-sig").splitlines()[1:]
        if line.split(",")[0] == child
    )
    html = client.get(f"/staff/nursery/runs/{run.pk}/", {"child": child}).content.decode()
    assert "結果通知書（PDF）" in html
    pdf = client.get(f"/staff/nursery/runs/{run.pk}/notice.pdf", {"household": household})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(p.text for p in page_texts(pdf.content)).replace(" ", "")
    assert "利用調整結果通知書" in text and child in text
    assert ("保留" in text and "第1希望" in text) if unplaced else "内定" in text
    assert client.get(f"/staff/nursery/runs/{run.pk}/notice.pdf", {"household": "nope"}).status_code == 404
