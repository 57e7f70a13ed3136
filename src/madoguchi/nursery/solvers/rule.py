"""``rule``: the 指数優先 procedure staff run by hand (the baseline).

Households in order of their best member (点数 of the first wish, then the タイブレーク chain, then the
row order). Each takes the first option on its ranked list (wishes for a single child, tuples for
siblings, see ``instance.pattern_unit``) whose new seats are all still free at the children's ages.
Transfer applicants hold their seat from the start; it is freed only when they move, so it goes to
households processed later (what staff do when they fill a vacated seat after the fact).
"""

from __future__ import annotations

import time

from madoguchi.nursery.instance import Instance
from madoguchi.nursery.solvers import Result, Solver, make_stats, solvers


@solvers.register("rule")
class RuleSolver(Solver):
    verbose_name = "指数優先（手作業の手順）"

    def solve(self, instance: Instance, *, time_limit: float | None = None) -> Result:
        started = time.perf_counter()
        used: dict[tuple[str, int], int] = {}
        for c in instance.children:
            if c.current is not None:
                used[(c.current, c.age)] = used.get((c.current, c.age), 0) + 1
        assignment: dict[str, str | None] = {c.id: c.current for c in instance.children}

        def best(unit_children: tuple[str, ...]) -> tuple[float, ...]:
            return max(instance.base_priority(instance.child_by_id[cid]) for cid in unit_children)

        for unit in sorted(instance.units, key=lambda u: best(u.children), reverse=True):
            kids = [instance.child_by_id[cid] for cid in unit.children]
            for option in unit.options:
                need: dict[tuple[str, int], int] = {}
                for c, d in zip(kids, option, strict=True):
                    if d is not None and d != c.current:
                        need[(d, c.age)] = need.get((d, c.age), 0) + 1
                if all(used.get(k, 0) + n <= instance.capacity(*k) for k, n in need.items()):
                    for c, d in zip(kids, option, strict=True):
                        if d != c.current:
                            if c.current is not None:
                                used[(c.current, c.age)] -= 1
                            if d is not None:
                                used[(d, c.age)] = used.get((d, c.age), 0) + 1
                        assignment[c.id] = d
                    break
        seconds = time.perf_counter() - started
        return Result("rule", assignment, make_stats(instance, assignment, seconds))
