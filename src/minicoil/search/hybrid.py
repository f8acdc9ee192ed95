"""The hybrid search algorithm, written once: candidate pool, floored sparse side, fusion.

Every hybrid ranking of the project comes from :func:`hybrid_scores`: ``SearchIndex.search``
(its sides are engine queries) and ``minicoil benchmark`` (its sides are the exact scorers of
:mod:`minicoil.search.exact`, the reference). An engine that plans the hybrid as its own
request (prefetch + formula) must return what this function returns on the exact scorers.

A *side* is one scored view of one query, e.g. "miniCOIL scores of this query" (the
:class:`Side` protocol): it can list its best ``n`` documents and give the exact score of any
given documents. The algorithm, for ``fusion="weighted"`` (the default):

1. the pool is the union of each side's top ``candidates`` (miniCOIL, dense, and BM25 when the
   floor is on);
2. every pool member gets every side's exact score (a document outside the dense top-N still
   has a cosine); a sparse side has no score for a document sharing no word with the query,
   which counts as 0;
3. the sparse side is :func:`fusion.floored` (miniCOIL scored with ``floor + (1 - floor) *
   cos``, the BM25 side supplying the floor), then :func:`fusion.weighted_sum` adds ``weight``
   times the cosine.

``rrf`` and ``dbsf`` fuse the two top-N lists as they are (no look-ups, no floor): that is what
a Qdrant prefetch + fusion query computes, and :func:`qdrant_rrf_k` gives the ``Rrf(k)`` that
equals :data:`RRF_K` here.

For an engine, a side's :meth:`Side.top` is a top-N query of one named vector and
:meth:`Side.lookup` a query of the same vector filtered to the given point ids (``limit`` =
their number); keys are whatever identifies a point (point ids, row positions), and must sort
(ties in the final ranking break by key, see :func:`fusion.ranked`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final, Protocol, TypeVar

from minicoil.search import fusion as fuse

__all__ = [
    "FUSIONS",
    "HYBRID_FLOOR",
    "HYBRID_FUSION",
    "HYBRID_WEIGHT",
    "MIN_CANDIDATES",
    "RRF_K",
    "Side",
    "candidate_count",
    "candidate_pool",
    "hybrid_scores",
    "qdrant_rrf_k",
    "rank_fusion",
]

K = TypeVar("K", str, int)

FUSIONS: Final[tuple[str, ...]] = ("rrf", "dbsf", "weighted")

# The default hybrid of ``SearchIndex.search``, ``minicoil search`` and ``minicoil benchmark``:
# ``floored(miniCOIL, BM25, HYBRID_FLOOR)`` then ``weighted_sum(..., dense, HYBRID_WEIGHT)``.
# Chosen on SciFact's train queries, averaged over three fits of the heads (BENCHMARKS.md,
# "The default hybrid"): the weighted sum beats RRF there by 0.025-0.029 NDCG@10, far beyond
# the noise, while RRF (rank-only) stays available as ``fusion="rrf"``. Floor 0.75 with w 1.5,
# 2 and 3 lie within 0.0003 of each other on train (a plateau), so w 3 is kept.
HYBRID_FUSION: Final = "weighted"
HYBRID_WEIGHT: Final = 3.0
HYBRID_FLOOR: Final = 0.75

# RRF's k of the original paper; ranks count from 1 here (Qdrant's from 0, see qdrant_rrf_k).
RRF_K: Final = 60
# Each side contributes its top max(limit, MIN_CANDIDATES): enough that a document ranked low
# on one side but high on the other still reaches the fused top 100 on SciFact.
MIN_CANDIDATES: Final = 100


class Side(Protocol[K]):
    """One query's scores on one vector (miniCOIL, BM25 or dense), as the hybrid needs them."""

    def top(self, n: int) -> list[tuple[K, float]]:
        """The best ``n`` ``(key, score)`` pairs, best first (fewer if fewer documents match)."""
        ...

    def lookup(self, keys: Collection[K]) -> Mapping[K, float]:
        """The exact score of each of ``keys`` that has one; a sparse side omits documents
        sharing no index with the query, a dense side scores every document."""
        ...


def candidate_count(limit: int, candidates: int | None = None) -> int:
    """How many documents each side contributes: ``candidates`` (default ``max(limit,
    MIN_CANDIDATES)``), never fewer than ``limit``."""
    return max(candidates or max(limit, MIN_CANDIDATES), limit)


def qdrant_rrf_k(k: float = RRF_K) -> int:
    """Qdrant's ``Rrf(k)`` giving :func:`fusion.rrf`'s scores for ``k``: Qdrant ranks from 0."""
    return int(k) + 1


def candidate_pool(sides: Collection[Side[K]], candidates: int) -> set[K]:
    """The union of each side's top ``candidates`` keys."""
    pool: set[K] = set()
    for side in sides:
        pool.update(key for key, _ in side.top(candidates))
    return pool


def rank_fusion(fusion: str, runs: list[Mapping[K, float]], rrf_k: float = RRF_K) -> dict[K, float]:
    """``rrf`` or ``dbsf`` of ready runs (each side's top-N), as a Qdrant fusion query does."""
    if fusion == "rrf":
        return fuse.rrf(runs, k=rrf_k)
    if fusion == "dbsf":
        return fuse.dbsf(runs)
    raise ValueError(f"rank fusion must be rrf or dbsf, got {fusion!r}")


def hybrid_scores(
    sparse: Side[K],
    dense: Side[K],
    *,
    fusion: str = HYBRID_FUSION,
    weight: float = HYBRID_WEIGHT,
    floor: float = HYBRID_FLOOR,
    bm25: Side[K] | None = None,
    candidates: int = MIN_CANDIDATES,
    rrf_k: float = RRF_K,
) -> dict[K, float]:
    """Fused score of every candidate of one query (rank with :func:`fusion.ranked`).

    ``weighted`` follows the module's three steps; the floor applies only when ``bm25`` is
    given and ``floor`` > 0 (``floor=0`` or no BM25 side is plain miniCOIL + dense).
    ``rrf``/``dbsf`` fuse the top ``candidates`` of ``sparse`` and ``dense`` and ignore
    ``weight``, ``floor`` and ``bm25``.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be between 0 and 1, got {floor}")
    if fusion != "weighted":
        runs = [dict(sparse.top(candidates)), dict(dense.top(candidates))]
        return rank_fusion(fusion, runs, rrf_k)
    floor_side = bm25 if floor > 0 else None
    sides = [sparse, dense] if floor_side is None else [sparse, dense, floor_side]
    pool = candidate_pool(sides, candidates)
    sparse_run = dict(sparse.lookup(pool))
    if floor_side is not None:
        sparse_run = fuse.floored(sparse_run, floor_side.lookup(pool), floor)
    return fuse.weighted_sum(sparse_run, dense.lookup(pool), weight)
