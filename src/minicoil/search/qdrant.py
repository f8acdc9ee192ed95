"""A Qdrant collection holding miniCOIL, BM25 and dense vectors of a corpus, and search over it.

One :class:`SearchIndex` works the same on Qdrant's embedded local mode (a folder on disk, the
default, nothing to run) and on a server (``url=``). Each point carries three named vectors
computed from one forward pass per document:

- ``minicoil``: the model's sparse vector, ``SparseVectorParams(modifier=IDF)``;
- ``bm25``: plain BM25 with the same words, stems and stopwords (``MiniCOIL.bm25``), also IDF;
- ``dense``: the backbone's sentence embedding, cosine.

Point ids are ``uuid5`` of the document id and the payload keeps the original id, so indexing
the same corpus again overwrites points instead of duplicating them.

Collection metadata: the model fingerprint (backbone, vocabulary, heads, BM25 ``k``/``b``...)
and the corpus statistics (``avg_len`` used for every document's BM25 tf, ``n_docs``) are stored
in Qdrant's own *collection metadata* (``create_collection(metadata=...)``) under the key
``"minicoil"``. That one mechanism works identically in local mode (persisted in the storage
folder's ``meta.json``) and on a server, is created and deleted atomically with the collection
(no stale side file), and - unlike a reserved "metadata point" - neither shows up in
``count()`` nor could skew the IDF statistics. It needs Qdrant >= 1.16 on a server (older
servers drop the field, and this module then refuses the collection as not built by
minicoil). Adding to or searching a collection built with another model is refused with an
error that says what differs, because mixed vectors would silently give meaningless scores.

Threads: one :class:`SearchIndex` (or several sharing one client) may index and search from
several threads at once. Qdrant's embedded local mode is not thread-safe (a search that runs
while an upsert grows the collection's arrays fails on mismatched shapes), and it allows one
client per storage folder, so every call into an embedded client holds that client's lock;
encoding, the expensive part, runs outside it. Server clients are used without a lock. A
search during indexing sees the points upserted so far (and their IDF statistics).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import sqlite3
import threading
import uuid
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from minicoil.search import fusion as fuse
from minicoil.sparse import SparseVector

if TYPE_CHECKING:
    from qdrant_client import QdrantClient, models

    from minicoil.model import MiniCOIL

__all__ = [
    "DEFAULT_PATH",
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
FUSIONS: tuple[str, ...] = ("rrf", "dbsf", "weighted")

DEFAULT_PATH = "./qdrant_data"
MINICOIL, BM25, DENSE = "minicoil", "bm25", "dense"
METADATA_KEY = "minicoil"
METADATA_FORMAT = "minicoil-collection"
METADATA_VERSION = 1
# Fixed namespace: the same document id gives the same point id on every machine and run.
ID_NAMESPACE = uuid.UUID("6f0c1b1e-3c55-5b8e-9a53-6d696e69636f")
_SAMPLE = 1 << 20  # bytes hashed at each end of a large backbone file

# Human names of fingerprint fields, for mismatch messages; "backbone" itself (a path or a
# package name) is informational only: moving a model folder must not invalidate its index.
_FIELDS = {
    "backbone_sha256": "backbone weights/tokenizer",
    "hidden_size": "hidden size",
    "dense_size": "dense size",
    "vocab_size": "vocabulary size",
    "dim": "meaning dim",
    "k": "BM25 k",
    "b": "BM25 b",
    "language": "language",
    "vocab_sha256": "vocabulary",
    "stopwords_sha256": "stopwords",
    "heads_sha256": "heads",
}


class SearchIndexError(ValueError):
    """A collection that is missing, not built by minicoil, or built with another model."""


_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def is_embedded(client: QdrantClient) -> bool:
    """Whether ``client`` runs Qdrant in this process (local mode or ``:memory:``)."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


def client_lock(client: QdrantClient) -> contextlib.AbstractContextManager[Any]:
    """The lock every call into ``client`` must hold if it is embedded (local mode or
    ``:memory:``), shared by all indexes using that client; a no-op for a server client,
    which is thread-safe."""
    if not is_embedded(client):
        return contextlib.nullcontext()
    with _LOCKS_GUARD:
        lock = _LOCKS.get(client)
        if lock is None:
            lock = _LOCKS[client] = threading.RLock()
    return lock


