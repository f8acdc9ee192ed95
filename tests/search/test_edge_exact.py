"""The embedded engine (Qdrant Edge) scores exactly as the reference scorers
(:mod:`minicoil.search.exact` + :mod:`minicoil.search.hybrid`) on a fresh collection, after
updates and after deletes: Edge's own IDF statistics count replaced and deleted points and
skip empty vectors, so these are the traps the exact-IDF route must close."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from minicoil import MiniCOIL
from minicoil.search import fusion, hybrid
from minicoil.search.exact import ExactDense, ExactSparse
from minicoil.search.points import EncodedPoint, EncodedQuery
from minicoil.search.qdrant import SearchIndex
from minicoil.sparse import SparseVector

VOCAB = 60  # sparse indices: few enough that documents share words, so IDF matters


def sparse(rng: np.random.Generator, signed: bool, empty: bool = False) -> SparseVector:
    if empty:
        return SparseVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
    idx = np.unique(rng.integers(0, VOCAB, size=int(rng.integers(1, 12)))).astype(np.int32)
    values = rng.normal(size=len(idx)) if signed else rng.uniform(0.1, 2.0, size=len(idx))
    return SparseVector(idx, values.astype(np.float32))


def point(doc_id: str, rng: np.random.Generator, dim: int, empty: bool = False) -> EncodedPoint:
    return EncodedPoint(
        doc_id,
        sparse(rng, True, empty),
        sparse(rng, False, empty),
        rng.normal(size=dim).astype(np.float32),
        {"title": "", "text": f"text of {doc_id}", "hash": doc_id},
    )


@pytest.fixture
def index(tiny_model: MiniCOIL, tmp_path: Path) -> Iterator[SearchIndex]:
    with SearchIndex(tiny_model, "c", path=tmp_path) as built:
        yield built


def queries(dim: int, n: int = 8) -> list[EncodedQuery]:
    rng = np.random.default_rng(99)
    return [
        EncodedQuery(sparse(rng, True), sparse(rng, False), rng.normal(size=dim).astype(np.float32))
        for _ in range(n)
    ]


def assert_exact(index: SearchIndex, live: dict[str, EncodedPoint]) -> None:
    """Every mode's hits and scores equal the reference over the live documents."""
    ids = sorted(live)
    exact_sparse = ExactSparse.build([live[d].sparse for d in ids])
    exact_bm25 = ExactSparse.build([live[d].bm25 for d in ids])
    exact_dense = ExactDense(np.stack([live[d].dense for d in ids]))
    assert index.n_docs == len(ids)
    dim = exact_dense.matrix.shape[1]
    for q in queries(dim):
        for mode, exact, vector in (
            ("sparse", exact_sparse, q.sparse),
            ("bm25", exact_bm25, q.bm25),
        ):
            want = {ids[p]: s for p, s in exact.scores(vector).items()}
            hits = index.search_encoded(q, mode=mode, limit=len(ids))  # type: ignore[arg-type]
            assert {h.doc_id: h.score for h in hits} == pytest.approx(want, rel=1e-5, abs=1e-5)
        dense_want = {ids[p]: s for p, s in exact_dense.side(q.dense).top(10)}
        dense = index.search_encoded(q, mode="dense", limit=10)
        assert {h.doc_id: h.score for h in dense} == pytest.approx(dense_want, abs=1e-5)
        for floor, candidates in ((hybrid.HYBRID_FLOOR, None), (0.0, 3), (0.5, 12)):
            want_h = hybrid.hybrid_scores(
                exact_sparse.side(q.sparse),
                exact_dense.side(q.dense),
                floor=floor,
                bm25=exact_bm25.side(q.bm25),
                candidates=hybrid.candidate_count(10, candidates),
            )
            ranked = [(ids[p], s) for p, s in fusion.ranked(want_h, 10)]
            got = index.search_encoded(q, mode="hybrid", floor=floor, candidates=candidates)
            assert [h.doc_id for h in got] == [d for d, _ in ranked]
            assert [h.score for h in got] == pytest.approx([s for _, s in ranked], rel=1e-5)


def test_scores_equal_the_exact_scorer_fresh_updated_and_deleted(index: SearchIndex) -> None:
    dim = int(index.fingerprint["dense_size"])
    rng = np.random.default_rng(0)
    live = {f"d{i}": point(f"d{i}", rng, dim, empty=i % 17 == 0) for i in range(120)}
    index.add_encoded(live.values(), avg_len=5.0, batch=50)
    assert_exact(index, live)  # fresh, with empty vectors (Edge leaves those out of N)

    updated = {d: point(d, rng, dim) for d in list(live)[::4]}
    index.add_encoded(updated.values())
    live.update(updated)
    assert_exact(index, live)  # replaced points must not count twice

    gone = list(live)[1::7]
    assert index.delete([*gone, "never-indexed"]) == len(live) - len(gone)
    for d in gone:
        live.pop(d)
    assert_exact(index, live)  # deleted points must not count at all


def test_edge_statistics_are_used_only_while_they_are_exact(
    index: SearchIndex, tmp_path: Path
) -> None:
    """A collection only ever added to searches with Edge's own (cheaper) IDF statistics; the
    first replace or delete switches to live-point statistics, and scores stay exact."""
    dim = int(index.fingerprint["dense_size"])
    rng = np.random.default_rng(2)
    live = {f"d{i}": point(f"d{i}", rng, dim) for i in range(80)}
    index.add_encoded(list(live.values())[:50], avg_len=5.0, batch=20)
    index.add_encoded(list(live.values())[50:])  # added to: still exact
    marker = tmp_path / "c" / "idf-exact"
    assert marker.exists()
    assert_exact(index, live)
    replaced = {d: point(d, rng, dim) for d in list(live)[:3]}
    index.add_encoded(replaced.values())
    live.update(replaced)
    assert not marker.exists()
    assert_exact(index, live)
    with SearchIndex(index.model, "c", path=tmp_path) as again:  # the state survives reopening
        again.delete(["d5"])
        live.pop("d5")
        assert_exact(again, live)
        assert not marker.exists()


def test_document_frequencies_are_those_of_live_documents(index: SearchIndex) -> None:
    dim = int(index.fingerprint["dense_size"])
    rng = np.random.default_rng(1)
    live = {f"d{i}": point(f"d{i}", rng, dim) for i in range(60)}
    index.add_encoded(live.values(), avg_len=5.0)
    index.delete(list(live)[:10])
    rest = list(live.values())[10:]
    want = {i: sum(i in p.bm25.indices for p in rest) for i in range(VOCAB)}
    assert index.document_frequencies(range(VOCAB)) == want
    assert index.n_docs == 50 and index.avg_len == 5.0
