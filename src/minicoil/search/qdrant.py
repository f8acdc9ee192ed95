"""A collection holding miniCOIL, BM25 and dense vectors of a corpus, and search over it.

One :class:`SearchIndex` works the same on the embedded engine (Qdrant Edge, a folder on disk,
the default, nothing to run) and on a Qdrant server (``url=`` or ``client=``); the engines sit
behind :class:`~minicoil.search.engine.Engine`. Each point carries three named vectors from one
forward pass per document:

- ``minicoil``: the model's sparse vector, IDF modifier;
- ``bm25``: plain BM25 with the same words, stems and stopwords (``MiniCOIL.bm25``), also IDF;
- ``dense``: the backbone's sentence embedding, cosine.

Point ids are ``uuid5`` of the document id; the payload keeps ``doc_id``, ``title``, ``text``
and ``hash`` (a content hash), so indexing a corpus again re-encodes only what changed.

The collection records the model fingerprint and the corpus statistics (``avg_len`` used for
every document's BM25 tf, ``n_docs``). Adding to or searching a collection built with another
model is refused with an error that says what differs.

Threads: one :class:`SearchIndex`, or several on the same folder, may index and search from
many threads at once; a search during indexing sees the points upserted so far.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from minicoil.search import hybrid
from minicoil.search.engine import Engine, Scored, VectorQuery, id_of
from minicoil.search.fingerprint import (
    SearchIndexError,
    check_metadata,
    metadata_record,
    model_fingerprint,
)
from minicoil.search.indexing import IndexReport, add_points, index_documents
from minicoil.search.plan import hybrid_search
from minicoil.search.points import BM25, DENSE, MINICOIL, EncodedPoint, EncodedQuery, point_id
from minicoil.search.store import (
    check_collection_name,
    default_store_path,
)
from minicoil.sparse import SparseVector
from minicoil.stats import CorpusStats

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

    from minicoil.model import MiniCOIL

__all__ = [
    "Hit",
    "IndexReport",
    "SearchIndex",
    "SearchIndexError",
    "model_fingerprint",
    "point_id",
]

Mode = Literal["sparse", "bm25", "dense", "hybrid"]
Fusion = Literal["rrf", "dbsf", "weighted"]
MODES: tuple[str, ...] = ("sparse", "bm25", "dense", "hybrid")
FUSIONS = hybrid.FUSIONS
_NAMES = ("doc_id", "title", "text")


@dataclass(frozen=True)
class Hit:
    """One search result: the corpus' document id, the score of the chosen mode, and the
    document's title and text as indexed."""

    doc_id: str
    score: float
    title: str = ""
    text: str = ""


def _engine(
    collection: str, path: Any, url: str | None, client: QdrantClient | None
) -> tuple[Engine, QdrantClient | None]:
    if client is not None or url:
        from minicoil.search.server import ServerEngine

        if client is not None:
            return ServerEngine(client, collection, location="client", owned=False), client
        from qdrant_client import QdrantClient

        # the version check warns before our own error when the server is unreachable
        owned = QdrantClient(url=url, check_compatibility=False)
        return ServerEngine(owned, collection, location=str(url), owned=True), owned
    from minicoil.search.edge import EdgeEngine

    return EdgeEngine(path if path is not None else default_store_path(), collection), None


