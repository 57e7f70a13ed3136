"""Both solvers give verifier-clean results; ``stable`` is stable on single children (brute-force oracle)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from madoguchi.nursery.generate import generate_instance
from madoguchi.nursery.instance import Child, Facility, Instance
from madoguchi.nursery.solvers import solvers
from madoguchi.nursery.verify import verify

FACS = ("A", "B", "C")


@pytest.mark.parametrize("solver", ["rule", "stable"])
@pytest.mark.parametrize(("children", "facilities", "seed"), [(120, 6, 1), (400, 20, 2), (800, 40, 3)])
def test_generated_instances_are_feasible(solver: str, children: int, facilities: int, seed: int) -> None:
    instance = generate_instance(children=children, facilities=facilities, seed=seed)
    assert any(u.is_family for u in instance.units) and any(c.current for c in instance.children)
    result = solvers[solver].solve(instance)
    report = verify(instance, result)
    assert report.feasible, report.violations[:5]
    assert result.stats.placed + result.stats.unplaced == children
    if solver == "stable" and result.stable:
        assert report.blocking == [] and report.count("wasted") == 0


def test_worked_example() -> None:
    p, q = Facility("P", "P", (0, 0, 0, 1, 0, 0)), Facility("Q", "Q", (0, 0, 0, 1, 0, 0))
    kids = (
        Child("甲", "1", 3, 110, ("P", "Q")),
        Child("乙", "2", 3, 109, ("P", "Q")),
        Child("丙", "3", 3, 108, ("Q", "P")),
    )
    for solver in ("rule", "stable"):
        assert solvers[solver].solve(Instance((p, q), kids)).assignment == {"甲": "P", "乙": "Q", "丙": None}


@st.composite
def singles(draw: st.DrawFn, *, common: bool = False) -> Instance:
    n_fac = draw(st.integers(1, 3))
    facs = tuple(
        Facility(FACS[i], FACS[i], (draw(st.integers(0, 2)), draw(st.integers(0, 2)), 0, 0, 0, 0))
        for i in range(n_fac)
    )
    kids = []
    for i in range(draw(st.integers(1, 6))):
        wishes = draw(st.permutations(FACS[:n_fac]))
        k = draw(st.integers(1, n_fac))
        current = None
        if k < n_fac and draw(st.booleans()):
            current = wishes[k]
        wish_points = None if common else tuple(draw(st.integers(0, 3)) for _ in range(k))
        kids.append(
            Child(
                f"c{i}",
                f"h{i}",
                draw(st.integers(0, 1)),
                draw(st.integers(0, 3)),
                tuple(wishes[:k]),
                current=current,
                wish_points=wish_points,
            )
        )
    return Instance(facs, tuple(kids))


def _options(c: Child) -> list[str | None]:
    return [*c.wishes, c.current]


def _oracle_blocking(inst: Instance, assignment: dict[str, str | None]) -> set[tuple[str, str]]:
    """Every (child, facility) blocking pair, written from the definition without the verifier's code."""
    pairs = set()
    for c in inst.children:
        opts = _options(c)
        for d in opts[: opts.index(assignment[c.id])]:
            assert d is not None
            there = [o for o in inst.children if assignment[o.id] == d and o.age == c.age]
            lower = [o for o in there if inst.priority(o, d) < inst.priority(c, d)]
            if len(there) < inst.capacity(d, c.age) or lower:
                pairs.add((c.id, d))
    return pairs


def _all_feasible(inst: Instance) -> list[dict[str, str | None]]:
    out = []
    for choice in itertools.product(*(_options(c) for c in inst.children)):
        assignment = {c.id: d for c, d in zip(inst.children, choice, strict=True)}
        counts: dict[tuple[str, int], int] = {}
        for c, d in zip(inst.children, choice, strict=True):
            if d is not None:
                counts[(d, c.age)] = counts.get((d, c.age), 0) + 1
        if all(n <= inst.capacity(*k) for k, n in counts.items()):
            out.append(assignment)
    return out


@given(singles())
def test_stable_solver_matches_the_brute_force_oracle(inst: Instance) -> None:
    result = solvers["stable"].solve(inst)
    report = verify(inst, result)
    assert report.violations == [] and report.blocking == [] and report.blocking_abh == []
    stable = [a for a in _all_feasible(inst) if not _oracle_blocking(inst, a)]
    assert result.assignment in stable  # a stable matching always exists for singles; we find one


@given(singles(), st.data())
def test_verifier_counts_blocking_pairs_like_the_oracle(inst: Instance, data: st.DataObject) -> None:
    assignment = data.draw(st.sampled_from(_all_feasible(inst)))
    report = verify(inst, assignment)
    assert report.feasible
    assert {(b.children[0], b.option[0]) for b in report.blocking} == _oracle_blocking(inst, assignment)


@given(singles(common=True))
def test_common_priority_equals_serial_dictatorship(inst: Instance) -> None:
    free = {(f.id, a): inst.capacity(f.id, a) for f in inst.facilities for a in range(6)}
    # serial dictatorship: transfers already hold their seat (it is in the capacity)
    for c in inst.children:
        if c.current is not None:
            free[(c.current, c.age)] -= 1
    expected: dict[str, str | None] = {}
    for c in sorted(inst.children, key=inst.base_priority, reverse=True):
        got = next((d for d in c.wishes if free[(d, c.age)] > 0), None)
        if got is not None:
            free[(got, c.age)] -= 1
            if c.current is not None:
                free[(c.current, c.age)] += 1  # a seat freed late: SD and DA may differ here
        expected[c.id] = got or c.current
    if not any(c.current for c in inst.children):
        assert solvers["stable"].solve(inst).assignment == expected
        assert solvers["rule"].solve(inst).assignment == expected
