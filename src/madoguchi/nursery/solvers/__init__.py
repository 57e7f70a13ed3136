"""Solvers as plugins (``solvers["rule"]``, ``["stable"]``, ``["exact"]``) and the result they return."""

from __future__ import annotations

from madoguchi.core.registry import Plugin, Registry
from madoguchi.nursery.instance import Instance
from madoguchi.nursery.result import Result, Stats, make_stats

__all__ = ["Result", "Solver", "Stats", "make_stats", "solvers"]


class Solver(Plugin):
    """Contract: ``solve(instance)`` returns a ``Result`` for every child of the instance.

    ``time_limit`` (seconds) bounds the search of solvers that search; the others ignore it.
    """

    def solve(self, instance: Instance, *, time_limit: float | None = None) -> Result:
        raise NotImplementedError


solvers: Registry[Solver] = Registry("nursery.solvers")

from madoguchi.nursery.solvers import exact, rule, stable  # noqa: E402, F401  (register the plugins)
