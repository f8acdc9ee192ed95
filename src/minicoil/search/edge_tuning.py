"""How the embedded engine is tuned: shard configuration, search parameters, when to optimize,
and whether Edge's own IDF statistics can be trusted.

The numbers here are measurements, not guesses (see the comments); they live apart from
:mod:`~minicoil.search.edge` so that changing a policy does not mean reading the shard's
locking and threading code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minicoil.search.points import BM25, DENSE, MINICOIL, EncodedPoint

__all__ = [
    "DENSE_EF",
    "EXACT_DENSE_MAX",
    "IdfState",
    "search_params",
    "shard_config",
    "worth_optimizing",
]

# Dense search. Up to EXACT_DENSE_MAX points brute force (exact; ~2 ms at 10k, 9 ms at 50k),
# above it HNSW. Measured at 50k on SciFact-shaped synthetic vectors (benchmarks/
# bench_search_data.py) on 2 loaded cores: m 16 / ef_construct 100 built in 24 s (m 32 /
# ef_construct 256 took 200 s at 30k), recall@10 against exact 0.995 at ef 64 and 1.000 at
# ef 128 and 256 (0.6-0.9 ms); DENSE_EF keeps a margin over 128. Random Gaussian vectors, far
# harder than embeddings, reach only 0.27 / 0.42 / 0.63 at ef 128 / 256 / 512.
EXACT_DENSE_MAX = 10_000
DENSE_EF = 256
HNSW_M, HNSW_EF_CONSTRUCT = 16, 100
OPTIMIZE_WRITES = 2_000  # a write this large is a bulk: optimize after it
MAX_SEGMENTS = 8

_SPARSE = (MINICOIL, BM25)
# beside the shard: present while Edge's own IDF counts are exact (absent: older or unknown)
IDF_EXACT_FILE = "idf-exact"


class IdfState:
    """Whether Edge's own IDF statistics still equal the exact ones, kept as a marker file.

    Edge counts N and document frequencies in its index, which keeps deleted and replaced
    points and leaves out points with an empty sparse vector. A collection that never had
    any of these (the usual one: indexed once, or only added to) can use Edge's statistics
    as they are. The marker says "still exact": only a new shard creates it, and the first
    write that breaks the statistics removes it before writing, so a process killed in
    between, or a shard of unknown history, errs on the exact (slower) side.
    """

    def __init__(self, folder: Path):
        self.path = folder / IDF_EXACT_FILE
        self.stale = not self.path.exists()

    def mark_stale(self) -> None:
        if not self.stale:
            self.path.unlink(missing_ok=True)
            self.stale = True

    def reset(self) -> None:
        """A new, empty shard: its statistics are exact."""
        self.path.touch()
        self.stale = False

    def before_upsert(self, points: Sequence[EncodedPoint], replaces: bool) -> None:
        """Mark stale before an upsert that ``replaces`` a stored point (or repeats an id) or
        stores an empty sparse vector."""
        if not self.stale and (
            replaces or any(not len(p.sparse) or not len(p.bm25) for p in points)
        ):
            self.mark_stale()


def worth_optimizing(info: Any, written: int) -> bool:
    """Whether a write of ``written`` points should end with ``optimize()``.

    Edge never optimizes by itself, and results are exact either way (sparse IDF over live
    points; dense search of segments without HNSW is brute force), so this is about speed:
    a bulk write (:data:`OPTIMIZE_WRITES` points or more) builds indexes while the user is
    waiting anyway; after small incremental writes it runs only once their growth matters:
    more than :data:`MAX_SEGMENTS` segments (every query visits each one), or more than
    :data:`EXACT_DENSE_MAX` dense vectors outside an HNSW index in a collection that has one
    (each query scans them)."""
    if written >= OPTIMIZE_WRITES or info.segments_count > MAX_SEGMENTS:
        return True
    points = int(info.points_count)
    # indexed_vectors_count counts every named vector in an index: the two sparse ones
    # always, dense ones once HNSW is built; empty sparse vectors make this an estimate
    unindexed_dense = max(0, 3 * points - int(info.indexed_vectors_count))
    return points > EXACT_DENSE_MAX and unindexed_dense > EXACT_DENSE_MAX


def search_params(using: str, n_points: int, idf_stale: bool) -> Any:
    """Search parameters of one query of the named vector ``using``.

    Sparse: Edge's own IDF statistics are exact until a point is deleted or replaced or one
    has an empty sparse vector (:class:`IdfState`); after that, statistics over the live
    points (``IdfParams(corpus=Filter())``), exact always but 3x the cost of a sparse query
    (0.5 -> 1.7 ms at 50k documents). Dense: exact up to :data:`EXACT_DENSE_MAX` points."""
    from qdrant_edge import Filter, IdfParams, SearchParams

    if using in _SPARSE:
        return SearchParams(idf=IdfParams(corpus=Filter())) if idf_stale else None
    if n_points <= EXACT_DENSE_MAX:
        return SearchParams(exact=True)
    return SearchParams(hnsw_ef=DENSE_EF)


def shard_config(dense_size: int) -> Any:
    """Shard configuration. HNSW is built only for segments past :data:`EXACT_DENSE_MAX`
    vectors (``indexing_threshold``, in KB of dense vectors): below it dense search is exact
    anyway, and building the graph is most of what ``optimize()`` costs."""
    from qdrant_edge import (
        Distance,
        EdgeConfig,
        EdgeOptimizersConfig,
        EdgeSparseVectorParams,
        EdgeVectorParams,
        HnswIndexConfig,
        Modifier,
    )

    threshold_kb = EXACT_DENSE_MAX * dense_size * 4 // 1024
    return EdgeConfig(
        vectors={DENSE: EdgeVectorParams(size=dense_size, distance=Distance.Cosine)},
        sparse_vectors={
            MINICOIL: EdgeSparseVectorParams(modifier=Modifier.Idf),
            BM25: EdgeSparseVectorParams(modifier=Modifier.Idf),
        },
        hnsw_config=HnswIndexConfig(
            m=HNSW_M, ef_construct=HNSW_EF_CONSTRUCT, full_scan_threshold=threshold_kb
        ),
        optimizers=EdgeOptimizersConfig(indexing_threshold=threshold_kb),
    )
