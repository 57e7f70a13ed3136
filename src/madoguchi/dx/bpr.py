"""BPR analytics from the status history: a procedure's As-Is flow (each step from one status to the
next, how many applications took it and the median 開庁日 spent before it), the rework loops from 補正,
the bottleneck step, and the same figures before and after a change date (by 受付日).

On demand for one procedure (its share of the history), so it reads the events themselves, not the
aggregates; only statuses and times, never an application's content.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from madoguchi.catalog.models import Procedure, StatusType
from madoguchi.dx.models import BusinessDay


@dataclass
class Step:
    source: str
    target: str
    count: int
    median_days: float | None
    is_rework: bool = False


@dataclass
class Flow:
    applications: int = 0
    steps: list[Step] = field(default_factory=list)
    rework_applications: int = 0
    rework_loops: int = 0
    median_total_days: float | None = None

    @property
    def bottleneck(self) -> Step | None:
        timed = [s for s in self.steps if s.median_days is not None and s.count >= 1]
        return max(timed, key=lambda s: (s.median_days or 0, s.count)) if timed else None

    @property
    def rework_rate(self) -> float | None:
        return round(100 * self.rework_applications / self.applications, 1) if self.applications else None


REWORK = ("correction_requested", "resubmitted")


def procedure_flow(procedure: Procedure, *, since: date | None = None, until: date | None = None) -> Flow:
    """The As-Is flow of the applications received in [since, until)."""
    from madoguchi.applications.models import ApplicationEvent

    names = dict(StatusType.objects.filter(workflow=procedure.workflow).values_list("pk", "name"))
    codes = dict(StatusType.objects.filter(workflow=procedure.workflow).values_list("pk", "code"))
    terminal = set(
        StatusType.objects.filter(workflow=procedure.workflow, is_terminal=True).values_list("pk", flat=True)
    )
    ordinal = dict(
        BusinessDay.objects.filter(municipality=procedure.municipality).values_list("day", "ordinal")
    )
    events = ApplicationEvent.objects.filter(application__procedure=procedure, to_status__isnull=False)
    if since:
        events = events.filter(application__submitted_at__date__gte=since)
    if until:
        events = events.filter(application__submitted_at__date__lt=until)
    durations: dict[tuple[int, int], list[int]] = defaultdict(list)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    totals: list[int] = []
    flow = Flow()
    current: int | None = None
    previous: tuple[int, date] | None = None
    start: date | None = None
    loops = 0

    def close() -> None:
        nonlocal loops
        if loops:
            flow.rework_applications += 1
            flow.rework_loops += loops

    for app_id, status_id, at in (
        events.order_by("application_id", "at", "id")
        .values_list("application_id", "to_status_id", "at")
        .iterator(chunk_size=5000)
    ):
        day = timezone.localtime(at).date()
        if app_id != current:
            close()
            current, previous, start, loops = app_id, (status_id, day), day, 0
            flow.applications += 1
            continue
        assert previous is not None and start is not None
        key = (previous[0], status_id)
        counts[key] += 1
        if previous[1] in ordinal and day in ordinal:
            durations[key].append(ordinal[day] - ordinal[previous[1]])
        if codes.get(status_id) == "correction_requested":
            loops += 1
        if status_id in terminal and start in ordinal and day in ordinal:
            totals.append(ordinal[day] - ordinal[start])
        previous = (status_id, day)
    close()
    flow.steps = sorted(
        (
            Step(
                source=names.get(a, "?"),
                target=names.get(b, "?"),
                count=n,
                median_days=float(statistics.median(durations[(a, b)])) if durations[(a, b)] else None,
                is_rework=codes.get(b) in REWORK,
            )
            for (a, b), n in counts.items()
        ),
        key=lambda s: -s.count,
    )
    flow.median_total_days = float(statistics.median(totals)) if totals else None
    return flow
