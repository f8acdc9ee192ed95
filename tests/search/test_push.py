"""push_collection copies an embedded collection to a server with the same points, vectors,
payload and metadata. The server is qdrant-client's in-memory client (same client API and
models as a server): no server binary runs here."""

from __future__ import annotations

from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from minicoil import MiniCOIL
from minicoil.search.push import push_collection
from minicoil.search.qdrant import SearchIndex
from minicoil.search.store import StoreError
from tests.reliability.helpers import QUERIES, random_documents


def test_push_copies_everything_and_searches_alike(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    corpus = random_documents(80, seed=3)
    client = QdrantClient(":memory:")
    with SearchIndex(tiny_model, "c", path=tmp_path) as embedded:
        embedded.index(corpus, progress=False)
        meta = embedded.metadata()
        want = {
            (q, m): embedded.search(q, mode=m, limit=len(corpus))  # type: ignore[arg-type]
            for q in QUERIES
            for m in ("sparse", "bm25", "dense", "hybrid")
        }
        stored = {p.id: p for p in embedded.engine.points()}
    assert push_collection(tmp_path, "c", client=client, batch=32) == len(corpus)
    server = SearchIndex(tiny_model, "c", client=client)
    assert server.metadata() == meta
    assert server.count() == len(corpus)
    for p in server.engine.points():
        mine = stored[p.id]
        assert p.payload == mine.payload
        for name, vector in mine.vectors.items():
            got = p.vectors[name]
            if hasattr(vector, "indices"):
                assert got.indices.tolist() == vector.indices.tolist()  # type: ignore[union-attr]
                assert got.values == pytest.approx(vector.values)  # type: ignore[union-attr]
            else:
                assert got == pytest.approx(vector, abs=1e-6)
    for (query, mode), hits in want.items():  # complete rankings: no ties at a cut
        got_hits = server.search(query, mode=mode, limit=len(corpus))  # type: ignore[arg-type]
        assert {h.doc_id: h.score for h in got_hits} == pytest.approx(
            {h.doc_id: h.score for h in hits}, rel=1e-4, abs=1e-5
        )
        assert [h.text for h in got_hits] == [corpus[h.doc_id] for h in got_hits]
    with pytest.raises(StoreError, match="already exists"):
        push_collection(tmp_path, "c", client=client)
    assert push_collection(tmp_path, "c", client=client, replace=True) == len(corpus)
    with pytest.raises(StoreError, match="'nope' not found"):
        push_collection(tmp_path, "nope", client=client)
