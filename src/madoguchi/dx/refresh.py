"""Rebuilding the KPI aggregates of one municipality from live data.

On PostgreSQL the whole rebuild is a handful of set-based statements (no Python loop over applications
or events): the status history is read once, grouped per application (time of the terminal status,
any 補正依頼, any 取下げ), joined to the applications and a 開庁日 calendar, and grouped per procedure
and month with the median in 開庁日 by ``percentile_cont``. Elsewhere (the demo's SQLite) the same
figures are computed in Python from the same rows; a test holds the two to the same results.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from madoguchi.core.jp.business_days import is_office_day
from madoguchi.core.models import Municipality
from madoguchi.core.selectors import closed_days
from madoguchi.dx.models import BusinessDay, CounterMonth, ProcedureMonth

ONLINE_CHANNELS = ("online", "pittari")
TERMINAL_BUT_NOT_FINISHED = ("withdrawn",)  # a 取下げ ends an application but is not "processed"


def calendar_rows(municipality: Municipality, start: date, end: date) -> list[BusinessDay]:
    closed = closed_days(municipality)
    rows, ordinal, day = [], 0, start
    while day <= end:
        if is_office_day(day, closed):
            ordinal += 1
        rows.append(BusinessDay(municipality=municipality, day=day, ordinal=ordinal))
        day += timedelta(days=1)
    return rows


def calendar_range(municipality: Municipality) -> tuple[date, date]:
    from django.db.models import Min

    from madoguchi.applications.models import Application

    first = Application.objects.filter(municipality=municipality).aggregate(m=Min("submitted_at"))["m"]
    today = timezone.localdate()
    start = timezone.localtime(first).date() if first else today
    return start.replace(month=1, day=1) - timedelta(days=1), today + timedelta(days=400)


# ------------------------------------------------------------------------------------------ PostgreSQL
PROCEDURE_MONTHS_SQL = """
WITH ev AS (
    SELECT e.application_id,
           max(e.at) FILTER (WHERE e.to_status_id = ANY(%(finished_ids)s)) AS finished_at,
           bool_or(e.kind = 'correction') AS corrected,
           bool_or(e.kind = 'withdrawn') AS withdrawn
      FROM applications_applicationevent e
      JOIN applications_application a0 ON a0.id = e.application_id AND a0.municipality_id = %(m)s
     WHERE e.kind IN ('correction', 'withdrawn') OR e.to_status_id = ANY(%(finished_ids)s)
     GROUP BY e.application_id
), jobs AS (
    SELECT j.application_id, count(*) AS n, count(*) FILTER (WHERE j.state = 'failed') AS failed
      FROM handoff_handoffjob j
      JOIN applications_application a1 ON a1.id = j.application_id AND a1.municipality_id = %(m)s
     GROUP BY j.application_id
), facts AS (
    SELECT a.procedure_id, a.department_id, a.channel, a.deadline,
           date_trunc('month', a.submitted_at AT TIME ZONE %(tz)s)::date AS month,
           (a.submitted_at AT TIME ZONE %(tz)s)::date AS submitted_on,
           (ev.finished_at AT TIME ZONE %(tz)s)::date AS finished_on,
           coalesce(ev.corrected, false) AS corrected, coalesce(ev.withdrawn, false) AS withdrawn,
           coalesce(jobs.n, 0) AS jobs, coalesce(jobs.failed, 0) AS failed
      FROM applications_application a
      LEFT JOIN ev ON ev.application_id = a.id
      LEFT JOIN jobs ON jobs.application_id = a.id
     WHERE a.municipality_id = %(m)s
)
INSERT INTO dx_proceduremonth (municipality_id, procedure_id, department_id, month, submitted, online, pittari,
                               counter, paper, finished, with_deadline, on_time, corrected, withdrawn,
                               median_days, handoff_jobs, handoff_failed)
SELECT %(m)s, f.procedure_id, min(f.department_id), f.month, count(*),
       count(*) FILTER (WHERE f.channel = 'online'), count(*) FILTER (WHERE f.channel = 'pittari'),
       count(*) FILTER (WHERE f.channel = 'counter'), count(*) FILTER (WHERE f.channel = 'paper'),
       count(f.finished_on),
       count(*) FILTER (WHERE f.finished_on IS NOT NULL AND f.deadline IS NOT NULL),
       count(*) FILTER (WHERE f.finished_on IS NOT NULL AND f.finished_on <= f.deadline),
       count(*) FILTER (WHERE f.corrected), count(*) FILTER (WHERE f.withdrawn),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY bf.ordinal - bs.ordinal)
           FILTER (WHERE f.finished_on IS NOT NULL),
       sum(f.jobs), sum(f.failed)
  FROM facts f
  LEFT JOIN dx_businessday bs ON bs.municipality_id = %(m)s AND bs.day = f.submitted_on
  LEFT JOIN dx_businessday bf ON bf.municipality_id = %(m)s AND bf.day = f.finished_on
 GROUP BY f.procedure_id, f.month
"""

COUNTER_MONTHS_SQL = """
INSERT INTO dx_countermonth (municipality_id, service_name, month, tickets, served, median_wait_min,
                             median_service_min)
