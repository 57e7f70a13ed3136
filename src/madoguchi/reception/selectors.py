"""Reads for 待たない窓口: free slots, the day's reservations, queues, the called numbers, wait estimates
and the floor's figures."""

from __future__ import annotations

import hashlib
import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.core.models import Municipality
from madoguchi.reception.models import (
    OPEN_TICKET_STATES,
    Counter,
    Reservation,
    ReservationStatus,
    Service,
    Ticket,
    TicketStatus,
)
from madoguchi.reception.services import hours_lookup, slot_times_for

# the recent service times that make the median: the last N finished tickets of the service within
# RECENT_DAYS; with fewer than MIN_SAMPLES the service's 標準の対応時間 is used instead
RECENT_TICKETS = 20
RECENT_DAYS = 14
MIN_SAMPLES = 3


def reception_municipality() -> Municipality | None:
    """The municipality the kiosk and display serve (as the portal: ``MADOGUCHI_PORTAL_MUNICIPALITY``)."""
    from madoguchi.portal.selectors import portal_municipality

    return portal_municipality()


def services_for(municipality: Municipality, *, bookable_only: bool = False) -> list[Service]:
    qs = Service.objects.filter(municipality=municipality, active=True)
    if bookable_only:
        qs = qs.filter(bookable=True)
    return list(qs.order_by("sort_order", "pk"))


def counters_for(municipality: Municipality) -> list[Counter]:
    return list(Counter.objects.filter(municipality=municipality, active=True).prefetch_related("services"))


def slots_available(
    *, service: Service, start: date, days: int = 10
) -> list[tuple[date, list[tuple[time, int]]]]:
    """Open days from ``start`` (at most ``service.booking_days`` ahead) with the free seats of each slot."""
    end = timezone.localdate() + timedelta(days=service.booking_days)
    taken: dict[tuple[date, time], int] = {}
    for row in (
        Reservation.objects.filter(
            service=service,
            status__in=[ReservationStatus.BOOKED, ReservationStatus.VISITED],
            day__gte=start,
            day__lte=end,
        )
        .values("day", "start")
        .annotate(n=Count("pk"))
    ):
        taken[(row["day"], row["start"])] = row["n"]
    hours = hours_lookup(service.municipality)  # closed days and opening hours read once, not per day
    out: list[tuple[date, list[tuple[time, int]]]] = []
    day = start
    while len(out) < days and day <= end:
        times = slot_times_for(hours(day), service.slot_minutes)
        if times:
            out.append(
                (day, [(t, max(0, service.capacity_per_slot - taken.get((day, t), 0))) for t in times])
            )
        day += timedelta(days=1)
    return out


def reservations_of_owner(owner: str) -> list[Reservation]:
    return list(
        Reservation.objects.filter(owner=owner, day__gte=timezone.localdate())
        .exclude(status=ReservationStatus.CANCELLED)
        .select_related("service")
        .order_by("day", "start")
    )


@dataclass
class CounterDay:
    counter: Counter | None
    reservations: list[Reservation] = field(default_factory=list)


def reservations_of_day(*, municipality: Municipality, day: date) -> list[CounterDay]:
    """The day's reservations (not cancelled) per counter, in time order."""
    rows = (
        Reservation.objects.filter(municipality=municipality, day=day)
        .exclude(status=ReservationStatus.CANCELLED)
        .select_related("service", "counter", "application")
        .order_by("start", "seat")
    )
    groups: dict[int | None, CounterDay] = {c.pk: CounterDay(c) for c in counters_for(municipality)}
    for r in rows:
        groups.setdefault(r.counter_id, CounterDay(r.counter)).reservations.append(r)
    return sorted(groups.values(), key=lambda g: (g.counter is None, g.counter.number if g.counter else 0))


# ----------------------------------------------------------------------------- estimated wait
@dataclass(frozen=True)
class WaitEstimate:
    ahead: int  # tickets called before this one
    minutes: int  # estimated wait
    median_minutes: float  # recent median service time used
    counters: int  # counters serving the service
    from_history: bool  # False: the service's 標準の対応時間 was used


def _recent_done(now: datetime) -> QuerySet[Ticket]:
    return Ticket.objects.filter(
        status=TicketStatus.DONE,
        started_at__isnull=False,
        finished_at__gte=now - timedelta(days=RECENT_DAYS),
    ).order_by("-finished_at")


def _median_of(service: Service, rows: list[tuple[datetime | None, datetime | None]]) -> tuple[float, bool]:
    if len(rows) < MIN_SAMPLES:
        return float(service.default_minutes), False
    return statistics.median((f - s).total_seconds() / 60 for s, f in rows if s and f), True


def median_service_minutes(service: Service, *, now: datetime | None = None) -> tuple[float, bool]:
    now = now or timezone.now()
    rows = list(
        _recent_done(now).filter(service=service).values_list("started_at", "finished_at")[:RECENT_TICKETS]
    )
    return _median_of(service, rows)


