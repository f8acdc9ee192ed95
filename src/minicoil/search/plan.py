"""The engine requests behind one weighted hybrid query, planned as two batches.

:func:`minicoil.search.hybrid.hybrid_scores` asks its sides one by one (each side's top-N, then
each side's look-up of the pool). Answering each of those one engine request at a time would
cost six round trips; :class:`HybridPlan` answers the first question of each kind for every
side at once: one batch of top-N queries, then one batch of look-ups restricted to the pool
ids that a side's top-N did not already score. The scores are the engine's own, so the fused
result is exactly what the hybrid module computes on the exact scorers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from minicoil.search.engine import Engine, Scored, VectorQuery

__all__ = ["HybridPlan"]


class HybridPlan:
    """The engine requests behind one weighted hybrid: every side's top-N in one batch, then
    every missing look-up in one batch (a score already in a side's top-N is exact already).

    :func:`hybrid.hybrid_scores` asks side by side; this answers the first question of each
    kind for all sides at once, so a hybrid query costs two engine round trips."""

    def __init__(self, engine: Engine, vectors: dict[str, Any]):
        self.engine = engine
        self.vectors = vectors
        self.tops: dict[int, dict[str, Scored]] = {}
        self.looked_up: dict[frozenset[str], dict[str, dict[str, float]]] = {}

    def side(self, using: str) -> PlanSide:
        return PlanSide(self, using)

    def top(self, using: str, n: int) -> Scored:
        if n not in self.tops:
            names = list(self.vectors)
            runs = self.engine.search([VectorQuery(u, self.vectors[u], n) for u in names])
            self.tops[n] = dict(zip(names, runs, strict=True))
        return self.tops[n][using]

    def lookup(self, using: str, keys: Collection[str]) -> dict[str, float]:
        pool = frozenset(keys)
        if pool not in self.looked_up:
            known = {u: {} for u in self.vectors}  # type: dict[str, dict[str, float]]
            for runs in self.tops.values():
                for u, run in runs.items():
                    known[u].update(run)
            names = list(self.vectors)
            need = {u: sorted(pool - known[u].keys()) for u in names}
            ask = [u for u in names if need[u]]
            runs = self.engine.search(
                [VectorQuery(u, self.vectors[u], len(need[u]), need[u]) for u in ask]
            )
            for u, run in zip(ask, runs, strict=True):
                known[u].update(run)
            self.looked_up[pool] = {
                u: {k: s for k, s in known[u].items() if k in pool} for u in names
            }
        return self.looked_up[pool][using]


@dataclass(frozen=True)
class PlanSide:
    plan: HybridPlan
    using: str

    def top(self, n: int) -> Scored:
        return self.plan.top(self.using, n)

    def lookup(self, keys: Any) -> dict[str, float]:
        return self.plan.lookup(self.using, keys)
