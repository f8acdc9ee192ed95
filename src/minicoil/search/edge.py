"""The embedded engine: one Qdrant Edge shard per collection, in this process.

Edge is Qdrant's Rust engine as a library: sparse search is an inverted-index lookup, not a
scan, so a query costs about what BM25 costs. What this module adds around it:

- **One process per collection.** A second process opening a shard breaks the first one's
  WAL, so the collection folder is locked (:mod:`~minicoil.search.lock`) before the shard is
  opened; within a process every :class:`EdgeEngine` on one folder shares one open shard.
- **Exact IDF.** Edge takes N and document frequencies from its index, which still counts
  deleted and replaced points (and skips points with an empty sparse vector). Once a
  collection had any of these (:class:`~minicoil.search.edge_tuning.IdfState`), every sparse
  query carries ``IdfParams(corpus=Filter())``: statistics over the live points, equal to
  :mod:`minicoil.search.exact` after any update or delete; before that, Edge's own are exact
  and 3x cheaper.
- **Dense recall.** Up to ``EXACT_DENSE_MAX`` points dense search is exact; above it HNSW
  (parameters and measurements in :mod:`~minicoil.search.edge_tuning`).
- **Bulk indexing ends with** ``optimize()`` (Edge never optimizes by itself); small
  incremental writes optimize only once their growth slows searches
  (:func:`~minicoil.search.edge_tuning.worth_optimizing`). The ``temp_segments/`` of an
  optimization killed half-way are removed on the next open.
- **Threads.** Searches and upserts run concurrently (Edge synchronises them and releases the
  GIL); only replacing the shard (``create``) waits for them, through a readers-writer lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minicoil.io import write_json
from minicoil.search.edge_tuning import IdfState, search_params, shard_config, worth_optimizing
from minicoil.search.engine import Scored, StoredPoint, VectorQuery, id_of
from minicoil.search.lock import FolderLock
from minicoil.search.points import BM25, DENSE, MINICOIL, EncodedPoint, stored_vector
from minicoil.search.store import (
    LOCK_FILE,
    METADATA_FILE,
    SHARD_DIR,
    StoreError,
    check_not_local_mode,
    collection_dir,
    read_collection_metadata,
)
from minicoil.sparse import SparseVector

__all__ = ["EdgeEngine"]

TEMP_SEGMENTS = "temp_segments"


class _ReadWriteLock:
    """Many readers or one writer; readers are searches and upserts, the writer swaps shards."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._readers == 0)
            yield


class _Shared:
    """One open collection folder of this process: its OS lock and its shard."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.lock = FolderLock(folder / LOCK_FILE)
        self.lock.acquire(f"collection folder {folder}")
        self.rw = _ReadWriteLock()
        self.users = 0
        self.shard: Any = None
        self.idf = IdfState(folder)
        try:
            _remove_leftovers(folder)
            if (folder / SHARD_DIR).is_dir():
                self.shard = _load(folder / SHARD_DIR)
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        with self.rw.write():
            if self.shard is not None:
                with contextlib.suppress(Exception):
                    self.shard.flush()
                self.shard.close()
                self.shard = None
        self.lock.release()


_OPEN: dict[Path, _Shared] = {}
_OPEN_GUARD = threading.Lock()


def _remove_leftovers(folder: Path) -> None:
    """What a killed process left: a shard being replaced, an optimization's temporaries."""
    for entry in folder.glob(f".{SHARD_DIR}.old-*"):
        shutil.rmtree(entry, ignore_errors=True)
    shutil.rmtree(folder / SHARD_DIR / TEMP_SEGMENTS, ignore_errors=True)


def _load(shard: Path) -> Any:
    from qdrant_edge import EdgeShard

    try:
        return EdgeShard.load(str(shard))
    except Exception as exc:  # Edge raises bare runtime errors naming no folder
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(
            f"{shard}: damaged Qdrant Edge shard ({detail}); remove the collection folder "
            "and index again"
        ) from exc


def _existing(shard: Any, point_ids: list[Any]) -> list[Any]:
    """The records of those of ``point_ids`` the shard holds (ids only)."""
    if not point_ids:
        return []
    return list(shard.retrieve(point_ids, with_payload=False, with_vector=False))


