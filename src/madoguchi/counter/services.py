"""Writes for the counter (書かない窓口). Keyword-only, typed; one transaction per state change with
its audit row. Applications are created only by ``session_sign``, all together, through
``applications.services.application_submit`` (channel 窓口)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.applications import services as app_services
from madoguchi.applications.models import Application, Attachment, Channel
from madoguchi.applications.services import SubmitContext
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.catalog.schema import validate_submission
from madoguchi.core.audit import audit_record
from madoguchi.core.errors import PermissionDeniedError, ValidationFailed
from madoguchi.core.jp.normalize import search_key
from madoguchi.core.models import Resident, Role
from madoguchi.core.scope import Actor
from madoguchi.counter.models import (
    CounterSession,
    ItemStatus,
    LifeEvent,
    LifeEventRule,
    SessionItem,
    SessionStatus,
)
from madoguchi.counter.prefill import leaf_paths, prefill_form
from madoguchi.counter.rules import Member, conditions_hold
from madoguchi.portal.forms import seal, unseal

logger = logging.getLogger(__name__)

COUNTER_ROLES = frozenset({Role.CLERK.value, Role.ADMIN.value, Role.HANDLER.value})
DECLARATION_WORDS = ("declaration", "agree", "consent", "confirm")


def require_clerk(actor: Actor) -> None:
    """Only staff who serve at the counter (窓口, 担当, 管理者) may open sessions or type paper forms."""
    if not actor.is_staff or actor.municipality is None or not (actor.all_roles & COUNTER_ROLES):
        raise PermissionDeniedError("窓口の受付を行う権限がありません。", code="permission.counter")


def _own(session: CounterSession, actor: Actor) -> None:
    require_clerk(actor)
    if actor.municipality is None or session.municipality_id != actor.municipality.pk:
        raise PermissionDeniedError("この窓口セッションは扱えません。", code="permission.counter")


def _audit(session: CounterSession, actor: Actor, action: str, detail: Mapping[str, Any] | None = None) -> None:
    audit_record(
        actor=actor.label, action=action, municipality_code=session.municipality.code,
        object_type="counter_session", object_id=str(session.token), detail=dict(detail or {}),
    )


def session_open(*, actor: Actor) -> CounterSession:
    require_clerk(actor)
    assert actor.municipality is not None and actor.user is not None
    with transaction.atomic():
        session = CounterSession.objects.create(
            municipality=actor.municipality, clerk_id=actor.user.pk, opened_at=timezone.now()
        )
        _audit(session, actor, "counter.session_opened")
    return session


# ------------------------------------------------------------------ the card, the register, the household
def _register_match(municipality_id: int, name: str, birth: date) -> Resident | None:
    """The resident with this name (folded: 異体字, spaces, width) and birth date, if exactly one."""
    key = search_key(name)
    found = [
        r for r in Resident.objects.filter(municipality_id=municipality_id, birth_date=birth, moved_out_on__isnull=True)
        if search_key(r.name) == key
    ]
    return found[0] if len(found) == 1 else None


def _from_resident(r: Resident) -> Member:
    return Member(name=r.name, kana=r.name_kana, birth_date=r.birth_date, sex=r.sex,
                  relationship=r.relationship, resident_id=r.pk)


def _from_reservation(municipality_id: int, name: str, birth: date) -> tuple[list[Member], dict[str, Any]]:
    """Members and answers from an open 転入予約 (portal) whose notifier or a mover is the visitor."""
    key = search_key(name)
    candidates = Application.objects.filter(
        municipality_id=municipality_id, procedure__code="shimin-tennyu-yoyaku", is_open=True
    ).order_by("-submitted_at")[:200]
    for app in candidates:
        data = app.data
        movers = data.get("movers") if isinstance(data.get("movers"), list) else []
        people = [(data.get("notifier_name", ""), data.get("notifier_birth_date", ""))] + [
            (m.get("mover_name", ""), m.get("mover_birth_date", "")) for m in movers if isinstance(m, Mapping)
        ]
        if not any(search_key(str(n)) == key and str(b) == birth.isoformat() for n, b in people):
            continue
        group = app.form_version.parsed().field("movers")
        labels = {f.id: f for f in getattr(group, "fields", [])}

        def label(field_id: str, value: Any, labels: Mapping[str, Any] = labels) -> str:
            f = labels.get(field_id)
            found = f.label_for(str(value)) if f is not None and f.type == "choice" else None
            return found or str(value or "")

        members = []
        for m in movers:
            if not isinstance(m, Mapping):
                continue
            try:
                born = date.fromisoformat(str(m.get("mover_birth_date", "")))
            except ValueError:
                born = None
            has_card = m.get("mover_has_card")
            members.append(Member(
                name=str(m.get("mover_name", "")), kana=str(m.get("mover_kana", "")), birth_date=born,
                sex=str(m.get("mover_sex", "")), relationship=label("mover_relationship", m.get("mover_relationship")),
                extra={"has_card": has_card in (True, "yes", "true")} if has_card is not None else {},
            ))
        answers = {
            "previous_address": data.get("old_address", ""), "move_date": data.get("move_in_date", ""),
            "phone": data.get("notifier_phone", ""), "new_address": data.get("new_address", ""),
            "new_postal_code": data.get("new_postal_code", ""), "reservation": app.reception_number,
        }
        return members, {k: v for k, v in answers.items() if v}
    return [], {}


def session_read_card(*, session: CounterSession, actor: Actor, plugin: str, pin: str,
                      payload: str | None = None) -> CounterSession:
    """Read the visitor's card (券面事項入力補助AP), match the register, and take in the household:
    from the register (a resident), or from the portal's 転入予約 (someone moving in)."""
    from madoguchi.counter.cardreader import card_readers

    _own(session, actor)
    reader = card_readers[plugin]
    card = reader.read(pin=pin, payload=payload)
    resident = _register_match(session.municipality_id, card.name, card.birth_date)
    answers = dict(session.answers)
    if resident is not None:
        household = Resident.objects.filter(
            municipality_id=session.municipality_id, household_code=resident.household_code,
            moved_out_on__isnull=True,
        ).order_by("birth_date")
        members = [_from_resident(r) for r in household]
        answers.setdefault("address", resident.address)
        answers.setdefault("postal_code", resident.postal_code)
    else:
        members, found = _from_reservation(session.municipality_id, card.name, card.birth_date)
        for k, v in found.items():
            answers.setdefault(k, v)
        if not members:
            members = [Member(name=card.name, birth_date=card.birth_date, sex=card.sex, relationship="世帯主")]
    if card.mynumber:
        from madoguchi.core.crypto import encrypt, mask
        from madoguchi.portal.forms import SEALED

        # read from the card for the visitor's own forms; kept sealed, never shown or logged
        answers["visitor_mynumber"] = {SEALED: encrypt(card.mynumber), "masked": mask(card.mynumber)}
    with transaction.atomic():
        locked = CounterSession.objects.select_for_update().get(pk=session.pk)
        locked.card = {"name": card.name, "address": card.address, "birth_date": card.birth_date.isoformat(),
                       "sex": card.sex, "source": card.source}
        locked.visitor = resident
        locked.household_code = resident.household_code if resident else ""
        locked.members = [m.as_dict() for m in members]
        locked.answers = answers
        locked.version += 1
        locked.save()
        _audit(locked, actor, "counter.card_read", {"plugin": plugin, "matched": bool(resident),
                                                     "mynumber_read": bool(card.mynumber),
                                                     "members": len(members), "from_reservation": answers.get("reservation", "")})
    return locked


