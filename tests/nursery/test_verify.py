"""The verifier catches every kind of violation on hand-made instances."""

from __future__ import annotations

from madoguchi.nursery.instance import Child, Facility, Instance
from madoguchi.nursery.verify import verify


def fac(fid: str, seats_age3: int) -> Facility:
    return Facility(fid, f"保育所{fid}", (0, 0, 0, seats_age3, 0, 0))


def kid(
    cid: str, points: float, wishes: tuple[str, ...], *, household: str | None = None, **kw: object
) -> Child:
    return Child(cid, household or f"h{cid}", 3, points, wishes, **kw)  # type: ignore[arg-type]


P, Q = fac("P", 1), fac("Q", 1)


def test_worked_example_is_clean() -> None:
    """甲 110 P>Q, 乙 109 P>Q, 丙 108 Q>P, one seat each ⇒ 甲→P, 乙→Q, 丙 unplaced (research note §1.3)."""
    inst = Instance(
        (P, Q), (kid("甲", 110, ("P", "Q")), kid("乙", 109, ("P", "Q")), kid("丙", 108, ("Q", "P")))
    )
    report = verify(inst, {"甲": "P", "乙": "Q", "丙": None})
    assert report.violations == [] and report.blocking == [] and report.blocking_abh == []


def test_blocking_pair_when_a_lower_priority_child_is_admitted() -> None:
    inst = Instance(
        (P, Q), (kid("甲", 110, ("P", "Q")), kid("乙", 109, ("P", "Q")), kid("丙", 108, ("Q", "P")))
    )
    report = verify(inst, {"甲": "P", "乙": None, "丙": "Q"})
    assert [(b.household, b.option) for b in report.blocking] == [("h乙", ("Q",))]
    assert report.feasible


def test_capacity_wish_and_wasted() -> None:
    inst = Instance(
        (P, Q), (kid("a", 10, ("P",)), kid("b", 9, ("P",)), kid("c", 8, ("Q",)), kid("d", 7, ("P",)))
    )
    report = verify(inst, {"a": "P", "b": "P", "c": None, "d": "Q"})
    assert report.count("capacity") == 1
    assert report.count("wish") == 1  # d at Q, not wished
    assert report.count("wasted") == 0  # Q is full (d sits there)
    report = verify(inst, {"a": "P", "b": None, "c": None, "d": None})
    assert report.count("wasted") == 1  # c wants Q, which is empty
    assert {b.household for b in report.blocking} == {"hc"}


def test_transfer_made_worse_off() -> None:
    inst = Instance((P, Q), (kid("t", 5, ("P",), current="Q"), kid("a", 10, ("P",))))
    assert inst.capacity("Q", 3) == 2
    report = verify(inst, {"t": None, "a": "P"})
    assert report.count("transfer") == 1
    assert verify(inst, {"t": "Q", "a": "P"}).violations == []


def test_sibling_pattern_violations() -> None:
    big = fac("R", 3)
    same = (
        kid("s1", 5, ("P", "R"), household="F", pattern=1),
        kid("s2", 5, ("Q", "R"), household="F", pattern=1),
    )
    inst = Instance((P, Q, big), same)
    assert verify(inst, {"s1": "P", "s2": "Q"}).count("sibling") == 1  # 同保: two new facilities
    assert verify(inst, {"s1": "R", "s2": None}).count("sibling") == 1  # 同時: one without a seat
    clean = verify(inst, {"s1": "R", "s2": "R"})
    assert clean.violations == [] and clean.blocking == []
    elder_first = (
        Child("o", "G", 4, 5, ("P",), pattern=2),
        Child("y", "G", 3, 5, ("P",), pattern=2),
    )
    inst2 = Instance((Facility("P", "P", (0, 0, 0, 1, 1, 0)),), elder_first)
    assert verify(inst2, {"o": None, "y": "P"}).count("sibling") == 1  # パターン2: younger never alone
    assert verify(inst2, {"o": "P", "y": "P"}).violations == []


def test_family_blocking_coalition_syy_vs_abh() -> None:
    """A family placed apart prefers both at R; R has 2 seats: its own elder child and x (below y).

    SYY does not count the family's own child against it, so it blocks; ABH counts it, so it does not.
    """
    r = fac("R", 2)
    kids = (
        Child("e", "F", 3, 10, ("R", "P"), pattern=5),
        Child("y", "F", 3, 1, ("R", "P"), pattern=5),
        kid("x", 0.5, ("R",)),
    )
    inst = Instance((r, P), kids)
    assignment = {"e": "R", "y": "P", "x": "R"}
    report = verify(inst, assignment)
    assert report.feasible
    assert [b.option for b in report.blocking] == [("R", "R")]
    assert report.blocking_abh == []
