"""書かない窓口 through its services, on PostgreSQL: a family of four moving in (a 6-year-old and a
0-year-old), known from their online 転入予約, is served in one counter session; the resident signs once
and every department gets its own application. Two clerks serving the same household create nothing
twice. The rules table refuses malformed conditions."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from madoguchi.applications.models import Application
from madoguchi.catalog.schema import validate_submission
from madoguchi.catalog.services import procedure_load_fixtures
from madoguchi.core.models import Role
from madoguchi.core.scope import Actor
from madoguchi.counter import services
from madoguchi.counter.demo import FAMILY, family_card, family_reservation
from madoguchi.counter.models import CounterSession, LifeEventRule, SessionStatus
from madoguchi.counter.rules import RuleError, check_conditions
from madoguchi.demo.generator import sample_submission

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def town(municipality: Any) -> Any:
    procedure_load_fixtures(municipality=municipality)
    services.rules_load_defaults(municipality=municipality)
    return municipality


@pytest.fixture
def clerk(make_staff: Any, town: Any) -> Actor:
    return make_staff("madoguchi", (Role.CLERK, None))


def reservation(town: Any) -> Application:
    """The family's 転入予約 from the portal: who moves in, from where, when (the demo's family)."""
    return family_reservation(municipality=town)


def card_of(application: Application) -> str:
    return json.dumps(family_card(), ensure_ascii=False)


def fill_missing(session: CounterSession, actor: Actor) -> int:
    """What the clerk still asks: only the fields nothing could fill (from a plausible sample)."""
    typed = 0
    for _round in range(4):
        for item in session.items.select_related("procedure"):
            typed += _fill_item(item, actor)
    return typed


def _fill_item(item: Any, actor: Actor) -> int:
    if True:
        definition = item.procedure.current_form.parsed()
        data = dict(item.data)
        check = validate_submission(definition, services._signed_data(definition, data), today=timezone.localdate())
        if check.ok:
            return 0
        sample = sample_submission(definition, rng=random.Random(item.pk), today=timezone.localdate(),
                                   resident=None, files=[])
        for err in check.errors:
            root = err.path.split(".")[0].split("[")[0]
            if root in sample and root not in data:
                data[root] = sample[root]
            elif root in sample and isinstance(data.get(root), list) and isinstance(sample[root], list):
                for item_data in data[root]:
                    model = sample[root][0] if sample[root] else {}
                    for key, value in model.items():
                        item_data.setdefault(key, value)
        services.item_save(item=item, actor=actor, data=data)
        return 1


def serve(town: Any, clerk: Actor, app: Application) -> CounterSession:
    session = services.session_open(actor=clerk)
    session = services.session_read_card(session=session, actor=clerk, plugin="demo", pin="1234", payload=card_of(app))
    assert len(session.members) == 4 and session.answers["reservation"] == app.reception_number
    services.session_interview(session=session, actor=clerk, events=["move_in"],
                               answers={"insurance": "kokuho", "daycare_wanted": True, "phone": "090-1111-2222"})
    fill_missing(session, clerk)
    problems = services.session_check(session=session)
    assert not problems, {session.items.get(pk=k).procedure.code: [(e.path, e.message) for e in v] for k, v in problems.items()}
    session = services.session_ready(session=session, actor=clerk)
    return session


def test_family_of_four_moving_in_signs_once_for_every_department(town: Any, clerk: Actor) -> None:
    app = reservation(town)
    session = serve(town, clerk, app)
    codes = set(session.items.values_list("procedure__code", flat=True))
    assert {"shimin-tennyu", "kokuho-shikaku-shutoku", "kosodate-jidoteate-nintei", "kosodate-iryohi",
            "kosodate-hoiku-moshikomi", "gakko-tennyugaku"} <= codes
    # the 転入届 lists all four, with カナ from the reservation (there is no furigana on the card)
    tennyu = session.items.get(procedure__code="shimin-tennyu")
    assert [m["mover_kana"] for m in tennyu.data["movers"]] == [k for _, k, *_ in FAMILY]
    assert tennyu.data["notifier_mynumber"]["masked"].endswith("9018") if "notifier_mynumber" in tennyu.data else True
    # the 児童手当 lists the two children only; the 転入学 the 6-year-old only
    jidoteate = session.items.get(procedure__code="kosodate-jidoteate-nintei")
    group = next(v for v in jidoteate.data.values() if isinstance(v, list))
    assert sorted(c[next(k for k in c if k.endswith("_name"))] for c in group) == ["緑川 结衣".replace("结", "結"), "緑川 陽翔"]
    gakko = session.items.get(procedure__code="gakko-tennyugaku")
    assert [s["student_name"] for s in gakko.data["students"]] == ["緑川 陽翔"]

    signed = services.session_sign(session=session, actor=clerk, signature_png=None, confirmed=True)
    assert signed.status == SessionStatus.SIGNED
    apps = Application.objects.filter(channel="counter")
    assert apps.count() == len(codes)
    assert apps.values("department").distinct().count() >= 3
    typed = {i.procedure.code: i.typed_paths for i in signed.items.all()}
    print("TYPED", json.dumps(typed, ensure_ascii=False))
    assert signed.fields_total > 0 and signed.fields_typed <= 0.2 * signed.fields_total, (
        signed.fields_typed, signed.fields_total, typed)
    # a second tap on the signing screen changes nothing
    services.session_sign(session=signed, actor=clerk, signature_png=None, confirmed=True)
    assert Application.objects.filter(channel="counter").count() == len(codes)


def test_two_clerks_serving_the_same_household_create_no_duplicates(town: Any, clerk: Actor, make_staff: Any) -> None:
    other = make_staff("madoguchi2", (Role.CLERK, None))
    app = reservation(town)
    first, second = serve(town, clerk, app), serve(town, other, app)
    errors: list[BaseException] = []

    def sign(session: CounterSession, actor: Actor) -> None:
        try:
            services.session_sign(session=session, actor=actor, signature_png=None, confirmed=True)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(first, clerk)), threading.Thread(target=sign, args=(second, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    counter_apps = Application.objects.filter(channel="counter")
    per_procedure = {}
    for a in counter_apps:
        per_procedure[a.procedure_id] = per_procedure.get(a.procedure_id, 0) + 1
    assert per_procedure and set(per_procedure.values()) == {1}
    # both sessions point at the same applications
    a_ids = set(first.items.values_list("application_id", flat=True))
    b_ids = set(second.items.values_list("application_id", flat=True))
    assert a_ids == b_ids


def test_rules_table_refuses_malformed_conditions(town: Any) -> None:
    for bad in [{"any_member": {"age": 3}}, [{"answer": "insurance", "in": ["foo"]}], [{"any_member": {"age_lt": -1}}],
                [{"answer": "unknown", "equals": True}], [{"any_member": {"age_lt": 3}, "answer": "x"}], ["x"]]:
        with pytest.raises(RuleError):
            check_conditions(bad)
    assert LifeEventRule.objects.filter(municipality=town).count() >= 15


def test_card_errors_are_clear_and_change_nothing(town: Any, clerk: Actor) -> None:
    from madoguchi.counter.cardreader import CardReadError

    session = services.session_open(actor=clerk)
    with pytest.raises(CardReadError) as exc:
        services.session_read_card(session=session, actor=clerk, plugin="demo", pin="0000",
                                   payload='{"name": "x", "address": "y", "birth_date": "2000-01-01", "sex": "1"}')
    assert exc.value.code.startswith("card.") and exc.value.message
    session.refresh_from_db()
    assert session.card == {} and session.members == []


def _settle(key: str, deadline: float) -> Any:
    """The cached value once the background renders are done (their threads joined: each closes its
    database connection before the test database goes)."""
    import time

    from django.core.cache import cache

    while cache.get(key) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    for thread in threading.enumerate():
        if thread.name == "forms-pdf":
            thread.join(max(deadline - time.monotonic(), 1))
    return cache.get(key)


def _printed_numbers(pdf: bytes) -> set[str]:
    import re

    from tests.printing.pdfcheck import page_texts

    return {m for page in page_texts(pdf) for m in re.findall(r"R\d\d-\S+?-\d{6}", page.text)}


def test_forms_pdf_rendered_while_the_resident_signs_is_the_one_printed(town: Any, clerk: Actor, settings: Any) -> None:
    """Handed over to the resident's screen, the forms are rendered ahead; after the signature the print
    request gets that PDF at once — and it carries the 受付番号 the applications were filed with."""
    import time

    from madoguchi.counter.printed import _key, forms_pdf_for

    settings.MADOGUCHI_COUNTER_PRERENDER = True
    session = serve(town, clerk, reservation(town))  # ends with session_ready: the render ahead starts
    ahead = _settle(_key(session.token, "ahead"), time.monotonic() + 60)
    assert ahead is not None and bytes(ahead[1]).startswith(b"%PDF")
    signed = services.session_sign(session=session, actor=clerk, signature_png=None, confirmed=True)
    ready = _settle(_key(signed.token), time.monotonic() + 60)
    assert ready is not None and bytes(ready) == bytes(ahead[1])
    filed = {i.application.reception_number for i in signed.items.exclude(application=None).select_related("application")}
    assert len(filed) == signed.items.exclude(application=None).count() >= 3
    assert _printed_numbers(bytes(ready)) == filed
    assert forms_pdf_for(signed.pk, signed.token) == bytes(ready)


def test_forms_pdf_rendered_ahead_is_not_used_when_a_number_was_taken_meanwhile(
    town: Any, clerk: Actor, settings: Any
) -> None:
    """Another application of the same department between the hand-over and the signature takes the
    受付番号 the render ahead printed: the print shows the numbers actually filed."""
    import time

    from madoguchi.applications.services import application_submit
    from madoguchi.counter.printed import _key, forms_pdf_for

    settings.MADOGUCHI_COUNTER_PRERENDER = True
    session = serve(town, clerk, reservation(town))
    ahead = _settle(_key(session.token, "ahead"), time.monotonic() + 60)
    assert ahead is not None
    tennyu = session.items.get(procedure__code="shimin-tennyu")
    # the same department files something else first (e.g. a paper form typed in the back office)
    from madoguchi.counter.services import _signed_data

    definition = tennyu.procedure.current_form.parsed()
    application_submit(procedure=tennyu.procedure, data=_signed_data(definition, tennyu.data), channel="paper", actor=clerk)
    signed = services.session_sign(session=session, actor=clerk, signature_png=None, confirmed=True)
    ready = _settle(_key(signed.token), time.monotonic() + 60)
    assert ready is not None and bytes(ready) != bytes(ahead[1])
    filed = {i.application.reception_number for i in signed.items.exclude(application=None).select_related("application")}
    assert _printed_numbers(bytes(ready)) == filed
    assert _printed_numbers(bytes(ahead[1])) != filed
    assert forms_pdf_for(signed.pk, signed.token) == bytes(ready)


def test_missing_fields_page_saves_and_hands_over_in_one_step(town: Any, clerk: Actor, client: Any) -> None:
    """The clerk answers the last questions on /missing/ and the session goes to the resident's screen."""
    session = services.session_open(actor=clerk)
    session = services.session_read_card(session=session, actor=clerk, plugin="demo", pin="1234",
                                         payload=card_of(reservation(town)))
    services.session_interview(session=session, actor=clerk, events=["move_in"], answers={"insurance": "employee"})
    session.items.exclude(procedure__code="shimin-tennyu").delete()
    client.force_login(clerk.user)
    page = client.get(f"/counter/s/{session.token}/missing/")
    assert page.status_code == 200
    item = session.items.get()
    shown = [v for v in page.context["blocks"][0][1]]
    assert shown, "the 転入届 still needs answers nothing could fill"
    # answer with a plausible sample for exactly the fields shown
    definition = item.procedure.current_form.parsed()
    sample = sample_submission(definition, rng=random.Random(5), today=timezone.localdate(), resident=None, files=[])
    post: dict[str, Any] = {"action": "ready", "shown": [fv.path for fv in shown]}
    for fv in shown:
        value = sample.get(fv.f.id)
        if fv.f.type == "boolean":
            if value:
                post[fv.path] = "on"
        elif fv.f.type == "date":
            d = value if isinstance(value, str) else str(value)
            y, m, dd = d.split("-")
            post.update({f"{fv.path}__era": "西暦", f"{fv.path}__year": y, f"{fv.path}__month": m, f"{fv.path}__day": dd})
        elif value is not None and not isinstance(value, (list, dict)):
            post[fv.path] = str(value)
    response = client.post(f"/counter/s/{session.token}/missing/", post)
    session.refresh_from_db()
    if response.status_code == 302:
        assert session.status == "ready"
    else:  # a follow-up question appeared (show_if): nothing handed over yet, nothing lost
        assert session.status == "open" and response.status_code == 200


def test_typed_dates_are_read_in_wareki_and_bad_ones_named(town: Any, clerk: Actor) -> None:
    from madoguchi.core.errors import ValidationFailed

    session = services.session_open(actor=clerk)
    session = services.session_set_members(session=session, actor=clerk, members=[
        {"name": "緑川 大輔", "birth_date": "昭和64年1月7日", "sex": "1", "relationship": "世帯主"}])
    assert session.members[0]["birth_date"] == "1989-01-07"
    with pytest.raises(ValidationFailed) as exc:
        services.session_set_members(session=session, actor=clerk, members=[{"name": "緑川 結衣", "birth_date": "令和9年13月1日"}])
    assert exc.value.code == "counter.member_birth_date" and "緑川 結衣" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        services.session_interview(session=session, actor=clerk, events=["move_in"], answers={"move_date": "きのう"})
    assert exc.value.code == "counter.move_date"
