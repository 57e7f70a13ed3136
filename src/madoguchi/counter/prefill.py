"""Pre-filling any catalog form from what the counter already knows: the card's 4 basic items, the
resident register (カナ is not on the card), the household, and the interview answers.

Top-level fields with a ``prefill`` key take the visitor's values. Other fields are matched by their id:
``*phone*`` ← the phone answer, ``*previous_address*``/``old_address`` ← the previous address,
``move_date``/``move_in_date``/``reason_date`` ← the move date, ``*householder*name`` ← the head of the
household. Repeating groups whose id names people (children, students, movers, members) get one item
per matching member, with ``*_name``, ``*_kana``, ``*_birth_date``, ``*_sex``, ``*_relationship``,
``grade`` filled. Nothing is guessed beyond that: what is left is asked by the clerk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from madoguchi.counter.rules import Member

GRADE_LABELS = {1: "小1", 2: "小2", 3: "小3", 4: "小4", 5: "小5", 6: "小6", 7: "中1", 8: "中2", 9: "中3"}
EVENT_REASON_WORDS = {"move_in": "転入", "birth": "出生", "move_out": "転出", "move_within": "転居"}


PARENTS = {"世帯主", "妻", "夫", "配偶者"}


def _people_for_group(group_id: str, members: Sequence[Member], visitor: Member | None, on: date,
                      child_filter: Mapping[str, Any] | None = None) -> list[Member] | None:
    from madoguchi.counter.rules import member_matches

    gid = group_id.lower()
    if "older" in gid and "child" in gid:
        return [m for m in members if 18 <= (m.age(on) or 0) < 23 and m.relationship not in PARENTS]
    if "child" in gid:
        kids = [m for m in members if (m.age(on) or 0) < 19 and m is not visitor and m.relationship not in PARENTS]
        if child_filter:
            kids = [m for m in kids if member_matches(m, child_filter, on)]
        return kids
    if "guardian" in gid or "parent" in gid:
        return [m for m in members if m.relationship in PARENTS and (m.age(on) or 0) >= 18]
    if "student" in gid or "pupil" in gid:
        return [m for m in members if m.school_grade(on) is not None]
    if any(w in gid for w in ("mover", "member", "insured", "person", "people")):
        return list(members)
    return None


def _choice_value(f: Any, wanted: str) -> str | None:
    """The option whose value or label is ``wanted`` (or contains it), else None."""
    if not wanted:
        return None
    for option in f.options:
        if option.value == wanted or option.label == wanted:
            return str(option.value)
    for option in f.options:
        if wanted in option.label:
            return str(option.value)
    return None


SEX_LABELS = {"1": "男", "2": "女", "9": "その他"}


def _relationship_choice(f: Any, m: Member) -> str | None:
    """続柄 as the form words it: 配偶者 ↔ 妻/夫 by sex; a parent in a guardians list is 父/母."""
    found = _choice_value(f, m.relationship)
    if found:
        return found
    if m.relationship in {"配偶者", "妻", "夫", "世帯主"}:
        for word in (("妻", "母") if m.sex == "2" else ("夫", "父")) + ("配偶者",):
            found = _choice_value(f, word)
            if found:
                return found
    return None


def _yes_no(f: Any, yes: bool) -> Any:
    if f.type == "boolean":
        return yes
    if f.type == "choice":
        for option in f.options:
            if option.label in (("あり", "はい", "いる", "持っている") if yes else ("なし", "いいえ", "いない", "持っていない")):
                return option.value
    return None


def _member_value(f: Any, m: Member, on: date) -> Any:
    fid = f.id.lower()
    if f.type == "group":
        return None
    if fid.endswith("kana") and m.kana:
        return m.kana
    if fid.endswith("birth_date") and m.birth_date:
        return m.birth_date.isoformat()
    if fid.endswith("_name") or fid == "name":
        return m.name or None
    if fid.endswith("sex") and f.type == "choice":
        return _choice_value(f, m.sex) or _choice_value(f, SEX_LABELS.get(m.sex, ""))
    if fid.endswith("relationship") and f.type == "choice":
        return _relationship_choice(f, m)
    if fid.endswith("living") and f.type == "choice":
        return _choice_value(f, "同居")
    if fid.endswith("mynumber_card") or fid.endswith("has_card"):
        has = m.extra.get("has_card")
        return _yes_no(f, bool(has)) if has is not None else None
    if fid.endswith("previous_insurance") and f.type == "choice":
        return _insurance_choice(f, m.extra.get("insurance") or "", previous=True)
    if fid.endswith("grade") and f.type == "choice":
        grade = m.school_grade(on)
        if not grade:
            return None
        long_label = f"小学{grade}年" if grade <= 6 else f"中学{grade - 6}年"
        return _choice_value(f, long_label) or _choice_value(f, GRADE_LABELS[grade])
    return None


INSURANCE_WORDS = {
    "kokuho": ("国民健康保険（市区町村）", "国民健康保険（前の市区町村）", "国民健康保険"),
    "employee": ("被用者保険", "勤め先の健康保険", "健康保険（協会けんぽ", "社会保険"),
}


def _insurance_choice(f: Any, insurance: str, *, previous: bool = False) -> str | None:
    for word in INSURANCE_WORDS.get(insurance, ()):
        found = _choice_value(f, word)
        if found:
            return found
    return None


def _top_value(f: Any, *, visitor: Member | None, household_head: str, answers: Mapping[str, Any],
               address: Mapping[str, str], events: Sequence[str], members: Sequence[Member] = ()) -> Any:
    fid = f.id.lower()
    if f.type == "mynumber":
        # the visitor's own 個人番号, read from the card (sealed), for the applicant's number only
        sealed = answers.get("visitor_mynumber")
        if sealed and not any(w in fid for w in ("spouse", "child", "member", "guardian_2", "other")):
            return sealed
        return None
    insurance = str(answers.get("insurance") or "")
    if f.type == "choice":
        labels = " ".join(o.label for o in f.options)
        if "insurance" in fid and insurance:
            return _insurance_choice(f, insurance)
        if "pension" in fid and insurance:
            return _choice_value(f, "国民年金" if insurance in {"kokuho", "none"} else "厚生年金")
        if "公金受取口座" in labels and answers.get("public_account", True):
            return _choice_value(f, "公金受取口座")
        if fid.endswith("_type") or "relation" in fid:
            if "本人" in labels:
                return _choice_value(f, "本人")
        if fid.endswith("living") or fid.endswith("spouse_living"):
            return _choice_value(f, "同居")
    spouse = next((m for m in members if m.relationship in {"配偶者", "妻", "夫"}
                   and (visitor is None or m.name != visitor.name)), None)
    if spouse is None and visitor is not None and visitor.relationship in {"配偶者", "妻", "夫"}:
        spouse = next((m for m in members if m.relationship == "世帯主"), None)
    if fid.startswith("has_spouse"):
        return _yes_no(f, spouse is not None)
    if fid.startswith("spouse_") and spouse is not None and f.type != "choice":
        return _member_value(f, spouse, date.today())
    if f.prefill and visitor is not None:
        key = f.prefill.split(".", 1)[1]
        value = {
            "name": visitor.name, "name_kana": visitor.kana,
            "birth_date": visitor.birth_date.isoformat() if visitor.birth_date else "",
            "sex": _choice_value(f, visitor.sex) if f.type == "choice" else visitor.sex,
            "postal_code": address.get("postal_code", ""), "address": address.get("address", ""),
        }.get(key)
        if value:
            return value
    if f.type == "phone" or "phone" in fid:
        return answers.get("phone") or None
    if ("previous_address" in fid or fid == "old_address") and answers.get("previous_address"):
        return answers["previous_address"]
    if fid in {"move_date", "move_in_date", "reason_date", "event_date"} and answers.get("move_date"):
        return answers["move_date"]
    if "householder" in fid and "name" in fid and household_head:
        return household_head
    if fid in {"new_address", "address"} and address.get("address"):
        return address["address"]
    if fid in {"new_postal_code", "postal_code"} and address.get("postal_code"):
        return address["postal_code"]
    if f.type == "choice" and "reason" in fid:
        for event in events:
            word = EVENT_REASON_WORDS.get(event)
            found = _choice_value(f, word) if word else None
            if found:
                return found
    return None


def prefill_form(
    definition: Any,
    *,
    visitor: Member | None,
    members: Sequence[Member],
    answers: Mapping[str, Any],
    address: Mapping[str, str],
    events: Sequence[str],
    on: date,
    child_filter: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Raw form input for ``definition`` with everything the counter knows filled in. ``child_filter``
    (the rule's member condition) says which children a children's list is about (保育: under 6)."""
    head = next((m.name for m in members if m.relationship == "世帯主"), visitor.name if visitor else "")
    out: dict[str, Any] = {}
    for _, f in definition.top_level_fields():
        if f.type == "group":
            people = _people_for_group(f.id, members, visitor, on, child_filter)
            if not people:
                continue
            items = []
            for m in people[: f.max_items]:
                if "insurance" not in m.extra and answers.get("insurance"):
                    m = Member(**{**m.__dict__, "extra": {**m.extra, "insurance": answers["insurance"]}})
                item = {c.id: v for c in f.fields if (v := _member_value(c, m, on)) not in (None, "")}
                items.append(item)
            out[f.id] = items
            continue
        value = _top_value(f, visitor=visitor, household_head=head, answers=answers, address=address, events=events,
                           members=members)
        if value not in (None, ""):
            out[f.id] = value
    return out


def leaf_paths(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every filled leaf value by path (``children[1].child_name``): what a paper form would need written."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value) and not (
            isinstance(value[0], Mapping) and "sha256" in value[0]
        ):
            for i, item in enumerate(value):
                out.update(leaf_paths(item, f"{path}[{i}]"))
        elif value not in (None, "", [], False):
            out[path] = value
    return out
