"""``exact``: CP-SAT (OR-Tools) — no blocking coalition, maximum children placed.

The model (after Sun, Yamada, Takenami, Moriwaki and Yokoo, AAAI-24), built in time linear in the
number of (child, facility) pairs instead of the product of households × facilities:

* ``x[u, j]`` — household ``u`` gets its ``j``-th option; exactly one per household (the last option,
  everyone unplaced or back at the current seat, keeps transfer applicants at least as well off).
  Options that cannot fit (more of the household's children at a (facility, age) than its capacity)
  are pruned: they can be neither chosen nor blocking.
* Per (facility, age) the applicants are sorted by priority and a running count ``P[t]`` of those
  admitted among the first ``t`` is kept (domain ``0..capacity``, which is the capacity constraint).
* Stability (SYY, which implies ABH): for every household and option ``j`` better than the last,
  either it got ``j`` or better, or at some (facility, age) of ``j`` the others admitted above its
  worst child there already fill ``capacity − n + 1`` seats (``n`` = its children wanting that
  (facility, age)). Single children give the linear comparability constraint
  ``P[t−1] + cap·α ≥ cap``.
* Objective: maximise children holding a seat. When no stable matching exists, each stability
  constraint gets a slack ``β`` (a blocking coalition) and we minimise ``(N+1)·Σβ − placed``: fewest
  blocking coalitions first, then most placed; the result says so.

Before CP-SAT, what every stable matching must satisfy is fixed (``_Model._reduce``): on generated
instances about 70 % of the households, so the model CP-SAT sees is small. Deferred acceptance with
families (``stable`` without its repair rounds) is the hint. The status is reported honestly:
OPTIMAL (proved), FEASIBLE (time limit before the proof) or ``heuristic`` (the repaired ``stable``
result, when CP-SAT found nothing better in time).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from madoguchi.nursery.instance import Child, Instance, Option, Unit
from madoguchi.nursery.result import Result
from madoguchi.nursery.solvers import Solver, make_stats, solvers
from madoguchi.nursery.solvers.stable import StableSolver
from madoguchi.nursery.verify import Report, verify

DEFAULT_TIME_LIMIT = 300.0  # ChilmAI's default is 360 s
WORKERS = 2
HINT_ROUNDS = 0  # deferred acceptance only: CP-SAT repairs the hint faster than the heuristic's rounds
MIN_SECONDS = 0.05  # less time than this left after the heuristic: no CP-SAT
Key = tuple[float, ...]


class _Fenwick:
    """Counts of still-possible applicants by position (1-based), with prefix sums in O(log n)."""

    def __init__(self, flags: list[int]) -> None:
        self.tree = [0, *flags]
        n = len(self.tree)
        for i in range(1, n):
            j = i + (i & -i)
            if j < n:
                self.tree[j] += self.tree[i]

    def add(self, i: int, v: int) -> None:
        while i < len(self.tree):
            self.tree[i] += v
            i += i & -i

    def prefix(self, i: int) -> int:
        total = 0
        while i > 0:
            total += self.tree[i]
            i -= i & -i
        return total


@dataclass
class _Group:
    """The children of one option at one (facility, age): column, positions, and whether all stay."""

    col: int
    n: int
    worst: int  # 1-based position of the household's worst child there
    staying: bool  # every member keeps its current seat (always admitted)
    own_above: list[int]  # positions of the household's children in the column above ``worst`` (SYY)


@dataclass
class _Household:
    unit: Unit
    kids: list[Child]
    options: list[Option]  # kept options; the last is the fallback
    groups: dict[int, list[_Group]] = field(default_factory=dict)  # per option, computed when needed
    # (child index, facility) → (column, position)
    cell: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)
    in_col: dict[int, list[int]] = field(default_factory=dict)  # column → positions of its children there
    entries: list[list[tuple[int, int]]] = field(default_factory=list)  # (column, position) per option
    alive: list[bool] = field(default_factory=list)
    forced: int | None = None


@dataclass
class _Column:
    capacity: int
    keys: list[tuple[Key, str]] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
    support: list[int] = field(default_factory=list)  # alive options placing the applicant here (1-based)
    fixed: list[int] = field(default_factory=list)
    fixed_total: int = 0
    possible: _Fenwick | None = None


def _fits(instance: Instance, kids: list[Child], option: Option) -> bool:
    if len(kids) == 1:
        d = option[0]
        return d is None or d == kids[0].current or instance.capacity(d, kids[0].age) > 0
    need: dict[tuple[str, int], int] = {}
    for c, d in zip(kids, option, strict=True):
        if d is not None and d != c.current:
            need[(d, c.age)] = need.get((d, c.age), 0) + 1
    return all(n <= instance.capacity(d, age) for (d, age), n in need.items())


class _Model:
    """The CP-SAT model of one instance.

    ``slack=False``: stability is required, so households whose outcome it forces are fixed first
    (``_reduce``) and only the rest becomes variables. ``slack=True``: blocking coalitions are
    allowed at a cost (no fixing, since forcing rests on stability).
    """

    def __init__(self, instance: Instance, *, slack: bool) -> None:
        self.instance = instance
        self.slack_mode = slack
        self.model = cp_model.CpModel()
        self.slack: list[cp_model.IntVar] = []
        self._xs: dict[int, list[cp_model.IntVar | None]] = {}
        self._chains: dict[int, list[cp_model.IntVar]] = {}
        cby = instance.child_by_id
        order = sorted(
            instance.units,
            key=lambda u: max(instance.base_priority(cby[cid]) for cid in u.children),
            reverse=True,
        )
        self.households: list[_Household] = []
        for unit in order:
            kids = [cby[cid] for cid in unit.children]
            kept = [o for o in unit.options[:-1] if _fits(instance, kids, o)]
            options = [*kept, unit.options[-1]]
            self.households.append(_Household(unit, kids, options, alive=[True] * len(options)))
        self._columns()
        self.forced_units = 0
        if not slack:
            self._reduce()
        self._build()

    # ---- columns: per (facility, age) the applicants by priority --------------------------------
    def _columns(self) -> None:
        instance = self.instance
        index: dict[tuple[str, int], int] = {}
        columns: list[_Column] = []
        for h in self.households:
            for i, c in enumerate(h.kids):
                for d in {o[i] for o in h.options} if len(h.kids) > 1 else [o[0] for o in h.options]:
                    if d is None:
                        continue
                    k = index.get((d, c.age))
                    if k is None:
                        k = index[(d, c.age)] = len(columns)
                        columns.append(_Column(instance.capacity(d, c.age)))
                    columns[k].keys.append((instance.priority(c, d), c.id))
                    h.cell[(i, d)] = (k, 0)
        for col in columns:
            col.keys.sort(reverse=True)
            col.position = {cid: t for t, (_key, cid) in enumerate(col.keys, start=1)}
            col.support = [0] * (len(col.keys) + 1)
            col.fixed = [0] * (len(col.keys) + 1)
        for h in self.households:
            for (i, d), (k, _) in h.cell.items():
                t = columns[k].position[h.kids[i].id]
                h.cell[(i, d)] = (k, t)
                h.in_col.setdefault(k, []).append(t)
            for option in h.options:
                entries = [h.cell[(i, d)] for i, d in enumerate(option) if d is not None]
                for k, t in entries:
                    columns[k].support[t] += 1
                h.entries.append(entries)
        for col in columns:
            col.possible = _Fenwick([1 if s else 0 for s in col.support[1:]])
        self.columns = columns

    @staticmethod
    def _groups(h: _Household, j: int) -> list[_Group]:
        """Option ``j`` per (facility, age): how many children, the worst position, own children above."""
        groups = h.groups.get(j)
        if groups is not None:
            return groups
        option = h.options[j]
        if len(h.kids) == 1:
            groups = [_Group(k, 1, t, option[0] == h.kids[0].current, []) for k, t in h.entries[j]]
        else:
            by_col: dict[int, list[int]] = {}
            for i, d in enumerate(option):
                if d is not None:
                    by_col.setdefault(h.cell[(i, d)][0], []).append(i)
            groups = []
            for k, members in by_col.items():
                worst = max(h.cell[(i, option[i])][1] for i in members)  # type: ignore[index]
                own = [t for t in h.in_col[k] if t < worst]
                staying = all(option[i] == h.kids[i].current for i in members)
                groups.append(_Group(k, len(members), worst, staying, own))
        h.groups[j] = groups
        return groups

    # ---- reduction: outcomes that stability forces ---------------------------------------------
    def _kill(self, h: _Household, j: int) -> None:
        h.alive[j] = False
        for k, t in h.entries[j]:
            col = self.columns[k]
            col.support[t] -= 1
            if col.support[t] == 0:
                assert col.possible is not None
                col.possible.add(t, -1)

    def _force(self, h: _Household, j: int) -> None:
        for i in range(len(h.options)):
            if i != j and h.alive[i]:
                self._kill(h, i)
        h.forced = j
        self.forced_units += 1
        for k, t in h.entries[j]:
            col = self.columns[k]
            col.fixed[t] = 1
            col.fixed_total += 1

    def _admits(self, h: _Household, groups: list[_Group]) -> bool:
        """Would every (facility, age) admit the option even if all still-possible others took seats?"""
        for g in groups:
            if g.staying:
                continue
            col = self.columns[g.col]
            assert col.possible is not None
            above = col.possible.prefix(g.worst - 1) - sum(1 for t in g.own_above if col.support[t] > 0)
            if above + g.n > col.capacity:
                return False
        return True

    def _reduce(self) -> None:
        """Fix what stability forces, repeated until nothing changes (every stable matching obeys it):

        * an option that no longer fits beside the fixed seats is dropped;
        * an option that would be admitted whatever the undecided others do is held or bettered, so
          the options after it are dropped; when it is the best one left, the household is fixed.
        """
        pending = list(self.households)
        changed = True
        columns = self.columns
        self.passes = 0
        while changed and pending:
            changed = False
            self.passes += 1
            rest = []
            for h in pending:
                sure = first = -1
                last = len(h.alive) - 1  # the fallback is never dropped here
                for j, alive in enumerate(h.alive):
                    if not alive:
                        continue
                    groups = h.groups.get(j) or self._groups(h, j)
                    if j < last and any(
                        columns[g.col].fixed_total + g.n > columns[g.col].capacity for g in groups
                    ):
                        self._kill(h, j)  # no longer fits beside the fixed seats
                        changed = True
                        continue
                    if first < 0:
                        first = j
                    if self._admits(h, groups):
                        sure = j
                        break
                if sure < 0:
                    sure = max(j for j, a in enumerate(h.alive) if a)
                    first = first if first >= 0 else sure
                if sure == first:
                    self._force(h, sure)
                    changed = True
                    continue
                for j in range(sure + 1, len(h.alive)):
                    if h.alive[j]:  # it gets ``sure`` or better in every stable matching
                        self._kill(h, j)
                        changed = True
                rest.append(h)
            pending = rest

    # ---- the CP-SAT model ----------------------------------------------------------------------
    def _build(self) -> None:
        m = self.model
        for h in self.households:
            h_vars: list[cp_model.IntVar | None] = [None] * len(h.options)
            if h.forced is None:
                alive = [j for j, a in enumerate(h.alive) if a]
                xs = [m.new_bool_var("") for _ in alive]
                m.add_exactly_one(xs)
                for j, x in zip(alive, xs, strict=True):
                    h_vars[j] = x
            self._xs[id(h)] = h_vars

        # y per (column, position): 1 (fixed), a sum of the household's x, or absent (0)
        terms: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        for h in self.households:
            for j, xj in enumerate(self._xs[id(h)]):
                if xj is not None:
                    for k, t in h.entries[j]:
                        terms.setdefault((k, t), []).append(xj)
        self.y: dict[tuple[int, int], cp_model.IntVar] = {}
        self.channels: dict[tuple[int, int], cp_model.IntVar] = {}
        for key, xs in terms.items():
            if len(xs) == 1:
                self.y[key] = xs[0]
            else:
                y = m.new_bool_var("")
                m.add(y == sum(xs))
                self.y[key] = self.channels[key] = y
        # running counts: counts[k][t] = (variable part or None, constant part) for the first t
        self.counts: list[list[tuple[cp_model.IntVar | None, int]]] = []
        for k, col in enumerate(self.columns):
            run: list[tuple[cp_model.IntVar | None, int]] = [(None, 0)]
            n_vars = 0
            for t in range(1, len(col.keys) + 1):
                var, const = run[-1]
                if col.fixed[t]:
                    run.append((var, const + 1))
                elif (k, t) in self.y:
                    y = self.y[(k, t)]
                    n_vars += 1
                    if var is None:
                        run.append((y, const))
                    else:
                        p = m.new_int_var(0, min(n_vars, col.capacity), "")
                        m.add(p == var + y)
                        run.append((p, const))
                else:
                    run.append((var, const))
            var, const = run[-1]
            if var is not None:
                m.add(var <= col.capacity - const)
            elif const > col.capacity:
                m.add_bool_or([])  # fixed seats beyond capacity: no matching
            self.counts.append(run)
        self.fixed_prefix = [list(itertools.accumulate(col.fixed)) for col in self.columns]

        for h in self.households:
            self._stability(h)

        weights = []
        constant = 0
        for h in self.households:
            for j, xj in enumerate(self._xs[id(h)]):
                w = sum(1 for d in h.options[j] if d is not None)
                if xj is not None and w:
                    weights.append((xj, w))
            if h.forced is not None:
                constant += sum(1 for d in h.options[h.forced] if d is not None)
        self.constant = constant
        placed = sum(w * x for x, w in weights)
        if self.slack_mode:
            m.minimize((len(self.instance.children) + 1) * sum(self.slack) - placed)
        else:
            m.maximize(placed)

    def _stability(self, h: _Household) -> None:
        """Every option better than the last is held (α) or refused at one of its (facility, age)."""
        m = self.model
        xs = self._xs[id(h)]
        held_so_far: list[cp_model.IntVar] = []
        # from its last possible option on, the household holds it or better: nothing to require
        last = h.forced if h.forced is not None else max(j for j, a in enumerate(h.alive) if a)
        for j in range(last):
            if xs[j] is not None:
                held_so_far.append(xs[j])  # type: ignore[arg-type]
            refusals: list[tuple[Any, int]] = []
            statically_refused = False
            needed = False
            for g in self._groups(h, j):
                if g.staying:
                    continue
                needed = True
                col = self.columns[g.col]
                threshold = col.capacity - g.n + 1
                fixed_above = self.fixed_prefix[g.col][g.worst - 1] - sum(
                    self.columns[g.col].fixed[t] for t in g.own_above
                )
                if fixed_above >= threshold:
                    statically_refused = True
                    break
                var, _const = self.counts[g.col][g.worst - 1]
                own = [self.y[(g.col, t)] for t in g.own_above if (g.col, t) in self.y]
                if var is None and not own:
                    continue  # a constant below the threshold: this (facility, age) admits
                expr: Any = (var if var is not None else 0) + fixed_above - sum(own)
                refusals.append((expr, threshold))
            if statically_refused or not needed:
                continue
            held: Any = sum(held_so_far) if len(held_so_far) < 16 else self._prefix(h, j)
            if self.slack_mode:
                beta = m.new_bool_var("")
                self.slack.append(beta)
                held = held + beta
            if len(refusals) == 1:
                expr, threshold = refusals[0]
                m.add(expr + threshold * held >= threshold)
            else:
                flags = []
                for expr, threshold in refusals:
                    b = m.new_bool_var("")
                    m.add(expr >= threshold * b)
                    flags.append(b)
                m.add(held + sum(flags) >= 1)

    def _prefix(self, h: _Household, j: int) -> cp_model.IntVar:
        """α = 1 if the household got option ``j`` or better, as a chain of variables (long lists)."""
        chain = self._chains.setdefault(id(h), [])
        xs = self._xs[id(h)]
        while len(chain) <= j:
            i = len(chain)
            a = self.model.new_bool_var("")
            x = xs[i]
            terms: list[Any] = [] if not chain else [chain[-1]]
            if x is not None:
                terms.append(x)
            self.model.add(a == sum(terms))
            chain.append(a)
        return chain[j]

    def hint(self, assignment: dict[str, str | None]) -> None:
        """Hint the households' options (and the derived counts) from an assignment."""
        m = self.model
        chosen: set[tuple[int, int]] = set()
        for h in self.households:
            outcome = tuple(assignment.get(c.id) for c in h.kids)
            j = h.options.index(outcome) if outcome in h.options else h.forced
            if j is None:
                continue
            for i, x in enumerate(self._xs[id(h)]):
                if x is not None:
                    m.add_hint(x, i == j)
            chosen.update(h.entries[j])
        for key, y in self.channels.items():
            m.add_hint(y, key in chosen)
        for beta in self.slack:  # every row waived: feasible whatever the hint's coalitions
            m.add_hint(beta, True)

    def complete_hint(self, seconds: float) -> None:
        """Turn the hint into a full solution: solve with the households' options fixed to it (the
        slack β and the counts follow), then hint every variable with that solution."""
        fixed = self.model.clone()
        proto = self.model.proto
        hinted = dict(zip(proto.solution_hint.vars, proto.solution_hint.values, strict=True))
        for h in self.households:
            for x in self._xs[id(h)]:
                if x is not None and x.index in hinted:
                    var = fixed.get_bool_var_from_proto_index(x.index)
                    fixed.add(var == hinted[x.index])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = WORKERS
        solver.parameters.max_time_in_seconds = max(MIN_SECONDS, seconds)
        if solver.solve(fixed) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.model.clear_hints()
            values = solver.response_proto.solution
            for i in range(len(proto.variables)):
                self.model.add_hint(self.model.get_int_var_from_proto_index(i), values[i])

    def assignment(self, solver: cp_model.CpSolver) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for h in self.households:
            j = h.forced
            if j is None:
                j = next(
                    i for i, x in enumerate(self._xs[id(h)]) if x is not None and solver.boolean_value(x)
                )
            for c, d in zip(h.kids, h.options[j], strict=True):
                out[c.id] = d
        return out


