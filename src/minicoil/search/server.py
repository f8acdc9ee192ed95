"""The server engine: a collection on a Qdrant server, through qdrant-client.

For scale-out (``url=``) or any ready client (``client=``). The point format and vector names
are the embedded engine's, so :func:`~minicoil.search.push.push_collection` can copy a
collection over unchanged. Metadata lives in Qdrant's own collection metadata under the key
``"minicoil"`` (Qdrant >= 1.16; older servers drop it, and the collection is then refused as
not built by minicoil). A server synchronises its own requests, so no lock is taken here.

qdrant-client's in-process modes (``":memory:"``, ``path=``) also work through this engine
and serve as the test double of a server, since no server binary runs on the test machines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minicoil.search.engine import Scored, StoredPoint, VectorQuery, id_of
from minicoil.search.points import BM25, DENSE, MINICOIL, EncodedPoint, stored_vector
from minicoil.sparse import SparseVector

if TYPE_CHECKING:
    from qdrant_client import QdrantClient

__all__ = ["METADATA_KEY", "ServerEngine"]

METADATA_KEY = "minicoil"
_SPARSE = (MINICOIL, BM25)


def _vector(vector: SparseVector | np.ndarray) -> Any:
    if isinstance(vector, SparseVector):
        return vector.to_qdrant()
    return np.asarray(vector, dtype=np.float64).tolist()



class ServerEngine:
    """Collection ``name`` through ``client`` (closed by :meth:`close` only if ``owned``)."""

    def __init__(self, client: QdrantClient, name: str, *, location: str, owned: bool):
        self.client = client
        self.name = name
        self.location = location
        self._owned = owned
        self._local = _is_local(client)

    def close(self) -> None:
        if self._owned:
            self.client.close()

    def exists(self) -> bool:
        return bool(self.client.collection_exists(self.name))

    def metadata(self) -> dict[str, Any] | None:
        if not self.exists():
            return None
        stored = (self.client.get_collection(self.name).config.metadata or {}).get(METADATA_KEY)
        return dict(stored) if isinstance(stored, dict) else None

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        self.client.update_collection(self.name, metadata={METADATA_KEY: metadata})

    def create(self, dense_size: int, metadata: dict[str, Any]) -> None:
        from qdrant_client import models

        if self.exists():
            self.client.delete_collection(self.name)
        self.client.create_collection(
            self.name,
            vectors_config={
                DENSE: models.VectorParams(size=dense_size, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={
                name: models.SparseVectorParams(modifier=models.Modifier.IDF) for name in _SPARSE
            },
            metadata={METADATA_KEY: metadata},
        )

    def count(self) -> int:
        return int(self.client.count(self.name, exact=True).count)

    def upsert(self, points: Sequence[EncodedPoint]) -> None:
        from qdrant_client import models

        structs = [
            models.PointStruct(
                id=p.id,
                vector={
                    MINICOIL: _vector(p.sparse),
                    BM25: _vector(p.bm25),
                    DENSE: _vector(p.dense),
                },
                payload=p.full_payload(),
            )
            for p in points
        ]
        self.client.upsert(self.name, structs, wait=True)

    def upsert_stored(self, points: Sequence[StoredPoint]) -> None:
        """Upsert points copied from another engine, as they are."""
        from qdrant_client import models

        structs = [
            models.PointStruct(
                id=p.id, vector={k: _vector(v) for k, v in p.vectors.items()}, payload=p.payload
            )
            for p in points
        ]
        self.client.upsert(self.name, structs, wait=True)

    def delete(self, point_ids: Sequence[str]) -> None:
        from qdrant_client import models

        self.client.delete(self.name, models.PointIdsList(points=list(point_ids)), wait=True)

    def finish_bulk(self, written: int) -> None:
        """A server optimizes in the background by itself."""

    def optimize(self) -> None:
        """A server optimizes in the background by itself."""

    def payloads(self, point_ids: Sequence[str], fields: Sequence[str] | None) -> dict[str, dict]:
        if not point_ids:
            return {}
        records = self.client.retrieve(
            self.name, list(point_ids), with_payload=list(fields) if fields else True
        )
        return {str(r.id): dict(r.payload or {}) for r in records}

    def _params(self, using: str) -> Any:
        from qdrant_client import models

        if using in _SPARSE and not self._local:
            # live-point statistics, as on Edge (local mode computes them from live points)
            return models.SearchParams(idf=models.IdfParams(corpus=models.Filter()))
        return None

    def search(self, queries: Sequence[VectorQuery], *, native_keys: bool = False) -> list[Scored]:
        """As :meth:`Engine.search` (``native_keys`` converts here: a server's round trip
        dwarfs the conversion)."""
        import uuid

        from qdrant_client import models

        results: list[Scored] = [[] for _ in queries]
        todo = []
        for i, q in enumerate(queries):
            if q.limit < 1 or (isinstance(q.vector, SparseVector) and not len(q.vector)):
                continue
            if q.ids is not None and not q.ids:
                continue
            flt = None
            if q.ids is not None:
                ids = sorted(str(id_of(k)) for k in q.ids)
                flt = models.Filter(must=[models.HasIdCondition(has_id=ids)])
            todo.append(
                (
                    i,
                    models.QueryRequest(
                        query=_vector(q.vector),
                        using=q.using,
                        limit=q.limit,
                        filter=flt,
                        params=self._params(q.using),
                        with_payload=False,
                    ),
                )
            )
        if todo:
            answers = self.client.query_batch_points(self.name, [r for _, r in todo])
            for (i, _), answer in zip(todo, answers, strict=True):
                results[i] = [
                    (uuid.UUID(str(p.id)).int if native_keys else str(p.id), float(p.score))
                    for p in answer.points
                ]
        return results

    def fused(
        self,
        sparse: SparseVector | None,
        dense: np.ndarray,
        fusion: str,
        limit: int,
        candidates: int,
        rrf_k: int,
    ) -> Scored:
        from qdrant_client import models

        prefetch = [models.Prefetch(query=_vector(dense), using=DENSE, limit=candidates)]
        if sparse is not None and len(sparse):
            prefetch.insert(
                0,
                models.Prefetch(
                    query=_vector(sparse),
                    using=MINICOIL,
                    limit=candidates,
                    params=self._params(MINICOIL),
                ),
            )
        query: Any = (
            models.RrfQuery(rrf=models.Rrf(k=rrf_k))
            if fusion == "rrf"
            else models.FusionQuery(fusion=models.Fusion.DBSF)
        )
        points = self.client.query_points(
            self.name, prefetch=prefetch, query=query, limit=limit, with_payload=False
        ).points
        return [(str(p.id), float(p.score)) for p in points]

    def points(self, batch: int = 256) -> Iterator[StoredPoint]:
        offset = None
        while True:
            records, offset = self.client.scroll(
                self.name, limit=batch, offset=offset, with_payload=True, with_vectors=True
            )
            for r in records:
                vectors = {k: stored_vector(v) for k, v in (r.vector or {}).items()}  # type: ignore[union-attr]
                yield StoredPoint(str(r.id), vectors, dict(r.payload or {}))
            if offset is None:
                return


def _is_local(client: QdrantClient) -> bool:
    """Whether ``client`` runs qdrant-client's Python stand-in (``:memory:``/``path=``),
    which does not take search-time IDF parameters."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)