def _estimate(*, ahead: int, median: float, from_history: bool, counters: int) -> WaitEstimate:
    counters = max(1, counters)
    return WaitEstimate(
        ahead=ahead,
        minutes=math.ceil(ahead * median / counters),
        median_minutes=round(median, 1),
        counters=counters,
        from_history=from_history,
    )


def wait_estimate(
    *, service: Service, ticket: Ticket | None = None, now: datetime | None = None
) -> WaitEstimate:
    """ceil(ahead × median service time ÷ counters serving the service). ``ahead`` counts the waiting
    tickets called before ``ticket`` (priority first, then by issue time); without a ticket, all
    waiting tickets (what a new ticket would wait)."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    waiting = Ticket.objects.filter(service=service, day=day, status=TicketStatus.WAITING)
    if ticket is not None:
        if ticket.status != TicketStatus.WAITING:
            waiting = waiting.none()
        elif ticket.priority:
            waiting = waiting.filter(priority=True).filter(
                Q(issued_at__lt=ticket.issued_at) | Q(issued_at=ticket.issued_at, pk__lt=ticket.pk)
            )
        else:
            waiting = waiting.filter(
                Q(priority=True)
                | Q(issued_at__lt=ticket.issued_at)
                | Q(issued_at=ticket.issued_at, pk__lt=ticket.pk)
            )
    median, from_history = median_service_minutes(service, now=now)
    return _estimate(
        ahead=waiting.count(),
        median=median,
        from_history=from_history,
        counters=service.counters.filter(active=True).count(),
    )


def wait_estimates(services: list[Service], *, now: datetime | None = None) -> dict[int, WaitEstimate]:
    """``wait_estimate`` (without a ticket) of many services in three queries, not three per service."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    pks = [s.pk for s in services]
    waiting = dict(
        Ticket.objects.filter(service_id__in=pks, day=day, status=TicketStatus.WAITING)
        .values_list("service")
        .annotate(n=Count("pk"))
        .values_list("service", "n")
    )
    counters = dict(
        Service.objects.filter(pk__in=pks)
        .annotate(n=Count("counters", filter=Q(counters__active=True)))
        .values_list("pk", "n")
    )
    recent: dict[int, list[tuple[datetime | None, datetime | None]]] = {pk: [] for pk in pks}
    for service_id, started, finished in (
        _recent_done(now).filter(service_id__in=pks).values_list("service_id", "started_at", "finished_at")
    ):
        if len(recent[service_id]) < RECENT_TICKETS:
            recent[service_id].append((started, finished))
    out: dict[int, WaitEstimate] = {}
    for s in services:
        median, from_history = _median_of(s, recent[s.pk])
        out[s.pk] = _estimate(
            ahead=waiting.get(s.pk, 0),
            median=median,
            from_history=from_history,
            counters=counters.get(s.pk, 0),
        )
    return out


def kiosk_services(municipality: Municipality) -> list[tuple[Service, WaitEstimate]]:
    services = services_for(municipality)
    estimates = wait_estimates(services)
    return [(s, estimates[s.pk]) for s in services]


# ------------------------------------------------------------------------------- counter & display
def counter_current(*, counter: Counter, day: date | None = None) -> Ticket | None:
    day = day or timezone.localdate()
    return (
        Ticket.objects.filter(
            counter=counter, day=day, status__in=[TicketStatus.CALLED, TicketStatus.SERVING]
        )
        .select_related("service", "reservation")
        .order_by("-called_at")
        .first()
    )


def counter_queue(*, counter: Counter, day: date | None = None, limit: int = 30) -> list[Ticket]:
    """Waiting tickets of the counter's services, in calling order."""
    day = day or timezone.localdate()
    return list(
        Ticket.objects.filter(service__in=counter.services.all(), day=day, status=TicketStatus.WAITING)
        .select_related("service", "reservation")
        .order_by("-priority", "issued_at", "pk")[:limit]
    )


def counter_recent(*, counter: Counter, day: date | None = None, limit: int = 10) -> list[Ticket]:
    day = day or timezone.localdate()
    return list(
        Ticket.objects.filter(
            counter=counter,
            day=day,
            status__in=[TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.TRANSFERRED],
        )
        .select_related("service")
        .prefetch_related("fees")
        .order_by("-finished_at")[:limit]
    )


@dataclass(frozen=True)
class DisplayBoard:
    calls: list[Ticket]  # being called or served now, the newest call first
    waiting: list[tuple[Service, int]]
    stamp: str  # changes whenever what the board shows changes
    latest_call: str  # the newest call's time (a new one is announced)


