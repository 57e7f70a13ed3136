"""The matching instance: facilities with seats per age, children, households, sibling patterns.

Pure Python, no ORM. Everything a solver or the verifier needs is derived here once:

* ``Instance.capacity(d, age)`` — 募集人数 plus one seat per transfer applicant of that age currently
  at ``d`` (their seat; re-offered to others when they move, as ChilmAI's ``use_transfer``);
* ``Instance.priority(child, d)`` — a comparable key, larger is better: a transfer applicant is first
  at their current facility (their seat is guaranteed), otherwise (点数 at that wish, タイブレーク …,
  earlier row first);
* ``Instance.units`` — one ``Unit`` per household with its ranked list of options (tuples of one
  facility or ``None`` per child). Singles rank their wishes, then their current facility
  (transfer) or ``None`` (unplaced). Sibling households rank tuples as ChilmAI's 7 patterns or an
  explicit combination list say (see docs/nursery.md).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from madoguchi.core.errors import ValidationFailed

AGES = (0, 1, 2, 3, 4, 5)
PATTERNS = {
    1: "同保同時",
    2: "同保順次（上）",
    3: "同保順次（下）",
    4: "別保同時（同）",
    5: "別保順次（同）",
    6: "別保同時（希）",
    7: "別保順次（希）",
}
SAME_FACILITY_PATTERNS = frozenset({1, 2, 3})  # 同保系: at most one new facility this round
ALL_OR_NONE_PATTERNS = frozenset({1, 4, 6})  # 同時: everyone holds a seat, or nobody gets a new one
MAX_TUPLES = 20_000  # per household; larger products are cut (and reported) until the exact solver

Option = tuple[str | None, ...]  # one facility id (or None) per child of the unit, in unit order


@dataclass(frozen=True)
class Problem:
    """One validation problem: a stable code and a Japanese message naming the file, row and column."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"【{self.code}】{self.message}"


class NurseryInputError(ValidationFailed):
    code = "nursery.invalid"
    default_message = "入力データに誤りがあります。"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            f"入力データに {len(problems)} 件の誤りがあります。", code="nursery.invalid", details=problems
        )


@dataclass(frozen=True)
class Facility:
    id: str
    name: str
    capacity: tuple[int, int, int, int, int, int]  # 0〜5歳 募集人数


@dataclass(frozen=True)
class Child:
    id: str
    household: str
    age: int
    points: float
    wishes: tuple[str, ...]
    current: str | None = None  # 在籍保育所ID (transfer applicant) or None
    pattern: int = 0  # きょうだいパターン 1〜7, 0 = single child / not given
    tiebreak: tuple[float, ...] = ()  # larger wins, compared in order after the points
    wish_points: tuple[float, ...] | None = None  # 点数N: points per wish (None = ``points`` everywhere)

    def points_at(self, facility: str) -> float:
        if self.wish_points is not None and facility in self.wishes:
            return self.wish_points[self.wishes.index(facility)]
        return self.points


@dataclass(frozen=True)
class Combination:
    """One row of an explicit combination file (組み合わせファイル): rank and child → facility."""

    household: str
    rank: int
    assignment: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Unit:
    """A household as the matching sees it: its children (eldest first) and ranked options."""

    household: str
    children: tuple[str, ...]
    options: tuple[Option, ...]
    pattern: int = 0
    truncated: bool = False

    @property
    def is_family(self) -> bool:
        return len(self.children) > 1


@dataclass(frozen=True)
class Instance:
    facilities: tuple[Facility, ...]
    children: tuple[Child, ...]
    combinations: tuple[Combination, ...] = ()
    name: str = ""

    # ---- look-ups -------------------------------------------------------------------------------
    @cached_property
    def facility_by_id(self) -> dict[str, Facility]:
        return {f.id: f for f in self.facilities}

    @cached_property
    def child_by_id(self) -> dict[str, Child]:
        return {c.id: c for c in self.children}

    @cached_property
    def index(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.children)}

    @cached_property
    def _capacity(self) -> dict[tuple[str, int], int]:
        cap = {(f.id, a): f.capacity[a] for f in self.facilities for a in AGES}
        for c in self.children:  # the seat a transfer applicant holds: theirs, re-offered if they move
            if c.current is not None and (c.current, c.age) in cap:
                cap[(c.current, c.age)] += 1
        return cap

    def capacity(self, facility: str, age: int) -> int:
        return self._capacity.get((facility, age), 0)

    def priority(self, child: Child, facility: str) -> tuple[float, ...]:
        """Larger is better. Transfer applicants come first at their own facility."""
        top = 1.0 if child.current == facility else 0.0
        return (top, child.points_at(facility), *child.tiebreak, -float(self.index[child.id]))

    def base_priority(self, child: Child) -> tuple[float, ...]:
        """The common order used by the rule procedure (点数 of the first wish, then the chain)."""
        pts = child.wish_points[0] if child.wish_points else child.points
        return (pts, *child.tiebreak, -float(self.index[child.id]))

    # ---- households -------------------------------------------------------------------------------
    @cached_property
    def households(self) -> dict[str, tuple[Child, ...]]:
        groups: dict[str, list[Child]] = {}
        for c in self.children:
            groups.setdefault(c.household, []).append(c)
        return {
            h: tuple(sorted(kids, key=lambda c: (-c.age, self.index[c.id]))) for h, kids in groups.items()
        }

    @cached_property
    def units(self) -> tuple[Unit, ...]:
        combos: dict[str, list[Combination]] = {}
        for combo in self.combinations:
            combos.setdefault(combo.household, []).append(combo)
        units = []
        for h, kids in self.households.items():
            if h in combos and len(kids) > 1:
                units.append(combination_unit(h, kids, combos[h]))
            else:
                units.append(pattern_unit(h, kids))
        return tuple(units)

    @cached_property
    def unit_of(self) -> dict[str, Unit]:
        return {cid: u for u in self.units for cid in u.children}