def _edge_vector(vector: SparseVector | np.ndarray) -> Any:
    from qdrant_edge import SparseVector as EdgeSparse

    if isinstance(vector, SparseVector):
        return EdgeSparse(indices=vector.indices.tolist(), values=vector.values.tolist())
    return np.asarray(vector, dtype=np.float32).tolist()



class EdgeEngine:
    """Collection ``name`` of the store folder ``store``, on Qdrant Edge."""

    def __init__(self, store: str | os.PathLike[str], name: str):
        check_not_local_mode(store)
        self.store = Path(store)
        self.name = name
        self.folder = collection_dir(store, name)
        self.location = str(self.store)
        self._shared: _Shared | None = None
        self._closed = False

    # ------------------------------------------------------------------ folder and shard

    def _open(self) -> _Shared:
        """This process' shared handle on the folder, taking the OS lock on first use."""
        if self._shared is None:
            if self._closed:
                raise StoreError(f"collection {self.name!r} in {self.store} was closed")
            key = self.folder.resolve()
            with _OPEN_GUARD:
                shared = _OPEN.get(key)
                if shared is None:
                    shared = _OPEN[key] = _Shared(key)
                shared.users += 1
            self._shared = shared
        return self._shared

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        shared = self._open()
        with shared.rw.read():
            if shared.shard is None:
                raise StoreError(f"collection {self.name!r} not found in {self.store}")
            yield shared.shard

    def close(self) -> None:
        shared, self._shared, self._closed = self._shared, None, True
        if shared is None:
            return
        with _OPEN_GUARD:
            shared.users -= 1
            if shared.users > 0:
                return
            _OPEN.pop(shared.folder, None)
        shared.close()

    def exists(self) -> bool:
        if self._shared is not None:
            return self._shared.shard is not None
        return (self.folder / SHARD_DIR).is_dir()

    def metadata(self) -> dict[str, Any] | None:
        return read_collection_metadata(self.store, self.name)

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        self._open()  # only the lock holder writes
        write_json(self.folder / METADATA_FILE, metadata)

    def create(self, dense_size: int, metadata: dict[str, Any]) -> None:
        """Replace the shard by an empty one. Metadata is written first: a process killed
        before the new shard exists leaves a folder without a shard, which counts as absent."""
        from qdrant_edge import EdgeShard

        shared = self._open()
        with shared.rw.write():
            if shared.shard is not None:
                shared.shard.close()
                shared.shard = None
            shard = self.folder / SHARD_DIR
            if shard.exists():
                old = self.folder / f".{SHARD_DIR}.old-{os.getpid()}"
                os.rename(shard, old)
                shutil.rmtree(old, ignore_errors=True)
            write_json(self.folder / METADATA_FILE, metadata)
            shared.shard = EdgeShard.create(str(shard), shard_config(dense_size))
            shared.idf.reset()

    # ------------------------------------------------------------------ writes

    def count(self) -> int:
        from qdrant_edge import CountRequest

        with self._reading() as shard:
            return int(shard.count(CountRequest(exact=True)))

    def upsert(self, points: Sequence[EncodedPoint]) -> None:
        from qdrant_edge import Point, UpdateOperation

        edge_points = [
            Point(
                id=p.id,
                vector={
                    MINICOIL: _edge_vector(p.sparse),
                    BM25: _edge_vector(p.bm25),
                    DENSE: _edge_vector(p.dense),
                },
                payload=p.full_payload(),
            )
            for p in points
        ]
        shared = self._open()
        with self._reading() as shard:
            if not shared.idf.stale:
                ids = [p.id for p in points]
                replaces = len(set(ids)) < len(ids) or bool(_existing(shard, ids))
                shared.idf.before_upsert(points, replaces)
            shard.update(UpdateOperation.upsert_points(edge_points))

    def delete(self, point_ids: Sequence[str]) -> None:
        from qdrant_edge import UpdateOperation

        shared = self._open()
        with self._reading() as shard:
            if _existing(shard, list(point_ids)):
                shared.idf.mark_stale()  # before deleting: a kill in between errs on exact
            shard.update(UpdateOperation.delete_points(list(point_ids)))

    def finish_bulk(self, written: int) -> None:
        """Flush; then optimize if :func:`worth_optimizing` says so (see there)."""
        with self._reading() as shard:
            shard.flush()
            if worth_optimizing(shard.info(), written):
                shard.optimize()
                shard.flush()

    def optimize(self) -> None:
        with self._reading() as shard:
            shard.flush()
            shard.optimize()
            shard.flush()

    # ------------------------------------------------------------------ reads

    def payloads(self, point_ids: Sequence[str], fields: Sequence[str] | None) -> dict[str, dict]:
        if not point_ids:
            return {}
        with self._reading() as shard:
            # the binary requires with_payload (the stubs call it optional)
            records = shard.retrieve(
                list(point_ids), with_payload=list(fields) if fields else True, with_vector=False
            )
        return {str(r.id): dict(r.payload or {}) for r in records}

    def search(self, queries: Sequence[VectorQuery], *, native_keys: bool = False) -> list[Scored]:
        from qdrant_edge import QueryBatchRequest

        results: list[Scored] = [[] for _ in queries]
        filters: dict[int, Any] = {}  # by id() of the ids object: one filter per id set
        stale = self._open().idf.stale
        with self._reading() as shard:
            n_points = int(shard.info().points_count)
            todo = [
                (i, self._request(q, n_points, stale, filters))
                for i, q in enumerate(queries)
                if q.limit > 0
                and (not isinstance(q.vector, SparseVector) or len(q.vector))
                and (q.ids is None or len(q.ids))
            ]
            if len(todo) == 1:
                answers = [shard.query(todo[0][1])]
            elif todo:
                answers = shard.query_batch(QueryBatchRequest([r for _, r in todo]))
            else:
                answers = []
        for (i, _), points in zip(todo, answers, strict=True):
            if native_keys:
                results[i] = [(p.id.int, p.score) for p in points]
            else:
                results[i] = [(str(p.id), float(p.score)) for p in points]
        return results

    def _request(self, q: VectorQuery, n_points: int, stale: bool, filters: dict[int, Any]) -> Any:
        from qdrant_edge import Filter, HasIdCondition, Query, QueryRequest

        flt = None
        if q.ids is not None:
            flt = filters.get(id(q.ids))
            if flt is None:
                ids = {id_of(k) for k in q.ids}
                flt = filters[id(q.ids)] = Filter(must=[HasIdCondition(point_ids=ids)])
        return QueryRequest(
            limit=q.limit,
            query=Query.Nearest(_edge_vector(q.vector), using=q.using),
            filter=flt,
            params=search_params(q.using, n_points, stale),
            with_payload=False,
        )

    def fused(
        self,
        sparse: SparseVector | None,
        dense: np.ndarray,
        fusion: str,
        limit: int,
        candidates: int,
        rrf_k: int,
    ) -> Scored:
        from qdrant_edge import Fusion, Prefetch, Query, QueryRequest

        stale = self._open().idf.stale
        with self._reading() as shard:
            n_points = int(shard.info().points_count)
            prefetch = [
                Prefetch(
                    limit=candidates,
                    query=Query.Nearest(_edge_vector(dense), using=DENSE),
                    params=search_params(DENSE, n_points, stale),
                )
            ]
            if sparse is not None and len(sparse):
                prefetch.insert(
                    0,
                    Prefetch(
                        limit=candidates,
                        query=Query.Nearest(_edge_vector(sparse), using=MINICOIL),
                        params=search_params(MINICOIL, n_points, stale),
                    ),
                )
            method = Fusion.Rrf(k=rrf_k) if fusion == "rrf" else Fusion.Dbsf()
            points = shard.query(
                QueryRequest(limit=limit, prefetches=prefetch, query=method, with_payload=False)
            )
        return [(str(p.id), float(p.score)) for p in points]

    def points(self, batch: int = 256) -> Iterator[StoredPoint]:
        from qdrant_edge import ScrollRequest

        offset = None
        while True:
            with self._reading() as shard:
                records, offset = shard.scroll(
                    ScrollRequest(offset=offset, limit=batch, with_payload=True, with_vector=True)
                )
            for r in records:
                vectors = {name: stored_vector(v) for name, v in (r.vector or {}).items()}
                yield StoredPoint(str(r.id), vectors, dict(r.payload or {}))
            if offset is None:
                return
