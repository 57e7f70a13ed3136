"""Solvers as plugins (``solvers["rule"]``, ``solvers["stable"]``) and the result they return."""

from __future__ import annotations

from madoguchi.core.registry import Plugin, Registry
from madoguchi.nursery.instance import Instance
from madoguchi.nursery.result import Result, Stats, make_stats

__all__ = ["Result", "Solver", "Stats", "make_stats", "solvers"]


class Solver(Plugin):
    """Contract: ``solve(instance)`` returns a ``Result`` for every child of the instance."""

    def solve(self, instance: Instance) -> Result:
        raise NotImplementedError


solvers: Registry[Solver] = Registry("nursery.solvers")

from madoguchi.nursery.solvers import rule, stable  # noqa: E402, F401  (register the plugins)
