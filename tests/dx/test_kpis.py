"""DX推進 KPIs from live data: the refresh (PostgreSQL set-based, and the Python path the demo uses,
held to the same figures), 開庁日 medians, PDCA records, and who may open /dx/."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.applications import services as app_services
from madoguchi.applications.models import Application, ApplicationEvent
from madoguchi.core.errors import PermissionDeniedError, ValidationFailed
from madoguchi.core.jp.business_days import business_days_between
from madoguchi.core.models import Role
from madoguchi.core.scope import Actor
from madoguchi.dx import refresh, selectors, services
from madoguchi.dx.models import CounterMonth, Kpi, Measure, ProcedureMonth

FIELDS = selectors.SUMS  # every count the refresh writes


@pytest.fixture
def dx(make_staff: Any) -> Actor:
    return make_staff("dx", (Role.DX, None))


def _rows() -> dict[tuple[int, date], tuple[Any, ...]]:
    return {
        (r.procedure_id, r.month): (
            *(getattr(r, f) for f in FIELDS),
            None if r.median_days is None else round(r.median_days, 6),
        )
        for r in ProcedureMonth.objects.all()
    }


@pytest.mark.django_db
def test_refresh_on_postgresql_matches_the_python_path_on_the_demo_data() -> None:
    from madoguchi.demo.services import demo_load

    municipality = demo_load(
        applications=160, seed=7
    ).municipality  # runs the refresh (PostgreSQL) at the end
    assert connection.vendor == "postgresql"
    set_based = _rows()
    counters = sorted(CounterMonth.objects.values_list("service_name", "month", "tickets", "served"))
    assert (
        sum(r[0] for r in set_based.values()) == Application.objects.filter(municipality=municipality).count()
    )
    assert any(r[FIELDS.index("finished")] for r in set_based.values())
    assert any(r[FIELDS.index("corrected")] for r in set_based.values())
    ProcedureMonth.objects.all().delete()
    CounterMonth.objects.all().delete()
    refresh.rebuild_python(municipality)
    assert _rows() == set_based
    assert sorted(CounterMonth.objects.values_list("service_name", "month", "tickets", "served")) == counters
    # the figures a DX推進 user reads add up to the applications themselves
    board = selectors.dashboard(municipality)
    fy_start = date(selectors.fiscal_year_of(timezone.localdate()), 4, 1)
    in_year = Application.objects.filter(municipality=municipality, submitted_at__date__gte=fy_start)
    assert board.year.submitted == in_year.count()
    online = in_year.filter(channel__in=["online", "pittari"]).count()
    assert board.year.online_rate == round(100 * online / in_year.count(), 1)


@pytest.mark.django_db
def test_median_is_counted_in_office_days(
    municipality: Any, procedure: Any, valid_data: dict, handler: Actor
) -> None:
    """受付 on a Friday, 完了 the next Tuesday after a national holiday Monday: 1 開庁日, as
    business_days_between says."""
    submitted = timezone.make_aware(datetime.combine(date(2026, 7, 17), time(10)))  # Fri; 7/20 海の日
    application = app_services.application_submit(
        procedure=procedure,
        data=valid_data,
        channel="online",
        actor=Actor.system("online"),
        submitted_at=submitted,
    )
    terminal = application.status.workflow.statuses.get(code="completed")
    ApplicationEvent.objects.create(
        application=application,
        kind="transition",
        actor_label="test",
        at=timezone.make_aware(datetime.combine(date(2026, 7, 21), time(15))),
        from_status=application.status,
        to_status=terminal,
    )
    services.kpi_refresh(municipality=municipality)
    row = ProcedureMonth.objects.get(procedure=procedure, month=date(2026, 7, 1))
    assert row.finished == 1 and row.submitted == 1 and row.online == 1
    assert row.median_days == business_days_between(date(2026, 7, 17), date(2026, 7, 21)) == 1


@pytest.mark.django_db
def test_pdca_cycle_plan_do_check_act(municipality: Any, procedure: Any, valid_data: dict, dx: Actor) -> None:
    for channel in ["online", "online", "paper", "counter"]:
        app_services.application_submit(
            procedure=procedure, data=valid_data, channel=channel, actor=Actor.system(channel)
        )
    services.kpi_refresh(municipality=municipality)
    today = timezone.localdate()
    kpi = services.kpi_create(
        actor=dx,
        name="オンライン申請率を60%に",
        measure=Measure.ONLINE_RATE,
        target="６０％",
        period_start=today.replace(day=1),
        period_end=today + timedelta(days=90),
        procedure_id=procedure.pk,
    )
    assert kpi.target == 60 and kpi.unit == "%" and kpi.higher_is_better
    check = selectors.kpi_check(kpi)
    assert check.latest == 50.0 and check.achieved is False and check.gap == -10.0
    action = services.kpi_action_add(actor=dx, kpi=kpi, title="窓口で電子申請を案内する", owner="市民課")
    services.kpi_action_status(actor=dx, action=action, status="doing")
    decision = services.kpi_decide(
        actor=dx,
        kpi=kpi,
        decided_on=today,
        decision="案内を続け、目標を上げる",
        next_target="70",
        next_period=(today + timedelta(days=91), today + timedelta(days=365)),
    )
    assert decision.next_kpi is not None and decision.next_kpi.previous == kpi
    assert decision.next_kpi.target == 70 and decision.next_kpi.baseline == 60
    with pytest.raises(ValidationFailed) as bad:
        services.kpi_create(
            actor=dx,
            name="x",
            measure=Measure.ONLINE_RATE,
            target="たくさん",
            period_start=today,
            period_end=today,
        )
    assert bad.value.code == "dx.kpi_target"
    with pytest.raises(ValidationFailed) as bad:
        services.kpi_manual_value_set(actor=dx, kpi=kpi, month=today, value=3)
    assert bad.value.code == "dx.kpi_not_manual"
    manual = services.kpi_create(
        actor=dx,
        name="職員満足度",
        measure=Measure.MANUAL,
        target=4,
        unit="点",
        period_start=today.replace(day=1),
        period_end=today + timedelta(days=30),
    )
    services.kpi_manual_value_set(actor=dx, kpi=manual, month=today, value="４．２")
    assert selectors.kpi_check(manual).latest == 4.2 and selectors.kpi_check(manual).achieved is True
    assert Kpi.objects.count() == 3


@pytest.mark.django_db
def test_only_dx_and_admin_open_dx(
    client: Client, municipality: Any, dx: Actor, handler: Actor, make_staff: Any
) -> None:
    with pytest.raises(PermissionDeniedError):
        services.kpi_create(
            actor=handler,
            name="x",
            measure=Measure.ONLINE_RATE,
            target=1,
            period_start=date(2026, 4, 1),
            period_end=date(2027, 3, 31),
        )
    client.force_login(handler.user)
    assert client.get("/dx/").status_code == 403
    client.force_login(make_staff("admin", (Role.ADMIN, None)).user)
    assert client.get("/dx/").status_code == 200
    client.force_login(dx.user)
    assert client.get("/dx/").status_code == 200


@pytest.mark.django_db
def test_dashboard_reads_aggregates_in_constant_queries(
    client: Client, municipality: Any, procedure: Any, valid_data: dict, dx: Actor
) -> None:
    client.force_login(dx.user)
    counts = []
    for n in (1, 6):
        for _ in range(n):
            app_services.application_submit(
                procedure=procedure, data=valid_data, channel="online", actor=Actor.system("online")
            )
        services.kpi_refresh(municipality=municipality)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/dx/")
        assert page.status_code == 200
        counts.append(len(queries))
    html = page.content.decode()
    assert "オンライン申請率" in html and "<svg" in html and "100.0%" in html
    assert counts[0] == counts[1] and counts[1] <= 15, counts


@pytest.mark.django_db
def test_open_data_publishes_aggregates_with_small_counts_suppressed(
    client: Client, municipality: Any, procedure: Any, notification: Any, valid_data: dict, dx: Actor
) -> None:
    import csv
    import io

    for _ in range(6):
        app_services.application_submit(
            procedure=procedure, data=valid_data, channel="online", actor=Actor.system("online")
        )
    for _ in range(2):
        app_services.application_submit(
            procedure=notification, data=valid_data, channel="paper", actor=Actor.system("paper")
        )
    services.kpi_refresh(municipality=municipality)
    assert (
        client.get(f"/opendata/{municipality.code}/application_stats.csv").status_code == 404
    )  # not yet published
    services.dataset_publish(actor=dx, kind="application_stats", publish=True)
    response = client.get(f"/opendata/{municipality.code}/application_stats.csv")
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    by_name = {r["手続名"]: r for r in rows}
    assert (
        by_name[procedure.name]["申請件数"] == "6" and by_name[procedure.name]["オンライン申請率"] == "100.0"
    )
    assert (
        by_name[notification.name]["申請件数"] == "*"
        and by_name[notification.name]["オンライン申請率"] == "*"
    )
    assert rows[0]["全国地方公共団体コード"] == municipality.code
    assert valid_data["name"] not in body.decode("utf-8-sig")  # never personal data
    meta = client.get(f"/opendata/{municipality.code}/catalog.json").json()
    assert meta["@type"] == "dcat:Catalog" and len(meta["dcat:dataset"]) == 1
    urls = [d["dcat:downloadURL"] for d in meta["dcat:dataset"][0]["dcat:distribution"]]
    assert any(u.endswith("application_stats.json") for u in urls)
    assert client.get(f"/opendata/{municipality.code}/application_stats.json").json()["records"][0]["年月"]
    page = client.get("/opendata/").content.decode()
    assert "手続別・月別の申請件数とオンライン申請率" in page
    services.dataset_publish(actor=dx, kind="application_stats", publish=False)
    assert client.get(f"/opendata/{municipality.code}/application_stats.csv").status_code == 404


@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=200))
def test_histogram_median_is_the_median(values: list[int]) -> None:
    import statistics
    from collections import Counter

    assert refresh.histogram_median(dict(Counter(values))) == statistics.median(values)


@pytest.mark.django_db
def test_bpr_flow_counts_steps_rework_and_the_bottleneck(
    client: Client, municipality: Any, procedure: Any, valid_data: dict, dx: Actor
) -> None:
    from madoguchi.dx.bpr import procedure_flow

    statuses = {s.code: s for s in procedure.workflow.statuses.all()}

    def history(start: date, steps: list[tuple[str, int]]) -> None:
        """A 受付 on ``start`` (a Monday), then each (status, calendar days later)."""
        at = timezone.make_aware(datetime.combine(start, time(10)))
        app = app_services.application_submit(
            procedure=procedure,
            data=valid_data,
            channel="online",
            actor=Actor.system("online"),
            submitted_at=at,
        )
        ApplicationEvent.objects.filter(application=app).update(at=at)
        for code, days in steps:
            at += timedelta(days=days)
            ApplicationEvent.objects.create(
                application=app, kind="transition", actor_label="t", at=at, to_status=statuses[code]
            )

    # before the change: review waits a week, one in two goes through a 補正 loop
    history(date(2026, 6, 1), [("reviewing", 7), ("completed", 1)])
    history(
        date(2026, 6, 8),
        [("reviewing", 7), ("correction_requested", 1), ("resubmitted", 2), ("completed", 1)],
    )
    # after the change: review starts the next day
    history(date(2026, 7, 6), [("reviewing", 1), ("completed", 1)])
    services.kpi_refresh(municipality=municipality)  # the 開庁日 calendar
    flow = procedure_flow(procedure)
    assert flow.applications == 3 and flow.rework_applications == 1 and flow.rework_loops == 1
    steps = {(s.source, s.target): s for s in flow.steps}
    assert (
        steps[("受付", "審査中")].count == 3 and steps[("受付", "審査中")].median_days == 5
    )  # 7, 7, 1 days → 5, 5, 1 開庁日
    assert steps[("補正依頼", "再提出")].is_rework
    assert flow.bottleneck is not None and (flow.bottleneck.source, flow.bottleneck.target) == (
        "受付",
        "審査中",
    )
    before, after = (
        procedure_flow(procedure, until=date(2026, 7, 1)),
        procedure_flow(procedure, since=date(2026, 7, 1)),
    )
    assert (before.applications, after.applications) == (2, 1)
    assert before.median_total_days is not None and after.median_total_days == 2
    client.force_login(dx.user)
    html = client.get("/dx/bpr/", {"procedure": procedure.code, "change": "2026-07-01"}).content.decode()
    assert "ボトルネック" in html and "受付 → 審査中" in html and "改善前" in html
    bad = client.get("/dx/bpr/", {"procedure": procedure.code, "change": "七月"})
    assert bad.status_code == 400 and "dx.bpr_change" in bad.content.decode()


@pytest.mark.django_db
def test_kpi_report_for_the_council_as_pdf_and_excel(
    client: Client, municipality: Any, procedure: Any, valid_data: dict, dx: Actor
) -> None:
    import io

    from openpyxl import load_workbook

    from tests.printing.pdfcheck import page_texts

    for channel in ["online", "paper"]:
        app_services.application_submit(
            procedure=procedure, data=valid_data, channel=channel, actor=Actor.system(channel)
        )
    services.kpi_refresh(municipality=municipality)
    today = timezone.localdate()
    services.kpi_create(
        actor=dx,
        name="オンライン申請率を60%に",
        measure=Measure.ONLINE_RATE,
        target=60,
        period_start=today.replace(day=1),
        period_end=today + timedelta(days=60),
    )
    client.force_login(dx.user)
    pdf = client.get("/dx/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(p.text for p in page_texts(pdf.content))
    assert "DX推進 KPI 報告" in text and "オンライン申請率を60%に" in text and "未達" in text
    xlsx = client.get("/dx/report.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx["Content-Disposition"]
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb["KPI"]["A5"].value == "オンライン申請率を60%に" and wb["KPI"]["E5"].value == "未達"
    assert wb["KPI1"]._charts, "the KPI's sheet carries a line chart"
    assert client.get("/dx/report.doc").status_code == 404


def test_local_dates_shift_by_a_constant_only_where_the_zone_has_one(settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    assert refresh.fixed_offset(date(2000, 1, 1), date(2030, 12, 31)) == timedelta(hours=9)
    assert "+ %(shift)s" in refresh._local(refresh.FINISHED_MONTHS_SQL, timedelta(hours=9))
    settings.TIME_ZONE = "Europe/London"  # summer time: AT TIME ZONE per row
    assert refresh.fixed_offset(date(2000, 1, 1), date(2030, 12, 31)) is None
    assert "AT TIME ZONE %(tz)s" in refresh._local(refresh.FINISHED_MONTHS_SQL, None)


@pytest.mark.django_db
def test_kpi_links_roadmap_projects_and_open_data_lists_nursery_facilities(
    client: Client, municipality: Any, dx: Actor, make_staff: Any, tmp_path: Any
) -> None:
    import csv
    import io

    from madoguchi.dxplan.models import Project
    from madoguchi.nursery import io as nio
    from madoguchi.nursery import services as nursery
    from madoguchi.nursery.generate import generate_instance

    today = timezone.localdate()
    kpi = services.kpi_create(
        actor=dx,
        name="オンライン申請率を50%に",
        measure=Measure.ONLINE_RATE,
        target=50,
        period_start=today,
        period_end=today + timedelta(days=30),
    )
    project = Project.objects.create(
        municipality=municipality,
        priority="online",
        title="電子申請の拡大",
        start_date=today,
        end_date=today + timedelta(days=90),
    )
    services.kpi_project_link(actor=dx, kpi=kpi, project_id=project.pk)
    assert list(kpi.projects.all()) == [project]
    client.force_login(dx.user)
    assert "電子申請の拡大" in client.get(f"/dx/kpis/{kpi.pk}/").content.decode()
    with pytest.raises(ValidationFailed) as bad:
        services.kpi_project_link(actor=dx, kpi=kpi, project_id=999999)
    assert bad.value.code == "dx.project_unknown"
    # 保育所等の一覧: the facilities of the latest completed 利用調整 run
    instance = generate_instance(children=30, facilities=3, seed=1)
    nio.write_children_csv(instance, tmp_path / "c.csv")
    nio.write_facilities_csv(instance, tmp_path / "f.csv")
    hoiku = make_staff("hoiku", (Role.HANDLER, "hoiku"))
    run = nursery.run_create(
        actor=hoiku,
        name="令和8年4月一次",
        solver="rule",
        children=nursery.Upload("c.csv", (tmp_path / "c.csv").read_bytes()),
        facilities=nursery.Upload("f.csv", (tmp_path / "f.csv").read_bytes()),
    )
    nursery.run_execute(run_id=run.pk)
    services.dataset_publish(actor=dx, kind="nursery_facilities", publish=True)
    body = b"".join(client.get(f"/opendata/{municipality.code}/nursery_facilities.csv").streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["名称"] for r in rows] == [f.name for f in instance.facilities]
    assert rows[0]["0歳児募集人数"] == str(instance.facilities[0].capacity[0])