def _open_local(folder: Path) -> QdrantClient:
    """An embedded client on ``folder``; damaged storage becomes one error naming the folder
    (Qdrant itself raises bare JSON, sqlite or validation errors that name no file)."""
    from qdrant_client import QdrantClient

    if folder.exists() and not folder.is_dir():
        raise SearchIndexError(f"{folder}: not a folder (Qdrant local storage is a folder)")
    try:
        return QdrantClient(path=str(folder))
    except (ValueError, KeyError, TypeError, sqlite3.DatabaseError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SearchIndexError(
            f"{folder}: damaged Qdrant local storage ({type(exc).__name__}: {detail}); "
            "remove the folder and index again"
        ) from exc


@dataclass(frozen=True)
class Hit:
    """One search result: the corpus' own document id and the score of the chosen mode."""

    doc_id: str
    score: float


@dataclass(frozen=True)
class IndexReport:
    """What :meth:`SearchIndex.index` did: documents written and points now in the collection."""

    indexed: int
    points: int
    avg_len: float
    created: bool


def point_id(doc_id: str) -> str:
    """Stable Qdrant point id of a document id (Qdrant ids must be integers or UUIDs)."""
    return str(uuid.uuid5(ID_NAMESPACE, doc_id))


def _sha256_lines(items: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


def _backbone_digest(folder: Path | None) -> str | None:
    """A cheap content digest of a sentence-transformers folder.

    Covers configs, tokenizer files and weights of the folder and its module subfolders
    (names, sizes, and the first and last MiB of each file), so a copied or moved backbone
    keeps its digest while another checkpoint of the same architecture does not.
    """
    if folder is None or not Path(folder).is_dir():
        return None
    root = Path(folder)
    digest = hashlib.sha256()
    wanted = {".json", ".txt", ".model", ".safetensors", ".bin"}
    files = []
    for file in root.rglob("*"):
        rel = file.relative_to(root).parts
        if (
            file.is_file()
            and file.suffix in wanted
            and len(rel) <= 2
            and not any(part.startswith(".") for part in rel)
            and rel[0] not in ("onnx", "openvino")
        ):
            files.append(file)
    for file in sorted(files):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(root).as_posix()}\0{size}\0".encode())
        with file.open("rb") as handle:
            digest.update(handle.read(_SAMPLE))
            if size > _SAMPLE:
                handle.seek(max(_SAMPLE, size - _SAMPLE))
                digest.update(handle.read())
    return digest.hexdigest()


def model_fingerprint(model: MiniCOIL) -> dict[str, Any]:
    """Everything that changes a model's vectors, as JSON-able values and digests.

    Heads are hashed as float16 (the saved precision), so a model in memory and the same model
    saved and reloaded agree.
    """
    import torch

    config = model.config
    backbone = model.backbone
    heads = model.heads.weights.detach().to(torch.float16).contiguous().numpy()
    return {
        "backbone": str(config.backbone),
        "backbone_sha256": _backbone_digest(backbone.path),
        "hidden_size": int(config.hidden_size),
        "dense_size": int(backbone.dense_size),
        "vocab_size": int(config.vocab_size),
        "dim": int(config.dim),
        "k": float(config.k),
        "b": float(config.b),
        "language": str(config.language),
        "vocab_sha256": _sha256_lines(model.vocab.stems),
        "stopwords_sha256": _sha256_lines(sorted(model.processor.stopwords)),
        "heads_sha256": hashlib.sha256(heads.tobytes()).hexdigest(),
    }


def _describe(fingerprint: Mapping[str, Any]) -> str:
    return (
        f"backbone {fingerprint.get('backbone')}, {fingerprint.get('vocab_size')} words, "
        f"dim {fingerprint.get('dim')}"
    )


class SearchIndex:
    """A miniCOIL + BM25 + dense collection in Qdrant, bound to one model.

    ``path`` (default ``./qdrant_data``) selects embedded local mode; ``url`` a server;
    ``client`` any ready ``QdrantClient`` (e.g. ``QdrantClient(":memory:")``). The index owns
    a client it created and closes it in :meth:`close` (or on leaving a ``with`` block).
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
        self.model = model
        self.collection = collection
        if client is not None:
            self.client, self._owns_client = client, False
            self.location = "client"
        else:
            from qdrant_client import QdrantClient

            if url:
                self.client, self.location = QdrantClient(url=url), url
            else:
                folder = Path(path if path is not None else DEFAULT_PATH)
                self.client, self.location = _open_local(folder), str(folder)
            self._owns_client = True
        self._lock = client_lock(self.client)
        # Embedded Qdrant scores every point on every query (a filter only masks the result),
        # so the weighted hybrid reads each side's full ranking in one query there instead of
        # a top-N query plus a filtered look-up, which would be a second full scan.
        self._full_scans = is_embedded(self.client)
        self._bm25: MiniCOIL | None = None
        self._fingerprint: dict[str, Any] | None = None
        self._verified = False  # collection checked against the model (searches skip re-checks)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

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
        with self._lock:
            return bool(self.client.collection_exists(self.collection))

    def metadata(self) -> dict[str, Any] | None:
        """The collection's minicoil metadata, or None if it has none (or does not exist)."""
        with self._lock:
            if not self.exists():
                return None
            info = self.client.get_collection(self.collection)
        stored = (info.config.metadata or {}).get(METADATA_KEY)
        return dict(stored) if isinstance(stored, dict) else None

    def count(self) -> int:
        with self._lock:
            return int(self.client.count(self.collection, exact=True).count)

    def _checked_metadata(self) -> dict[str, Any]:
        """The collection's metadata after checking it was built with this model."""
        if not self.exists():
            raise SearchIndexError(
                f"collection {self.collection!r} not found in {self.location} "
                "(create it with `minicoil index`)"
            )
        meta = self.metadata()
        if meta is None or meta.get("format") != METADATA_FORMAT:
            raise SearchIndexError(
                f"collection {self.collection!r} in {self.location} was not built by minicoil "
                "(no minicoil collection metadata); use another name or recreate it"
            )
        if int(meta.get("version", 0)) > METADATA_VERSION:
            raise SearchIndexError(
                f"collection {self.collection!r} was built by a newer minicoil "
                f"(metadata version {meta.get('version')}); upgrade the minicoil package"
            )
        built = meta.get("model") or {}
        mine = self.fingerprint
        differ = [name for key, name in _FIELDS.items() if built.get(key) != mine.get(key)]
        if differ:
            raise SearchIndexError(
                f"collection {self.collection!r} was built with another model "
                f"({_describe(built)}; differs in {', '.join(differ)}): use the model it was "
                "built with, or rebuild it with this model (`minicoil index --recreate`)"
            )
        return meta

    def _create(self, avg_len: float) -> None:
        from qdrant_client import models

        record = self._metadata_record(avg_len, 0)  # hashes the model: outside the lock
        with self._lock:  # one step for other threads: they never see the collection missing
            if self.exists():
                self.client.delete_collection(self.collection)
            self.client.create_collection(
                self.collection,
                vectors_config={
                    DENSE: models.VectorParams(
                        size=record["model"]["dense_size"], distance=models.Distance.COSINE
                    )
                },
                sparse_vectors_config={
                    MINICOIL: models.SparseVectorParams(modifier=models.Modifier.IDF),
                    BM25: models.SparseVectorParams(modifier=models.Modifier.IDF),
                },
                metadata={METADATA_KEY: record},
            )

    def _metadata_record(self, avg_len: float, n_docs: int) -> dict[str, Any]:
        return {
            "format": METADATA_FORMAT,
            "version": METADATA_VERSION,
            "model": self.fingerprint,
            "corpus": {"avg_len": float(avg_len), "n_docs": int(n_docs)},
        }

    # ------------------------------------------------------------------ indexing

    def index(
        self,
        documents: Iterable[tuple[str, str]] | Mapping[str, str],
        *,
        batch_size: int = 32,
        upsert_batch: int = 256,
        recreate: bool = False,
        progress: bool = True,
    ) -> IndexReport:
        """Encode and upsert ``(doc_id, text)`` pairs; idempotent per document id.

        A new collection measures ``avg_len`` on these documents (``model.fit``) and records
        it; adding to an existing collection reuses the recorded value, so every document's
        BM25 tf stays on one scale. Each document is encoded once (sparse and dense from the
        same forward pass) plus a BM25 pass that never runs the backbone.
        """
        from tqdm.auto import tqdm

        if upsert_batch < 1:
            raise ValueError(f"upsert_batch must be >= 1, got {upsert_batch}")
        pairs = list(documents.items() if isinstance(documents, Mapping) else documents)
        ids = [str(doc_id) for doc_id, _ in pairs]
        texts = [text for _, text in pairs]
        repeated = [doc_id for doc_id, n in Counter(ids).items() if n > 1]
        if repeated:
            raise ValueError(f"duplicate document id {repeated[0]!r}")
        self._verified = False
        created = recreate or not self.exists()
        if created:
            if not texts:
                raise ValueError("cannot create a collection from an empty corpus")
            avg_len = self.model.fit(texts).avg_len or 1.0
            self._create(avg_len)
        else:
            avg_len = float(self._checked_metadata()["corpus"]["avg_len"])
        with tqdm(total=len(texts), unit="doc", desc="indexing", disable=not progress) as bar:
            for start in range(0, len(texts), upsert_batch):
                chunk_ids = ids[start : start + upsert_batch]
                chunk = texts[start : start + upsert_batch]
                points = list(self._points(chunk_ids, chunk, avg_len, batch_size))
                with self._lock:
                    self.client.upsert(self.collection, points, wait=True)
                bar.update(len(chunk))
        with self._lock:
            points = self.count()
            self.client.update_collection(
                self.collection, metadata={METADATA_KEY: self._metadata_record(avg_len, points)}
            )
        return IndexReport(indexed=len(texts), points=points, avg_len=avg_len, created=created)

    def _points(
        self, ids: list[str], texts: list[str], avg_len: float, batch_size: int
    ) -> Iterator[models.PointStruct]:
        from qdrant_client import models

        encoded = self.model.encode_document(
            texts, batch_size=batch_size, dense=True, avg_len=avg_len
        )
        plain = self.bm25.encode_document(texts, batch_size=batch_size, avg_len=avg_len)
        for doc_id, (sparse, dense), bm25 in zip(ids, encoded, plain, strict=True):
            yield models.PointStruct(
                id=point_id(doc_id),
                vector={
                    MINICOIL: sparse.to_qdrant(),
                    BM25: bm25.to_qdrant(),
                    DENSE: np.asarray(dense, dtype=np.float64).tolist(),
                },
                payload={"doc_id": doc_id},
            )

    # ------------------------------------------------------------------ search

    def search(
        self,
        query: str,
        *,
        mode: Mode = "sparse",
        fusion: Fusion = fuse.HYBRID_FUSION,
        weight: float = fuse.HYBRID_WEIGHT,
        floor: float = fuse.HYBRID_FLOOR,
        limit: int = 10,
        candidates: int | None = None,
        rrf_k: int = 60,
    ) -> list[Hit]:
        """Top ``limit`` documents for ``query``.

        ``sparse``, ``bm25`` and ``dense`` are single Qdrant queries; ``hybrid`` combines
        miniCOIL and dense: ``weighted`` (the default, see :data:`fusion.HYBRID_FUSION`)
        fuses client-side with :func:`fusion.weighted_sum` (``weight`` on the cosine); with
        ``floor`` > 0 its sparse side is :func:`fusion.floored`, miniCOIL with the meaning
        cosine mapped to ``floor + (1 - floor) * cos`` (the BM25 vector of the same collection
        supplies the floor). ``rrf``/``dbsf`` run server-side (prefetch of ``candidates`` each,
        default ``max(limit, 100)``, then fusion; RRF with :func:`fusion.rrf`'s ``k``) and
        ignore ``weight`` and ``floor``. The query is encoded once: sparse and dense come from
        one forward pass.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        if not 0.0 <= floor <= 1.0:
            raise ValueError(f"floor must be between 0 and 1, got {floor}")
        if not query.strip():
            raise ValueError("the query is empty")
        if not self._verified:
            self._checked_metadata()
            self._verified = True
        n_candidates = max(candidates or max(limit, 100), limit)
        if mode == "bm25":
            return self._single(next(self.bm25.encode_query(query)).to_qdrant(), BM25, limit)
        if mode == "sparse":
            return self._single(next(self.model.encode_query(query)).to_qdrant(), MINICOIL, limit)
        sparse, dense = next(self.model.encode_query(query, dense=True))
        dense_query = np.asarray(dense, dtype=np.float64).tolist()
        if mode == "dense":
            return self._single(dense_query, DENSE, limit)
        if fusion == "weighted":
            bm25 = next(self.bm25.encode_query(query)) if floor > 0 else None
            return self._weighted(sparse, dense_query, weight, limit, n_candidates, bm25, floor)
        return self._fused(sparse, dense_query, fusion, limit, n_candidates, rrf_k)

    def _query(self, vector: Any, using: str, limit: int, ids: list[str] | None = None):
        """Points for one vector query, optionally restricted to the given point ids."""
        from qdrant_client import models

        if isinstance(vector, models.SparseVector) and not vector.indices:
            return []  # a query of stopwords only matches nothing
        flt = None if ids is None else models.Filter(must=[models.HasIdCondition(has_id=ids)])
        with self._lock:
            return self.client.query_points(
                self.collection,
                query=vector,
                using=using,
                limit=limit,
                query_filter=flt,
                with_payload=["doc_id"],
            ).points

    def _single(self, vector: Any, using: str, limit: int) -> list[Hit]:
        return [_hit(p) for p in self._query(vector, using, limit)]

    def _fused(
        self,
        sparse: SparseVector,
        dense: list[float],
        fusion: str,
        limit: int,
        candidates: int,
        rrf_k: int,
    ) -> list[Hit]:
        from qdrant_client import models

        prefetch = [models.Prefetch(query=dense, using=DENSE, limit=candidates)]
        if len(sparse):
            prefetch.insert(
                0, models.Prefetch(query=sparse.to_qdrant(), using=MINICOIL, limit=candidates)
            )
        query: Any = (
            # Qdrant ranks from 0: its k = ours + 1 gives exactly fusion.rrf's scores.
            models.RrfQuery(rrf=models.Rrf(k=rrf_k + 1))
            if fusion == "rrf"
            else models.FusionQuery(fusion=models.Fusion.DBSF)
        )
        with self._lock:
            points = self.client.query_points(
                self.collection,
                prefetch=prefetch,
                query=query,
                limit=limit,
                with_payload=["doc_id"],
            ).points
        return [_hit(p) for p in points]

    def _weighted(
        self,
        sparse: SparseVector,
        dense: list[float],
        weight: float,
        limit: int,
        candidates: int,
        bm25: SparseVector | None = None,
        floor: float = 0.0,
    ) -> list[Hit]:
        """Top ``candidates`` of each side, then each candidate's missing scores looked up
        exactly (a document absent from the dense top-N still has a cosine), then
        :func:`fusion.weighted_sum`. Sparse scores absent after the lookup share no word.
        With ``bm25`` the BM25 top-N joins the candidates and :func:`fusion.floored` mixes it
        into the sparse side. Embedded, the look-ups come from each side's full ranking (one
        query per side); a server gets a top-N query and a filtered look-up per side."""
        sides: dict[str, Any] = {MINICOIL: sparse.to_qdrant(), DENSE: dense}
        if bm25 is not None:
            sides[BM25] = bm25.to_qdrant()
        names: dict[str, str] = {}

        def run(points: list[Any]) -> dict[str, float]:
            for p in points:
                names[str(p.id)] = (p.payload or {}).get("doc_id", str(p.id))
            return {str(p.id): float(p.score) for p in points}

        with self._lock:  # all lookups see one state of the collection
            if self._full_scans:
                size = max(self.client.count(self.collection, exact=True).count, 1)
                full = {using: run(self._query(v, using, size)) for using, v in sides.items()}
                pool = set().union(*(itertools.islice(r, candidates) for r in full.values()))
                runs = {u: {p: r[p] for p in pool if p in r} for u, r in full.items()}
            else:
                runs = {u: run(self._query(v, u, candidates)) for u, v in sides.items()}
                pool = set().union(*runs.values())
                for using, vector in sides.items():
                    need = sorted(pool - runs[using].keys())
                    if need:
                        runs[using].update(run(self._query(vector, using, len(need), need)))
        sparse_run = runs[MINICOIL]
        if bm25 is not None:
            sparse_run = fuse.floored(sparse_run, runs[BM25], floor)
        fused = fuse.weighted_sum(sparse_run, runs[DENSE], weight)
        by_name = {names[pid]: score for pid, score in fused.items()}
        return [Hit(doc_id, score) for doc_id, score in fuse.ranked(by_name, limit)]


def _hit(point: Any) -> Hit:
    return Hit(str((point.payload or {}).get("doc_id", point.id)), float(point.score))
