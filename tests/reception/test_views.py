"""The pages through Django's test client: kiosk, display fragment, resident booking, the call screen,
the day's reservations and the floor; and the portal's 転入予約 booking into the reception slots."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from madoguchi.core.models import Municipality, Role
from madoguchi.core.scope import Actor
from madoguchi.identity.api import SESSION_KEY, PortalIdentity
from madoguchi.reception import services
from madoguchi.reception.models import Counter, Reservation, Service, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def resident_client(client: Client, municipality: Municipality) -> PortalIdentity:
    identity = PortalIdentity(
        method="password",
        label="acct:7",
        account_id=7,
        municipality_id=municipality.pk,
        name="山田 太郎",
        email="taro@example.jp",
    )
    session = client.session
    session[SESSION_KEY] = identity.to_session()
    session.save()
    return identity


def test_kiosk_issues_a_ticket_and_shows_the_wait(client: Client, jumin: Service) -> None:
    page = client.get("/reception/kiosk/")
    assert page.status_code == 200 and "住民異動" in page.content.decode()
    response = client.post("/reception/kiosk/issue/", {"service": "jumin"})
    assert response.status_code == 302
    assert Ticket.objects.get().number == "住-001"
    shown = client.get(response["Location"]).content.decode()
    assert "住-001" in shown and "約 0 分" in shown


def test_kiosk_check_in_with_a_reservation_number(client: Client, jumin: Service) -> None:
    from django.utils import timezone

    Reservation.objects.create(
        municipality=jumin.municipality,
        service=jumin,
        number="87654321",
        day=timezone.localdate(),
        start=services.DEFAULT_HOURS[0],
        seat=1,
    )
    response = client.post("/reception/kiosk/checkin/", {"number": "87654321"}, follow=True)
    assert "予約の方（優先）" in response.content.decode()
    response = client.post("/reception/kiosk/checkin/", {"number": "00000000"}, follow=True)
    assert "checkin.not_found" in response.content.decode()


def test_display_fragment_is_204_while_unchanged_and_announces_a_new_call(
    client: Client, jumin: Service, counter1: Counter, make_staff: Callable[..., Actor]
) -> None:
    clerk = make_staff("madoguchi", (Role.CLERK, None))
    page = client.get("/reception/display/").content.decode()
    assert 'aria-live="assertive"' in page and 'hx-trigger="every 2s"' in page
    assert "<script" not in page.split("</head>")[1] and "style=" not in page
    first = client.get("/reception/display/board/")
    stamp = first.context["board"].stamp
    assert client.get("/reception/display/board/", {"seen": stamp}).status_code == 204
    services.ticket_issue(service=jumin)
    services.ticket_call_next(counter=counter1, actor=clerk)
    changed = client.get("/reception/display/board/", {"seen": stamp, "last": ""})
    body = changed.content.decode()
    assert changed.status_code == 200 and "住-001" in body and "1番窓口" in body
    assert 'hx-swap-oob="innerHTML"' in body and "住-001 番の方、1番窓口 へお越しください" in body


def test_resident_books_changes_and_cancels(client: Client, jumin: Service, bookable_day: date) -> None:
    assert client.get("/reception/").status_code == 302  # login first
    resident_client(client, jumin.municipality)
    assert "住民異動" in client.get("/reception/book/jumin/").content.decode()
    response = client.post(
        "/reception/book/jumin/", {"slot": f"{bookable_day.isoformat()}T09:00"}, follow=True
    )
    assert "来庁の予約を受け付けました" in response.content.decode()
    reservation = Reservation.objects.get(status="booked")
    assert reservation.owner == "account:7" and reservation.email == "taro@example.jp"
    response = client.post(
        f"/reception/my/{reservation.number}/change/",
        {"slot": f"{bookable_day.isoformat()}T10:00"},
        follow=True,
    )
    assert "予約を変更しました" in response.content.decode()
    client.post(f"/reception/my/{reservation.number}/cancel/")
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
    other = Client()
    identity = PortalIdentity(method="password", label="acct:8", account_id=8)
    session = other.session
    session[SESSION_KEY] = identity.to_session()
    session.save()
    assert other.post(f"/reception/my/{reservation.number}/cancel/").status_code == 404


def test_call_screen_flow(
    client: Client, jumin: Service, kosodate: Service, counter1: Counter, make_staff: Callable[..., Actor]
) -> None:
    make_staff("madoguchi", (Role.CLERK, None))
    assert client.get("/reception/staff/counter/1/").status_code == 302  # staff login
    client.login(username="madoguchi", password="demo-pass-2026")
    ticket = services.ticket_issue(service=jumin)
    assert "1番窓口" in client.get("/reception/staff/").content.decode()
    client.post("/reception/staff/counter/1/call-next/")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CALLED
    page = client.get("/reception/staff/counter/1/").content.decode()
    assert "住-001" in page and "もう一度呼ぶ" in page
    client.post(f"/reception/staff/counter/1/tickets/{ticket.pk}/recall/")
    client.post(f"/reception/staff/counter/1/tickets/{ticket.pk}/start/")
    response = client.post(
        f"/reception/staff/counter/1/tickets/{ticket.pk}/fee/", {"amount": "300"}, follow=True
    )
    assert "手数料 300 円を受け取りました" in response.content.decode()
    client.post(f"/reception/staff/counter/1/tickets/{ticket.pk}/transfer/", {"service": "kosodate"})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.TRANSFERRED and ticket.recalls == 1
    assert Ticket.objects.get(service=kosodate).number == "住-001"
    assert client.post(f"/reception/staff/counter/1/tickets/{ticket.pk}/explode/").status_code == 404


def test_reservations_of_the_day_and_floor(
    client: Client, jumin: Service, bookable_day: date, make_staff: Callable[..., Actor]
) -> None:
    make_staff("madoguchi", (Role.CLERK, None))
    client.login(username="madoguchi", password="demo-pass-2026")
    r = services.reservation_book(
        service=jumin, day=bookable_day, start=services.DEFAULT_HOURS[0], actor_label="x", name="佐藤 花子"
    )
    page = client.get("/reception/staff/reservations/", {"day": bookable_day.isoformat()}).content.decode()
    assert r.number in page and "佐藤 花子" in page and "1番窓口" in page
    floor = client.get("/reception/floor/")
    assert floor.status_code == 200 and "時間帯ごとの対応時間" in floor.content.decode()


def test_staff_of_another_municipality_sees_no_counter(
    client: Client, jumin: Service, make_staff: Callable[..., Actor], other_municipality: Municipality
) -> None:
    make_staff("aoba", (Role.CLERK, None), m=other_municipality)
    client.login(username="aoba", password="demo-pass-2026")
    assert client.get("/reception/staff/counter/1/").status_code in {403, 404}


def test_portal_tennyu_yoyaku_books_into_the_jumin_service(
    client: Client, municipality: Municipality, procedure: Any, valid_data: dict[str, Any]
) -> None:
    from madoguchi.applications import services as app_services
    from madoguchi.identity.api import PortalIdentity as PI
    from madoguchi.portal import services as portal_services

    identity = PI(
        method="password", label="acct:9", account_id=9, municipality_id=municipality.pk, name="転入 太郎"
    )
    app = app_services.application_submit(
        procedure=procedure, data=valid_data, channel="online", actor=identity.actor()
    )
    day = portal_services.first_bookable_day(municipality)
    days = portal_services.slots_available(municipality=municipality, start=day, days=3)
    assert days[0][0] == day and days[0][1][0][1] == 3
    booked = portal_services.reservation_book(
        application=app, identity=identity, day=day, start=days[0][1][0][0], purpose="転入届"
    )
    assert booked.service.code == "jumin" and booked.purpose == "転入届" and booked.owner == "account:9"
    assert app.reservations.filter(status="booked").count() == 1
    assert portal_services.slots_available(municipality=municipality, start=day, days=1)[0][1][0][1] == 2
