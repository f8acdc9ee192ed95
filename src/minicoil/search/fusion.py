"""Score fusion over per-query runs ``{doc_id: score}``: small pure functions.

They are the arithmetic of :mod:`minicoil.search.hybrid` (which decides what to fuse) and
define the scores an engine-side fusion must reproduce. No function mutates its inputs; each
returns a new ``{doc_id: fused score}`` dict, and :func:`ranked` turns any run into a
deterministic ranking.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

DocId = TypeVar("DocId", str, int)

__all__ = [
    "dbsf",
    "floored",
    "ranked",
    "rrf",
    "weighted_sum",
]

def ranked(run: Mapping[DocId, float], limit: int | None = None) -> list[tuple[DocId, float]]:
    """``(doc_id, score)`` by score descending, ties by doc id ascending.

    A fixed tie-break makes rank-based fusion and top-k cut-offs reproducible run to run.
    """
    items = sorted(run.items(), key=lambda item: (-item[1], item[0]))
    return items if limit is None else items[:limit]


def rrf(runs: Sequence[Mapping[DocId, float]], k: float = 60) -> dict[DocId, float]:
    """Reciprocal rank fusion: ``sum over runs of 1 / (k + rank)``, rank counted from 1.

    Only ranks matter, so runs on incomparable scales (BM25 sums, cosines) fuse safely.
    ``k=60`` is the value of the original paper. Qdrant counts ranks from 0, so its ``Rrf(k)``
    equals this function's ``k - 1``.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    fused: dict[DocId, float] = {}
    for run in runs:
        for rank, (doc_id, _) in enumerate(ranked(run), start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (k + rank)
    return fused


def _distribution_normalised(run: Mapping[DocId, float], clip: bool) -> dict[DocId, float]:
    """Scores mapped linearly so that mean - 3 std -> 0 and mean + 3 std -> 1 (sample std)."""
    if len(run) == 1:
        return dict.fromkeys(run, 0.5)
    scores = list(run.values())
    mean = math.fsum(scores) / len(scores)
    variance = math.fsum((s - mean) ** 2 for s in scores) / (len(scores) - 1)
    if variance == 0.0:
        return dict.fromkeys(run, 0.5)
    std = math.sqrt(variance)
    low, high = mean - 3.0 * std, mean + 3.0 * std
    out = {doc_id: (score - low) / (high - low) for doc_id, score in run.items()}
    if clip:
        out = {doc_id: min(1.0, max(0.0, value)) for doc_id, value in out.items()}
    return out


def dbsf(runs: Sequence[Mapping[DocId, float]], *, clip: bool = False) -> dict[DocId, float]:
    """Distribution-based score fusion, as Qdrant computes it.

    Per run, scores are normalised with the run's mean +- 3 sample standard deviations as 0 and
    1 (a run of one document, or of equal scores, gives 0.5), then summed per document. Qdrant
    does not clip values that fall outside [0, 1] (possible from 11 results on, for outliers
    beyond 3 std), so neither does this by default; ``clip=True`` clips them.
    """
    fused: dict[DocId, float] = {}
    for run in runs:
        if not run:
            continue
        for doc_id, value in _distribution_normalised(run, clip).items():
            fused[doc_id] = fused.get(doc_id, 0.0) + value
    return fused


def weighted_sum(
    sparse_run: Mapping[DocId, float], dense_run: Mapping[DocId, float], weight: float
) -> dict[DocId, float]:
    """``sparse / max(sparse) + weight * dense`` per document; a missing score counts as 0.

    Dividing by the query's best sparse score puts sparse scores (unbounded IDF x tf sums) on
    the scale of cosines, so one ``weight`` works across queries. If no sparse score is
    positive (miniCOIL scores can be negative), the largest absolute value divides instead, so
    the order is never flipped; all-zero sparse scores contribute nothing.
    """
    scale = max(sparse_run.values(), default=0.0)
    if scale <= 0.0:
        scale = max((abs(s) for s in sparse_run.values()), default=0.0)
    fused: dict[DocId, float] = {}
    for doc_id in {**sparse_run, **dense_run}:
        sparse = sparse_run.get(doc_id, 0.0) / scale if scale > 0.0 else 0.0
        fused[doc_id] = sparse + weight * dense_run.get(doc_id, 0.0)
    return fused


def floored(
    minicoil_run: Mapping[DocId, float], bm25_run: Mapping[DocId, float], floor: float
) -> dict[DocId, float]:
    """``(1 - floor) * minicoil + floor * bm25`` per document; a missing score counts as 0.

    This is miniCOIL scored with ``floor + (1 - floor) * cos`` instead of ``cos``, without a
    second index: both scores are sums over the same matched words with the same IDF and BM25
    tf (miniCOIL's ``IDF * tf * cos``, BM25's ``IDF * tf``, and ``IDF * tf`` for words without
    a head in both), so the mix is exact term by term. ``floor=0`` is miniCOIL, ``1`` BM25.
    Both runs must hold every candidate that shares a word with the query.
    """
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be between 0 and 1, got {floor}")
    return {
        doc_id: (1.0 - floor) * minicoil_run.get(doc_id, 0.0) + floor * bm25_run.get(doc_id, 0.0)
        for doc_id in {**minicoil_run, **bm25_run}
    }
