"""Exact in-process search: the reference that Qdrant's results are checked against.

:class:`ExactSparse` scores exactly as a Qdrant sparse vector with ``Modifier.IDF`` does
(``score = sum_i q_i * idf_i * d_i`` with ``idf = ln((N - df + 0.5) / (df + 0.5) + 1)``), and
:class:`ExactDense` is brute-force cosine. Both need nothing but numpy/scipy, so evaluation runs
can be produced without a vector database, and both rank deterministically (score descending,
then document position ascending), which approximate indexes do not promise.

Indices of miniCOIL vectors span the whole int32 range (hashed words), so columns are remapped
to a compact space (the sorted unique indices) before building the CSR matrix.

Both give a query's :class:`ScoredSide` (``.side(query)``): the
:class:`~minicoil.search.hybrid.Side` that :mod:`minicoil.search.hybrid` fuses, so the
benchmark's hybrid and the engine's are one algorithm.

Both persist as a plain ``.npz`` array file plus a ``.json`` sidecar (format, shapes and any
caller metadata such as document ids), readable without this package.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from minicoil.io import atomic_file, read_json
from minicoil.sparse import SparseVector

__all__ = [
    "ExactDense",
    "ExactSparse",
    "IndexFileError",
    "ScoredSide",
    "best_hits",
    "qdrant_idf",
]

FORMAT = "minicoil-exact"
VERSION = 1
_QUERY_BLOCK = 256  # queries scored per sparse/dense product: bounds the result's memory

Hits = list[tuple[int, float]]


class IndexFileError(ValueError):
    """An exact-index file pair is missing, damaged or of another kind; the message names it."""


def qdrant_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """Qdrant's IDF modifier: ``ln((N - df + 0.5) / (df + 0.5) + 1)`` (BM25's, kept positive)."""
    df = np.asarray(df, dtype=np.float64)
    return np.log((n_docs - df + 0.5) / (df + 0.5) + 1.0)


def best_hits(positions: np.ndarray, scores: np.ndarray, k: int) -> Hits:
    """The ``k`` best ``(position, score)`` pairs: score descending, ties by position ascending.

    ``np.argpartition`` alone would cut ties arbitrarily, so everything tied with the k-th
    score is kept before the final lexicographic sort.
    """
    if k <= 0 or len(scores) == 0:
        return []
    if len(scores) > k:
        kth = np.partition(-scores, k - 1)[k - 1]
        keep = -scores <= kth
        positions, scores = positions[keep], scores[keep]
    order = np.lexsort((positions, -scores))[:k]
    return [(int(p), float(s)) for p, s in zip(positions[order], scores[order], strict=True)]


class ScoredSide:
    """One query's scores of every matching document: a :class:`~minicoil.search.hybrid.Side`
    over row positions. The top list is computed once for the largest ``n`` asked."""

    def __init__(self, positions: np.ndarray, scores: np.ndarray):
        self.positions = np.asarray(positions, dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float64)
        self._top: Hits = []
        self._top_n = 0
        self._by_position: dict[int, float] | None = None

    def top(self, n: int) -> Hits:
        if n > self._top_n and len(self._top) == self._top_n:  # a longer list may exist
            self._top, self._top_n = best_hits(self.positions, self.scores, n), n
        return self._top[:n]

    def lookup(self, keys: Collection[int]) -> dict[int, float]:
        if self._by_position is None:
            pairs = zip(self.positions.tolist(), self.scores.tolist(), strict=True)
            self._by_position = dict(pairs)
        have = self._by_position
        return {key: have[key] for key in keys if key in have}


def _paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def _save(path: str | os.PathLike[str], kind: str, arrays: dict[str, np.ndarray], info: dict):
    npz, sidecar = _paths(path)
    with atomic_file(npz, "wb") as handle:
        np.savez(handle, **arrays)
    with atomic_file(sidecar) as handle:
        json.dump({"format": FORMAT, "version": VERSION, "kind": kind, **info}, handle)


def _load(path: str | os.PathLike[str], kind: str) -> tuple[dict[str, np.ndarray], dict]:
    npz, sidecar = _paths(path)
    for file in (npz, sidecar):
        if not file.is_file():
            raise IndexFileError(f"{file}: file not found")
    info = read_json(sidecar, IndexFileError)
    if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("kind") != kind:
        raise IndexFileError(f"{sidecar}: not a {FORMAT} {kind} index")
    if not isinstance(info.get("version"), int) or info["version"] > VERSION:
        raise IndexFileError(f"{sidecar}: unsupported version {info.get('version')!r}")
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise IndexFileError(f"{npz}: cannot read ({exc})") from None
    return arrays, info


class ExactSparse:
    """Documents as a CSR matrix over compact columns, with Qdrant's per-column IDF.

    ``N`` is the number of documents, empty vectors included: Qdrant counts every point that
    carries the vector, so :class:`~minicoil.search.qdrant.SearchIndex` stores empty ones too.
    An index is immutable once built: searches share one transposed copy of the matrix.
    """

    def __init__(
        self,
        matrix: sp.csr_matrix,
        columns: np.ndarray,
        metadata: Mapping[str, Any] | None = None,
    ):
        if matrix.shape[1] != len(columns):
            raise ValueError(f"matrix has {matrix.shape[1]} columns, mapping has {len(columns)}")
        self.matrix = matrix.tocsr()
        self.columns = np.asarray(columns, dtype=np.int64)  # compact column -> original index
        self.metadata: dict[str, Any] = dict(metadata or {})
        df = np.bincount(self.matrix.indices, minlength=len(self.columns))
        self.idf = qdrant_idf(df, self.n_docs)

    @property
    def n_docs(self) -> int:
        return int(self.matrix.shape[0])

    @classmethod
    def build(
        cls, vectors: Sequence[SparseVector], metadata: Mapping[str, Any] | None = None
    ) -> ExactSparse:
        """Stack document vectors (sorted unique indices each, as Qdrant requires)."""
        lengths = np.fromiter((len(v.indices) for v in vectors), dtype=np.int64, count=len(vectors))
        indptr = np.zeros(len(vectors) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if indptr[-1]:
            raw = np.concatenate([np.asarray(v.indices, dtype=np.int64) for v in vectors])
            data = np.concatenate([np.asarray(v.values, dtype=np.float32) for v in vectors])
        else:
            raw, data = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        row_of = np.repeat(np.arange(len(vectors)), lengths)
        bad = np.flatnonzero((np.diff(raw) <= 0) & (row_of[1:] == row_of[:-1]))
        if len(bad):
            raise ValueError(f"vector {int(row_of[bad[0]])}: indices must be sorted and unique")
        if (raw < 0).any():
            raise ValueError("sparse indices must be non-negative")
        columns, compact = np.unique(raw, return_inverse=True)
        matrix = sp.csr_matrix(
            (data, compact.astype(np.int32), indptr), shape=(len(vectors), len(columns))
        )
        return cls(matrix, columns, metadata)

    def _query_rows(self, queries: Sequence[SparseVector]) -> sp.csr_matrix:
        """Queries in the compact column space, pre-multiplied by IDF (what Qdrant does)."""
        rows, cols, vals = [], [], []
        for row, query in enumerate(queries):
            idx = np.asarray(query.indices, dtype=np.int64)
            pos = np.searchsorted(self.columns, idx)
            found = pos < len(self.columns)
            found[found] = self.columns[pos[found]] == idx[found]
            cols.append(pos[found])
            vals.append(np.asarray(query.values, dtype=np.float64)[found] * self.idf[pos[found]])
            rows.append(np.full(int(found.sum()), row, dtype=np.int64))
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(queries), len(self.columns)),
        )

    @cached_property
    def _transposed(self) -> sp.csr_matrix:
        """Documents by column, built on first use: O(corpus), so never once per query.

        Stored as float64, the type queries are scored in: scipy would otherwise convert the
        whole float32 matrix on every product (the same values, so the same scores)."""
        return self.matrix.T.tocsr().astype(np.float64)

    def prepare(self) -> ExactSparse:
        """Build what every search shares now (at index time) instead of on the first query."""
        _ = self._transposed
        return self

    def query_scores(self, query: SparseVector) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, scores)`` of every document sharing an index with ``query``, with
        the same arithmetic as :meth:`search`."""
        result = (self._query_rows([query]) @ self._transposed).tocsr()
        return result.indices.astype(np.int64), result.data.astype(np.float64)

    def scores(self, query: SparseVector) -> dict[int, float]:
        """Score of every document sharing at least one index with ``query``."""
        positions, scores = self.query_scores(query)
        return dict(zip(positions.tolist(), scores.tolist(), strict=True))

    def side(self, query: SparseVector) -> ScoredSide:
        """``query``'s scores as a hybrid side (keys: row positions)."""
        return ScoredSide(*self.query_scores(query))

    def search(self, queries: Sequence[SparseVector], top_k: int = 10) -> list[Hits]:
        """Top documents per query as ``(position, score)``, like a Qdrant sparse query:
        only documents sharing an index with the query are candidates."""
        out: list[Hits] = []
        doc_t = self._transposed
        for start in range(0, len(queries), _QUERY_BLOCK):
            block = self._query_rows(queries[start : start + _QUERY_BLOCK])
            result = (block @ doc_t).tocsr()
            for row in range(result.shape[0]):
                lo, hi = result.indptr[row], result.indptr[row + 1]
                out.append(best_hits(result.indices[lo:hi], result.data[lo:hi], top_k))
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path.npz`` (CSR arrays, column mapping) and ``path.json`` atomically."""
        _save(
            path,
            "sparse",
            {
                "data": self.matrix.data,
                "indices": self.matrix.indices,
                "indptr": self.matrix.indptr,
                "columns": self.columns,
            },
            {"n_docs": self.n_docs, "n_columns": len(self.columns), "metadata": self.metadata},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ExactSparse:
        arrays, info = _load(path, "sparse")
        try:
            matrix = sp.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=(int(info["n_docs"]), int(info["n_columns"])),
            )
            return cls(matrix, arrays["columns"], info.get("metadata"))
        except (KeyError, ValueError, TypeError) as exc:
            raise IndexFileError(f"{_paths(path)[0]}: inconsistent sparse index ({exc})") from None


class ExactDense:
    """Brute-force cosine: rows are unit-normalised once, queries at search time."""

    def __init__(self, vectors: np.ndarray, metadata: Mapping[str, Any] | None = None):
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"expected a 2-d array of vectors, got shape {matrix.shape}")
        self.matrix = _unit_rows(matrix)
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def n_docs(self) -> int:
        return int(self.matrix.shape[0])

    def query_scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine of one query with every document. The same arithmetic as :meth:`search`,
        except that float32 BLAS may round one row in the last bit differently from a block."""
        unit = _unit_rows(np.atleast_2d(np.asarray(query, dtype=np.float32)))
        if unit.shape != (1, self.matrix.shape[1]):
            raise ValueError(f"query has shape {unit.shape}, documents dim {self.matrix.shape[1]}")
        return (unit @ self.matrix.T)[0].astype(np.float64)

    def side(self, query: np.ndarray) -> ScoredSide:
        """``query``'s cosines as a hybrid side (keys: row positions)."""
        return ScoredSide(np.arange(self.n_docs), self.query_scores(query))

    def search(self, queries: np.ndarray | Sequence[np.ndarray], top_k: int = 10) -> list[Hits]:
        """Top documents per query by cosine, as ``(position, score)``."""
        q = _unit_rows(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        if q.shape[1] != self.matrix.shape[1]:
            raise ValueError(f"queries have dim {q.shape[1]}, documents {self.matrix.shape[1]}")
        positions = np.arange(self.n_docs)
        out: list[Hits] = []
        for start in range(0, len(q), _QUERY_BLOCK):
            block = q[start : start + _QUERY_BLOCK] @ self.matrix.T
            out.extend(best_hits(positions, row.astype(np.float64), top_k) for row in block)
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``path.npz`` (the unit vectors) and ``path.json`` atomically."""
        _save(
            path,
            "dense",
            {"vectors": self.matrix},
            {"n_docs": self.n_docs, "dim": int(self.matrix.shape[1]), "metadata": self.metadata},
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ExactDense:
        arrays, info = _load(path, "dense")
        if "vectors" not in arrays:
            raise IndexFileError(f"{_paths(path)[0]}: no 'vectors' array")
        return cls(arrays["vectors"], info.get("metadata"))


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero (cosine 0 with everything)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
