"""Demo data for 待たない窓口: みどり市's services, counters, opening hours, and a morning's worth of
reservations and tickets today (idempotent: a second call adds nothing)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.core.jp.business_days import is_office_day
from madoguchi.core.models import Municipality
from madoguchi.core.selectors import closed_days
from madoguchi.reception.models import (
    Counter,
    OpeningHours,
    Reservation,
    ReservationStatus,
    Service,
    Ticket,
    TicketStatus,
)
from madoguchi.reception.services import _new_reservation_number, service_ensure_default

DEMO_SERVICES: list[dict[str, Any]] = [
    {
        "code": "jumin",
        "name": "住民異動（転入・転出・転居）",
        "prefix": "住",
        "default_minutes": 15,
        "fee": 0,
    },
    {
        "code": "shomei",
        "name": "証明書（住民票・印鑑証明）",
        "prefix": "証",
        "default_minutes": 5,
        "fee": 300,
        "bookable": False,
    },
    {
        "code": "kosodate",
        "name": "子育て（児童手当・医療費助成）",
        "prefix": "子",
        "default_minutes": 12,
        "fee": 0,
    },
    {
        "code": "kaigo",
        "name": "介護（要介護認定・介護保険）",
        "prefix": "介",
        "default_minutes": 20,
        "fee": 0,
        "capacity_per_slot": 2,
    },
    {"code": "kokuho", "name": "国民健康保険・年金", "prefix": "国", "default_minutes": 10, "fee": 0},
]
# counter number -> the service codes it serves
DEMO_COUNTERS = {1: ["jumin", "shomei"], 2: ["jumin", "shomei"], 3: ["kosodate"], 4: ["kaigo"], 5: ["kokuho"]}
DEMO_NAMES = ["山田 太郎", "佐藤 花子", "髙橋 一郎", "鈴木 美咲", "田中 健", "渡辺 由美"]


def reception_demo_ensure(municipality: Municipality) -> None:
    """Services, counters and opening hours (月〜金 8:30–17:15, 12:00–13:00 no bookings); on an 開庁日 also
    a few of today's reservations and tickets (some served, one no-show, some waiting)."""
    with transaction.atomic():
        service_ensure_default(municipality=municipality)
        services: dict[str, Service] = {}
        for order, spec in enumerate(DEMO_SERVICES, start=1):
            values = {k: v for k, v in spec.items() if k != "code"}
            service, _ = Service.objects.get_or_create(
                municipality=municipality, code=spec["code"], defaults={**values, "sort_order": order}
            )
            services[spec["code"]] = service
        for number, codes in DEMO_COUNTERS.items():
            counter, _ = Counter.objects.get_or_create(
                municipality=municipality, number=number, defaults={"name": f"{number}番窓口"}
            )
            if not counter.services.exists() or number == 1:
                counter.services.add(*[services[c] for c in codes])
        for weekday in range(5):
            OpeningHours.objects.get_or_create(
                municipality=municipality,
                weekday=weekday,
                defaults={
                    "opens": time(8, 30),
                    "closes": time(17, 15),
                    "break_start": time(12, 0),
                    "break_end": time(13, 0),
                },
            )
        today = timezone.localdate()
        if not is_office_day(today, closed_days(municipality)):
            return
        if Ticket.objects.filter(municipality=municipality, day=today).exists():
            return
        _demo_today(municipality, services, today)


def _demo_today(municipality: Municipality, services: dict[str, Service], today: Any) -> None:
    counters = {c.number: c for c in Counter.objects.filter(municipality=municipality)}
    tz = timezone.get_current_timezone()
    opens = datetime.combine(today, time(8, 30), tzinfo=tz)
    # reservations later today (check in at the kiosk with the number) and tomorrow
    for i, (code, at) in enumerate(
        [("jumin", time(14, 0)), ("kosodate", time(14, 30)), ("kaigo", time(15, 0))]
    ):
        Reservation.objects.create(
            municipality=municipality,
            service=services[code],
            counter=services[code].counters.first(),
            number=_new_reservation_number(),
            day=today,
            start=at,
            seat=1,
            purpose=services[code].name,
            name=DEMO_NAMES[i],
            status=ReservationStatus.BOOKED,
        )
    # the morning: tickets issued every few minutes, served at the counters, a few still waiting
    plan = [
        ("jumin", 1, 14),
        ("shomei", 2, 4),
        ("kosodate", 3, 11),
        ("jumin", 2, 17),
        ("kaigo", 4, 22),
        ("shomei", 1, 5),
        ("kokuho", 5, 9),
        ("jumin", 1, 13),
        ("kosodate", 3, 10),
        ("shomei", 2, 6),
    ]
    seq: dict[str, int] = {}
    for i, (code, counter_no, minutes) in enumerate(plan):
        service = services[code]
        seq[code] = seq.get(code, 0) + 1
        issued = opens + timedelta(minutes=6 * i)
        called = issued + timedelta(minutes=4 + i % 5)
        no_show = i == 5
        Ticket.objects.create(
            municipality=municipality,
            service=service,
            day=today,
            seq=seq[code],
            number=f"{service.prefix}-{seq[code]:03d}",
            issued_at=issued,
            called_at=called,
            started_at=None if no_show else called + timedelta(minutes=1),
            finished_at=called + timedelta(minutes=3 if no_show else 1 + minutes),
            status=TicketStatus.NO_SHOW if no_show else TicketStatus.DONE,
            counter=counters[counter_no],
            handled_by="madoguchi",
        )
    now = timezone.now()
    for code in ["jumin", "shomei", "kosodate"]:
        service = services[code]
        seq[code] = seq.get(code, 0) + 1
        Ticket.objects.create(
            municipality=municipality,
            service=service,
            day=today,
            seq=seq[code],
            number=f"{service.prefix}-{seq[code]:03d}",
            issued_at=min(now, opens + timedelta(hours=3)),
        )
