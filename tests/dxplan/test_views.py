"""/dx/plan/ pages: DX推進 and 管理者 only, every page renders, exports, the import form, the demo data."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.urls import reverse

from madoguchi.core.models import AuditEvent, Role
from madoguchi.dxplan.demo import dxplan_demo_ensure
from madoguchi.dxplan.models import CardRateImport, MigrationTask, Project

PAGES = [
    ("dxplan:projects", []),
    ("dxplan:project_new", []),
    ("dxplan:timeline", []),
    ("dxplan:migration", []),
    ("dxplan:migration_business", ["koseki"]),
    ("dxplan:cell", ["koseki", 3]),
    ("dxplan:cardrate", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_handler_of_a_department_gets_403(client: Any, handler: Any, name: str, args: list[Any]) -> None:
    client.force_login(handler.user)
    assert client.get(reverse(name, args=args)).status_code == 403


def test_anonymous_is_sent_to_login(client: Any, db: Any) -> None:
    response = client.get(reverse("dxplan:migration"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_may_open(client: Any, make_staff: Any) -> None:
    admin = make_staff("kanri", (Role.ADMIN, None))
    client.force_login(admin.user)
    assert client.get(reverse("dxplan:migration")).status_code == 200


def test_every_page_renders_with_the_demo_data(dx_client: Any, municipality: Any) -> None:
    dxplan_demo_ensure(municipality=municipality)
    dxplan_demo_ensure(municipality=municipality)  # idempotent
    assert MigrationTask.objects.filter(municipality=municipality).count() == 340
    assert CardRateImport.objects.filter(municipality=municipality).count() == 2
    project = Project.objects.filter(municipality=municipality).first()
    assert project is not None
    for name, args in [*PAGES, ("dxplan:project", [project.pk])]:
        response = dx_client.get(reverse(name, args=args))
        assert response.status_code == 200, name
        assert "<script>" not in response.content.decode()  # no inline script: charts are plain SVG
    page = dx_client.get(reverse("dxplan:cardrate")).content.decode()
    assert "全市区町村での順位" in page and "<svg" in page
    source = CardRateImport.objects.filter(municipality=municipality).first()
    assert source is not None
    table = dx_client.get(reverse("dxplan:cardrate_table", args=[source.pk]), {"prefecture": "架空県"})
    assert "当団体" in table.content.decode()


def test_cell_form_and_export(dx_client: Any, municipality: Any) -> None:
    url = reverse("dxplan:cell", args=["koseki", 3])
    response = dx_client.post(
        url,
        {
            "status": "started",
            "planned_start": "2025-04-01",
            "planned_end": "2025-06-30",
            "note": "",
            "version": 0,
        },
    )
    assert response.status_code == 302
    task = MigrationTask.objects.get(business="koseki", item=3)
    assert task.status == "started" and task.version == 1
    stale = dx_client.post(url, {"status": "done", "version": 0}, follow=True)
    assert "dxplan.concurrent_update" in stale.content.decode()

    formula = '=HYPERLINK("http://example.com")'
    dx_client.post(url, {"status": "started", "planned_start": "2025-04-01", "note": formula, "version": 1})
    xlsx = dx_client.get(reverse("dxplan:migration_xlsx"))
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["進捗一覧", "作業明細"]
    assert wb["進捗一覧"]["A3"].value == "児童手当"
    detail_rows = list(wb["作業明細"].iter_rows(values_only=True))
    assert len(detail_rows) == 1 + 20 * 17
    assert ("戸籍", "計画立案", "③標準仕様との比較分析", "着手") == detail_rows[1 + 17 * 17 + 2][:4]
    note = detail_rows[1 + 17 * 17 + 2][10]
    assert note.startswith("'=HYPERLINK")  # text, never a formula
    csv = b"".join(dx_client.get(reverse("dxplan:migration_csv")).streaming_content)
    assert csv.startswith("\ufeff業務,フェーズ,作業項目".encode())
    assert "令和7年4月1日" in csv.decode("utf-8-sig") and "None" not in csv.decode("utf-8-sig")
    assert AuditEvent.objects.filter(action="dxplan.migration_export").count() == 2


def test_import_form_shows_errors_with_codes_and_writes_nothing(dx_client: Any, municipality: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = "都道府県名,市区町村名,人口,交付枚数\r\n架空県,みどり市,８４，３１２,abc\r\n".encode("cp932")
    response = dx_client.post(
        reverse("dxplan:cardrate"), {"file": SimpleUploadedFile("bad.csv", bad), "as_of": "2025-03-31"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "cardrate.number_invalid" in text and "2行目「交付枚数」列" in text
    assert not CardRateImport.objects.exists()
    good = "都道府県名,市区町村名,人口,交付枚数\r\n架空県,みどり市,８４，３１２,60000\r\n".encode("cp932")
    for _ in range(2):
        response = dx_client.post(
            reverse("dxplan:cardrate"), {"file": SimpleUploadedFile("good.csv", good), "as_of": "2025-03-31"}
        )
        assert response.status_code == 302
    assert CardRateImport.objects.count() == 1


def test_command_imports_a_file(tmp_path: Any, dx: Any) -> None:
    from django.core.management import call_command

    path = tmp_path / "t.csv"
    path.write_bytes(
        "（令和7年3月31日現在）\r\n都道府県名,市区町村名,人口,交付枚数\r\n架空県,みどり市,100,70\r\n".encode()
    )
    out = io.StringIO()
    call_command("dxplan_import_cardrate", str(path), "--user", "dx", stdout=out)
    assert "取り込みました" in out.getvalue()
    call_command("dxplan_import_cardrate", str(path), "--user", "dx", stdout=out)
    assert "取込済み" in out.getvalue()


def test_evidence_upload_and_download(dx_client: Any, municipality: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.dxplan.test_services import PNG

    url = reverse("dxplan:cell", args=["kaigo_hoken", 12])
    upload = SimpleUploadedFile("評価書.png", PNG, content_type="image/png")
    response = dx_client.post(url, {"action": "evidence", "file": upload})
    assert response.status_code == 302
    page = dx_client.get(reverse("dxplan:cell", args=["kaigo_hoken", 12])).content.decode()
    assert "評価書.png" in page
    evidence = MigrationTask.objects.get(business="kaigo_hoken", item=12).evidence.get()
    download = dx_client.get(reverse("dxplan:evidence_file", args=[evidence.pk]))
    assert b"".join(download.streaming_content) == PNG
    assert "attachment" in download["Content-Disposition"]
    script = SimpleUploadedFile("x.pdf", b"#!/bin/sh\nrm -rf /\n")
    refused = dx_client.post(url, {"action": "evidence", "file": script}, follow=True)
    assert "attachment.type_not_allowed" in refused.content.decode()


def test_another_municipality_sees_nothing_of_ours(
    client: Any, dx: Any, make_staff: Any, other_municipality: Any
) -> None:
    from datetime import date

    from madoguchi.dxplan.services import ProjectFields, migration_evidence_add, project_save
    from tests.dxplan.test_services import PNG

    project = project_save(
        actor=dx,
        fields=ProjectFields(
            priority="online", title="内部", start_date=date(2025, 4, 1), end_date=date(2026, 3, 31)
        ),
    )
    evidence = migration_evidence_add(actor=dx, business="koseki", item=1, content=PNG, filename="a.png")
    other = make_staff("dx-aoba", ("dx", None), m=other_municipality)
    client.force_login(other.user)
    assert client.get(reverse("dxplan:project", args=[project.pk])).status_code == 404
    assert client.get(reverse("dxplan:evidence_file", args=[evidence.pk])).status_code == 404
    assert "内部" not in client.get(reverse("dxplan:projects")).content.decode()


def test_project_pages_post_back_to_themselves(dx_client: Any, municipality: Any) -> None:
    new = dx_client.post(
        reverse("dxplan:project_new"),
        {
            "priority": "ai_rpa",
            "title": "AI議事録の導入",
            "status": "planned",
            "start_date": "2026-04-01",
            "end_date": "2027-03-31",
            "owner_department": "総務課",
        },
    )
    project = Project.objects.get(title="AI議事録の導入")
    assert new["Location"] == reverse("dxplan:project", args=[project.pk])
    url = new["Location"]
    refused = dx_client.post(
        url, {"action": "milestone_add", "milestone-title": "", "milestone-due_date": "x"}
    )
    assert refused["Location"] == url
    assert "dxplan.form_invalid" in dx_client.get(url).content.decode()
    dx_client.post(
        url, {"action": "milestone_add", "milestone-title": "試行", "milestone-due_date": "2026-09-30"}
    )
    milestone = project.milestones.get()
    dx_client.post(url, {"action": "milestone_done", "milestone": milestone.pk, "done": "1"})
    milestone.refresh_from_db()
    assert milestone.done
    timeline = dx_client.get(reverse("dxplan:timeline")).content.decode()
    assert "令和8年度" in timeline and "AI議事録の導入" in timeline


def test_summary_for_the_dashboard(municipality: Any) -> None:
    from django.utils import timezone

    from madoguchi.dxplan.selectors import dxplan_summary

    empty = dxplan_summary(municipality=municipality, today=timezone.localdate())
    assert (empty.projects, empty.migration_percent, empty.card_rate) == (0, 0, None)
    dxplan_demo_ensure(municipality=municipality)
    summary = dxplan_summary(municipality=municipality, today=timezone.localdate())
    assert summary.projects == 13 and 0 < summary.migration_percent <= 100
    assert summary.card_rate is not None and summary.card_rank is not None and summary.card_total == 39


def test_prefecture_table_position(dx_client: Any, dx: Any, municipality: Any) -> None:
    from madoguchi.dxplan.services import cardrate_import

    text = (
        "都道府県別（令和3年11月1日現在）\r\n都道府県名,人口 (R3.1.1時点),交付枚数,人口に対する 交付枚数率\r\n"
        '宮崎県,"1,087,372","551,420",50.7%\r\n架空県,"1,000,000","450,000",45.0%\r\n'
        '高知県,"701,531","222,722",31.7%\r\n'
    )
    cardrate_import(actor=dx, content=text.encode("cp932"), filename="pref.csv")
    page = dx_client.get(reverse("dxplan:cardrate")).content.decode()
    assert "架空県の交付率は 45.00%（2位 / 3）" in page