SELECT %(m)s, s.name, date_trunc('month', t.day)::date, count(*), count(t.finished_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.called_at - t.issued_at) / 60)
           FILTER (WHERE t.called_at IS NOT NULL),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.finished_at - t.started_at) / 60)
           FILTER (WHERE t.started_at IS NOT NULL AND t.finished_at IS NOT NULL)
  FROM reception_ticket t JOIN reception_service s ON s.id = t.service_id
 WHERE t.municipality_id = %(m)s
 GROUP BY s.name, date_trunc('month', t.day)
"""


def finished_status_ids() -> list[int]:
    from madoguchi.catalog.models import StatusType

    return list(
        StatusType.objects.filter(is_terminal=True)
        .exclude(code__in=TERMINAL_BUT_NOT_FINISHED)
        .values_list("pk", flat=True)
    )


def rebuild_postgresql(municipality: Municipality) -> int:
    params: dict[str, Any] = {
        "m": municipality.pk,
        "tz": settings.TIME_ZONE,
        "finished_ids": finished_status_ids(),
    }
    with connection.cursor() as cursor:
        cursor.execute(PROCEDURE_MONTHS_SQL, params)
        rows = cursor.rowcount
        cursor.execute(COUNTER_MONTHS_SQL, params)
        return rows + cursor.rowcount


# ------------------------------------------------------------------------------------------ elsewhere
@dataclass
class _Acc:
    department_id: int = 0
    submitted: int = 0
    online: int = 0
    pittari: int = 0
    counter: int = 0
    paper: int = 0
    finished: int = 0
    with_deadline: int = 0
    on_time: int = 0
    corrected: int = 0
    withdrawn: int = 0
    jobs: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        self.days: list[int] = []


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(statistics.median(values)) if values else None


def rebuild_python(municipality: Municipality) -> int:
    """The same aggregates from the ORM (small databases: the demo)."""
    from madoguchi.applications.models import Application, ApplicationEvent
    from madoguchi.handoff.models import HandoffJob
    from madoguchi.reception.models import Ticket

    finished_ids = set(finished_status_ids())
    ordinal = dict(BusinessDay.objects.filter(municipality=municipality).values_list("day", "ordinal"))
    finished_at: dict[int, datetime] = {}
    corrected: set[int] = set()
    withdrawn: set[int] = set()
    for app_id, kind, to_status, at in ApplicationEvent.objects.filter(
        application__municipality=municipality
    ).values_list("application_id", "kind", "to_status_id", "at"):
        if to_status in finished_ids and (app_id not in finished_at or at > finished_at[app_id]):
            finished_at[app_id] = at
        if kind == "correction":
            corrected.add(app_id)
        elif kind == "withdrawn":
            withdrawn.add(app_id)
    jobs: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for app_id, state in HandoffJob.objects.filter(application__municipality=municipality).values_list(
        "application_id", "state"
    ):
        jobs[app_id][0] += 1
        jobs[app_id][1] += state == "failed"
    acc: dict[tuple[int, date], _Acc] = defaultdict(_Acc)
    for pk, procedure_id, department_id, channel, deadline, submitted_at in Application.objects.filter(
        municipality=municipality
    ).values_list("pk", "procedure_id", "department_id", "channel", "deadline", "submitted_at"):
        on = timezone.localtime(submitted_at).date()
        a = acc[(procedure_id, on.replace(day=1))]
        a.department_id = a.department_id or department_id
        a.submitted += 1
        if channel in ("online", "pittari", "counter", "paper"):
            setattr(a, channel, getattr(a, channel) + 1)
        if pk in finished_at:
            done = timezone.localtime(finished_at[pk]).date()
            a.finished += 1
            if deadline is not None:
                a.with_deadline += 1
                a.on_time += done <= deadline
            if on in ordinal and done in ordinal:
                a.days.append(ordinal[done] - ordinal[on])
        a.corrected += pk in corrected
        a.withdrawn += pk in withdrawn
        a.jobs += jobs[pk][0] if pk in jobs else 0
        a.failed += jobs[pk][1] if pk in jobs else 0
    ProcedureMonth.objects.bulk_create(
        ProcedureMonth(
            municipality=municipality,
            procedure_id=procedure_id,
            department_id=a.department_id,
            month=month,
            submitted=a.submitted,
            online=a.online,
            pittari=a.pittari,
            counter=a.counter,
            paper=a.paper,
            finished=a.finished,
            with_deadline=a.with_deadline,
            on_time=a.on_time,
            corrected=a.corrected,
            withdrawn=a.withdrawn,
            median_days=_median(a.days),
            handoff_jobs=a.jobs,
            handoff_failed=a.failed,
        )
        for (procedure_id, month), a in acc.items()
    )
    tickets: dict[tuple[str, date], list[Any]] = defaultdict(list)
    for name, day, issued, called, started, finished in Ticket.objects.filter(
        municipality=municipality
    ).values_list("service__name", "day", "issued_at", "called_at", "started_at", "finished_at"):
        tickets[(name, day.replace(day=1))].append((issued, called, started, finished))
    CounterMonth.objects.bulk_create(
        CounterMonth(
            municipality=municipality,
            service_name=name,
            month=month,
            tickets=len(rows),
            served=sum(1 for r in rows if r[3] is not None),
            median_wait_min=_median((r[1] - r[0]).total_seconds() / 60 for r in rows if r[1] is not None),
            median_service_min=_median(
                (r[3] - r[2]).total_seconds() / 60 for r in rows if r[2] is not None and r[3] is not None
            ),
        )
        for (name, month), rows in tickets.items()
    )
    return len(acc) + len(tickets)
