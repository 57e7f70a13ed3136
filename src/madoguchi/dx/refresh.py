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
# Three SELECTs (not INSERT … SELECT: PostgreSQL runs data-modifying statements without parallel
# workers), each grouped by procedure and month of 受付, merged in Python (the results are small):
#  1. the applications: channels, 補正 (``correction_requested_at`` is set with the 補正依頼 event, in
#     the same transaction, and kept), 取下げ (a terminal status);
#  2. the status history: the event that reached a finished status (one per application: nothing leaves
#     a terminal status), with 開庁日 from the calendar table and the median by percentile_cont;
#  3. the hand-off jobs.
APPLICATION_MONTHS_SQL = """
SELECT a.procedure_id, min(a.department_id), date_trunc('month', {local_submitted})::date,
       count(*), count(*) FILTER (WHERE a.channel = 'online'), count(*) FILTER (WHERE a.channel = 'pittari'),
       count(*) FILTER (WHERE a.channel = 'counter'), count(*) FILTER (WHERE a.channel = 'paper'),
       count(*) FILTER (WHERE a.correction_requested_at IS NOT NULL),
       count(*) FILTER (WHERE a.status_id = ANY(%(withdrawn_ids)s))
  FROM applications_application a
 WHERE a.municipality_id = %(m)s
 GROUP BY 1, 3
"""

# the durations as a histogram (procedure × month × 開庁日 → count): a hash aggregate that PostgreSQL
# can run in parallel, where percentile_cont would sort every finished application; the median is then
# read off the histogram exactly (the mean of the two middle values for an even count, as
# percentile_cont(0.5) and statistics.median give)
FINISHED_MONTHS_SQL = """
SELECT a.procedure_id, date_trunc('month', {local_submitted})::date,
       bf.ordinal - bs.ordinal, a.deadline IS NOT NULL,
       coalesce({local_at}::date <= a.deadline, false), count(*)
  FROM applications_applicationevent e
  JOIN applications_application a ON a.id = e.application_id
  LEFT JOIN dx_businessday bs ON bs.municipality_id = %(m)s AND bs.day = {local_submitted}::date
  LEFT JOIN dx_businessday bf ON bf.municipality_id = %(m)s AND bf.day = {local_at}::date
 WHERE e.to_status_id = ANY(%(finished_ids)s) AND a.municipality_id = %(m)s
 GROUP BY 1, 2, 3, 4, 5
"""

HANDOFF_MONTHS_SQL = """
SELECT a.procedure_id, date_trunc('month', {local_submitted})::date, count(*),
       count(*) FILTER (WHERE j.state = 'failed')
  FROM handoff_handoffjob j JOIN applications_application a ON a.id = j.application_id
 WHERE a.municipality_id = %(m)s
 GROUP BY 1, 2
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


def withdrawn_status_ids() -> list[int]:
    from madoguchi.catalog.models import StatusType

    return list(StatusType.objects.filter(code__in=TERMINAL_BUT_NOT_FINISHED).values_list("pk", flat=True))


def fixed_offset(start: date, end: date) -> timedelta | None:
    """The zone's UTC offset if it is the same over the whole period (Asia/Tokyo: +9:00 since 1951),
    else None. Shifting by a constant is much cheaper per row than ``AT TIME ZONE``."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(settings.TIME_ZONE)
    offsets = {
        datetime(year, month, 1, tzinfo=zone).utcoffset()
        for year in range(start.year, end.year + 1)
        for month in (1, 7)
    }
    return offsets.pop() if len(offsets) == 1 else None


def _local(sql: str, shift: timedelta | None) -> str:
    """The statement with local (受付/完了) times: a constant shift on a UTC session, or AT TIME ZONE."""
    if shift is not None:
        return sql.format(local_submitted="(a.submitted_at + %(shift)s)", local_at="(e.at + %(shift)s)")
    return sql.format(
        local_submitted="(a.submitted_at AT TIME ZONE %(tz)s)", local_at="(e.at AT TIME ZONE %(tz)s)"
    )


