"""Thin views for 待たない窓口: the kiosk, the called-numbers display, residents' online booking, the
clerk's call screen, the day's reservations and the floor dashboard."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from madoguchi.core.errors import MadoguchiError
from madoguchi.core.models import Municipality
from madoguchi.core.scope import Actor
from madoguchi.identity.api import PortalIdentity, identity_required
from madoguchi.portal.services import owner_key
from madoguchi.reception import selectors, services
from madoguchi.reception.models import Counter, Reservation, ReservationStatus, Service, Ticket
from madoguchi.staff.views import staff_view


def _municipality() -> Municipality:
    municipality = selectors.reception_municipality()
    if municipality is None:
        raise Http404()
    return municipality


def _error(request: HttpRequest, exc: MadoguchiError) -> None:
    messages.error(request, f"{exc.message}【{exc.code}】")


# ------------------------------------------------------------------------------------ kiosk
def kiosk(request: HttpRequest) -> HttpResponse:
    municipality = _municipality()
    return render(
        request,
        "reception/kiosk.html",
        {"municipality": municipality, "services": selectors.kiosk_services(municipality)},
    )


@require_POST
def kiosk_issue(request: HttpRequest) -> HttpResponse:
    municipality = _municipality()
    service = get_object_or_404(
        Service, municipality=municipality, code=request.POST.get("service", ""), active=True
    )
    try:
        ticket = services.ticket_issue(service=service)
    except MadoguchiError as exc:  # the service was closed a moment ago
        _error(request, exc)
        return redirect("reception:kiosk")
    return redirect("reception:kiosk_ticket", pk=ticket.pk)


@require_POST
def kiosk_checkin(request: HttpRequest) -> HttpResponse:
    municipality = _municipality()
    try:
        ticket = services.reservation_check_in(
            municipality=municipality, number=request.POST.get("number", "")
        )
    except MadoguchiError as exc:
        _error(request, exc)
        return redirect("reception:kiosk")
    return redirect("reception:kiosk_ticket", pk=ticket.pk)


def kiosk_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(
        Ticket.objects.select_related("service", "reservation"),
        pk=pk,
        municipality=_municipality(),
        day=timezone.localdate(),
    )
    return render(
        request,
        "reception/kiosk_ticket.html",
        {"ticket": ticket, "estimate": selectors.wait_estimate(service=ticket.service, ticket=ticket)},
    )


# ---------------------------------------------------------------------------------- display
def _display_service(request: HttpRequest, municipality: Municipality) -> Service | None:
    code = request.GET.get("service", "")
    return Service.objects.filter(municipality=municipality, code=code).first() if code else None


def display(request: HttpRequest) -> HttpResponse:
    municipality = _municipality()
    service = _display_service(request, municipality)
    board = selectors.display_board(municipality=municipality, service=service)
    return render(
        request,
        "reception/display.html",
        {
            "municipality": municipality,
            "board": board,
            "service": service,
            "services": selectors.services_for(municipality),
            "announce": board.calls[0] if board.calls else None,
        },
    )


def display_board(request: HttpRequest) -> HttpResponse:
    """The board fragment htmx polls. 204 (nothing swapped, nothing announced) while it is unchanged;
    a new call also fills the aria-live region (out of band) so a screen reader says it once."""
    municipality = _municipality()
    board = selectors.display_board(
        municipality=municipality, service=_display_service(request, municipality)
    )
    if request.GET.get("seen") == board.stamp:
        return HttpResponse(status=204)
    new_call = bool(board.latest_call) and request.GET.get("last", "") != board.latest_call
    return render(
        request,
        "reception/_display_board.html",
        {"board": board, "announce": board.calls[0] if new_call else None, "oob": new_call},
    )


# ------------------------------------------------------------------ residents: online booking
def _identity(request: HttpRequest) -> PortalIdentity:
    return request.portal_identity  # type: ignore[attr-defined, no-any-return]


def _parse_slot(value: str) -> tuple[date, time] | None:
    day_text, _sep, start_text = value.partition("T")
    try:
        return date.fromisoformat(day_text), time.fromisoformat(start_text)
    except ValueError:
        return None


@identity_required("account")
def book_index(request: HttpRequest) -> HttpResponse:
    municipality = _municipality()
    return render(
        request,
        "reception/book_index.html",
        {
            "services": selectors.services_for(municipality, bookable_only=True),
            "mine": selectors.reservations_of_owner(owner_key(_identity(request))),
        },
    )


@identity_required("account")
def book_service(request: HttpRequest, code: str) -> HttpResponse:
    municipality = _municipality()
    service = get_object_or_404(Service, municipality=municipality, code=code, active=True, bookable=True)
    identity = _identity(request)
    if request.method == "POST":
        slot = _parse_slot(str(request.POST.get("slot", "")))
        if slot is None:
            messages.error(request, _("来庁日時を選んでください。") + "【reservation.slot_invalid】")
        else:
            try:
                reservation = services.reservation_book(
                    service=service,
                    day=slot[0],
                    start=slot[1],
                    actor_label=identity.actor().label,
                    owner=owner_key(identity),
                    name=identity.name,
                    email=identity.email,
                )
            except MadoguchiError as exc:
                _error(request, exc)
            else:
                messages.success(
                    request, _("来庁の予約を受け付けました。予約番号: %(n)s") % {"n": reservation.number}
                )
                return redirect("reception:book_index")
    return _slots_page(request, service=service, current=None)


def _slots_page(request: HttpRequest, *, service: Service, current: Reservation | None) -> HttpResponse:
    start = services.first_bookable_day(service.municipality)
    return render(
        request,
        "reception/book_slots.html",
        {
            "service": service,
            "current": current,
            "days": selectors.slots_available(service=service, start=start),
        },
    )


def _my_reservation(request: HttpRequest, number: str) -> Reservation:
    return get_object_or_404(
        Reservation.objects.select_related("service", "municipality"),
        number=number,
        owner=owner_key(_identity(request)),
    )


@identity_required("account")
def my_change(request: HttpRequest, number: str) -> HttpResponse:
    reservation = _my_reservation(request, number)
    if reservation.status != ReservationStatus.BOOKED:
        raise Http404()
    if request.method == "POST":
        slot = _parse_slot(str(request.POST.get("slot", "")))
        if slot is None:
            messages.error(request, _("来庁日時を選んでください。") + "【reservation.slot_invalid】")
        else:
            try:
                services.reservation_change(
                    reservation=reservation,
                    day=slot[0],
                    start=slot[1],
                    actor_label=_identity(request).actor().label,
                    owner=owner_key(_identity(request)),
                )
            except MadoguchiError as exc:
                _error(request, exc)
            else:
                messages.success(request, _("予約を変更しました。"))
                return redirect("reception:book_index")
    return _slots_page(request, service=reservation.service, current=reservation)


@require_POST
@identity_required("account")
def my_cancel(request: HttpRequest, number: str) -> HttpResponse:
    reservation = _my_reservation(request, number)
    try:
        services.reservation_cancel(
            reservation=reservation,
            actor_label=_identity(request).actor().label,
            owner=owner_key(_identity(request)),
        )
    except MadoguchiError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("予約を取り消しました。"))
    return redirect("reception:book_index")


# ------------------------------------------------------------------------------------ staff
def _counter(actor: Actor, number: int) -> Counter:
    services.require_counter_staff(actor, actor.municipality)  # type: ignore[arg-type]
    return get_object_or_404(
        Counter.objects.select_related("municipality"),
        municipality=actor.municipality,
        number=number,
        active=True,
    )


@staff_view
def staff_home(request: HttpRequest, actor: Actor) -> HttpResponse:
    services.require_counter_staff(actor, actor.municipality)  # type: ignore[arg-type]
    return render(
        request,
        "reception/staff_home.html",
        {"actor": actor, "counters": selectors.counters_for(actor.municipality)},  # type: ignore[arg-type]
    )


@staff_view
def staff_counter(request: HttpRequest, actor: Actor, number: int) -> HttpResponse:
    counter = _counter(actor, number)
    current = selectors.counter_current(counter=counter)
    return render(
        request,
        "reception/staff_counter.html",
        {
            "actor": actor,
            "counter": counter,
            "current": current,
            "queue": selectors.counter_queue(counter=counter),
            "recent": selectors.counter_recent(counter=counter),
            "services": selectors.services_for(counter.municipality),
        },
    )


@staff_view
def staff_counter_queue(request: HttpRequest, actor: Actor, number: int) -> HttpResponse:
    """The waiting list the call screen polls (only that part: the clerk's forms are left alone)."""
    counter = _counter(actor, number)
    return render(request, "reception/_staff_queue.html", {"queue": selectors.counter_queue(counter=counter)})


@require_POST
@staff_view
def staff_call_next(request: HttpRequest, actor: Actor, number: int) -> HttpResponse:
    counter = _counter(actor, number)
    ticket = services.ticket_call_next(counter=counter, actor=actor)
    if ticket is None:
        messages.info(request, _("お待ちの方はいません。"))
    else:
        messages.success(request, _("%(n)s 番をお呼びしました。") % {"n": ticket.number})
    return redirect("reception:staff_counter", number=number)


TICKET_ACTIONS: dict[str, Any] = {
    "recall": (services.ticket_recall, "%(n)s 番をもう一度お呼びしました。"),
    "no-show": (services.ticket_no_show, "%(n)s 番を不在にしました。"),
    "start": (services.ticket_start, "%(n)s 番の対応を始めました。"),
    "finish": (services.ticket_finish, "%(n)s 番の対応を終えました。"),
}


def _staff_ticket(actor: Actor, pk: int) -> Ticket:
    ticket = get_object_or_404(Ticket.objects.select_related("service", "counter"), pk=pk)
    services.require_counter_staff(actor, ticket.municipality_id)
    return ticket


@require_POST
@staff_view
def staff_ticket_action(
    request: HttpRequest, actor: Actor, number: int, pk: int, action: str
) -> HttpResponse:
    if action not in TICKET_ACTIONS:
        raise Http404()
    ticket = _staff_ticket(actor, pk)
    service_call, message = TICKET_ACTIONS[action]
    done = service_call(ticket=ticket, actor=actor)
    messages.success(request, _(message) % {"n": done.number})
    return redirect("reception:staff_counter", number=number)


@require_POST
@staff_view
def staff_transfer(request: HttpRequest, actor: Actor, number: int, pk: int) -> HttpResponse:
    ticket = _staff_ticket(actor, pk)
    target = get_object_or_404(Service, municipality=actor.municipality, code=request.POST.get("service", ""))
    new = services.ticket_transfer(ticket=ticket, to_service=target, actor=actor)
    messages.success(
        request, _("%(n)s 番を「%(s)s」へご案内しました。") % {"n": new.number, "s": target.name}
    )
    return redirect("reception:staff_counter", number=number)


@require_POST
@staff_view
def staff_fee(request: HttpRequest, actor: Actor, number: int, pk: int) -> HttpResponse:
    ticket = _staff_ticket(actor, pk)
    try:
        amount = int(str(request.POST.get("amount", "")).strip())
    except ValueError:
        amount = 0
    reception_number = str(request.POST.get("reception_number", "")).strip()
    application = None
    if reception_number:
        application = selectors.application_for_fee(
            municipality=actor.municipality,  # type: ignore[arg-type]
            reception_number=reception_number,
        )
        if application is None:
            messages.error(request, _("受付番号の申請が見つかりません。") + "【fee.application_not_found】")
            return redirect("reception:staff_counter", number=number)
    fee = services.ticket_fee_receive(ticket=ticket, actor=actor, amount=amount, application=application)
    messages.success(
        request, _("%(n)s 番の手数料 %(a)s 円を受け取りました。") % {"n": ticket.number, "a": fee.amount}
    )
    return redirect("reception:staff_counter", number=number)


@staff_view
def staff_reservations(request: HttpRequest, actor: Actor) -> HttpResponse:
    services.require_counter_staff(actor, actor.municipality)  # type: ignore[arg-type]
    try:
        day = (
            date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else timezone.localdate()
        )
    except ValueError:
        day = timezone.localdate()
    return render(
        request,
        "reception/staff_reservations.html",
        {
            "actor": actor,
            "day": day,
            "groups": selectors.reservations_of_day(municipality=actor.municipality, day=day),  # type: ignore[arg-type]
        },
    )


@staff_view
def floor(request: HttpRequest, actor: Actor) -> HttpResponse:
    services.require_floor_staff(actor, actor.municipality)  # type: ignore[arg-type]
    return render(
        request,
        "reception/floor.html",
        {"actor": actor, "stats": selectors.floor_stats(municipality=actor.municipality)},  # type: ignore[arg-type]
    )
