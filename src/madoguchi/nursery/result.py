"""What a solver returns: the assignment, figures and notes (kept apart so the verifier needs no solver)."""

from __future__ import annotations

from dataclasses import dataclass, field

from madoguchi.nursery.instance import AGES, Instance


@dataclass
class Stats:
    placed: int
    placed_by_age: dict[int, int]
    unplaced: int
    seconds: float


@dataclass
class Result:
    """child id → facility id (a transfer applicant who stays has their current facility) or None."""

    solver: str
    assignment: dict[str, str | None]
    stats: Stats
    notes: list[str] = field(default_factory=list)
    stable: bool | None = None  # the solver's own claim; the verifier decides
    status: str = "heuristic"  # exact: OPTIMAL (proved) | FEASIBLE (time limit) | heuristic


def make_stats(instance: Instance, assignment: dict[str, str | None], seconds: float) -> Stats:
    by_age = dict.fromkeys(AGES, 0)
    for c in instance.children:
        if assignment.get(c.id) is not None:
            by_age[c.age] += 1
    placed = sum(by_age.values())
    return Stats(placed, by_age, len(instance.children) - placed, round(seconds, 4))
