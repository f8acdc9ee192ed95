"""The engine requests behind one weighted hybrid query, planned as two batches.

:func:`minicoil.search.hybrid.hybrid_scores` asks its sides one by one (each side's top-N, then
each side's look-up of the pool). Answering each of those one engine request at a time would
cost six round trips; :class:`HybridPlan` answers the first question of each kind for every
side at once: one batch of top-N queries, then one batch of look-ups of the pool. The scores
are the engine's own, so the fused result is exactly what the hybrid module computes on the
exact scorers.

Fewer requests cannot stay exact: the pool is known only after the top-N queries, and the
fused score divides by the pool's best floored sparse score, which no single prefetch +
formula request can express. One batch of nested prefetches (each side re-scoring the union
of all top-N lists) is exact but ran every top-N three times: slower than two batches.

Where the time went, and why the look-ups look as they do: building a ``HasIdCondition`` of
300 point ids costs about as much as the look-up itself, so every side's look-up shares one
id set (the engine builds its filter once), and asks for the whole pool rather than a
different "missing ids" set per side. Keys are the ids' integers (``native_keys``): ~1,000 keys
pass through the fusion per query, and strings or ``UUID`` objects cost a millisecond there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from minicoil.search import fusion as fuse
from minicoil.search import hybrid
from minicoil.search.engine import Engine, Key, Scored, VectorQuery
from minicoil.search.points import BM25, DENSE, MINICOIL, EncodedQuery

__all__ = ["HybridPlan", "PlanSide", "hybrid_search"]


def hybrid_search(
    engine: Engine,
    encoded: EncodedQuery,
    *,
    fusion: str,
    weight: float,
    floor: float,
    limit: int,
    candidates: int | None,
    rrf_k: int,
) -> Scored:
    """The top ``limit`` of :func:`hybrid.hybrid_scores` for one encoded query: ``rrf`` and
    ``dbsf`` as one engine-side fusion request, ``weighted`` through a :class:`HybridPlan`."""
    n = hybrid.candidate_count(limit, candidates)
    sparse, dense = encoded.vector(MINICOIL), encoded.vector(DENSE)
    if fusion != "weighted":
        return engine.fused(sparse, dense, fusion, limit, n, hybrid.qdrant_rrf_k(rrf_k))  # type: ignore[arg-type]
    vectors: dict[str, Any] = {MINICOIL: sparse, DENSE: dense}
    if floor > 0:
        vectors[BM25] = encoded.vector(BM25)
    plan = HybridPlan(engine, vectors)
    scores = hybrid.hybrid_scores(
        plan.side(MINICOIL),
        plan.side(DENSE),
        fusion="weighted",
        weight=weight,
        floor=floor,
        bm25=plan.side(BM25) if floor > 0 else None,
        candidates=n,
    )
    return fuse.ranked(scores, limit)


class HybridPlan:
    """The engine requests behind one weighted hybrid: every side's top-N in one batch, then
    every side's look-up of the pool in one batch.

    A side whose top-N came back shorter than N already holds every document it scores (a
    sparse side: all documents sharing a word with the query), so it needs no look-up."""

    def __init__(self, engine: Engine, vectors: dict[str, Any]):
        self.engine = engine
        self.vectors = vectors
        self.tops: dict[int, dict[str, Scored]] = {}
        self.looked_up: dict[frozenset[Key], dict[str, dict[Key, float]]] = {}

    def side(self, using: str) -> PlanSide:
        return PlanSide(self, using)

    def top(self, using: str, n: int) -> Scored:
        if n not in self.tops:
            names = list(self.vectors)
            runs = self.engine.search(
                [VectorQuery(u, self.vectors[u], n) for u in names], native_keys=True
            )
            self.tops[n] = dict(zip(names, runs, strict=True))
        return self.tops[n][using]

    def lookup(self, using: str, keys: Collection[Key]) -> dict[Key, float]:
        pool = frozenset(keys)
        if pool not in self.looked_up:
            self.looked_up[pool] = self._lookup_all(pool)
        return self.looked_up[pool][using]

    def _lookup_all(self, pool: frozenset[Key]) -> dict[str, dict[Key, float]]:
        known: dict[str, dict[Key, float]] = {u: {} for u in self.vectors}
        complete: set[str] = set()
        for n, runs in self.tops.items():
            for u, run in runs.items():
                known[u].update(run)
                if len(run) < n:
                    complete.add(u)
        ask = [u for u in self.vectors if u not in complete and not pool <= known[u].keys()]
        # one id set object for every look-up: the engine builds its filter once
        runs = self.engine.search(
            [VectorQuery(u, self.vectors[u], len(pool), pool) for u in ask], native_keys=True
        )
        for u, run in zip(ask, runs, strict=True):
            known[u].update(run)
        return {u: {k: s for k, s in known[u].items() if k in pool} for u in self.vectors}


@dataclass(frozen=True)
class PlanSide:
    """One named vector of a :class:`HybridPlan`, as :class:`minicoil.search.hybrid.Side`."""

    plan: HybridPlan
    using: str

    def top(self, n: int) -> Scored:
        return self.plan.top(self.using, n)

    def lookup(self, keys: Any) -> dict[Key, float]:
        return self.plan.lookup(self.using, keys)