# ---- options per household ----------------------------------------------------------------------


def _own_options(child: Child) -> list[str | None]:
    """A child's own list: the wishes, then the current facility (transfer) or None (unplaced)."""
    return [*child.wishes, child.current]


def _rank(child: Child, d: str | None) -> int:
    if d is None or d == child.current:
        return 99
    return child.wishes.index(d) + 1


def pattern_allows(pattern: int, kids: tuple[Child, ...], option: Option) -> bool:
    """Whether a tuple is allowed by a sibling pattern (our reading of ChilmAI's table, docs/nursery.md).

    "New" = assigned to a facility other than the child's current one. "Holds a seat" = new seat or
    staying at the current facility. 同保系 (1–3): at most one distinct new facility. 同時 (1, 4, 6):
    everyone holds a seat, or nobody gets a new one. 2: if anyone gets a new seat, the eldest holds a
    seat; 3: likewise the youngest.
    """
    new = [d for c, d in zip(kids, option, strict=True) if d is not None and d != c.current]
    holds = [d is not None for d in option]
    if pattern in SAME_FACILITY_PATTERNS and len(set(new)) > 1:
        return False
    if pattern in ALL_OR_NONE_PATTERNS and new and not all(holds):
        return False
    if pattern == 2 and new and not holds[0]:
        return False
    if pattern == 3 and new and not holds[-1]:
        return False
    return True


def _sort_key(pattern: int, kids: tuple[Child, ...], option: Option) -> tuple[float, ...]:
    """Smaller sorts first (better). ChilmAI's vectors: [W, S, −Π rank, −rank_0, …], masks for 2/3."""
    new = [d is not None and d != c.current for c, d in zip(kids, option, strict=True)]
    ranks = [_rank(c, d) for c, d in zip(kids, option, strict=True)]
    w = sum(new)
    counts: dict[str, int] = {}
    for is_new, d in zip(new, option, strict=True):
        if is_new and d is not None:
            counts[d] = counts.get(d, 0) + 1
    s = max(counts.values(), default=0)
    vector: list[float] = []
    if pattern == 2:
        vector += [-float(x) for x in new]
    elif pattern == 3:
        vector += [-float(x) for x in reversed(new)]
    vector.append(-w)
    if pattern not in (6, 7):
        vector.append(-s)
    vector.append(math.prod(ranks))
    vector += ranks
    return tuple(vector)


def pattern_unit(household: str, kids: tuple[Child, ...]) -> Unit:
    ids = tuple(c.id for c in kids)
    if len(kids) == 1:
        return Unit(household, ids, tuple((d,) for d in _own_options(kids[0])))
    pattern = next((c.pattern for c in kids if c.pattern), 7)
    lists = [_own_options(c) for c in kids]
    allowed: list[Option] = []
    truncated = False
    for option in itertools.product(*lists):
        if pattern_allows(pattern, kids, option):
            allowed.append(option)
            if len(allowed) >= MAX_TUPLES:
                truncated = True
                break
    fallback: Option = tuple(c.current for c in kids)  # everyone stays / unplaced: always last
    allowed = [o for o in allowed if o != fallback]
    allowed.sort(key=lambda o: _sort_key(pattern, kids, o))
    allowed.append(fallback)
    return Unit(household, ids, tuple(allowed), pattern=pattern, truncated=truncated)


def combination_unit(household: str, kids: tuple[Child, ...], combos: Iterable[Combination]) -> Unit:
    ids = tuple(c.id for c in kids)
    options: list[Option] = []
    for combo in sorted(combos, key=lambda c: c.rank):
        given = dict(combo.assignment)
        option = tuple(given.get(c.id) or c.current for c in kids)
        if option not in options:
            options.append(option)
    fallback: Option = tuple(c.current for c in kids)
    options = [o for o in options if o != fallback] + [fallback]
    return Unit(household, ids, tuple(options), pattern=0)
