"""The independent verifier: ``verify(instance, assignment_or_result)``.

It trusts nothing the solver says and recomputes from the instance:

* ``capacity`` — more children at (facility, age) than 募集人数 + the seats of transfer applicants;
* ``wish`` — a child placed at a facility that is neither a wish nor their current facility
  (or an unknown facility);
* ``transfer`` — a transfer applicant left without a seat (their current seat is guaranteed; every
  wish counts as better than it);
* ``sibling`` — a household whose outcome is not one of its allowed tuples (pattern or combination);
* ``wasted`` — a single child who prefers a facility with a free seat at their age;
* ``blocking`` — a blocking coalition: a household and an option it prefers to its outcome that
  every facility involved would admit: for each (facility, age) of the option, the children
  assigned there with a higher priority than the household's worst child there, plus the household's
  children wanting it, fit in the capacity. ``SYY`` does not count the household's own siblings
  among those higher-priority children, ``ABH`` does (``exclude_bool`` of the CP model). For single
  children both are the classic blocking pair (free seat, or a lower-priority child admitted).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from madoguchi.nursery.instance import Child, Instance, Option, Unit
from madoguchi.nursery.result import Result

Key = tuple[float, ...]


@dataclass(frozen=True)
class Violation:
    kind: str  # capacity | wish | transfer | sibling | wasted
    message: str
    child: str | None = None
    facility: str | None = None


@dataclass(frozen=True)
class Blocking:
    household: str
    option: Option
    children: tuple[str, ...]
    notion: str  # "SYY" or "ABH"


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    blocking: list[Blocking] = field(default_factory=list)  # SYY
    blocking_abh: list[Blocking] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for v in self.violations if v.kind == kind)

    @property
    def feasible(self) -> bool:
        """No capacity, wish, transfer or sibling violation (wasted seats are a stability matter)."""
        return not any(v.kind in {"capacity", "wish", "transfer", "sibling"} for v in self.violations)

    def summary(self) -> dict[str, int]:
        kinds = ("capacity", "wish", "transfer", "sibling", "wasted")
        out = {k: self.count(k) for k in kinds}
        out["blocking_syy"] = len(self.blocking)
        out["blocking_abh"] = len(self.blocking_abh)
        return out


class SeatIndex:
    """Per (facility, age) the sorted priority keys of the children assigned there."""

    def __init__(self, instance: Instance, assignment: dict[str, str | None]) -> None:
        self.instance = instance
        self.keys: dict[tuple[str, int], list[Key]] = {}
        for c in instance.children:
            d = assignment.get(c.id)
            if d is not None:
                self.keys.setdefault((d, c.age), []).append(instance.priority(c, d))
        for keys in self.keys.values():
            keys.sort()

    def count(self, facility: str, age: int) -> int:
        return len(self.keys.get((facility, age), ()))

    def higher(self, facility: str, age: int, key: Key) -> int:
        keys = self.keys.get((facility, age), [])
        return len(keys) - bisect_right(keys, key)


def option_admitted(
    instance: Instance,
    seats: SeatIndex,
    kids: list[Child],
    option: Option,
    own_assignment: dict[str, str | None] | None,
) -> bool:
    """Would every facility of ``option`` admit these children given the seats as they are?

    ``own_assignment`` (the household's current outcome) is given for SYY: its own children with a
    higher priority are not counted against it. ``None`` = count everybody (ABH, or a household that
    is not placed at the moment).
    """
    groups: dict[tuple[str, int], list[Key]] = {}
    for c, d in zip(kids, option, strict=True):
        if d is not None:
            groups.setdefault((d, c.age), []).append(instance.priority(c, d))
    for (d, age), keys in groups.items():
        worst = min(keys)
        higher = seats.higher(d, age, worst)
        if own_assignment is not None:
            for c in kids:
                if c.age == age and own_assignment.get(c.id) == d and instance.priority(c, d) > worst:
                    higher -= 1
        if higher + len(keys) > instance.capacity(d, age):
            return False
    return True


def blocking_options(
    instance: Instance,
    seats: SeatIndex,
    unit: Unit,
    assignment: dict[str, str | None],
    *,
    syy: bool = True,
) -> list[Option]:
    """The options ``unit`` prefers to its outcome and would be admitted to."""
    outcome = tuple(assignment.get(cid) for cid in unit.children)
    try:
        position = unit.options.index(outcome)
    except ValueError:
        return []  # reported as a sibling/transfer/wish violation instead
    kids = [instance.child_by_id[cid] for cid in unit.children]
    own = {cid: assignment.get(cid) for cid in unit.children}
    return [
        option
        for option in unit.options[:position]
        if option_admitted(instance, seats, kids, option, own if syy else None)
    ]


def verify(instance: Instance, result: Result | dict[str, str | None]) -> Report:
    assignment = result.assignment if isinstance(result, Result) else result
    report = Report()
    seats = SeatIndex(instance, assignment)

    for (d, age), keys in seats.keys.items():
        cap = instance.capacity(d, age)
        if len(keys) > cap:
            report.violations.append(
                Violation("capacity", f"{d} の{age}歳: {len(keys)} 人 > 定員 {cap}", facility=d)
            )
    for c in instance.children:
        got = assignment.get(c.id)
        if got is not None and got not in c.wishes and got != c.current:
            report.violations.append(Violation("wish", f"{c.id} は {got} を希望していません", c.id, got))
        if c.current is not None and got is None:
            report.violations.append(
                Violation("transfer", f"{c.id} は転園申込者ですが在籍園 {c.current} の席を失いました", c.id)
            )
    for unit in instance.units:
        outcome = tuple(assignment.get(cid) for cid in unit.children)
        if unit.is_family and outcome not in unit.options:
            report.violations.append(
                Violation(
                    "sibling",
                    f"世帯 {unit.household} の結果 {outcome} はきょうだいの条件（パターン {unit.pattern or '組み合わせ'}）に合いません",
                )
            )
            continue
        if not unit.is_family:
            c = instance.child_by_id[unit.children[0]]
            d_now = assignment.get(c.id)
            for (want,) in unit.options:
                if want == d_now:
                    break
                if want is not None and seats.count(want, c.age) < instance.capacity(want, c.age):
                    report.violations.append(
                        Violation("wasted", f"{c.id} の希望 {want}（{c.age}歳）に空きがあります", c.id, want)
                    )
                    break
        for option in blocking_options(instance, seats, unit, assignment, syy=True):
            report.blocking.append(Blocking(unit.household, option, unit.children, "SYY"))
        for option in blocking_options(instance, seats, unit, assignment, syy=False):
            report.blocking_abh.append(Blocking(unit.household, option, unit.children, "ABH"))
        if unit.truncated:
            report.not_covered.append(
                f"世帯 {unit.household}: 組み合わせが多すぎるため先頭の一部のみ検査しました"
            )
    return report
