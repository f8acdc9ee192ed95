"""The exact scorer: IDF by hand, deterministic ranking, persistence, and agreement with Qdrant's
local mode (IDF modifier for sparse, cosine for dense) on the tiny model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from minicoil import MiniCOIL, SparseVector
from minicoil.search.exact import ExactDense, ExactSparse, IndexFileError, best_hits

DOCS = [
    "The bank of the river was flooded; the river bank eroded.",
    "She put money in the bank and the bank paid interest.",
    "A bat flew out of the cave near the river.",
    "Databases at the university store course data, please.",
    "Money, money, money: the bank of england.",
    "Cave divers explore the underground river.",
    "The baseball bat was wooden and the runner ran home.",
    "Please run the database backup before the university closes.",
]
QUERIES = ["river bank", "money bank", "bat cave", "university databases zebra", "run"]


def sv(indices: list[int], values: list[float]) -> SparseVector:
    return SparseVector(np.asarray(indices, np.int32), np.asarray(values, np.float32))


def three_docs() -> list[SparseVector]:
    return [sv([1, 5], [1.0, 2.0]), sv([5, 2**31 - 1], [1.0, 1.0]), sv([7], [3.0])]


def test_idf_by_hand_for_three_documents() -> None:
    index = ExactSparse.build(three_docs())
    assert index.columns.tolist() == [1, 5, 7, 2**31 - 1]
    rare = math.log((3 - 1 + 0.5) / (1 + 0.5) + 1)  # ln(8/3): in one document of three
    common = math.log((3 - 2 + 0.5) / (2 + 0.5) + 1)  # ln(1.6): in two documents
    assert index.idf.tolist() == pytest.approx([rare, common, rare, rare])
    query = sv([5, 7, 9], [1.0, 2.0, 5.0])  # index 9 is in no document
    assert index.scores(query) == {
        0: pytest.approx(2 * common),
        1: pytest.approx(common),
        2: pytest.approx(6 * rare),
    }
    assert index.search([query], top_k=2) == [
        [(2, pytest.approx(6 * rare)), (0, pytest.approx(2 * common))]
    ]


def test_empty_documents_count_in_n_but_never_match() -> None:
    index = ExactSparse.build([*three_docs(), sv([], [])])
    assert index.n_docs == 4
    assert index.idf[0] == pytest.approx(math.log((4 - 1 + 0.5) / 1.5 + 1))
    assert 3 not in index.scores(sv([1, 5, 7], [1.0, 1.0, 1.0]))


def test_ties_break_by_position_and_only_matching_documents_return() -> None:
    same = sv([3], [1.0])
    index = ExactSparse.build([sv([4], [1.0]), same, same, same])
    assert index.search([sv([3], [1.0])], top_k=2)[0] == [
        (1, pytest.approx(index.idf[0])),
        (2, pytest.approx(index.idf[0])),
    ]
    assert [p for p, _ in index.search([sv([3], [1.0])], top_k=10)[0]] == [1, 2, 3]
    assert index.search([sv([99], [1.0]), sv([], [])], top_k=3) == [[], []]


def test_the_shared_transpose_scores_like_a_fresh_product_on_every_call() -> None:
    """Searches reuse one transposed float64 matrix; each must equal a product computed from
    scratch with the float32 document matrix, bit for bit, however often it is asked."""
    rng = np.random.default_rng(3)
    docs = []
    for _ in range(60):
        words = np.sort(rng.choice(40, size=rng.integers(0, 8), replace=False))
        docs.append(sv(words.tolist(), rng.normal(size=len(words)).tolist()))
    index = ExactSparse.build(docs)
    assert index.prepare() is index
    queries = [sv([1, 7, 22, 39], [1.0, -0.5, 2.0, 0.25]), sv([3], [1.0]), sv([99], [1.0])]
    fresh = (index._query_rows(queries) @ index.matrix.T).tocsr()
    for _ in range(2):
        for row, query in enumerate(queries):
            want = dict(zip(fresh[row].indices.tolist(), fresh[row].data.tolist(), strict=True))
            assert index.scores(query) == want
            positions, scores = index.query_scores(query)
            assert dict(zip(positions.tolist(), scores.tolist(), strict=True)) == want
            assert index.side(query).top(50) == index.search([query], 50)[0]
    assert index.search(queries, 5) == [index.search([q], 5)[0] for q in queries]


def test_dense_side_scores_every_document() -> None:
    index = ExactDense(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]))
    side = index.side(np.array([0.0, 3.0]))
    assert side.lookup({0, 2}) == {0: pytest.approx(0.0), 2: pytest.approx(1.0)}
    assert [p for p, _ in side.top(2)] == [2, 1]
    with pytest.raises(ValueError, match="dim"):
        index.query_scores(np.ones(3))


def test_best_hits_keeps_every_tie_at_the_cut() -> None:
    positions = np.array([9, 3, 5, 1])
    scores = np.array([1.0, 2.0, 1.0, 1.0])
    assert best_hits(positions, scores, 2) == [(3, 2.0), (1, 1.0)]
    assert best_hits(positions, scores, 0) == []


def test_unsorted_or_repeated_indices_are_rejected() -> None:
    bad = SparseVector(np.asarray([5, 5], np.int32), np.asarray([1, 1], np.float32))
    with pytest.raises(ValueError, match="vector 1: indices must be sorted and unique"):
        ExactSparse.build([sv([1], [1.0]), bad])


def test_dense_cosine_by_hand() -> None:
    index = ExactDense(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [0.0, 0.0]]))
    hits = index.search(np.array([[2.0, 0.0]]), top_k=4)[0]
    assert hits == [
        (0, pytest.approx(1.0)),
        (1, pytest.approx(1 / math.sqrt(2))),
        (2, pytest.approx(0.0)),
        (3, pytest.approx(0.0)),
    ]
    with pytest.raises(ValueError, match="dim"):
        index.search(np.ones((1, 3)))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    sparse = ExactSparse.build(three_docs(), metadata={"doc_ids": ["a", "b", "c"]})
    sparse.save(tmp_path / "sparse")
    loaded = ExactSparse.load(tmp_path / "sparse.npz")
    assert loaded.metadata == {"doc_ids": ["a", "b", "c"]}
    query = sv([1, 5, 7], [1.0, 0.5, 2.0])
    assert loaded.search([query], 3) == sparse.search([query], 3)
    assert json.loads((tmp_path / "sparse.json").read_text())["n_columns"] == 4

    dense = ExactDense(np.eye(3), metadata={"model": "x"})
    dense.save(tmp_path / "dense")
    again = ExactDense.load(tmp_path / "dense")
    assert again.metadata == {"model": "x"}
    np.testing.assert_array_equal(again.matrix, dense.matrix)

    with pytest.raises(IndexFileError, match="not a minicoil-exact sparse index"):
        ExactSparse.load(tmp_path / "dense")
    with pytest.raises(IndexFileError, match="file not found"):
        ExactDense.load(tmp_path / "missing")


def test_same_top_k_and_scores_as_qdrant_local_mode(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.fit(DOCS)
    encoded = list(tiny_model.encode_document(DOCS, dense=True))
    sparse_docs = [s for s, _ in encoded]
    dense_docs = np.stack([d for _, d in encoded])
    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection(
        "docs",
        vectors_config={"dense": models.VectorParams(size=dense_docs.shape[1], distance="Cosine")},
        sparse_vectors_config={"minicoil": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    client.upsert(
        "docs",
        [
            models.PointStruct(id=i, vector={"minicoil": s.to_qdrant(), "dense": d.tolist()})
            for i, (s, d) in enumerate(encoded)
        ],
    )
    sparse_index, dense_index = ExactSparse.build(sparse_docs), ExactDense(dense_docs)
    queries = list(tiny_model.encode_query(QUERIES, dense=True))
    top = 4
    exact_sparse = sparse_index.search([s for s, _ in queries], top_k=top)
    exact_dense = dense_index.search(np.stack([d for _, d in queries]), top_k=top)
    for (sparse_q, dense_q), want_sparse, want_dense in zip(
        queries, exact_sparse, exact_dense, strict=True
    ):
        for query, using, want in (
            (sparse_q.to_qdrant(), "minicoil", want_sparse),
            (dense_q.tolist(), "dense", want_dense),
        ):
            got = client.query_points("docs", query=query, using=using, limit=top).points
            assert len(got) == len(want)
            # same scores in the same order; ids agree wherever scores are not tied
            assert [p.score for p in got] == pytest.approx([s for _, s in want], rel=1e-4)
            assert [p.id for p in got] == [pos for pos, _ in want] or _tied(want)
        assert want_sparse, "every test query shares a word with some document"
    client.close()


def _tied(hits: list[tuple[int, float]]) -> bool:
    scores = [round(s, 5) for _, s in hits]
    return len(set(scores)) < len(scores)
