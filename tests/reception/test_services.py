"""Reservations, tickets, calling, the wait estimate, reminders and scope, on the real database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from madoguchi.core.audit import audit_verify
from madoguchi.core.errors import PermissionDeniedError, ValidationFailed
from madoguchi.core.models import AuditEvent, ClosedDay, Municipality, Role
from madoguchi.core.scope import Actor
from madoguchi.reception import selectors, services
from madoguchi.reception.models import (
    Counter,
    Reservation,
    ReservationStatus,
    Service,
    Ticket,
    TicketStatus,
)

pytestmark = pytest.mark.django_db

NINE = time(9, 0)


def book(service: Service, day: date, at: time = NINE, **kw: Any) -> Reservation:
    return services.reservation_book(service=service, day=day, start=at, actor_label="resident:test", **kw)


# ------------------------------------------------------------------------------------ slots
def test_default_hours_give_half_hour_slots_without_lunch(jumin: Service, bookable_day: date) -> None:
    times = services.slot_times_for(services.hours_for(jumin.municipality, bookable_day), 30)
    assert times[0] == time(9, 0) and times[-1] == time(16, 30)
    assert time(12, 0) not in times and time(12, 30) not in times and time(13, 0) in times
    assert len(times) == 14


def test_no_slots_on_holidays_year_end_weekends_and_closed_days(jumin: Service, bookable_day: date) -> None:
    m = jumin.municipality
    assert services.hours_for(m, date(2027, 1, 1)) is None  # 元日
    assert services.hours_for(m, date(2026, 12, 29)) is None  # 年末
    assert services.hours_for(m, date(2027, 1, 11)) is None  # 成人の日
    assert services.hours_for(m, date(2027, 1, 9)) is None  # 土曜
    ClosedDay.objects.create(municipality=m, date=bookable_day, reason="市制記念日")
    assert services.hours_for(m, bookable_day) is None
    with pytest.raises(ValidationFailed) as err:
        book(jumin, bookable_day)
    assert err.value.code == "reservation.slot_invalid"
    days = [d for d, _ in selectors.slots_available(service=jumin, start=bookable_day, days=5)]
    assert bookable_day not in days and len(days) == 5
    assert all(d.weekday() < 5 for d in days)


def test_slot_outside_hours_or_range_is_refused(jumin: Service, bookable_day: date) -> None:
    with pytest.raises(ValidationFailed) as err:
        book(jumin, bookable_day, time(12, 0))
    assert err.value.code == "reservation.slot_invalid"
    with pytest.raises(ValidationFailed) as err:
        book(jumin, timezone.localdate() - timedelta(days=7))
    assert err.value.code in {"reservation.out_of_range", "reservation.slot_invalid"}


def test_capacity_per_slot_is_enforced_and_shown(jumin: Service, bookable_day: date) -> None:
    a = book(jumin, bookable_day, name="一")
    b = book(jumin, bookable_day, name="二")
    assert {a.seat, b.seat} == {1, 2}
    assert a.number != b.number and len(a.number) == 8
    with pytest.raises(services.SlotFull):
        book(jumin, bookable_day)
    free = dict(dict(selectors.slots_available(service=jumin, start=bookable_day, days=1))[bookable_day])
    assert free[NINE] == 0 and free[time(9, 30)] == 2
    assert AuditEvent.objects.filter(action="reception.reservation_booked").count() == 2


def test_cancel_frees_the_seat_and_change_moves_it(jumin: Service, bookable_day: date) -> None:
    a = book(jumin, bookable_day, owner="account:1")
    book(jumin, bookable_day, owner="account:2")
    with pytest.raises(PermissionDeniedError):
        services.reservation_cancel(reservation=a, actor_label="x", owner="account:2")
    services.reservation_cancel(reservation=a, actor_label="x", owner="account:1")
    a.refresh_from_db()
    assert a.status == ReservationStatus.CANCELLED
    c = book(jumin, bookable_day, owner="account:3")  # the freed seat
    moved = services.reservation_change(
        reservation=c, day=bookable_day, start=time(10, 0), actor_label="x", owner="account:3"
    )
    assert moved.start == time(10, 0) and moved.reminded_at is None
    with pytest.raises(ValidationFailed):
        services.reservation_cancel(reservation=a, actor_label="x")  # already cancelled
    assert audit_verify().ok


def test_an_application_keeps_one_booking(
    jumin: Service, bookable_day: date, procedure: Any, valid_data: dict[str, Any]
) -> None:
    from madoguchi.applications import services as app_services

    app = app_services.application_submit(
        procedure=procedure, data=valid_data, channel="online", actor=Actor.system("online")
    )
    book(jumin, bookable_day, application=app)
    book(jumin, bookable_day, time(10, 0), application=app)
    assert app.reservations.filter(status="booked").count() == 1
    assert app.reservations.get(status="booked").start == time(10, 0)


@pytest.mark.django_db(transaction=True)
def test_two_residents_booking_the_last_seat_at_once_one_wins(municipality: Municipality) -> None:
    service = Service.objects.create(
        municipality=municipality, code="kaigo", name="介護", prefix="介", capacity_per_slot=1
    )
    Counter.objects.create(municipality=municipality, number=1).services.add(service)
    day = services.first_bookable_day(municipality)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(owner: str) -> None:
        try:
            barrier.wait()
            book(service, day, owner=owner)
            outcomes.append("ok")
        except services.SlotFull:
            outcomes.append("full")
        except Exception as exc:
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(f"account:{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["full", "ok"]
    assert Reservation.objects.filter(service=service, status="booked").count() == 1


# ---------------------------------------------------------------------------------- tickets
def test_ticket_numbers_run_per_service_per_day(jumin: Service, kosodate: Service) -> None:
    a = services.ticket_issue(service=jumin)
    b = services.ticket_issue(service=jumin)
    c = services.ticket_issue(service=kosodate)
    assert (a.number, b.number, c.number) == ("住-001", "住-002", "子-001")
    tomorrow = timezone.now() + timedelta(days=1)
    assert services.ticket_issue(service=jumin, now=tomorrow).number == "住-001"


def test_reservation_holder_checks_in_and_is_called_first(
    jumin: Service, counter1: Counter, clerk: Actor
) -> None:
    walk_in = services.ticket_issue(service=jumin)
    today = timezone.localdate()
    reservation = Reservation.objects.create(
        municipality=jumin.municipality, service=jumin, number="12345678", day=today, start=NINE, seat=1
    )
    ticket = services.reservation_check_in(municipality=jumin.municipality, number="1234 5678")
    assert ticket.priority and ticket.reservation == reservation
    assert services.reservation_check_in(municipality=jumin.municipality, number="12345678").pk == ticket.pk
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.VISITED
    assert selectors.wait_estimate(service=jumin, ticket=ticket).ahead == 0
    assert selectors.wait_estimate(service=jumin, ticket=walk_in).ahead == 1
    called = services.ticket_call_next(counter=counter1, actor=clerk)
    assert called is not None and called.pk == ticket.pk
    with pytest.raises(ValidationFailed) as err:
        services.reservation_check_in(municipality=jumin.municipality, number="99999999")
    assert err.value.code == "checkin.not_found"


def test_calling_order_recall_no_show_start_finish(jumin: Service, counter1: Counter, clerk: Actor) -> None:
    first = services.ticket_issue(service=jumin)
    second = services.ticket_issue(service=jumin)
    called = services.ticket_call_next(counter=counter1, actor=clerk)
    assert called is not None and called.pk == first.pk and called.counter == counter1
    with pytest.raises(ValidationFailed) as err:
        services.ticket_call_next(counter=counter1, actor=clerk)  # one call at a time per counter
    assert err.value.code == "ticket.busy"
    recalled = services.ticket_recall(ticket=called, actor=clerk)
    assert recalled.recalls == 1
    services.ticket_no_show(ticket=called, actor=clerk)
    nxt = services.ticket_call_next(counter=counter1, actor=clerk)
    assert nxt is not None and nxt.pk == second.pk
    with pytest.raises(ValidationFailed):
        services.ticket_finish(ticket=nxt, actor=clerk)  # not started
    services.ticket_start(ticket=nxt, actor=clerk)
    done = services.ticket_finish(ticket=nxt, actor=clerk)
    assert done.status == TicketStatus.DONE and done.finished_at is not None
    assert services.ticket_call_next(counter=counter1, actor=clerk) is None
    assert Ticket.objects.get(pk=first.pk).status == TicketStatus.NO_SHOW
    stats = selectors.floor_stats(municipality=jumin.municipality)
    row = next(r for r in stats.services if r.service == jumin)
    assert (row.done, row.no_show, row.waiting) == (1, 1, 0)
    assert audit_verify().ok


def test_transfer_keeps_the_number_and_goes_first(
    jumin: Service, kosodate: Service, counter1: Counter, clerk: Actor
) -> None:
    waiting_kosodate = services.ticket_issue(service=kosodate)
    ticket = services.ticket_issue(service=jumin)
    called = services.ticket_call_next(counter=counter1, actor=clerk)
    assert called is not None
    services.ticket_start(ticket=called, actor=clerk)
    new = services.ticket_transfer(ticket=called, to_service=kosodate, actor=clerk)
    assert new.number == ticket.number and new.service == kosodate and new.priority
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.TRANSFERRED
    counter2 = Counter.objects.get(municipality=jumin.municipality, number=2)
    nxt = services.ticket_call_next(counter=counter2, actor=clerk)
    assert nxt is not None and nxt.pk == new.pk and nxt.pk != waiting_kosodate.pk


def test_wait_estimate_uses_queue_and_recent_median(jumin: Service, counter1: Counter) -> None:
    now = timezone.now()
    for _ in range(3):
        services.ticket_issue(service=jumin)
    est = selectors.wait_estimate(service=jumin)
    assert (est.ahead, est.from_history, est.minutes) == (3, False, 30)  # 3 × 標準 10 分 ÷ 1 窓口
    today = timezone.localdate()
    for i, minutes in enumerate([4, 6, 20]):
        start = now - timedelta(hours=2, minutes=i * 30)
        Ticket.objects.create(
            municipality=jumin.municipality,
            service=jumin,
            day=today,
            seq=100 + i,
            number=f"住-{100 + i}",
            issued_at=start,
            called_at=start,
            started_at=start,
            finished_at=start + timedelta(minutes=minutes),
            status=TicketStatus.DONE,
        )
    est = selectors.wait_estimate(service=jumin)
    assert (est.from_history, est.median_minutes, est.minutes) == (True, 6.0, 18)
    counter2 = Counter.objects.create(municipality=jumin.municipality, number=9)
    counter2.services.add(jumin)
    assert selectors.wait_estimate(service=jumin).minutes == 9  # two counters


def test_reminders_are_sent_once(jumin: Service, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    now = timezone.now()
    tomorrow = timezone.localdate() + timedelta(days=1)

    def tomorrow_at(number: str, start: time, seat: int, **fields: Any) -> None:
        Reservation.objects.create(
            municipality=jumin.municipality,
            service=jumin,
            number=number,
            day=tomorrow,
            start=start,
            seat=seat,
            **fields,
        )

    tomorrow_at("11112222", NINE, 1, email="taro@example.jp", name="山田 太郎")
    tomorrow_at("11113333", NINE, 2, email="", name="メールなし")
    tomorrow_at("11114444", time(9, 30), 1, email="x@example.jp", status=ReservationStatus.CANCELLED)
    assert services.reservation_remind_due(now=now) == 1
    assert services.reservation_remind_due(now=now) == 0
    from madoguchi.reception.tasks import send_reminders

    assert send_reminders() == 0
    assert len(mail.outbox) == 1
    assert "11112222" in mail.outbox[0].body and mail.outbox[0].to == ["taro@example.jp"]


def test_scope_other_municipality_and_dx_cannot_operate(
    jumin: Service, counter1: Counter, make_staff: Callable[..., Actor], other_municipality: Municipality
) -> None:
    outsider = make_staff("aoba", (Role.CLERK, None), m=other_municipality)
    dx = make_staff("dx", (Role.DX, None))
    services.ticket_issue(service=jumin)
    for actor in (outsider, dx, Actor.resident("demo:1")):
        with pytest.raises(PermissionDeniedError):
            services.ticket_call_next(counter=counter1, actor=actor)
    services.require_floor_staff(dx, jumin.municipality)  # DX推進 sees the floor's figures
    with pytest.raises(PermissionDeniedError):
        services.require_floor_staff(outsider, jumin.municipality)


def test_fee_without_application_is_a_counter_receipt(
    jumin: Service, counter1: Counter, clerk: Actor
) -> None:
    services.ticket_issue(service=jumin)
    t = services.ticket_call_next(counter=counter1, actor=clerk)
    assert t is not None
    with pytest.raises(ValidationFailed):
        services.ticket_fee_receive(ticket=t, actor=clerk, amount=300)  # not being served yet
    services.ticket_start(ticket=t, actor=clerk)
    fee = services.ticket_fee_receive(ticket=t, actor=clerk, amount=300)
    assert fee.amount == 300 and fee.payment is None and fee.method == "cash"


def test_fee_for_an_application_goes_through_the_counter_payment_plugin(
    jumin: Service, counter1: Counter, clerk: Actor, procedure: Any, valid_data: dict[str, Any]
) -> None:
    from madoguchi.applications import services as app_services
    from madoguchi.payments.models import PaymentState

    procedure.fee = 300
    procedure.save(update_fields=["fee"])
    app = app_services.application_submit(
        procedure=procedure, data=valid_data, channel="counter", actor=Actor.system("counter")
    )
    services.ticket_issue(service=jumin)
    t = services.ticket_call_next(counter=counter1, actor=clerk)
    assert t is not None
    services.ticket_start(ticket=t, actor=clerk)
    with pytest.raises(ValidationFailed):
        services.ticket_fee_receive(ticket=t, actor=clerk, amount=200, application=app)
    fee = services.ticket_fee_receive(ticket=t, actor=clerk, amount=300, application=app)
    assert fee.payment is not None and fee.payment.plugin == "counter"
    fee.payment.refresh_from_db()
    assert fee.payment.state == PaymentState.PAID
    assert app.payments.filter(state="paid").count() == 1
    assert audit_verify().ok


def test_counter_gateway_refuses_unsigned_messages() -> None:
    from madoguchi.payments.gateways import WebhookRejected, gateways

    with pytest.raises(WebhookRejected):
        gateways["counter"].verify_webhook(b'{"id": "x", "reference": "r", "amount": 1}', {})


def test_demo_data_is_idempotent(municipality: Municipality) -> None:
    from madoguchi.reception.demo import reception_demo_ensure

    reception_demo_ensure(municipality)
    reception_demo_ensure(municipality)
    assert Service.objects.filter(municipality=municipality).count() == 5
    assert Counter.objects.filter(municipality=municipality).count() == 5
    first_counts = Ticket.objects.filter(municipality=municipality).count()
    reception_demo_ensure(municipality)
    assert Ticket.objects.filter(municipality=municipality).count() == first_counts


def test_slots_for_a_datetime_in_the_past_is_not_bookable(jumin: Service) -> None:
    day = timezone.localdate()
    with pytest.raises(ValidationFailed):
        book(jumin, day)  # today is for the kiosk, not online booking
    assert isinstance(datetime.now(), datetime)
