"""Writing a collection: the encode-and-upsert loop behind ``SearchIndex.index``.

Kept apart from search because it is the part with the long-running loop and its own
concerns: skipping documents whose content hash is already stored (so ``minicoil index`` is
incremental), a progress bar that moves with every encode batch (a chunk of upserts takes
minutes on a loaded laptop), and ending with the engine's bulk step only when something was
written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from minicoil.search.documents import as_documents, content_hash, indexable
from minicoil.search.points import EncodedPoint, point_id

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL
    from minicoil.search.engine import Engine

__all__ = ["IndexReport", "add_points", "index_documents"]

Doc = tuple[str, str, str]  # (doc_id, title, text)
ENCODE_BLOCK = 4  # batches encoded per model call (see index_documents)


class Collection(Protocol):
    """What writing needs of :class:`~minicoil.search.qdrant.SearchIndex` (named here as a
    protocol, so that this module, which SearchIndex imports, does not import it back)."""

    model: MiniCOIL
    engine: Engine
    _verified: dict[str, Any] | None

    @property
    def bm25(self) -> MiniCOIL: ...

    @property
    def avg_len(self) -> float: ...

    def exists(self) -> bool: ...

    def count(self) -> int: ...

    def _create(self, avg_len: float) -> None: ...

    def _record(self, avg_len: float, n_docs: int) -> dict[str, Any]: ...


@dataclass(frozen=True)
class IndexReport:
    """What :meth:`SearchIndex.index` did: documents encoded and written, documents skipped
    as unchanged, points now in the collection."""

    indexed: int
    points: int
    avg_len: float
    created: bool
    unchanged: int = 0


def index_documents(
    index: Collection,
    documents: Any,
    *,
    batch_size: int,
    upsert_batch: int,
    recreate: bool,
    progress: bool,
) -> IndexReport:
    """:meth:`SearchIndex.index` (see there)."""
    from tqdm.auto import tqdm

    if upsert_batch < 1:
        raise ValueError(f"upsert_batch must be >= 1, got {upsert_batch}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    docs = as_documents(documents)
    repeated = [doc_id for doc_id, n in Counter(d[0] for d in docs).items() if n > 1]
    if repeated:
        raise ValueError(f"duplicate document id {repeated[0]!r}")
    created = recreate or not index.exists()
    if created:
        if not docs:
            raise ValueError("cannot create a collection from an empty corpus")
        index._create(index.model.fit([indexable(t, x) for _, t, x in docs]).avg_len)
    avg_len = index.avg_len
    written = 0
    with tqdm(total=len(docs), unit="doc", desc="indexing", disable=not progress) as bar:
        for start in range(0, len(docs), upsert_batch):
            chunk = docs[start : start + upsert_batch]
            todo = chunk if created else _changed(index, chunk)
            bar.update(len(chunk) - len(todo))  # unchanged: nothing to encode
            points: list[EncodedPoint] = []
            # Blocks of several batches: the backbone sorts a block's windows by length before
            # batching, so a bigger block pads less (int8 graphs suffer most from padding);
            # 4 batches keep the bar moving every few seconds on 2 cores.
            for batch in _batches(todo, ENCODE_BLOCK * batch_size):
                points.extend(_encode(index, batch, avg_len, batch_size))
                bar.update(len(batch))
            if points:
                index.engine.upsert(points)
                written += len(points)
    return _finish(index, avg_len, written, created, unchanged=len(docs) - written)


def add_points(
    index: Collection, points: Iterable[EncodedPoint], avg_len: float | None, batch: int
) -> int:
    """:meth:`SearchIndex.add_encoded` (see there)."""
    if not index.exists():
        if avg_len is None:
            raise ValueError("the collection does not exist: pass avg_len to create it")
        index._create(avg_len)
    avg = index.avg_len
    written = 0
    buffer: list[EncodedPoint] = []
    for point in points:
        buffer.append(point)
        if len(buffer) >= batch:
            index.engine.upsert(buffer)
            written, buffer = written + len(buffer), []
    if buffer:
        index.engine.upsert(buffer)
        written += len(buffer)
    return _finish(index, avg, written, created=False).points


def _finish(
    index: Collection, avg_len: float, written: int, created: bool, unchanged: int = 0
) -> IndexReport:
    """The engine's bulk step if anything was written, then the metadata with the new count."""
    if written:
        index.engine.finish_bulk(written)
    points = index.count()
    index.engine.write_metadata(index._record(avg_len, points))
    index._verified = None
    return IndexReport(written, points, avg_len, created, unchanged=unchanged)


def _batches(docs: list[Doc], size: int) -> Iterator[list[Doc]]:
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


def _changed(index: Collection, chunk: list[Doc]) -> list[Doc]:
    """The documents of ``chunk`` whose content hash differs from the stored one (or new)."""
    stored = index.engine.payloads([point_id(d) for d, _, _ in chunk], ["hash"])
    return [
        (d, t, x)
        for d, t, x in chunk
        if stored.get(point_id(d), {}).get("hash") != content_hash(t, x)
    ]


def _encode(
    index: Collection, docs: list[Doc], avg_len: float, batch_size: int
) -> list[EncodedPoint]:
    """miniCOIL + dense from one forward pass, plain BM25 without the backbone."""
    texts = [indexable(t, x) for _, t, x in docs]
    encoded = index.model.encode_document(texts, batch_size=batch_size, dense=True, avg_len=avg_len)
    plain = index.bm25.encode_document(texts, batch_size=batch_size, avg_len=avg_len)
    return [
        EncodedPoint(
            doc_id,
            sparse,
            bm25,
            np.asarray(dense, dtype=np.float32),
            {"title": title, "text": text, "hash": content_hash(title, text)},
        )
        for (doc_id, title, text), (sparse, dense), bm25 in zip(docs, encoded, plain, strict=True)
    ]