def _iso_date(text: Any, *, code: str, what: str) -> str:
    """A date as the clerk typed it (和暦 or 西暦) → ISO, or ValidationFailed naming the field."""
    from madoguchi.core.jp.wareki import parse_date_any

    text = str(text or "").strip()
    if not text:
        return ""
    try:
        return parse_date_any(text).isoformat()
    except (ValueError, OverflowError):
        raise ValidationFailed(f"{what}を読み取れません（例: 令和8年11月20日、2026-11-20）。", code=code) from None


def session_set_members(*, session: CounterSession, actor: Actor, members: Sequence[Mapping[str, Any]]) -> CounterSession:
    """The clerk corrects or adds household members (each typed value counts as typed). Birth dates may
    be typed in 和暦 or 西暦."""
    _own(session, actor)
    cleaned = []
    for raw in members:
        if not str(raw.get("name", "")).strip():
            continue
        born = _iso_date(raw.get("birth_date"), code="counter.member_birth_date",
                         what=f"{str(raw.get('name', '')).strip()} さんの生年月日")
        m = Member.from_dict({**raw, "birth_date": born})
        cleaned.append(m.as_dict())
    with transaction.atomic():
        locked = CounterSession.objects.select_for_update().get(pk=session.pk)
        before = {(m.get("name"), m.get("birth_date")) for m in locked.members}
        added = [m for m in cleaned if (m["name"], m["birth_date"]) not in before]
        locked.answers = {**locked.answers, "members_typed": int(locked.answers.get("members_typed", 0))
                          + sum(sum(1 for k in ("name", "kana", "birth_date", "sex", "relationship") if m.get(k)) for m in added)}
        locked.members = cleaned
        locked.version += 1
        locked.save()
    return locked