@solvers.register("exact")
class ExactSolver(Solver):
    verbose_name = "厳密解法（CP-SAT: ブロッキング提携なし・内定数最大）"

    def solve(self, instance: Instance, *, time_limit: float | None = None) -> Result:
        started = time.perf_counter()
        budget = DEFAULT_TIME_LIMIT if time_limit is None else time_limit

        def left() -> float:
            return budget - (time.perf_counter() - started)

        start = StableSolver().solve(instance, rounds=HINT_ROUNDS)
        notes: list[str] = []
        status, assignment = "UNKNOWN", start.assignment
        if left() > MIN_SECONDS:
            model = _Model(instance, slack=False)
            model.hint(start.assignment)
            status, found = self._run(model, left())
            if status == "INFEASIBLE":
                notes.append(
                    "【N301】ブロッキング提携のない（安定な）マッチングは存在しません。"
                    "提携の数を最小にし、その中で内定数を最大にしました。"
                )
                status, found = "UNKNOWN", None
                start = StableSolver().solve(instance)  # with its repairs: fewer coalitions to start from
                if left() > MIN_SECONDS:
                    model = _Model(instance, slack=True)
                    model.hint(start.assignment)
                    model.complete_hint(left() / 4)
                    status, found = self._run(model, left())
            if found is not None:
                assignment = found
        if status == "FEASIBLE":
            notes.append("【N302】制限時間内に最適性を証明できませんでした（実行可能解を返します）。")
        strict = not any("N301" in n for n in notes)
        if status == "OPTIMAL" and strict:  # stable by construction (the caller's verifier rechecks)
            stats = make_stats(instance, assignment, time.perf_counter() - started)
            return Result("exact", assignment, stats, notes, True, status=status)
        if start.stable is None:  # the hint was deferred acceptance only: repair it to compare/fall back
            start = StableSolver().solve(instance)
        report = verify(instance, assignment)
        if status not in ("OPTIMAL", "FEASIBLE") or (
            status == "FEASIBLE"
            and _score(instance, report, assignment)
            > _score(instance, verify(instance, start), start.assignment)
        ):
            status, assignment = "heuristic", start.assignment
            notes.append("【N303】制限時間内に CP-SAT の解が stable を上回らず、stable の結果を返しました。")
            notes += start.notes
            report = verify(instance, assignment)
        seconds = time.perf_counter() - started
        stats = make_stats(instance, assignment, seconds)
        return Result("exact", assignment, stats, notes, not report.blocking, status=status)

    @staticmethod
    def _run(model: _Model, seconds: float) -> tuple[str, dict[str, str | None] | None]:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = WORKERS
        solver.parameters.max_time_in_seconds = seconds
        status = cp_model.CpSolver.status_name(solver, solver.solve(model.model))
        found = model.assignment(solver) if status in ("OPTIMAL", "FEASIBLE") else None
        return status, found


def _score(instance: Instance, report: Report, assignment: dict[str, str | None]) -> tuple[int, int]:
    """Smaller is better: blocking coalitions, then children left without a seat."""
    return len(report.blocking), sum(1 for c in instance.children if assignment.get(c.id) is None)
