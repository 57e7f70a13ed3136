"""Writes for 待たない窓口. Keyword-only and typed; each state change is one transaction with its audit
row. Capacity and ticket numbers are kept under a row lock on the ``Service`` (two residents booking the
last seat at once: one wins), with unique constraints on (service, day, start, seat) and
(service, day, seq) behind it."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import MadoguchiError, PermissionDeniedError, ValidationFailed
from madoguchi.core.jp.business_days import add_business_days, is_office_day
from madoguchi.core.jp.wareki import to_wareki
from madoguchi.core.models import Municipality, Role
from madoguchi.core.scope import Actor
from madoguchi.core.selectors import closed_days
from madoguchi.reception.models import (
    Counter,
    CounterFee,
    OpeningHours,
    Reservation,
    ReservationStatus,
    Service,
    Ticket,
    TicketStatus,
)

logger = logging.getLogger(__name__)

# 月〜金 9:00–17:00, 12:00–13:00 closed: used while a municipality has set no OpeningHours rows
DEFAULT_HOURS = (time(9, 0), time(17, 0), time(12, 0), time(13, 0))
COUNTER_ROLES = frozenset({Role.CLERK.value, Role.HANDLER.value, Role.APPROVER.value, Role.ADMIN.value})
FLOOR_ROLES = frozenset({Role.CLERK.value, Role.ADMIN.value, Role.DX.value})
# the 住民異動 service the portal's 転入予約 books into (created with defaults when missing)
MOVE_SERVICE = {"code": "jumin", "name": "住民異動（転入・転出・転居）", "prefix": "住"}


class SlotFull(ValidationFailed):
    code = "reservation.full"
    default_message = "その時間は満席になりました。別の時間を選んでください。"


# ------------------------------------------------------------------------------------ helpers
def _audit(
    *,
    actor: str,
    action: str,
    municipality: Municipality,
    object_type: str,
    object_id: Any,
    detail: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        municipality_code=municipality.code,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
    )


def _audit_ticket(*, actor: str, action: str, ticket: Ticket, **detail: Any) -> None:
    """The audit row of a ticket event: its number always in the detail."""
    _audit(
        actor=actor,
        action=action,
        municipality=ticket.municipality,
        object_type="ticket",
        object_id=ticket.pk,
        detail={"number": ticket.number, **detail},
    )


def _audit_reservation(
    *, actor: str, action: str, reservation: Reservation, detail: dict[str, Any] | None = None
) -> None:
    _audit(
        actor=actor,
        action=action,
        municipality=reservation.municipality,
        object_type="reservation",
        object_id=reservation.number,
        detail=detail,
    )


def require_counter_staff(actor: Actor, municipality: Municipality | int) -> None:
    """Staff of this municipality with a counter role (DX推進 sees the floor's figures only)."""
    municipality_id = municipality if isinstance(municipality, int) else municipality.pk
    if (
        not actor.is_staff
        or actor.municipality is None
        or actor.municipality.pk != municipality_id
        or not (actor.all_roles & COUNTER_ROLES)
    ):
        raise PermissionDeniedError("この窓口を操作する権限がありません。", code="reception.permission")


def require_floor_staff(actor: Actor, municipality: Municipality) -> None:
    if (
        not actor.is_staff
        or actor.municipality is None
        or actor.municipality.pk != municipality.pk
        or not (actor.all_roles & FLOOR_ROLES)
    ):
        raise PermissionDeniedError("フロアの状況を見る権限がありません。", code="reception.permission")


def service_ensure_default(*, municipality: Municipality) -> Service:
    """The 住民異動 service (for the portal's 転入予約), with one counter, created when missing."""
    service, created = Service.objects.get_or_create(
        municipality=municipality,
        code=MOVE_SERVICE["code"],
        defaults={"name": MOVE_SERVICE["name"], "prefix": MOVE_SERVICE["prefix"], "sort_order": 1},
    )
    if created and not service.counters.exists():
        counter, _ = Counter.objects.get_or_create(
            municipality=municipality, number=1, defaults={"name": "1番窓口"}
        )
        counter.services.add(service)
    return service


Hours = tuple[time, time, time | None, time | None]


def hours_lookup(municipality: Municipality) -> Callable[[date], Hours | None]:
    """``hours_for`` for many days: the closed days and opening hours are read once."""
    closed = closed_days(municipality)
    rows = {h.weekday: h for h in OpeningHours.objects.filter(municipality=municipality)}

    def lookup(day: date) -> Hours | None:
        if not is_office_day(day, closed):
            return None
        if not rows:
            return DEFAULT_HOURS if day.weekday() < 5 else None
        row = rows.get(day.weekday())
        return None if row is None else (row.opens, row.closes, row.break_start, row.break_end)

    return lookup


def hours_for(municipality: Municipality, day: date) -> Hours | None:
    """Opening hours on ``day`` (opens, closes, break start, break end), or None when closed."""
    return hours_lookup(municipality)(day)


def slot_times_for(hours: Hours | None, minutes: int) -> list[time]:
    if hours is None or minutes <= 0:
        return []
    opens, closes, break_start, break_end = hours
    out: list[time] = []
    at = datetime.combine(date(2000, 1, 1), opens)
    end = datetime.combine(date(2000, 1, 1), closes)
    step = timedelta(minutes=minutes)
    while at + step <= end:
        in_break = (
            break_start is not None
            and break_end is not None
            and at.time() < break_end
            and (at + step).time() > break_start
        )
        if not in_break:
            out.append(at.time())
        at += step
    return out


def first_bookable_day(municipality: Municipality, now: datetime | None = None) -> date:
    """Online bookings start on the next 開庁日 (today's slots are for the kiosk)."""
    today = timezone.localtime(now or timezone.now()).date()
    return add_business_days(today, 1, closed_days(municipality))


def _new_reservation_number() -> str:
    return f"{secrets.randbelow(90_000_000) + 10_000_000}"


def _check_slot(*, service: Service, day: date, start: time) -> None:
    if not service.active:
        raise ValidationFailed("この業務は受け付けていません。", code="reservation.service_inactive")
    municipality = service.municipality
    if start not in slot_times_for(hours_for(municipality, day), service.slot_minutes):
        raise ValidationFailed(
            "その日時は予約できません。開庁日の表示された時間から選んでください。",
            code="reservation.slot_invalid",
        )
    if day < first_bookable_day(municipality) or day > timezone.localdate() + timedelta(
        days=service.booking_days
    ):
        raise ValidationFailed("その日は予約できません。", code="reservation.out_of_range")


def _free_seat(*, service: Service, day: date, start: time, exclude: int | None = None) -> int:
    qs = Reservation.objects.filter(
        service=service,
        day=day,
        start=start,
        status__in=[ReservationStatus.BOOKED, ReservationStatus.VISITED],
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    taken = set(qs.values_list("seat", flat=True))
    for seat in range(1, service.capacity_per_slot + 1):
        if seat not in taken:
            return seat
    raise SlotFull()


def _counter_for_seat(service: Service, seat: int) -> Counter | None:
    counters = list(service.counters.filter(active=True).order_by("number"))
    return counters[(seat - 1) % len(counters)] if counters else None


# ------------------------------------------------------------------------------- reservations
def reservation_book(
    *,
    service: Service,
    day: date,
    start: time,
    actor_label: str,
    owner: str = "",
    name: str = "",
    email: str = "",
    purpose: str = "",
    application: Application | None = None,
) -> Reservation:
    """Book one seat of a slot. With ``application`` (the portal's 転入予約), an earlier booking of the
    same application is cancelled in the same transaction (a new booking replaces the old)."""
    _check_slot(service=service, day=day, start=start)
    try:
        with transaction.atomic():
            locked = Service.objects.select_for_update().select_related("municipality").get(pk=service.pk)
            if application is not None:
                Reservation.objects.filter(application=application, status=ReservationStatus.BOOKED).update(
                    status=ReservationStatus.CANCELLED, updated_at=timezone.now()
                )
            seat = _free_seat(service=locked, day=day, start=start)
            reservation = Reservation.objects.create(
                municipality=locked.municipality,
                service=locked,
                counter=_counter_for_seat(locked, seat),
                number=_new_reservation_number(),
                day=day,
                start=start,
                seat=seat,
                purpose=(purpose or locked.name)[:60],
                name=name[:80],
                email=email[:254],
                owner=owner[:80],
                application=application,
            )
            _audit_reservation(
                actor=actor_label,
                action="reception.reservation_booked",
                reservation=reservation,
                detail={
                    "service": locked.code,
                    "day": day.isoformat(),
                    "start": start.strftime("%H:%M"),
                    "application": application.reception_number if application else "",
                },
            )
    except IntegrityError as exc:  # the constraint behind the lock (e.g. a concurrent booking elsewhere)
        raise SlotFull() from exc
    return reservation


def _require_owner(reservation: Reservation, owner: str | None) -> None:
    if owner is not None and reservation.owner != owner:
        raise PermissionDeniedError("この予約を変更する権限がありません。", code="reservation.permission")


def reservation_change(
    *, reservation: Reservation, day: date, start: time, actor_label: str, owner: str | None = None
) -> Reservation:
    """Move a booking to another slot of the same service (the seat is re-taken under the lock)."""
    _require_owner(reservation, owner)
    _check_slot(service=reservation.service, day=day, start=start)
    try:
        with transaction.atomic():
            locked_service = Service.objects.select_for_update().get(pk=reservation.service_id)
            current = Reservation.objects.select_for_update().get(pk=reservation.pk)
            if current.status != ReservationStatus.BOOKED:
                raise ValidationFailed("この予約は変更できません。", code="reservation.not_booked")
            before = (current.day.isoformat(), current.start.strftime("%H:%M"))
            seat = _free_seat(service=locked_service, day=day, start=start, exclude=current.pk)
            current.day, current.start, current.seat = day, start, seat
            current.counter = _counter_for_seat(locked_service, seat)
            current.reminded_at = None  # a new day: a new reminder
            current.save(update_fields=["day", "start", "seat", "counter", "reminded_at", "updated_at"])
            _audit_reservation(
                actor=actor_label,
                action="reception.reservation_changed",
                reservation=current,
                detail={"from": list(before), "to": [day.isoformat(), start.strftime("%H:%M")]},
            )
    except IntegrityError as exc:
        raise SlotFull() from exc
    return current


def reservation_cancel(
    *, reservation: Reservation, actor_label: str, owner: str | None = None
) -> Reservation:
    _require_owner(reservation, owner)
    with transaction.atomic():
        current = (
            Reservation.objects.select_for_update().select_related("municipality").get(pk=reservation.pk)
        )
        if current.status != ReservationStatus.BOOKED:
            raise ValidationFailed("この予約は取り消せません。", code="reservation.not_booked")
        current.status = ReservationStatus.CANCELLED
        current.save(update_fields=["status", "updated_at"])
        _audit_reservation(actor=actor_label, action="reception.reservation_cancelled", reservation=current)
    return current


def reminder_text(reservation: Reservation) -> tuple[str, str]:
    subject = f"【{reservation.municipality.name}】明日の来庁予約のお知らせ"
    body = (
        f"{reservation.name or '予約された方'} 様\n\n"
        f"明日 {to_wareki(reservation.day)} {reservation.start:%H:%M} から、{reservation.service.name} の"
        f"来庁予約があります。\n予約番号: {reservation.number}\n\n"
        "来庁されたら、受付の発券機で「予約のある方」を選び、予約番号を入力してください。優先してご案内します。\n"
        "予約の変更・取消はマイページからできます。\n"
    )
    return subject, body


def reservation_remind_due(*, now: datetime | None = None, send: Callable[..., Any] = send_mail) -> int:
    """Mail every booked reservation of tomorrow that has not been reminded yet. Never twice: each
    reservation is first claimed (``reminded_at`` set where it is still empty, committed), then mailed;
    a crash between the two loses one mail rather than sending two."""
    now = now or timezone.now()
    tomorrow = timezone.localtime(now).date() + timedelta(days=1)
    due = list(
        Reservation.objects.filter(day=tomorrow, status=ReservationStatus.BOOKED, reminded_at__isnull=True)
        .exclude(email="")
        .values_list("pk", flat=True)
    )
    sent = 0
    for pk in due:
        with transaction.atomic():
            claimed = Reservation.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now)
            if not claimed:
                continue  # another worker has it
            reservation = Reservation.objects.select_related("municipality", "service").get(pk=pk)
            _audit_reservation(
                actor="system:reception", action="reception.reservation_reminded", reservation=reservation
            )
        subject, body = reminder_text(reservation)
        try:
            send(subject, body, None, [reservation.email])
            sent += 1
        except Exception:
            logger.exception("reminder mail failed for reservation %s", reservation.number)
    return sent


# ------------------------------------------------------------------------------------ tickets
def _next_ticket(
    *,
    service: Service,
    day: date,
    now: datetime,
    priority: bool,
    reservation: Reservation | None = None,
    transferred_from: Ticket | None = None,
) -> Ticket:
    """Inside a transaction holding the service's lock: the next number of the service today."""
    last = Ticket.objects.filter(service=service, day=day).aggregate(m=Max("seq"))["m"] or 0
    seq = last + 1
    number = transferred_from.number if transferred_from else f"{service.prefix}-{seq:03d}"
    return Ticket.objects.create(
        municipality=service.municipality,
        service=service,
        day=day,
        seq=seq,
        number=number,
        priority=priority,
        reservation=reservation,
        transferred_from=transferred_from,
        issued_at=now,
    )


def ticket_issue(*, service: Service, actor_label: str = "kiosk", now: datetime | None = None) -> Ticket:
    """A numbered ticket from the kiosk: 住-001, 住-002 … per service per day."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    with transaction.atomic():
        locked = Service.objects.select_for_update().select_related("municipality").get(pk=service.pk)
        if not locked.active:
            raise ValidationFailed("この業務は受け付けていません。", code="ticket.service_inactive")
        ticket = _next_ticket(service=locked, day=day, now=now, priority=False)
        _audit_ticket(actor=actor_label, action="reception.ticket_issued", ticket=ticket)
    return ticket


def reservation_check_in(
    *, municipality: Municipality, number: str, actor_label: str = "kiosk", now: datetime | None = None
) -> Ticket:
    """A reservation holder checks in at the kiosk with the reservation number: a priority ticket."""
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    number = "".join(ch for ch in str(number) if ch.isdigit())
    reservation = (
        Reservation.objects.filter(municipality=municipality, number=number).select_related("service").first()
    )
    if reservation is None or reservation.day != day:
        raise ValidationFailed(
            "本日の予約が見つかりません。予約番号をお確かめのうえ、係員にお声がけください。",
            code="checkin.not_found",
        )
    with transaction.atomic():
        locked = (
            Service.objects.select_for_update().select_related("municipality").get(pk=reservation.service_id)
        )
        current = Reservation.objects.select_for_update().get(pk=reservation.pk)
        existing = Ticket.objects.filter(reservation=current).first()
        if existing is not None:
            return existing  # pressed twice: the same ticket
        if current.status != ReservationStatus.BOOKED:
            raise ValidationFailed(
                "この予約は受付できません。係員にお声がけください。", code="checkin.not_booked"
            )
        current.status = ReservationStatus.VISITED
        current.save(update_fields=["status", "updated_at"])
        ticket = _next_ticket(service=locked, day=day, now=now, priority=True, reservation=current)
        _audit_ticket(
            actor=actor_label, action="reception.checked_in", ticket=ticket, reservation=current.number
        )
    return ticket


def _locked_ticket(ticket: Ticket, actor: Actor) -> Ticket:
    require_counter_staff(actor, ticket.municipality_id)
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("municipality", "service", "counter")
        .get(pk=ticket.pk)
    )


def _require_state(ticket: Ticket, *states: str) -> None:
    if ticket.status not in states:
        raise ValidationFailed(
            f"番号 {ticket.number} は「{ticket.get_status_display()}」のため、この操作はできません。",
            code="ticket.state",
        )


def ticket_call_next(
    *, counter: Counter, actor: Actor, service: Service | None = None, now: datetime | None = None
) -> Ticket | None:
    """Call the next waiting ticket of the counter's services (or of ``service``): priority tickets
    (reservation holders, transfers) first, then in order of issue. Two clerks calling at once never
    get the same ticket (``SKIP LOCKED``)."""
    require_counter_staff(actor, counter.municipality_id)
    now = now or timezone.now()
    day = timezone.localtime(now).date()
    with transaction.atomic():
        busy = Ticket.objects.filter(counter=counter, day=day, status=TicketStatus.CALLED).exists()
        if busy:
            raise ValidationFailed(
                "呼出中の番号があります。対応開始・不在のいずれかにしてから、次を呼んでください。",
                code="ticket.busy",
            )
        services = (
            [service.pk] if service is not None else list(counter.services.values_list("pk", flat=True))
        )
        ticket = (
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(service_id__in=services, day=day, status=TicketStatus.WAITING)
            .order_by("-priority", "issued_at", "pk")
            .select_related("municipality", "service")
            .first()
        )
        if ticket is None:
            return None
        ticket.status = TicketStatus.CALLED
        ticket.counter = counter
        ticket.called_at = now
        ticket.handled_by = actor.label[:150]
        ticket.save(update_fields=["status", "counter", "called_at", "handled_by"])
        _audit_ticket(
            actor=actor.label, action="reception.ticket_called", ticket=ticket, counter=counter.number
        )
    return ticket


def _ticket_step(
    *,
    ticket: Ticket,
    actor: Actor,
    states: tuple[str, ...],
    action: str,
    apply: Callable[[Ticket], list[str]],
    detail: Callable[[Ticket], dict[str, Any]] = lambda t: {},
) -> Ticket:
    """One clerk step on a ticket: lock it, check its state, ``apply`` the change (returns the fields
    to save), save and audit, in one transaction."""
    with transaction.atomic():
        t = _locked_ticket(ticket, actor)
        _require_state(t, *states)
        t.save(update_fields=apply(t))
        _audit_ticket(actor=actor.label, action=action, ticket=t, **detail(t))
    return t


def ticket_recall(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    def apply(t: Ticket) -> list[str]:
        t.recalls += 1
        t.called_at = now or timezone.now()  # the display announces it again
        return ["recalls", "called_at"]

    return _ticket_step(
        ticket=ticket,
        actor=actor,
        states=(TicketStatus.CALLED,),
        action="reception.ticket_recalled",
        apply=apply,
        detail=lambda t: {"recalls": t.recalls},
    )


def ticket_no_show(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    def apply(t: Ticket) -> list[str]:
        t.status = TicketStatus.NO_SHOW
        t.finished_at = now or timezone.now()
        if t.reservation_id:
            Reservation.objects.filter(pk=t.reservation_id).update(
                status=ReservationStatus.NO_SHOW, updated_at=timezone.now()
            )
        return ["status", "finished_at"]

    return _ticket_step(
        ticket=ticket,
        actor=actor,
        states=(TicketStatus.CALLED,),
        action="reception.ticket_no_show",
        apply=apply,
    )


def ticket_start(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    def apply(t: Ticket) -> list[str]:
        t.status = TicketStatus.SERVING
        t.started_at = now or timezone.now()
        t.handled_by = actor.label[:150]
        return ["status", "started_at", "handled_by"]

    return _ticket_step(
        ticket=ticket,
        actor=actor,
        states=(TicketStatus.CALLED,),
        action="reception.ticket_started",
        apply=apply,
    )


def ticket_finish(*, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    def apply(t: Ticket) -> list[str]:
        t.status = TicketStatus.DONE
        t.finished_at = now or timezone.now()
        return ["status", "finished_at"]

    return _ticket_step(
        ticket=ticket,
        actor=actor,
        states=(TicketStatus.SERVING,),
        action="reception.ticket_finished",
        apply=apply,
    )


def ticket_transfer(
    *, ticket: Ticket, to_service: Service, actor: Actor, now: datetime | None = None
) -> Ticket:
    """Send the visitor on to another service (e.g. 住民異動 → 子育て): the ticket ends as 別業務へ案内
    and a priority ticket with the same number waits for the other service (no second queue)."""
    now = now or timezone.now()
    with transaction.atomic():
        t = _locked_ticket(ticket, actor)
        _require_state(t, TicketStatus.CALLED, TicketStatus.SERVING)
        if (
            to_service.municipality_id != t.municipality_id
            or to_service.pk == t.service_id
            or not to_service.active
        ):
            raise ValidationFailed("案内先の業務を選んでください。", code="ticket.transfer_target")
        target = Service.objects.select_for_update().select_related("municipality").get(pk=to_service.pk)
        t.status = TicketStatus.TRANSFERRED
        t.finished_at = now
        t.save(update_fields=["status", "finished_at"])
        new = _next_ticket(service=target, day=t.day, now=now, priority=True, transferred_from=t)
        _audit_ticket(
            actor=actor.label,
            action="reception.ticket_transferred",
            ticket=t,
            to=target.code,
            new_ticket=new.pk,
        )
    return new


def ticket_fee_receive(
    *, ticket: Ticket, actor: Actor, amount: int, application: Application | None = None
) -> CounterFee:
    """「手数料を受け取る」: record money taken at the counter for a ticket being (or just) served.

    With an ``application`` that has a fee, the money is recorded as a ``payments.Payment`` through the
    ``counter`` payment plugin (start, then a signed 受領 message applied like a provider's webhook),
    so the application shows 支払済み; without one (住民票の写し …) only the ``CounterFee`` row is kept.
    All of it commits in one transaction."""
    from madoguchi.payments.services import payment_start, payment_webhook
    from madoguchi.reception.gateways import counter_receipt_message

    if amount <= 0 or amount > 1_000_000:
        raise ValidationFailed("金額を正しく入力してください。", code="fee.amount")
    with transaction.atomic():
        t = _locked_ticket(ticket, actor)
        _require_state(t, TicketStatus.SERVING, TicketStatus.DONE)
        payment = None
        if application is not None:
            if application.municipality_id != t.municipality_id:
                raise PermissionDeniedError("この申請の手数料は受け取れません。", code="fee.permission")
            if application.procedure.fee != amount:
                raise ValidationFailed(
                    f"この申請の手数料は {application.procedure.fee} 円です。", code="fee.amount_mismatch"
                )
            payment, _url = payment_start(
                application=application, actor=actor, plugin="counter", return_url="/reception/staff/"
            )
            body, headers = counter_receipt_message(payment=payment, received_by=actor.label)
            outcome = payment_webhook(plugin="counter", body=body, headers=headers)
            if not outcome.changed:
                raise MadoguchiError("支払いを記録できませんでした。", code="fee.not_recorded")
        fee = CounterFee.objects.create(
            municipality=t.municipality,
            ticket=t,
            amount=amount,
            method="counter" if payment is not None else "cash",
            payment=payment,
            received_by=actor.user,  # type: ignore[misc]
            received_at=timezone.now(),
        )
        _audit_ticket(
            actor=actor.label,
            action="reception.fee_received",
            ticket=t,
            amount=amount,
            payment=payment.pk if payment else None,
        )
    return fee