def _members(session: CounterSession) -> list[Member]:
    return [Member.from_dict(m) for m in session.members]


def _visitor(session: CounterSession, members: Sequence[Member]) -> Member | None:
    card = session.card
    if not card:
        return None
    key = search_key(card.get("name", ""))
    for m in members:
        if search_key(m.name) == key and m.birth_date and m.birth_date.isoformat() == card.get("birth_date"):
            return m
    try:
        born = date.fromisoformat(card.get("birth_date", ""))
    except ValueError:
        born = None
    return Member(name=card.get("name", ""), birth_date=born, sex=card.get("sex", ""))


def _address(session: CounterSession) -> dict[str, str]:
    a = session.answers
    return {
        "address": str(a.get("new_address") or a.get("address") or ""),
        "postal_code": str(a.get("new_postal_code") or a.get("postal_code") or ""),
    }


def session_interview(*, session: CounterSession, actor: Actor, events: Sequence[str],
                      answers: Mapping[str, Any]) -> list[SessionItem]:
    """Turn the life events and answers into the procedures the household needs (the rules table),
    each pre-filled. Items the clerk already edited keep their data."""
    _own(session, actor)
    events = [e for e in events if e in LifeEvent.values]
    if not events:
        raise ValidationFailed("できごとを1つ以上選んでください。", code="counter.events_required")
    answers = {**answers}
    if answers.get("move_date"):
        answers["move_date"] = _iso_date(answers["move_date"], code="counter.move_date", what="異動日")
    today = timezone.localdate()
    with transaction.atomic():
        locked = CounterSession.objects.select_for_update().get(pk=session.pk)
        if locked.status != SessionStatus.OPEN:
            raise ValidationFailed("署名の済んだセッションは変更できません。", code="counter.session_closed")
        locked.events = list(events)
        given = {k: v for k, v in answers.items() if v not in (None, "", False)}
        # what the clerk entered in the interview (not already known from the card, register or 転入予約)
        typed = set(locked.answers.get("interview_typed", [])) | {
            k for k, v in given.items() if locked.answers.get(k) != v and k != "visitor_mynumber"
        }
        locked.answers = {**locked.answers, **given, "interview_typed": sorted(typed)}
        locked.version += 1
        locked.save()
        members = _members(locked)
        visitor = _visitor(locked, members)
        rules = LifeEventRule.objects.filter(
            municipality_id=locked.municipality_id, event__in=events, is_active=True, procedure__is_active=True
        ).select_related("procedure").order_by("order", "pk")
        wanted: dict[int, tuple[Procedure, str, int, Any]] = {}
        for rule in rules:
            if conditions_hold(rule.conditions, members=members, answers=locked.answers, on=today):
                child_filter = next((c["any_member"] for c in rule.conditions if "any_member" in c), None)
                wanted.setdefault(rule.procedure_id, (rule.procedure, rule.reason, rule.order, child_filter))
        existing = {i.procedure_id: i for i in locked.items.all()}
        items: list[SessionItem] = []
        for procedure_id, (procedure, reason, order, child_filter) in wanted.items():
            definition = procedure.current_form.parsed()
            pre = prefill_form(definition, visitor=visitor, members=members, answers=locked.answers,
                               address=_address(locked), events=events, on=today, child_filter=child_filter)
            item = existing.get(procedure_id)
            if item is None:
                item = SessionItem.objects.create(session=locked, procedure=procedure, reason=reason, prefill=pre,
                                                  data=pre, order=order)
            elif not item.typed_paths:
                item.prefill, item.data, item.reason = pre, pre, reason
                item.save(update_fields=["prefill", "data", "reason"])
            items.append(item)
        for procedure_id, item in existing.items():
            if procedure_id not in wanted and not item.typed_paths:
                item.delete()
        _audit(locked, actor, "counter.interview", {"events": list(events), "procedures": len(items)})
    return items


