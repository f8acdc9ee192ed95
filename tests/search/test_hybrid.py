"""The one hybrid algorithm (``minicoil.search.hybrid``) on the exact scorers: the candidate
pool, the look-ups, the floor, the weighted sum and the rank fusions, by hand and against a
brute-force evaluation over the whole corpus."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicoil.search import fusion
from minicoil.search import hybrid as hy
from minicoil.search.exact import ExactDense, ExactSparse, ScoredSide, best_hits
from minicoil.sparse import SparseVector


def sv(indices: list[int], values: list[float]) -> SparseVector:
    return SparseVector(np.asarray(indices, np.int32), np.asarray(values, np.float32))


# Five documents over words 1..4. Document 4 shares no word with the query [1, 2].
SPARSE_DOCS = [sv([1], [2.0]), sv([1, 2], [1.0, 1.0]), sv([2], [0.5]), sv([2, 3], [1.0, 1.0])]
SPARSE_DOCS.append(sv([4], [1.0]))
BM25_DOCS = [sv(list(v.indices), [abs(x) + 0.5 for x in v.values]) for v in SPARSE_DOCS]
DENSE_DOCS = np.array([[1, 0], [0.6, 0.8], [0, 1], [-1, 0], [0.8, 0.6]], dtype=np.float32)
QUERY = sv([1, 2], [1.0, 1.0])
DENSE_QUERY = np.array([0.0, 1.0], dtype=np.float32)


def sides() -> tuple[ScoredSide, ScoredSide, ScoredSide]:
    return (
        ExactSparse.build(SPARSE_DOCS).side(QUERY),
        ExactDense(DENSE_DOCS).side(DENSE_QUERY),
        ExactSparse.build(BM25_DOCS).side(QUERY),
    )


def test_weighted_pools_the_tops_and_looks_up_missing_scores() -> None:
    sparse, dense, _ = sides()
    assert [p for p, _ in sparse.top(1)] == [0] and [p for p, _ in dense.top(1)] == [2]
    got = hy.hybrid_scores(sparse, dense, weight=2.0, floor=0.0, candidates=1)
    # pool {0, 2}: document 0 gets its cosine (0) looked up, document 2 its sparse score
    full_sparse, full_dense = dict(sparse.top(10)), dict(dense.top(10))
    scale = max(full_sparse[0], full_sparse[2])
    want = {p: full_sparse[p] / scale + 2.0 * full_dense[p] for p in (0, 2)}
    assert got == pytest.approx(want)
    assert set(got) == {0, 2}


def test_the_floor_mixes_bm25_into_the_sparse_side_and_bm25_joins_the_pool() -> None:
    sparse, dense, bm25 = sides()
    got = hy.hybrid_scores(sparse, dense, floor=0.5, bm25=bm25, weight=1.0, candidates=1)
    pool = {0, 2} | {p for p, _ in bm25.top(1)}
    assert set(got) == pool
    mixed = fusion.floored(sparse.lookup(pool), bm25.lookup(pool), 0.5)
    assert got == pytest.approx(fusion.weighted_sum(mixed, dense.lookup(pool), 1.0))


def test_no_floor_without_a_bm25_side_or_at_floor_zero() -> None:
    sparse, dense, bm25 = sides()
    plain = hy.hybrid_scores(sparse, dense, floor=0.0, candidates=2)
    assert hy.hybrid_scores(sparse, dense, floor=0.0, bm25=bm25, candidates=2) == plain
    assert hy.hybrid_scores(sparse, dense, floor=0.75, candidates=2) == plain


def test_a_document_sharing_no_word_has_no_sparse_score() -> None:
    sparse, dense, _ = sides()
    got = hy.hybrid_scores(sparse, dense, weight=1.0, floor=0.0, candidates=5)
    assert 4 not in sparse.lookup({4}) and got[4] == pytest.approx(float(dense.lookup({4})[4]))


@pytest.mark.parametrize("name", ["rrf", "dbsf"])
def test_rank_fusions_fuse_the_top_lists_and_ignore_weight_and_floor(name: str) -> None:
    sparse, dense, bm25 = sides()
    runs = [dict(sparse.top(2)), dict(dense.top(2))]
    want = fusion.rrf(runs, k=hy.RRF_K) if name == "rrf" else fusion.dbsf(runs)
    got = hy.hybrid_scores(sparse, dense, fusion=name, weight=9.0, bm25=bm25, candidates=2)
    assert got == want


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fusion": "max"}, "fusion must be one of rrf, dbsf, weighted"),
        ({"candidates": 0}, "candidates must be >= 1"),
        ({"floor": 1.5}, "floor must be between 0 and 1"),
    ],
)
def test_bad_settings_are_value_errors(kwargs: dict, message: str) -> None:
    sparse, dense, _ = sides()
    with pytest.raises(ValueError, match=message):
        hy.hybrid_scores(sparse, dense, **kwargs)


def test_rank_fusion_names_and_counts() -> None:
    with pytest.raises(ValueError, match="rank fusion must be rrf or dbsf"):
        hy.rank_fusion("weighted", [])
    assert hy.FUSIONS == ("rrf", "dbsf", "weighted") and hy.HYBRID_FUSION in hy.FUSIONS
    assert hy.candidate_count(10) == hy.MIN_CANDIDATES == 100
    assert hy.candidate_count(500) == 500 and hy.candidate_count(10, 20) == 20
    assert hy.candidate_count(30, 20) == 30  # never fewer than the hits asked for
    assert hy.qdrant_rrf_k(60) == 61


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[SparseVector], list[SparseVector], np.ndarray]:
    n = draw(st.integers(1, 12))
    vocab = st.lists(st.integers(0, 6), max_size=4, unique=True).map(sorted)
    values = st.floats(-2, 2, allow_nan=False, width=32)
    docs, plain = [], []
    for _ in range(n):
        words = draw(vocab)
        docs.append(sv(words, [draw(values) for _ in words]))
        plain.append(sv(words, [draw(st.floats(0.125, 3, width=32)) for _ in words]))
    dense = np.array(draw(st.lists(st.lists(values, min_size=3, max_size=3), min_size=n,
                                   max_size=n)), dtype=np.float32)  # fmt: skip
    return docs, plain, dense


@settings(max_examples=60, deadline=None)
@given(corpora(), st.floats(0, 1), st.floats(0, 4))
def test_a_pool_of_every_document_is_the_brute_force_hybrid(
    corpus: tuple[list[SparseVector], list[SparseVector], np.ndarray], floor: float, weight: float
) -> None:
    docs, plain, dense = corpus
    query, dense_q = sv([0, 2, 5], [1.0, -0.5, 2.0]), np.array([1.0, 0.5, -0.2], np.float32)
    sparse_index, bm25_index = ExactSparse.build(docs), ExactSparse.build(plain)
    dense_index = ExactDense(dense)
    got = hy.hybrid_scores(
        sparse_index.side(query),
        dense_index.side(dense_q),
        floor=floor,
        weight=weight,
        bm25=bm25_index.side(query),
        candidates=len(docs),
    )
    # brute force: every document's scores, no pool at all
    everything = dict(enumerate(dense_index.query_scores(dense_q).tolist()))
    mixed = fusion.floored(sparse_index.scores(query), bm25_index.scores(query), floor)
    assert got == pytest.approx(fusion.weighted_sum(mixed, everything, weight))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-3, 3, allow_nan=False), max_size=30),
    st.lists(st.integers(0, 35), min_size=1, max_size=5),
)
def test_a_side_answers_every_top_n_like_best_hits(scores: list[float], asks: list[int]) -> None:
    positions = np.arange(len(scores)) * 3  # keys need not be 0..n-1
    side = ScoredSide(positions, np.asarray(scores))
    for n in asks:  # in any order: the cached list must serve shorter and longer asks alike
        assert side.top(n) == best_hits(positions, np.asarray(scores, np.float64), n)
    assert side.lookup({3, 4, -1}) == ({3: scores[1]} if len(scores) > 1 else {})
