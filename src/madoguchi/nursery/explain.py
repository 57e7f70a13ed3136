"""Why a result is what it is: per facility and age the ボーダー (lowest admitted points) and fill, and
per child and wish the reason a better wish was not given (full, with the cutoff; a sibling condition;
a tie lost on the tie-break chain)."""

from __future__ import annotations

from dataclasses import dataclass

from madoguchi.nursery.instance import AGES, Child, Instance


@dataclass(frozen=True)
class Border:
    facility: str
    name: str
    age: int
    capacity: int
    filled: int
    lowest: float | None  # the lowest points admitted (None: nobody admitted)


def borders(instance: Instance, assignment: dict[str, str | None]) -> list[Border]:
    filled: dict[tuple[str, int], list[float]] = {}
    for c in instance.children:
        d = assignment.get(c.id)
        if d is not None:
            filled.setdefault((d, c.age), []).append(c.points_at(d))
    out = []
    for f in instance.facilities:
        for age in AGES:
            cap = instance.capacity(f.id, age)
            got = filled.get((f.id, age), [])
            if cap or got:
                out.append(Border(f.id, f.name, age, cap, len(got), min(got) if got else None))
    return out


@dataclass(frozen=True)
class WishReason:
    rank: int
    facility: str
    name: str
    outcome: str  # "内定" | a reason it was not given


def why(
    instance: Instance,
    assignment: dict[str, str | None],
    child: Child,
    table: list[Border] | None = None,
) -> list[WishReason]:
    """Each wish up to the one given (or all, when none was): 内定, or why not.

    Pass ``table`` (``borders(instance, assignment)``) when explaining many children of one result, so
    the borders are computed once instead of once per child."""
    if table is None:
        table = borders(instance, assignment)
    border = {(b.facility, b.age): b for b in table}
    given = assignment.get(child.id)
    names = {f.id: f.name for f in instance.facilities}
    out = []
    for rank, facility in enumerate(child.wishes, start=1):
        if facility == given:
            out.append(WishReason(rank, facility, names.get(facility, facility), "内定"))
            break
        b = border.get((facility, child.age))
        mine = child.points_at(facility)
        if b is None or b.capacity == 0:
            reason = f"{child.age}歳児の募集がありません"
        elif b.filled >= b.capacity and b.lowest is not None and b.lowest > mine:
            reason = f"定員に達しました（ボーダー {b.lowest:g} 点、この申込は {mine:g} 点）"
        elif b.filled >= b.capacity and b.lowest is not None and b.lowest == mine:
            reason = f"定員に達しました（ボーダーと同じ {mine:g} 点で、同点の優先順位により）"
        elif len(instance.households.get(child.household, ())) > 1:
            reason = "きょうだいの希望の条件（同じ園・同時入所など）を満たす組み合わせがありませんでした"
        else:
            reason = "定員に達しました"
        out.append(WishReason(rank, facility, names.get(facility, facility), reason))
    return out
