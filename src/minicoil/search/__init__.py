"""Search: exact in-process scoring, score fusion, and a Qdrant-backed index.

Every name below is imported on first use (PEP 562): the CLI checks collections through
:mod:`minicoil.search.store` and must answer in well under a second, so importing this package
must not pull in scipy (``exact``), an engine or a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "ExactDense": "exact",
    "ExactSparse": "exact",
    "IndexFileError": "exact",
    "qdrant_idf": "exact",
    "dbsf": "fusion",
    "ranked": "fusion",
    "rrf": "fusion",
    "weighted_sum": "fusion",
    "Hit": "qdrant",
    "IndexReport": "qdrant",
    "SearchIndex": "qdrant",
    "SearchIndexError": "qdrant",
    "model_fingerprint": "qdrant",
    "point_id": "qdrant",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
