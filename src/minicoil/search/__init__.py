"""Search: exact in-process scoring, score fusion, and a Qdrant-backed index.

``fusion`` and ``exact`` need only numpy/scipy; ``SearchIndex`` imports its engine (Qdrant
Edge, or qdrant-client for a server) lazily, so ``import minicoil.search`` stays cheap.
"""

from minicoil.search.exact import ExactDense, ExactSparse, IndexFileError, qdrant_idf
from minicoil.search.fusion import dbsf, ranked, rrf, weighted_sum
from minicoil.search.qdrant import (
    Hit,
    IndexReport,
    SearchIndex,
    SearchIndexError,
    model_fingerprint,
    point_id,
)

__all__ = [
    "ExactDense",
    "ExactSparse",
    "Hit",
    "IndexFileError",
    "IndexReport",
    "SearchIndex",
    "SearchIndexError",
    "dbsf",
    "model_fingerprint",
    "point_id",
    "qdrant_idf",
    "ranked",
    "rrf",
    "weighted_sum",
]