def _same(a: Any, b: Any) -> bool:
    """Equal as entered: a date is the same date whether written 令和2年1月15日 or 2020-01-15."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        import re
        import unicodedata

        from madoguchi.core.jp.wareki import parse_date_any

        na, nb = (unicodedata.normalize("NFKC", x).strip() for x in (a, b))
        if na == nb:
            return True
        if re.search(r"\d", na) and re.search(r"\d", nb):
            try:
                return parse_date_any(na) == parse_date_any(nb)
            except (ValueError, OverflowError):
                return False
    return False


def _typed(prefill: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    before, after = leaf_paths(prefill), leaf_paths(data)
    return sorted(p for p, v in after.items() if not _same(before.get(p), v))


def item_save(*, item: SessionItem, actor: Actor, data: Mapping[str, Any]) -> SessionItem:
    """Keep what the clerk entered for one procedure (個人番号 sealed); count what was typed."""
    _own(item.session, actor)
    definition = item.procedure.current_form.parsed()
    sealed = seal(definition, data)
    with transaction.atomic():
        locked = SessionItem.objects.select_for_update().get(pk=item.pk)
        locked.data = sealed
        locked.typed_paths = _typed(locked.prefill, sealed)
        locked.save(update_fields=["data", "typed_paths"])
    return locked


def item_include(*, item: SessionItem, actor: Actor, include: bool) -> SessionItem:
    """The resident wants (or does not want) this procedure today."""
    _own(item.session, actor)
    with transaction.atomic():
        item.status = ItemStatus.INCLUDED if include else ItemStatus.EXCLUDED
        item.save(update_fields=["status"])
        _audit(item.session, actor, "counter.item_included" if include else "counter.item_excluded",
               {"procedure": item.procedure.code})
    return item


def _signed_data(definition: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The resident's one signature stands for each form's 申告・同意 checkboxes."""
    out = dict(unseal(definition, data))
    for _, f in definition.top_level_fields():
        if f.type == "boolean" and f.required and any(w in f.id for w in DECLARATION_WORDS):
            out[f.id] = True
    return out


def item_problems(*, item: SessionItem, definition: Any | None = None) -> list[Any]:
    """The field errors left in one procedure, as the resident's signature would submit it."""
    definition = definition or item.procedure.current_form.parsed()
    return validate_submission(definition, _signed_data(definition, item.data), today=timezone.localdate()).errors


def session_check(*, session: CounterSession) -> dict[int, list[Any]]:
    """Field errors per included item (empty: ready for the resident's signature)."""
    problems: dict[int, list[Any]] = {}
    for item in session.items.filter(status=ItemStatus.INCLUDED).select_related("procedure"):
        errors = item_problems(item=item)
        if errors:
            problems[item.pk] = errors
    return problems


def session_ready(*, session: CounterSession, actor: Actor) -> CounterSession:
    """Hand the session to the resident's screen (/counter/kiosk/) for checking and the signature."""
    _own(session, actor)
    if not session.items.filter(status=ItemStatus.INCLUDED).exists():
        raise ValidationFailed("申請する手続がありません。", code="counter.no_items")
    problems = session_check(session=session)
    if problems:
        raise ValidationFailed("入力が終わっていない手続があります。", code="counter.incomplete", details=problems)
    with transaction.atomic():
        locked = CounterSession.objects.select_for_update().get(pk=session.pk)
        if locked.status == SessionStatus.SIGNED:
            return locked
        locked.status = SessionStatus.READY
        locked.version += 1
        locked.save(update_fields=["status", "version"])
        _audit(locked, actor, "counter.ready")
        if _can_print():
            from madoguchi.counter.printed import prerender_ahead

            prerender_ahead(locked.pk, locked.token)  # rendered while the resident reads and signs
    return locked


def natural_key(session: CounterSession, item: SessionItem, on: date) -> str:
    """One application per household × procedure × day, whichever clerk serves them: a second session
    for the same household gets the first one's application back instead of a duplicate."""
    who = session.household_code or search_key(session.card.get("name", "")) + session.card.get("birth_date", "")
    return f"counter:{who}:{item.procedure.code}:{on.isoformat()}"[:100]


