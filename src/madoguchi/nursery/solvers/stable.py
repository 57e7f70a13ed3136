"""``stable``: a fast stable heuristic — child-proposing deferred acceptance with families.

1. Every household proposes its options in order (singles: their wishes, then the current seat or
   nothing; siblings: their ranked tuples). An option is accepted when, at every (facility, age) it
   uses, the children held there with a higher priority than the household's worst child there plus
   the household's children fit in the capacity. Accepted children push out the lowest-priority
   holders; a pushed-out child's whole household withdraws and proposes its next option
   (Kojima–Pathak–Roth's sequential couples; with single children only this is exactly DA, so the
   result is stable and, with one common priority, equals serial dictatorship).
2. A household withdrawing frees seats, which can create blocking coalitions. As in ESDA we then
   look for all households with a blocking option (SYY notion, the same code as the verifier), let
   them withdraw and propose again from their best blocking option, and repeat. After ``MAX_ROUNDS`` rounds without a
   stable outcome the result says so in ``notes`` and ``stable=False``.

The last option of every household (everyone unplaced, or back at the current seat) is always
accepted: a transfer applicant comes first at their own facility and their seat is in its capacity.
"""

from __future__ import annotations

import time
from bisect import bisect_right, insort
from collections import deque

from madoguchi.nursery.instance import Child, Instance, Unit
from madoguchi.nursery.solvers import Result, Solver, make_stats, solvers
from madoguchi.nursery.verify import SeatIndex, blocking_options

MAX_ROUNDS = 50


@solvers.register("stable")
class StableSolver(Solver):
    verbose_name = "安定マッチング（受入保留方式・きょうだい対応のヒューリスティック）"

    def solve(
        self, instance: Instance, *, time_limit: float | None = None, rounds: int = MAX_ROUNDS
    ) -> Result:
        """``rounds`` bounds the repairs of step 2 (0: deferred acceptance only, stability unchecked)."""
        started = time.perf_counter()
        kids_of: dict[str, list[Child]] = {
            u.household: [instance.child_by_id[cid] for cid in u.children] for u in instance.units
        }
        unit_of = instance.unit_of
        assignment: dict[str, str | None] = {c.id: None for c in instance.children}
        held: dict[tuple[str, int], list[tuple[tuple[float, ...], str]]] = {}
        pointer: dict[str, int] = {u.household: 0 for u in instance.units}
        placed: set[str] = set()

        def withdraw(unit: Unit) -> None:
            placed.discard(unit.household)
            for c in kids_of[unit.household]:
                d = assignment[c.id]
                if d is not None:
                    held[(d, c.age)].remove((instance.priority(c, d), c.id))
                    assignment[c.id] = None

        def propose(unit: Unit) -> list[Unit]:
            """Propose options from the pointer on until one is accepted; return the units pushed out."""
            kids = kids_of[unit.household]
            while True:
                option = unit.options[pointer[unit.household]]
                groups: dict[tuple[str, int], list[tuple[tuple[float, ...], str]]] = {}
                for c, d in zip(kids, option, strict=True):
                    if d is not None:
                        groups.setdefault((d, c.age), []).append((instance.priority(c, d), c.id))
                ok = True
                for k, entries in groups.items():
                    worst = min(entries)
                    holders = held.get(k, [])
                    higher = len(holders) - bisect_right(holders, worst)
                    if higher + len(entries) > instance.capacity(*k):
                        ok = False
                        break
                if not ok:
                    pointer[unit.household] += 1
                    continue
                pushed: list[Unit] = []
                for k, entries in groups.items():
                    holders = held.setdefault(k, [])
                    for e in entries:
                        insort(holders, e)
                    while len(holders) > instance.capacity(*k):
                        _, cid = holders[0]
                        loser = unit_of[cid]
                        withdraw(loser)
                        pointer[loser.household] += 1
                        pushed.append(loser)
                for c, d in zip(kids, option, strict=True):
                    assignment[c.id] = d
                placed.add(unit.household)
                return pushed

        def run(queue: deque[Unit]) -> None:
            while queue:
                unit = queue.popleft()
                if unit.household in placed:
                    continue
                queue.extend(propose(unit))

        def order_key(u: Unit) -> tuple[float, ...]:
            return max(instance.base_priority(c) for c in kids_of[u.household])

        units = sorted(instance.units, key=order_key, reverse=True)
        singles = [u for u in units if not u.is_family]
        families = [u for u in units if u.is_family]
        run(deque(singles))  # ESDA step 1: DA for single children
        run(deque(families))  # then the sibling households, displaced households re-propose

        notes: list[str] = []
        stable: bool | None = True if rounds or not families else None
        if families and rounds:
            for _round in range(rounds):
                seats = SeatIndex(instance, assignment)
                blocking = [
                    (u, opts)
                    for u in units
                    if (opts := blocking_options(instance, seats, u, assignment, syy=True))
                ]
                if not blocking:
                    break
                for unit, opts in blocking:  # each re-proposes from its best blocking option
                    withdraw(unit)
                    pointer[unit.household] = unit.options.index(opts[0])
                run(deque(unit for unit, _ in blocking))
            else:
                stable = False
                notes.append(
                    f"安定なマッチングを見つけられませんでした（{rounds} 回の修正後もブロッキング提携が残っています）。"
                    "厳密解法（exact）で確認してください。"
                )
        truncated = [u.household for u in instance.units if u.truncated]
        if truncated:
            notes.append(f"組み合わせが多すぎる世帯 {len(truncated)} 件は先頭の組み合わせのみ検討しました。")
        seconds = time.perf_counter() - started
        return Result("stable", assignment, make_stats(instance, assignment, seconds), notes, stable)
