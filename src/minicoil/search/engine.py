"""The engine interface under :class:`~minicoil.search.qdrant.SearchIndex`.

Two implementations: :mod:`~minicoil.search.edge` (Qdrant Edge in this process, the embedded
default) and :mod:`~minicoil.search.server` (a Qdrant server through qdrant-client). Everything
above it - encoding, incremental indexing, model checks, the hybrid algorithm - is shared, so
both give the same hits for the same collection. Keys are point ids as strings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from minicoil.search.points import EncodedPoint
from minicoil.sparse import SparseVector

__all__ = ["Engine", "Scored", "StoredPoint", "VectorQuery"]

Scored = list[tuple[str, float]]


@dataclass(frozen=True)
class VectorQuery:
    """One vector query: its named vector, the query vector, how many results, and
    optionally the point ids it is restricted to (a look-up of those points' scores)."""

    using: str
    vector: SparseVector | np.ndarray
    limit: int
    ids: Collection[str] | None = None


@dataclass(frozen=True)
class StoredPoint:
    """A point as stored: id, named vectors (sparse as SparseVector, dense as array), payload."""

    id: str
    vectors: dict[str, SparseVector | np.ndarray]
    payload: dict[str, Any]


class Engine(Protocol):
    """What :class:`SearchIndex` needs from a vector engine holding one collection."""

    location: str

    def exists(self) -> bool:
        """Whether the collection exists (it may still lack minicoil metadata)."""
        ...

    def metadata(self) -> dict[str, Any] | None:
        """The collection's minicoil metadata, or None."""
        ...

    def create(self, dense_size: int, metadata: dict[str, Any]) -> None:
        """(Re)create the collection empty, with ``metadata``; an existing one is dropped."""
        ...

    def write_metadata(self, metadata: dict[str, Any]) -> None: ...

    def count(self) -> int: ...

    def upsert(self, points: Sequence[EncodedPoint]) -> None: ...

    def delete(self, point_ids: Sequence[str]) -> None: ...

    def payloads(self, point_ids: Sequence[str], fields: Sequence[str] | None) -> dict[str, dict]:
        """Payload (all fields, or only ``fields``) of each existing point of ``point_ids``."""
        ...

    def search(self, queries: Sequence[VectorQuery]) -> list[Scored]:
        """Each query's ``(point id, score)`` best first, in one planned batch where possible.

        Sparse scores use IDF statistics of the live points (exact after updates/deletes)."""
        ...

    def fused(
        self,
        sparse: SparseVector | None,
        dense: np.ndarray,
        fusion: str,
        limit: int,
        candidates: int,
        rrf_k: int,
    ) -> Scored:
        """Engine-side ``rrf``/``dbsf`` of the miniCOIL and dense top ``candidates``."""
        ...

    def points(self, batch: int = 256) -> Iterator[StoredPoint]:
        """Every point with vectors and payload (for copying a collection)."""
        ...

    def finish_bulk(self) -> None:
        """Make a bulk of writes durable and fast to search (flush, optimize)."""
        ...

    def close(self) -> None: ...
