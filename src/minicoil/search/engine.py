"""The engine interface under :class:`~minicoil.search.qdrant.SearchIndex`.

Two implementations: :mod:`~minicoil.search.edge` (Qdrant Edge in this process, the embedded
default) and :mod:`~minicoil.search.server` (a Qdrant server through qdrant-client). Everything
above it - encoding, incremental indexing, model checks, the hybrid algorithm - is shared, so
both give the same hits for the same collection. Keys are point ids as strings, except where
a caller asks for integer keys (``native_keys``, see :meth:`Engine.search`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from minicoil.search.points import EncodedPoint
from minicoil.sparse import SparseVector

__all__ = ["Engine", "Key", "Scored", "StoredPoint", "VectorQuery", "id_of"]

Key = str | int  # a point id string, or its UUID's 128-bit integer (native_keys)
Scored = list[tuple[Any, float]]  # (key, score)


def id_of(key: Key) -> uuid.UUID | str:
    """A point id from a key: an ``int`` key (``native_keys``) is the UUID's 128-bit integer."""
    return uuid.UUID(int=key) if isinstance(key, int) else key


@dataclass(frozen=True)
class VectorQuery:
    """One vector query: its named vector, the query vector, how many results, and
    optionally the point ids it is restricted to (a look-up of those points' scores)."""

    using: str
    vector: SparseVector | np.ndarray
    limit: int
    ids: Collection[Key] | None = None


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

    def search(self, queries: Sequence[VectorQuery], *, native_keys: bool = False) -> list[Scored]:
        """Each query's ``(point id, score)`` best first, in one planned batch where possible.

        Sparse scores use IDF statistics of the live points (exact after updates/deletes).
        ``native_keys``: keys are the ids' 128-bit integers (``uuid.UUID.int``), which sort as
        the id strings do and hash in C: a hybrid query handles ~1,000 keys, and strings or
        ``UUID`` objects (hashed in Python) cost milliseconds there. ``VectorQuery.ids`` takes
        either kind; queries sharing one ``ids`` object share one filter."""
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

    def finish_bulk(self, written: int) -> None:
        """After a write of ``written`` points: make it durable, and optimize when the engine
        judges it worth the time (results are exact either way)."""
        ...

    def optimize(self) -> None:
        """Optimize now (merge segments, build indexes), whatever the policy."""
        ...

    def close(self) -> None: ...