def display_board(
    *, municipality: Municipality, service: Service | None = None, limit: int = 8
) -> DisplayBoard:
    day = timezone.localdate()
    qs = Ticket.objects.filter(
        municipality=municipality, day=day, status__in=[TicketStatus.CALLED, TicketStatus.SERVING]
    )
    if service is not None:
        qs = qs.filter(service=service)
    calls = list(qs.select_related("service", "counter").order_by("-called_at", "-pk")[:limit])
    counts = dict(
        Ticket.objects.filter(municipality=municipality, day=day, status=TicketStatus.WAITING)
        .values_list("service")
        .annotate(n=Count("pk"))
        .values_list("service", "n")
    )
    services = [service] if service is not None else services_for(municipality)
    waiting = [(s, counts.get(s.pk, 0)) for s in services]
    latest = calls[0].called_at.isoformat() if calls and calls[0].called_at else ""
    raw = "|".join(f"{t.pk}:{t.status}:{t.counter_id}:{t.called_at}" for t in calls)
    raw += "|" + ",".join(f"{s.pk}:{n}" for s, n in waiting)
    return DisplayBoard(
        calls=calls, waiting=waiting, stamp=hashlib.sha256(raw.encode()).hexdigest()[:16], latest_call=latest
    )


# ----------------------------------------------------------------------------------- floor
@dataclass(frozen=True)
class ServiceFloor:
    service: Service
    waiting: int
    in_service: int
    done: int
    no_show: int
    avg_wait_minutes: float | None
    median_service_minutes: float | None
    estimate: WaitEstimate


@dataclass(frozen=True)
class HourRow:
    hour: int
    served: int
    avg_service_minutes: float | None
    bar: int  # 0–20: width class of the CSS bar (5% steps of the day's longest)


@dataclass(frozen=True)
class FloorStats:
    day: date
    services: list[ServiceFloor]
    hours: list[HourRow]
    waiting_total: int
    avg_wait_minutes: float | None
    no_show_total: int
    reservations_today: int
    checked_in_today: int


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def floor_stats(*, municipality: Municipality, day: date | None = None) -> FloorStats:
    day = day or timezone.localdate()
    tickets = list(Ticket.objects.filter(municipality=municipality, day=day))
    rows: list[ServiceFloor] = []
    all_waits: list[float] = []
    services = services_for(municipality)
    estimates = wait_estimates(services)
    for s in services:
        mine = [t for t in tickets if t.service_id == s.pk]
        waits = [_minutes(t.called_at - t.issued_at) for t in mine if t.called_at]
        services_t = [
            _minutes(t.finished_at - t.started_at)
            for t in mine
            if t.status == TicketStatus.DONE and t.started_at and t.finished_at
        ]
        all_waits += waits
        rows.append(
            ServiceFloor(
                service=s,
                waiting=sum(t.status == TicketStatus.WAITING for t in mine),
                in_service=sum(t.status in (TicketStatus.CALLED, TicketStatus.SERVING) for t in mine),
                done=sum(t.status == TicketStatus.DONE for t in mine),
                no_show=sum(t.status == TicketStatus.NO_SHOW for t in mine),
                avg_wait_minutes=round(sum(waits) / len(waits), 1) if waits else None,
                median_service_minutes=round(statistics.median(services_t), 1) if services_t else None,
                estimate=estimates[s.pk],
            )
        )
    by_hour: dict[int, list[float]] = {}
    for t in tickets:
        if t.status == TicketStatus.DONE and t.started_at and t.finished_at:
            hour = timezone.localtime(t.finished_at).hour
            by_hour.setdefault(hour, []).append(_minutes(t.finished_at - t.started_at))
    first = min([8, *by_hour])
    last = max([17, *by_hour])
    averages = {h: sum(v) / len(v) for h, v in by_hour.items()}
    longest = max(averages.values(), default=0.0)
    hours = [
        HourRow(
            hour=h,
            served=len(by_hour.get(h, [])),
            avg_service_minutes=round(averages[h], 1) if h in averages else None,
            bar=round(20 * averages[h] / longest) if h in averages and longest > 0 else 0,
        )
        for h in range(first, last + 1)
    ]
    reservations = (
        Reservation.objects.filter(municipality=municipality, day=day)
        .exclude(status=ReservationStatus.CANCELLED)
        .aggregate(total=Count("pk"), visited=Count("pk", filter=Q(status=ReservationStatus.VISITED)))
    )
    return FloorStats(
        day=day,
        services=rows,
        hours=hours,
        waiting_total=sum(r.waiting for r in rows),
        avg_wait_minutes=round(sum(all_waits) / len(all_waits), 1) if all_waits else None,
        no_show_total=sum(r.no_show for r in rows),
        reservations_today=reservations["total"],
        checked_in_today=reservations["visited"],
    )


def open_ticket_count(municipality: Municipality) -> int:
    return Ticket.objects.filter(
        municipality=municipality, day=timezone.localdate(), status__in=OPEN_TICKET_STATES
    ).count()


def application_for_fee(*, municipality: Municipality, reception_number: str) -> Application | None:
    """The application a counter fee is taken for, by its 受付番号 (within the municipality)."""
    return (
        Application.objects.filter(municipality=municipality, reception_number=reception_number)
        .select_related("procedure")
        .first()
    )
