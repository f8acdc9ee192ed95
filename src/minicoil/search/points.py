"""What travels between the model and an engine: encoded queries and encoded documents.

Kept apart from both sides so that a benchmark can time search without the model
(:meth:`SearchIndex.search_encoded`) and can ingest synthetic vectors without a forward pass
(:meth:`SearchIndex.add_encoded`). Only numpy and :class:`minicoil.sparse.SparseVector`:
cheap to import, no engine, no torch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minicoil.sparse import SparseVector

__all__ = ["BM25", "DENSE", "ID_NAMESPACE", "MINICOIL", "EncodedPoint", "EncodedQuery", "point_id"]

# Vector names of every collection (the point format shared by Edge shards and servers).
MINICOIL, BM25, DENSE = "minicoil", "bm25", "dense"
# Fixed namespace: the same document id gives the same point id on every machine and run.
ID_NAMESPACE = uuid.UUID("6f0c1b1e-3c55-5b8e-9a53-6d696e69636f")


def stored_vector(vector: Any) -> SparseVector | np.ndarray:
    """A vector as an engine returns it (Edge's or qdrant-client's sparse type, or a list of
    floats) as this package's type: both engines store the same points."""
    if hasattr(vector, "indices"):
        return SparseVector(
            np.asarray(vector.indices, dtype=np.int32), np.asarray(vector.values, dtype=np.float32)
        )
    return np.asarray(vector, dtype=np.float32)


def point_id(doc_id: str) -> str:
    """Stable point id of a document id (Qdrant ids must be integers or UUIDs)."""
    return str(uuid.uuid5(ID_NAMESPACE, doc_id))


@dataclass(frozen=True)
class EncodedQuery:
    """A query after its one forward pass: miniCOIL sparse, plain BM25 sparse and dense.

    Any side may be None when the mode searched does not need it (``bm25`` mode needs no
    backbone at all); a search that needs a missing side raises ``ValueError``.
    """

    sparse: SparseVector | None = None
    bm25: SparseVector | None = None
    dense: np.ndarray | None = None

    def vector(self, using: str) -> SparseVector | np.ndarray:
        """The query vector of the named vector ``using`` (``minicoil``, ``bm25``, ``dense``)."""
        vector = {MINICOIL: self.sparse, BM25: self.bm25, DENSE: self.dense}[using]
        if vector is None:
            raise ValueError(f"the encoded query has no {using} vector (encode it for this mode)")
        return vector


@dataclass(frozen=True)
class EncodedPoint:
    """One document ready for an engine: its id, three vectors and the payload.

    The payload holds ``doc_id``, ``title``, ``text`` and ``hash`` (the content hash that
    lets a rerun of ``index`` skip unchanged documents).
    """

    doc_id: str
    sparse: SparseVector
    bm25: SparseVector
    dense: np.ndarray
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return point_id(self.doc_id)

    def full_payload(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, **{k: v for k, v in self.payload.items() if k != "doc_id"}}