class SearchIndex:
    """A miniCOIL + BM25 + dense collection bound to one model.

    ``path`` (default :func:`~minicoil.search.store.default_store_path`) selects the embedded
    engine, Qdrant Edge; ``url`` a Qdrant server; ``client`` any ready ``QdrantClient``. The
    index closes what it opened in :meth:`close` (or on leaving a ``with`` block).
    """

    def __init__(
        self,
        model: MiniCOIL,
        collection: str,
        *,
        path: str | os.PathLike[str] | None = None,
        url: str | None = None,
        client: QdrantClient | None = None,
    ):
        if not collection or not collection.strip():
            raise ValueError("collection name must not be empty")
        if client is None and not url:
            check_collection_name(collection)
        self.model = model
        self.collection = collection
        self.engine, self.client = _engine(collection, path, url, client)
        self.location = self.engine.location
        self._bm25: MiniCOIL | None = None
        self._fingerprint: dict[str, Any] | None = None
        self._verified: dict[str, Any] | None = None  # metadata checked against the model

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ model side

    @property
    def fingerprint(self) -> dict[str, Any]:
        """The model's fingerprint, computed once (it hashes the heads and backbone files)."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.model)
        return self._fingerprint

    @property
    def bm25(self) -> MiniCOIL:
        """Plain BM25 with exactly the model's words, stems, stopwords, ``k`` and ``b``."""
        if self._bm25 is None:
            self._bm25 = self.model.as_bm25()
        return self._bm25

    # ------------------------------------------------------------------ collection metadata

    def exists(self) -> bool:
        return self.engine.exists()

    def metadata(self) -> dict[str, Any] | None:
        """The collection's minicoil metadata, or None if it has none (or does not exist)."""
        return self.engine.metadata() if self.exists() else None

    def count(self) -> int:
        return self.engine.count()

    @property
    def n_docs(self) -> int:
        """Documents in the collection now (live points: what IDF is computed over)."""
        self._checked()
        return self.count()

    @property
    def avg_len(self) -> float:
        """The ``avg_len`` every document's BM25 tf was computed with."""
        return float(self._checked()["corpus"]["avg_len"])

    def _checked(self) -> dict[str, Any]:
        if self._verified is None:
            self._verified = self._checked_metadata()
        return self._verified

    def _checked_metadata(self) -> dict[str, Any]:
        """The collection's metadata after checking it was built with this model."""
        if not self.exists():
            raise SearchIndexError(
                f"collection {self.collection!r} not found in {self.location} "
                "(create it with `minicoil index`)"
            )
        return check_metadata(
            self.engine.metadata(), self.fingerprint, f"{self.collection!r} in {self.location}"
        )

    def _record(self, avg_len: float, n_docs: int) -> dict[str, Any]:
        return metadata_record(self.fingerprint, avg_len, n_docs)

    def _create(self, avg_len: float) -> None:
        record = self._record(CorpusStats.coerce(avg_len).avg_len, 0)
        self.engine.create(int(record["model"]["dense_size"]), record)
        self._verified = None

    # ------------------------------------------------------------------ writing

    def index(
        self,
        documents: Iterable[Any] | Mapping[str, str],
        *,
        batch_size: int = 32,
        upsert_batch: int = 256,
        recreate: bool = False,
        progress: bool = True,
    ) -> IndexReport:
        """Encode and upsert documents; incremental and idempotent per document id.

        ``documents``: ``minicoil.data.Document`` objects (their ``indexable_text``, title +
        text, is encoded), ``(doc_id, text)`` pairs or a ``{doc_id: text}`` mapping. A new
        collection measures ``avg_len`` on these documents (``model.fit``); adding to an
        existing one reuses the recorded value, so every BM25 tf stays on one scale. A
        document whose content hash is already stored is not encoded again; a changed one is
        re-encoded and replaced. Ends with the engine's bulk step (Edge: ``optimize()``).
        """
        return index_documents(
            self,
            documents,
            batch_size=batch_size,
            upsert_batch=upsert_batch,
            recreate=recreate,
            progress=progress,
        )

    def add_encoded(
        self, points: Iterable[EncodedPoint], *, avg_len: float | None = None, batch: int = 1024
    ) -> int:
        """Upsert pre-encoded points, no forward pass (synthetic-scale benchmarks, copies).

        A missing collection is created with ``avg_len`` (required then). Returns the number
        of points now in the collection."""
        return add_points(self, points, avg_len, batch)

    def delete(self, doc_ids: Iterable[str]) -> int:
        """Remove documents by id (absent ids are ignored); returns the points left."""
        self._checked()
        self.engine.delete([point_id(str(d)) for d in doc_ids])
        n = self.count()
        self.engine.write_metadata(self._record(self.avg_len, n))
        return n

    def optimize(self) -> None:
        """Optimize now, whatever the engine's policy (Edge merges segments and builds its
        indexes; a server optimizes by itself)."""
        self._checked()
        self.engine.optimize()

    # ------------------------------------------------------------------ statistics

    def document_frequencies(self, indices: Iterable[int], using: str = BM25) -> dict[int, int]:
        """How many live documents hold each sparse index of ``using`` (``bm25``/``minicoil``):
        the exact df behind the IDF a search uses, for ``explain --collection``."""
        if using not in (BM25, MINICOIL):
            raise ValueError(f"using must be {BM25!r} or {MINICOIL!r}, got {using!r}")
        wanted = sorted({int(i) for i in indices})
        n = max(self.n_docs, 1)
        one = np.ones(1, dtype=np.float32)
        queries = [
            VectorQuery(using, SparseVector(np.array([i], dtype=np.int32), one), n) for i in wanted
        ]
        return {i: len(run) for i, run in zip(wanted, self.engine.search(queries), strict=True)}

    # ------------------------------------------------------------------ search

    def encode_query(self, query: str, *, mode: Mode = "hybrid") -> EncodedQuery:
        """The query's vectors for ``mode``: miniCOIL sparse and dense from one forward pass,
        BM25 without the backbone; ``hybrid`` encodes all three."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not query.strip():
            raise ValueError("the query is empty")
        bm25 = next(self.bm25.encode_query(query)) if mode in ("bm25", "hybrid") else None
        if mode == "bm25":
            return EncodedQuery(bm25=bm25)
        if mode == "sparse":
            return EncodedQuery(sparse=next(self.model.encode_query(query)))
        sparse, dense = next(self.model.encode_query(query, dense=True))
        return EncodedQuery(sparse=sparse, bm25=bm25, dense=np.asarray(dense, dtype=np.float32))

    def search(
        self,
        query: str,
        *,
        mode: Mode = "sparse",
        fusion: Fusion = hybrid.HYBRID_FUSION,
        weight: float = hybrid.HYBRID_WEIGHT,
        floor: float = hybrid.HYBRID_FLOOR,
        limit: int = 10,
        candidates: int | None = None,
        rrf_k: int = hybrid.RRF_K,
    ) -> list[Hit]:
        """Top ``limit`` documents for ``query``.

        ``sparse``, ``bm25`` and ``dense`` are single engine queries; ``hybrid`` is
        :func:`hybrid.hybrid_scores` (``weighted``, the default: floored miniCOIL plus
        ``weight`` x cosine over the candidate pool, all scores exact; ``rrf``/``dbsf`` fused
        by the engine from each side's top ``candidates``)."""
        _check(mode, fusion, limit, floor)
        encoded = self.encode_query(query, mode=mode)
        return self.search_encoded(
            encoded,
            mode=mode,
            fusion=fusion,
            weight=weight,
            floor=floor,
            limit=limit,
            candidates=candidates,
            rrf_k=rrf_k,
        )

    def search_encoded(
        self,
        encoded: EncodedQuery,
        *,
        mode: Mode = "sparse",
        fusion: Fusion = hybrid.HYBRID_FUSION,
        weight: float = hybrid.HYBRID_WEIGHT,
        floor: float = hybrid.HYBRID_FLOOR,
        limit: int = 10,
        candidates: int | None = None,
        rrf_k: int = hybrid.RRF_K,
    ) -> list[Hit]:
        """:meth:`search` without encoding (what search benchmarks time)."""
        _check(mode, fusion, limit, floor)
        self._checked()
        if mode == "hybrid":
            scored = hybrid_search(
                self.engine,
                encoded,
                fusion=fusion,
                weight=weight,
                floor=floor,
                limit=limit,
                candidates=candidates,
                rrf_k=rrf_k,
            )
        else:
            using = {"sparse": MINICOIL, "bm25": BM25, "dense": DENSE}[mode]
            scored = self.engine.search([VectorQuery(using, encoded.vector(using), limit)])[0]
        return self._hits(scored)

    def _hits(self, scored: Scored) -> list[Hit]:
        """Hits with payload, ties by document id: an engine orders equal scores by storage
        position, which differs between a resumed and an uninterrupted index."""
        keys = [str(id_of(pid)) for pid, _ in scored]  # the hybrid's keys are ints
        payloads = self.engine.payloads(keys, _NAMES)
        hits = []
        for pid, (_, score) in zip(keys, scored, strict=True):
            payload = payloads.get(pid, {})
            hits.append(
                Hit(
                    str(payload.get("doc_id", pid)),
                    float(score),
                    str(payload.get("title") or ""),
                    str(payload.get("text") or ""),
                )
            )
        return sorted(hits, key=lambda h: (-h.score, h.doc_id))


def _check(mode: str, fusion: str, limit: int, floor: float) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be between 0 and 1, got {floor}")