def rebuild_postgresql(municipality: Municipality, *, start: date, end: date) -> int:
    """Run inside the refresh's transaction, with memory for the hashes, both cores for the scans, and
    the session in UTC so that a constant shift gives the local date."""
    shift = fixed_offset(start, end)
    params: dict[str, Any] = {
        "m": municipality.pk,
        "tz": settings.TIME_ZONE,
        "shift": shift,
        "finished_ids": finished_status_ids(),
        "withdrawn_ids": withdrawn_status_ids(),
    }
    months: dict[tuple[int, date], ProcedureMonth] = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 2")
        # the planner's default costs keep these scans and joins serial; in parallel the 10M-event
        # refresh takes ≈40 % of the time (measured with bench/dx_kpis.py, docs/BENCHMARKS.md)
        cursor.execute("SET LOCAL parallel_setup_cost = 10")
        cursor.execute("SET LOCAL parallel_tuple_cost = 0.001")
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        cursor.execute(_local(APPLICATION_MONTHS_SQL, shift), params)
        for procedure_id, department_id, month, *counts in cursor.fetchall():
            months[(procedure_id, month)] = ProcedureMonth(
                municipality=municipality,
                procedure_id=procedure_id,
                department_id=department_id,
                month=month,
                **dict(
                    zip(
                        ("submitted", "online", "pittari", "counter", "paper", "corrected", "withdrawn"),
                        counts,
                        strict=True,
                    )
                ),
            )
        cursor.execute(_local(FINISHED_MONTHS_SQL, shift), params)
        histograms: dict[tuple[int, date], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for procedure_id, month, days, has_deadline, on_time, count in cursor.fetchall():
            row = months[(procedure_id, month)]
            row.finished += count
            row.with_deadline += count if has_deadline else 0
            row.on_time += count if on_time else 0
            if days is not None:
                histograms[(procedure_id, month)][days] += count
        for key, histogram in histograms.items():
            months[key].median_days = histogram_median(histogram)
        cursor.execute(_local(HANDOFF_MONTHS_SQL, shift), params)
        for procedure_id, month, jobs, failed in cursor.fetchall():
            row = months[(procedure_id, month)]
            row.handoff_jobs, row.handoff_failed = jobs, failed
        ProcedureMonth.objects.bulk_create(months.values(), batch_size=1000)
        cursor.execute(COUNTER_MONTHS_SQL, params)
        return len(months) + cursor.rowcount


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


def histogram_median(histogram: dict[int, int]) -> float | None:
    """The median of a multiset given as value → count (``statistics.median`` of its expansion)."""
    n = sum(histogram.values())
    if n == 0:
        return None
    wanted = [(n - 1) // 2, n // 2]  # the middle position(s), 0-based
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while wanted and wanted[0] < seen:
            found.append(value)
            wanted.pop(0)
    return (found[0] + found[1]) / 2


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(statistics.median(values)) if values else None


def rebuild_python(municipality: Municipality) -> int:
    """The same aggregates from the ORM (small databases: the demo)."""
    from madoguchi.applications.models import Application, ApplicationEvent
    from madoguchi.handoff.models import HandoffJob
    from madoguchi.reception.models import Ticket

    finished_ids = set(finished_status_ids())
    withdrawn_ids = set(withdrawn_status_ids())
    ordinal = dict(BusinessDay.objects.filter(municipality=municipality).values_list("day", "ordinal"))
    finished_at: dict[int, datetime] = {}
    for app_id, at in ApplicationEvent.objects.filter(
        application__municipality=municipality, to_status_id__in=finished_ids
    ).values_list("application_id", "at"):
        if app_id not in finished_at or at > finished_at[app_id]:
            finished_at[app_id] = at
    jobs: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for app_id, state in HandoffJob.objects.filter(application__municipality=municipality).values_list(
        "application_id", "state"
    ):
        jobs[app_id][0] += 1
        jobs[app_id][1] += state == "failed"
    acc: dict[tuple[int, date], _Acc] = defaultdict(_Acc)
    for (
        pk,
        procedure_id,
        department_id,
        channel,
        deadline,
        submitted_at,
        corrected_at,
        status_id,
    ) in Application.objects.filter(municipality=municipality).values_list(
        "pk",
        "procedure_id",
        "department_id",
        "channel",
        "deadline",
        "submitted_at",
        "correction_requested_at",
        "status_id",
    ):
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
        a.corrected += corrected_at is not None
        a.withdrawn += status_id in withdrawn_ids
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
