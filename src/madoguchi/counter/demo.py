"""Demo data for the counter: the rules table, and a family of four who booked their 転入 online
(転入予約) and come to the counter today — the 書かない窓口 journey of issue 5."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from madoguchi.applications.models import Application

FAMILY = [
    # name, kana, sex, 続柄 (as the 転入予約 form words it)
    ("緑川 大輔", "ミドリカワ ダイスケ", "1", "世帯主"),
    ("緑川 美咲", "ミドリカワ ミサキ", "2", "配偶者"),
    ("緑川 陽翔", "ミドリカワ ハルト", "1", "子"),
    ("緑川 結衣", "ミドリカワ ユイ", "2", "子"),
]
DEMO_KEY = "demo:tennyu-yoyaku:midorikawa"
FAMILY_MYNUMBER = "123456789018"  # a valid check digit; fictional


def family_births(today: date | None = None) -> list[date]:
    """Parents in their thirties, a child in 小学1年 this school year (6), a baby of two months (0)."""
    today = today or timezone.localdate()
    school_year = today.year if today.month >= 4 else today.year - 1
    return [date(today.year - 37, 5, 10), date(today.year - 35, 8, 3), date(school_year - 6, 1, 15),
            today - timedelta(days=60)]


def family_card() -> dict[str, str]:
    """What the father's card says (券面事項入力補助AP): the old address, no カナ."""
    births = family_births()
    return {"name": FAMILY[0][0], "address": "東京都千代田区千代田1-1 みどりハイツ101",
            "birth_date": births[0].isoformat(), "sex": "1", "mynumber": FAMILY_MYNUMBER}


def family_reservation(*, municipality: Any) -> Application:
    """The family's 転入予約 from the portal (idempotent)."""
    from madoguchi.applications.services import application_submit
    from madoguchi.catalog.models import Procedure
    from madoguchi.catalog.schema import validate_submission
    from madoguchi.core.scope import Actor
    from madoguchi.demo.generator import sample_submission

    existing = Application.objects.filter(municipality=municipality, idempotency_key=DEMO_KEY).first()
    if existing is not None:
        return existing
    procedure = Procedure.objects.get(municipality=municipality, code="shimin-tennyu-yoyaku")
    definition = procedure.current_form.parsed()
    group = definition.field("movers")
    relation = next(f for f in group.fields if f.id == "mover_relationship")

    def rel(label: str) -> str:
        return next((o.value for o in relation.options if o.label == label), relation.options[-1].value)

    births = family_births()
    today = timezone.localdate()
    data = sample_submission(definition, rng=random.Random(7), today=today, resident=None, files=[])
    data.update({
        "notifier_name": FAMILY[0][0], "notifier_kana": FAMILY[0][1], "notifier_birth_date": births[0].isoformat(),
        "notifier_phone": "090-1234-0001", "old_address": family_card()["address"],
        "new_postal_code": "1000001", "new_address": f"{municipality.prefecture}{municipality.name}緑町2-3-4",
        "move_in_date": (today - timedelta(days=3)).isoformat(),
        "movers": [
            {"mover_name": n, "mover_kana": k, "mover_birth_date": b.isoformat(), "mover_sex": s,
             "mover_relationship": rel(r), "mover_has_card": "yes"}
            for (n, k, s, r), b in zip(FAMILY, births, strict=True)
        ],
    })
    result = validate_submission(definition, data, today=today)
    if not result.ok:
        raise ValueError(f"demo 転入予約 invalid: {result.errors[:3]}")
    return application_submit(procedure=procedure, data=data, channel="online", actor=Actor.system("portal"),
                              idempotency_key=DEMO_KEY)


def counter_demo_ensure(*, municipality: Any) -> None:
    from madoguchi.counter.services import rules_load_defaults

    rules_load_defaults(municipality=municipality)
    family_reservation(municipality=municipality)


def plausible_answers(item: Any) -> tuple[list[Any], dict[str, Any]]:
    """The top-level fields of a counter item that nothing could fill, and what a resident might answer
    (from the demo generator): the questions the clerk still asks, for the demo, the journey test and
    bench/counter.py."""
    from madoguchi.counter.services import item_problems
    from madoguchi.demo.generator import sample_submission

    definition = item.procedure.current_form.parsed()
    roots: list[str] = []
    for err in item_problems(item=item, definition=definition):
        root = err.path.split(".")[0].split("[")[0]
        if root not in roots:
            roots.append(root)
    files = [{"sha256": "0" * 64, "filename": "書類.pdf", "mime": "application/pdf", "size": 10},
             {"sha256": "1" * 64, "filename": "写真.png", "mime": "image/png", "size": 10}]
    sample = sample_submission(definition, rng=random.Random(item.pk), today=timezone.localdate(), resident=None,
                               files=files)
    fields = [f for _, f in definition.top_level_fields() if f.id in roots]
    values: dict[str, Any] = {}
    for f in fields:
        have = item.data.get(f.id)
        if f.type == "group" and isinstance(have, list) and isinstance(sample.get(f.id), list) and sample[f.id]:
            model = sample[f.id][0]
            values[f.id] = [{k: v for k, v in model.items() if k not in h} for h in have]
        elif f.id in sample:
            values[f.id] = sample[f.id]
    return fields, values
