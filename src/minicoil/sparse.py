"""BM25 term weights and the sparse index layout, as small pure functions.

The layout is the de-facto miniCOIL format that Qdrant users know (see the reference doc):

- vocabulary word with id ``i`` (1..V) and unit meaning ``u`` (dim values): indices
  ``dim*i .. dim*i + dim-1``, values ``w * u``;
- any other word: one index ``shift + abs(murmur3_32(stem, seed 0)) % (2^31 - 1 - shift)`` with
  ``shift = ((V*dim) // 32000 + 2) * 32000``, value ``w``;

where ``w`` is the BM25 term frequency part on the document side and 1 on the query side (the
IDF comes from Qdrant's IDF modifier at search time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mmh3
import numpy as np

if TYPE_CHECKING:
    from qdrant_client import models

INT32_MAX = 2**31 - 1
GAP = 32000


def bm25_tf(count: np.ndarray | float, doc_len: float, avg_len: float, k: float, b: float) -> Any:
    """BM25's saturated term frequency: c*(k+1) / (c + k*(1 - b + b*|d|/avg_len))."""
    if avg_len <= 0:
        raise ValueError(f"avg_len must be positive, got {avg_len}")
    return count * (k + 1.0) / (count + k * (1.0 - b + b * doc_len / avg_len))


def oov_shift(vocab_size: int, dim: int) -> int:
    """First index of the hashed range: past every vocabulary index, with a gap to spare."""
    return ((vocab_size * dim) // GAP + 2) * GAP


def oov_index(stem: str, shift: int) -> int:
    """Index of a word without a head: murmur3 of its stem, folded above ``shift``."""
    return shift + abs(mmh3.hash(stem, 0, signed=True)) % (INT32_MAX - shift)


@dataclass(frozen=True)
class SparseVector:
    """Sorted unique non-negative int32 indices with float32 values.

    Converts to ``qdrant_client.models.SparseVector`` with :meth:`to_qdrant`, and to a plain
    dict for JSON with :meth:`to_dict`.
    """

    indices: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def to_qdrant(self) -> models.SparseVector:
        from qdrant_client import models

        return models.SparseVector(indices=self.indices.tolist(), values=self.values.tolist())

    def to_dict(self) -> dict[str, list[Any]]:
        return {"indices": self.indices.tolist(), "values": self.values.tolist()}

    def as_dict(self) -> dict[int, float]:
        """index -> value, handy for scoring by hand."""
        return dict(zip(self.indices.tolist(), self.values.tolist(), strict=True))

    def dot(self, other: SparseVector) -> float:
        _, i, j = np.intersect1d(
            self.indices, other.indices, assume_unique=True, return_indices=True
        )
        return float(np.dot(self.values[i].astype(np.float64), other.values[j].astype(np.float64)))


def build_sparse(
    vocab_ids: Sequence[int],
    meanings: np.ndarray,
    vocab_weights: Sequence[float],
    oov_indices: Sequence[int],
    oov_weights: Sequence[float],
    dim: int,
) -> SparseVector:
    """Assemble one text's sparse vector from its vocabulary words and hashed words.

    ``vocab_ids`` must be unique, ``oov_indices`` too (callers aggregate per index first).
    """
    ids = np.asarray(vocab_ids, dtype=np.int64)
    vocab_idx = (ids[:, None] * dim + np.arange(dim)[None, :]).reshape(-1)
    vocab_val = (
        np.asarray(meanings, dtype=np.float32).reshape(len(ids), dim)
        * np.asarray(vocab_weights, dtype=np.float32)[:, None]
    ).reshape(-1)
    indices = np.concatenate([vocab_idx, np.asarray(oov_indices, dtype=np.int64)])
    values = np.concatenate([vocab_val, np.asarray(oov_weights, dtype=np.float32)])
    order = np.argsort(indices, kind="stable")
    return SparseVector(indices[order].astype(np.int32), values[order].astype(np.float32))
