"""The life-event rules language: which procedures a household needs, as data.

A rule's ``conditions`` is a list; every item must hold. Items:

* ``{"any_member": P}``: at least one household member satisfies the member predicate ``P``;
* ``{"no_member": P}``: no member satisfies ``P``;
* ``{"answer": NAME, "in": [values]}`` / ``{"answer": NAME, "equals": value}``: an interview answer.

Member predicates (all given keys must hold): ``age_lt``, ``age_gte`` (full years on the session's
day), ``school_age`` (true: 小学1年〜中学3年 this school year), ``relationship_in`` (list of 続柄).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

MEMBER_KEYS = {"age_lt", "age_gte", "school_age", "relationship_in"}
ANSWERS = {
    "insurance": ("employee", "kokuho", "none"),
    "daycare_wanted": (True, False),
    "care_needed": (True, False),
}


class RuleError(ValueError):
    """A rule's conditions are malformed (message in Japanese, for the 管理者 editing them)."""


@dataclass(frozen=True)
class Member:
    name: str
    kana: str = ""
    birth_date: date | None = None
    sex: str = ""
    relationship: str = ""
    resident_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def age(self, on: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    def school_grade(self, on: date) -> int | None:
        """1–9 for 小1–中3 in the school year of ``on`` (born 4/2 … 4/1 form one year), else None."""
        if self.birth_date is None:
            return None
        school_year = on.year if on.month >= 4 else on.year - 1
        b = self.birth_date
        cohort = b.year if (b.month, b.day) >= (4, 2) else b.year - 1  # the school year the child was born in
        grade = school_year - cohort - 6
        return grade if 1 <= grade <= 9 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kana": self.kana, "birth_date": self.birth_date.isoformat() if self.birth_date else "",
            "sex": self.sex, "relationship": self.relationship, "resident_id": self.resident_id,
            **({"extra": dict(self.extra)} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Member:
        birth = raw.get("birth_date") or None
        return cls(
            name=str(raw.get("name", "")), kana=str(raw.get("kana", "")),
            birth_date=date.fromisoformat(birth) if isinstance(birth, str) and birth else None,
            sex=str(raw.get("sex", "")), relationship=str(raw.get("relationship", "")),
            resident_id=raw.get("resident_id") if isinstance(raw.get("resident_id"), int) else None,
            extra=dict(raw["extra"]) if isinstance(raw.get("extra"), Mapping) else {},
        )


def _check_member(pred: Any, where: str) -> None:
    if not isinstance(pred, Mapping) or not pred:
        raise RuleError(f"{where}: 世帯員の条件は {{\"age_lt\": 19}} のような辞書で書いてください")
    unknown = set(pred) - MEMBER_KEYS
    if unknown:
        raise RuleError(f"{where}: 知らない条件 {', '.join(sorted(unknown))}（使えるもの: {', '.join(sorted(MEMBER_KEYS))}）")
    for key in ("age_lt", "age_gte"):
        if key in pred and (isinstance(pred[key], bool) or not isinstance(pred[key], int) or pred[key] < 0):
            raise RuleError(f"{where}: {key} は0以上の整数です")
    if "school_age" in pred and not isinstance(pred["school_age"], bool):
        raise RuleError(f"{where}: school_age は true か false です")
    if "relationship_in" in pred and not (
        isinstance(pred["relationship_in"], list) and all(isinstance(r, str) for r in pred["relationship_in"])
    ):
        raise RuleError(f"{where}: relationship_in は続柄の文字列のリストです")


def check_conditions(conditions: Any) -> None:
    """Raise RuleError if ``conditions`` is not a list of known predicates."""
    if not isinstance(conditions, list):
        raise RuleError("条件はリスト（[...]）で書いてください")
    for i, cond in enumerate(conditions):
        where = f"条件{i + 1}"
        if not isinstance(cond, Mapping) or len(cond) == 0:
            raise RuleError(f"{where}: 辞書で書いてください")
        if "any_member" in cond or "no_member" in cond:
            if len(cond) != 1:
                raise RuleError(f"{where}: any_member / no_member はそれだけで書いてください")
            _check_member(next(iter(cond.values())), where)
        elif "answer" in cond:
            name = cond["answer"]
            if name not in ANSWERS:
                raise RuleError(f"{where}: 聞き取り項目 {name!r} はありません（{', '.join(ANSWERS)}）")
            if set(cond) - {"answer", "in", "equals"} or ("in" in cond) == ("equals" in cond):
                raise RuleError(f"{where}: answer には in か equals のどちらか一つを書いてください")
            values = cond["in"] if "in" in cond else [cond["equals"]]
            if not isinstance(values, list) or any(v not in ANSWERS[name] for v in values):
                raise RuleError(f"{where}: {name} の値は {list(ANSWERS[name])} から選んでください")
        else:
            raise RuleError(f"{where}: any_member / no_member / answer のどれかで書いてください")


def member_matches(member: Member, pred: Mapping[str, Any], on: date) -> bool:
    age = member.age(on)
    if "age_lt" in pred and (age is None or not age < pred["age_lt"]):
        return False
    if "age_gte" in pred and (age is None or not age >= pred["age_gte"]):
        return False
    if "school_age" in pred and (member.school_grade(on) is not None) != pred["school_age"]:
        return False
    if "relationship_in" in pred and member.relationship not in pred["relationship_in"]:
        return False
    return True


def conditions_hold(conditions: Sequence[Mapping[str, Any]], *, members: Iterable[Member],
                    answers: Mapping[str, Any], on: date) -> bool:
    people = list(members)
    for cond in conditions:
        if "any_member" in cond:
            if not any(member_matches(m, cond["any_member"], on) for m in people):
                return False
        elif "no_member" in cond:
            if any(member_matches(m, cond["no_member"], on) for m in people):
                return False
        elif "answer" in cond:
            value = answers.get(cond["answer"])
            allowed = cond["in"] if "in" in cond else [cond["equals"]]
            if value not in allowed:
                return False
    return True
