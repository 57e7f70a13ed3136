"""The exact solver against a brute-force oracle, on sibling patterns, transfers and a time limit."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from madoguchi.nursery.generate import generate_instance
from madoguchi.nursery.instance import Child, Combination, Facility, Instance
from madoguchi.nursery.solvers import solvers
from madoguchi.nursery.verify import verify

FACS = ("A", "B", "C")


@st.composite
def with_siblings(draw: st.DrawFn) -> Instance:
    """2–3 facilities, one or two sibling households of 2–3 children (any pattern), a few singles;
    sometimes transfers and points that differ per wish (点数N)."""
    n_fac = draw(st.integers(2, 3))
    facs = tuple(
        Facility(FACS[i], FACS[i], (draw(st.integers(0, 2)), draw(st.integers(0, 2)), 0, 0, 0, 0))
        for i in range(n_fac)
    )
    kids: list[Child] = []
    per_wish = draw(st.booleans())

    def child(cid: str, household: str, pattern: int, points: int) -> Child:
        wishes = draw(st.permutations(FACS[:n_fac]))
        k = draw(st.integers(1, n_fac))
        current = wishes[k] if k < n_fac and draw(st.integers(0, 3)) == 0 else None
        wish_points = tuple(draw(st.integers(0, 4)) for _ in range(k)) if per_wish else None
        return Child(
            cid,
            household,
            draw(st.integers(0, 1)),
            points,
            tuple(wishes[:k]),
            current=current,
            pattern=pattern,
            wish_points=wish_points,
        )

    for f in range(draw(st.integers(1, 2))):
        pattern, points = draw(st.integers(1, 7)), draw(st.integers(0, 4))
        for s in range(draw(st.integers(2, 3))):
            kids.append(child(f"f{f}{s}", f"F{f}", pattern, points))
    for i in range(draw(st.integers(1, 4))):
        kids.append(child(f"c{i}", f"h{i}", 0, draw(st.integers(0, 4))))
    instance = Instance(facs, tuple(kids))
    assume(math.prod(len(u.options) for u in instance.units) <= 4000)
    return instance


def _outcomes(inst: Instance) -> list[dict[str, str | None]]:
    """Every assignment that respects the households' options and the capacities."""
    out = []
    for choice in itertools.product(*(u.options for u in inst.units)):
        assignment: dict[str, str | None] = {}
        for unit, option in zip(inst.units, choice, strict=True):
            assignment.update(zip(unit.children, option, strict=True))
        if verify(inst, assignment).feasible:
            out.append(assignment)
    return out


def _placed(assignment: dict[str, str | None]) -> int:
    return sum(1 for d in assignment.values() if d is not None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_siblings())
def test_exact_matches_the_brute_force_oracle(inst: Instance) -> None:
    result = solvers["exact"].solve(inst, time_limit=10)
    assert result.status == "OPTIMAL"
    report = verify(inst, result)
    assert report.feasible, report.violations
    scored = [(len(verify(inst, a).blocking), -_placed(a)) for a in _outcomes(inst)]
    fewest, most = min(scored)
    assert len(report.blocking) == fewest  # 0 whenever a stable matching exists
    assert result.stats.placed == -most  # and as many placed as any matching with that many
    if fewest == 0:
        assert report.blocking_abh == [] and report.count("wasted") == 0 and result.stable
    else:
        assert any("N301" in n for n in result.notes) and not result.stable


@pytest.mark.parametrize(("children", "facilities", "seed"), [(300, 15, 1), (800, 40, 2)])
def test_generated_instances_stable_and_at_least_the_heuristic(
    children: int, facilities: int, seed: int
) -> None:
    instance = generate_instance(children=children, facilities=facilities, seed=seed, folded=seed % 2 == 0)
    assert len({u.pattern for u in instance.units if u.is_family}) >= 5
    assert any(c.current for c in instance.children)
    result = solvers["exact"].solve(instance, time_limit=30)
    report = verify(instance, result)
    assert result.status == "OPTIMAL" and result.stable
    assert report.violations == [] and report.blocking == [] and report.blocking_abh == []
    assert result.stats.placed >= solvers["stable"].solve(instance).stats.placed
    for c in instance.children:  # transfers never worse off: a wish or their own seat
        if c.current is not None:
            assert result.assignment[c.id] in (*c.wishes, c.current)


def test_places_more_than_the_heuristic_when_a_family_may_give_way() -> None:
    """Two seats at A (age 3). The family (pattern 5, partial allowed) ranks (A, A) first; two singles
    below it want only A. Any stable matching gives the family A+A: stability beats placement."""
    a = Facility("A", "A", (0, 0, 0, 2, 0, 0))
    kids = (
        Child("e", "F", 3, 10, ("A",), pattern=1),
        Child("y", "F", 3, 10, ("A",), pattern=1),
        Child("s", "S", 3, 5, ("A",)),
    )
    inst = Instance((a,), kids)
    result = solvers["exact"].solve(inst)
    assert result.assignment == {"e": "A", "y": "A", "s": None} and result.status == "OPTIMAL"


def test_no_stable_matching_says_so() -> None:
    """A couple and a single child, one seat at A and one at B: every matching has a blocking
    coalition. The result has the fewest (1), then the most placed, and note N301."""
    facs = (Facility("A", "A", (0, 0, 0, 1, 0, 0)), Facility("B", "B", (0, 0, 0, 1, 0, 0)))
    kids = (
        Child("f1", "F", 3, 0, ("A", "B"), pattern=5),
        Child("f2", "F", 3, 1, ("A", "B"), pattern=5),
        Child("s", "S", 3, 1, ("A", "B")),
    )
    inst = Instance(facs, kids)
    scored = [(len(verify(inst, a).blocking), -_placed(a)) for a in _outcomes(inst)]
    assert min(scored)[0] == 1
    result = solvers["exact"].solve(inst)
    report = verify(inst, result)
    assert (len(report.blocking), -result.stats.placed) == min(scored)
    assert result.status == "OPTIMAL" and not result.stable and any("N301" in n for n in result.notes)


def test_time_limit_zero_returns_the_heuristic_honestly() -> None:
    instance = generate_instance(children=200, facilities=10, seed=3)
    result = solvers["exact"].solve(instance, time_limit=0)
    assert result.status == "heuristic" and any("N303" in n for n in result.notes)
    assert verify(instance, result).feasible
    assert result.assignment == solvers["stable"].solve(instance).assignment


def test_combination_file_households() -> None:
    """A household with an explicit combination list (組み合わせファイル) uses exactly those tuples."""
    facs = (Facility("A", "A", (0, 0, 0, 1, 1, 0)), Facility("B", "B", (0, 0, 0, 1, 1, 0)))
    kids = (
        Child("o", "F", 4, 5, ("A", "B")),
        Child("y", "F", 3, 5, ("A", "B")),
        Child("s", "S", 3, 9, ("A",)),
    )
    combos = (
        Combination("F", 1, (("o", "A"), ("y", "A"))),
        Combination("F", 2, (("o", "B"), ("y", "B"))),
    )
    inst = Instance(facs, kids, combos)
    result = solvers["exact"].solve(inst)
    report = verify(inst, result)
    assert report.violations == [] and report.blocking == [] and result.status == "OPTIMAL"
    assert result.assignment == {"o": "B", "y": "B", "s": "A"}
