"""Valid sample submissions for any form definition, for the demo and for benchmarks.

Walks the definition with the same field types the engine validates, pre-filling applicant fields
from a resident the way the counter does. Deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from typing import Any

from madoguchi.catalog.schema.definition import FormDefinition
from madoguchi.core.jp.codes import mynumber_check_digit
from madoguchi.demo.people import BANKS, BRANCHES, FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES


def make_mynumber(rng: random.Random) -> str:
    first = f"{rng.randrange(10**10, 10**11):011d}"
    return first + str(mynumber_check_digit(first))


def _resident_values(resident: Any) -> dict[str, Any]:
    if resident is None:
        return {}
    return {
        "resident.name": resident.name,
        "resident.name_kana": resident.name_kana,
        "resident.birth_date": resident.birth_date.isoformat(),
        "resident.sex": resident.sex,
        "resident.postal_code": resident.postal_code,
        "resident.address": resident.address,
    }


def _bounded_date(f: Any, rng: random.Random, today: date) -> str:
    from madoguchi.catalog.schema.definition import date_bound

    low = date_bound(f.min, today) or today - timedelta(days=365 * 60)
    high = date_bound(f.max, today) or today + timedelta(days=60)
    if f.min is None and f.max == "today":
        low = today - timedelta(days=365 * 10)
    if f.min is not None and str(f.min).startswith("today") and f.max is not None and str(f.max).startswith("today"):
        low, high = max(low, today), max(low, today)  # a window around today: today stays valid longest
    if f.min == "today" and f.max is None:  # far enough ahead to stay valid when resubmitted later
        low, high = today + timedelta(days=150), today + timedelta(days=240)
    span = max((high - low).days, 0)
    return (low + timedelta(days=rng.randint(0, span))).isoformat()


def _value(
    f: Any, rng: random.Random, today: date, prefill: dict[str, Any], files: list[dict[str, Any]]
) -> Any:
    if f.prefill and prefill.get(f.prefill):
        value = prefill[f.prefill]
        if f.type == "choice" and value not in [o.value for o in f.options]:
            return f.options[0].value
        return value
    t = f.type
    if t == "text":
        if f.pattern:
            digits = re.fullmatch(r"\^\[0-9\]\{(\d+)(?:,(\d+))?\}\$", f.pattern)
            if not digits:
                return None
            n = int(digits.group(2) or digits.group(1))
            return "".join(str(rng.randrange(10)) for _ in range(n))
        label = f.label
        if "金融機関" in label:
            return rng.choice(BANKS)
        if "支店" in label:
            return rng.choice(BRANCHES)
        if "氏名" in label or "名前" in label:
            family, _ = rng.choice(FAMILY_NAMES)
            given, _ = rng.choice(MALE_NAMES + FEMALE_NAMES)
            return f"{family} {given}"
        return f"{label}の記入例"[: f.max_length]
    if t == "textarea":
        return "特記事項はありません。"[: f.max_length]
    if t == "kana":
        return f"{rng.choice(FAMILY_NAMES)[1]} {rng.choice(MALE_NAMES + FEMALE_NAMES)[1]}"
    if t == "date":
        return _bounded_date(f, rng, today)
    if t == "postal_code":
        return prefill.get("resident.postal_code") or "9990101"
    if t == "address":
        return prefill.get("resident.address") or "架空県みどり市本町1-1"
    if t == "phone":
        return f"090-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
    if t == "email":
        return f"user{rng.randrange(1000, 99999)}@example.jp"
    if t == "choice":
        values = [o.value for o in f.options]
        return [rng.choice(values)] if f.multiple else rng.choice(values)
    if t == "number":
        low = int(f.min) if f.min is not None else 0
        high = int(f.max) if f.max is not None else low + 10
        return rng.randint(low, max(low, min(high, low + 50)))
    if t == "money":
        high = f.max if f.max is not None else 300_000
        return rng.randrange(f.min, max(f.min + 1, high)) // 100 * 100 or f.min
    if t == "mynumber":
        return make_mynumber(rng)
    if t == "boolean":
        return True
    if t == "file":
        fitting = [r for r in files if f.accepts(r["mime"])]
        if not fitting:
            return None
        ref = rng.choice(fitting)
        return [ref] if f.multiple else ref
    if t == "group":
        count = max(f.min_items, 1 if f.required else rng.randint(0, 1)) + rng.randint(0, 1)
        count = min(count, f.max_items)
        return [_fields(f.fields, rng, today, {}, files) for _ in range(count)]
    return None


def _fields(
    fields: list[Any], rng: random.Random, today: date, prefill: dict[str, Any], files: list[dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.show_if is not None:
            continue  # conditional fields are left out of samples; their triggers stay at other values
        if not f.required and rng.random() < 0.2:
            continue
        value = _value(f, rng, today, prefill, files)
        if value is not None and value != []:
            out[f.id] = value
    # make sure no show_if trigger is set to its showing value when we skipped the dependent field
    for _ in range(3):  # conditions may chain (a shown field is itself a trigger)
        for f in fields:
            if f.show_if is None or f.id in out:
                continue
            trigger = out.get(f.show_if.field)
            if trigger == f.show_if.equals or (isinstance(trigger, list) and f.show_if.equals in trigger):
                value = _value(f, rng, today, prefill, files)
                if value is not None:
                    out[f.id] = value
    return out


def sample_submission(
    definition: FormDefinition,
    *,
    rng: random.Random,
    today: date,
    resident: Any = None,
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A plausible, valid submission for ``definition`` (checked by the engine by the caller)."""
    prefill = _resident_values(resident)
    top_level = [f for section in definition.sections for f in section.fields]  # one namespace
    return _fields(top_level, rng, today, prefill, files or [])