def session_sign(*, session: CounterSession, actor: Actor, signature_png: bytes | None,
                 confirmed: bool) -> CounterSession:
    """The resident signed once: every included procedure becomes an application (channel 窓口) in
    one transaction; each department sees its own in its inbox."""
    from madoguchi.applications.storage import blob_store

    _own(session, actor)
    if not confirmed:
        raise ValidationFailed("内容を確認したことを示してから署名してください。", code="counter.not_confirmed")
    problems = session_check(session=session)
    if problems:
        raise ValidationFailed("入力が終わっていない手続があります。", code="counter.incomplete", details=problems)
    blob_id = None
    if signature_png:
        blob_id = blob_store(content=signature_png, filename="signature.png", allowed=["image/png"]).sha256
    today = timezone.localdate()
    with transaction.atomic():
        locked = CounterSession.objects.select_for_update().select_related("municipality").get(pk=session.pk)
        if locked.status == SessionStatus.SIGNED:
            return locked  # a second tap: nothing more
        if locked.status != SessionStatus.READY:
            raise ValidationFailed("職員の確認が終わってから署名してください。", code="counter.not_ready")
        applicant = locked.visitor
        total = typed = 0
        for item in locked.items.filter(status=ItemStatus.INCLUDED).select_related("procedure", "procedure__department"):
            form = FormVersion.objects.filter(procedure=item.procedure, published=True).order_by("-version").first()
            assert form is not None
            definition = form.parsed()
            data = _signed_data(definition, item.data)
            application = app_services.application_submit(
                procedure=item.procedure, data=data, channel=Channel.COUNTER, actor=actor, applicant=applicant,
                idempotency_key=natural_key(locked, item, today),
                context=SubmitContext(procedure_id=item.procedure_id, form=form, definition=definition),
            )
            if blob_id and not application.attachments.filter(field_path="counter:signature").exists():
                Attachment.objects.create(application=application, blob_id=blob_id, field_path="counter:signature",
                                          filename="署名.png")
            item.application = application
            item.status = ItemStatus.SUBMITTED
            item.save(update_fields=["application", "status"])
            total += len(leaf_paths(application.data))
            typed += len(item.typed_paths)
        typed += int(locked.answers.get("members_typed", 0)) + len(locked.answers.get("interview_typed", []))
        locked.status = SessionStatus.SIGNED
        locked.signed_at = timezone.now()
        locked.signature_id = blob_id
        locked.fields_total = total
        locked.fields_typed = typed
        locked.version += 1
        locked.save()
        _audit(locked, actor, "counter.signed", {"applications": locked.items.filter(status=ItemStatus.SUBMITTED).count(),
                                                 "fields_total": total, "fields_typed": typed})
        if _can_print():
            from madoguchi.counter.printed import prerender_after_commit

            prerender_after_commit(locked.pk, locked.token)  # the 帳票 is ready by the time the clerk prints
    return locked


def _can_print() -> bool:
    from django.conf import settings

    if not getattr(settings, "MADOGUCHI_COUNTER_PRERENDER", False):
        return False
    try:
        import madoguchi.printing  # noqa: F401
    except ImportError:
        return False
    return True


def session_cancel(*, session: CounterSession, actor: Actor) -> CounterSession:
    _own(session, actor)
    with transaction.atomic():
        locked = CounterSession.objects.select_for_update().get(pk=session.pk)
        if locked.status == SessionStatus.SIGNED:
            raise ValidationFailed("署名済みのセッションは中止できません。", code="counter.session_closed")
        locked.status = SessionStatus.CANCELLED
        locked.save(update_fields=["status"])
        _audit(locked, actor, "counter.cancelled")
    return locked


def rules_load_defaults(*, municipality: Any) -> int:
    """The bundled rules table (counter/fixtures/rules.json) for a municipality; idempotent."""
    import json
    from pathlib import Path

    from madoguchi.counter.rules import check_conditions

    spec = json.loads((Path(__file__).parent / "fixtures" / "rules.json").read_text(encoding="utf-8"))
    count = 0
    for row in spec:
        procedure = Procedure.objects.filter(municipality=municipality, code=row["procedure"]).first()
        if procedure is None:
            continue
        check_conditions(row.get("conditions", []))
        LifeEventRule.objects.update_or_create(
            municipality=municipality, event=row["event"], procedure=procedure,
            defaults={"conditions": row.get("conditions", []), "reason": row["reason"], "order": row.get("order", 0)},
        )
        count += 1
    return count


def paper_submit(*, procedure: Procedure, data: Mapping[str, Any], actor: Actor) -> Application:
    """A paper application typed in by the back office from a blank form (channel 紙)."""
    require_clerk(actor)
    return app_services.application_submit(procedure=procedure, data=data, channel=Channel.PAPER, actor=actor)
