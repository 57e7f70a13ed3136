"""Reads for the counter."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

from madoguchi.core.models import Resident
from madoguchi.core.scope import Actor
from madoguchi.counter.models import CounterSession, SessionStatus
from madoguchi.counter.prefill import GRADE_LABELS
from madoguchi.counter.rules import Member

RELATIONSHIPS = ["世帯主", "妻", "夫", "子", "父", "母", "祖父", "祖母", "孫", "その他"]


def _scope(actor: Actor) -> QuerySet[CounterSession]:
    if actor.municipality is None:
        return CounterSession.objects.none()
    return CounterSession.objects.filter(municipality=actor.municipality)


def session_for(*, actor: Actor, token: str) -> CounterSession | None:
    try:
        return _scope(actor).select_related("municipality", "visitor").filter(token=token).first()
    except (ValueError, TypeError):
        return None


def sessions_today(*, actor: Actor) -> QuerySet[CounterSession]:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return _scope(actor).filter(opened_at__gte=start).order_by("-opened_at")[:50]  # type: ignore[return-value]


def kiosk_session(*, actor: Actor) -> CounterSession | None:
    """The clerk's session waiting for the resident's signature (the newest)."""
    if actor.user is None:
        return None
    return (
        _scope(actor).filter(clerk_id=actor.user.pk, status=SessionStatus.READY)
        .order_by("-opened_at").first()
    )


def members_view(session: CounterSession) -> list[dict[str, Any]]:
    today = timezone.localdate()
    out = []
    for raw in session.members:
        m = Member.from_dict(raw)
        grade = m.school_grade(today)
        out.append({**raw, "age": m.age(today), "grade_label": GRADE_LABELS.get(grade or 0, "")})
    return out


def readers() -> list[tuple[str, str]]:
    try:
        from madoguchi.counter.cardreader import card_readers
    except ImportError:
        return []
    return [(r.key, str(getattr(r, "verbose_name", r.key))) for r in card_readers]


def demo_cards(*, actor: Actor) -> list[dict[str, str]]:
    """A few residents' 4 basic items as demo card payloads (demo mode only), plus the 転入予約 notifiers
    (people not yet in the register)."""
    if not settings.DEMO_MODE or actor.municipality is None:
        return []
    cards: list[dict[str, str]] = []
    residents = []
    for r in Resident.objects.filter(municipality=actor.municipality, moved_out_on__isnull=True,
                                     relationship="世帯主").order_by("resident_code")[:8]:
        residents.append({"label": f"{r.name}（住民）", "name": r.name, "address": r.address,
                          "birth_date": r.birth_date.isoformat(), "sex": r.sex})
    from madoguchi.applications.models import Application
    from madoguchi.counter.demo import DEMO_KEY

    reservations = Application.objects.filter(municipality=actor.municipality, procedure__code="shimin-tennyu-yoyaku",
                                              is_open=True)
    family = list(reservations.filter(idempotency_key=DEMO_KEY))
    from madoguchi.counter.demo import family_card

    for app in family + list(reservations.exclude(idempotency_key=DEMO_KEY).order_by("-submitted_at")[:4]):
        d = app.data
        if app.idempotency_key == DEMO_KEY:
            cards.append({"label": f"{d['notifier_name']}（転入予約 {app.reception_number}）", **family_card()})
        elif d.get("notifier_name") and d.get("notifier_birth_date"):
            cards.append({"label": f"{d['notifier_name']}（転入予約 {app.reception_number}）", "name": d["notifier_name"],
                          "address": str(d.get("old_address", "")), "birth_date": str(d["notifier_birth_date"]),
                          "sex": "1"})
    import json

    return [{**c, "payload": json.dumps({k: v for k, v in c.items() if k != "label"}, ensure_ascii=False)}
            for c in cards + residents]


def printing_available() -> bool:
    try:
        from madoguchi.printing import forms_pdf  # type: ignore[attr-defined,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def efficiency_rows(*, actor: Actor) -> QuerySet[CounterSession]:
    return _scope(actor).filter(status=SessionStatus.SIGNED).order_by("-signed_at")[:200]  # type: ignore[return-value]


def efficiency_totals(*, actor: Actor) -> dict[str, Any]:
    signed = list(_scope(actor).filter(status=SessionStatus.SIGNED).values_list("opened_at", "signed_at"))
    sums = _scope(actor).filter(status=SessionStatus.SIGNED).aggregate(typed=Sum("fields_typed"), total=Sum("fields_total"))
    typed, total = sums["typed"] or 0, sums["total"] or 0
    seconds = sorted((b - a).total_seconds() for a, b in signed if a and b)
    median = seconds[len(seconds) // 2] if seconds else None
    return {
        "sessions": len(signed), "typed": typed, "total": total,
        "ratio": (typed / total) if total else None, "median_seconds": median,
    }
