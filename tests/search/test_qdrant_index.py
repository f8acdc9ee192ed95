"""SearchIndex on the embedded engine (Qdrant Edge): idempotent indexing, model checks, every
search mode, and engine-side fusion equal to the pure fusion functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qdrant_edge import Distance, EdgeConfig, EdgeShard, EdgeVectorParams

from minicoil import Backbone
from minicoil.search import fusion, hybrid
from minicoil.search.qdrant import SearchIndex, SearchIndexError, point_id
from tests.conftest import random_model

DOCS = {
    "d1": "The bank of the river was flooded; the river bank eroded.",
    "d2": "She put money in the bank and the bank paid interest.",
    "d3": "A bat flew out of the cave near the river.",
    "d4": "Databases at the university store course data, please.",
    "d5": "Money, money, money: the bank of england.",
    "d6": "Cave divers explore the underground river at night.",
    "d7": "The baseball bat was wooden and the runner ran home.",
    "d8": "Please run the database backup before the university closes.",
    "d9": "the and of",
}
QUERY = "money at the river bank"


@pytest.fixture(scope="module")
def index(
    wordpiece_backbone: Backbone, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchIndex]:
    folder = tmp_path_factory.mktemp("qdrant")
    with SearchIndex(random_model(wordpiece_backbone), "docs", path=folder) as built:
        built.index(DOCS, progress=False)
        yield built


def doc_ids(index: SearchIndex) -> list[str]:
    return [p.payload["doc_id"] for p in index.engine.points()]


def test_point_ids_are_stable_uuids() -> None:
    assert point_id("d1") == point_id("d1") != point_id("d2")
    assert uuid.UUID(point_id("d1")).version == 5


def test_indexing_twice_keeps_one_point_per_document(index: SearchIndex) -> None:
    before = {h.doc_id: h.score for h in index.search(QUERY, limit=len(DOCS))}
    report = index.index(DOCS, progress=False)
    assert not report.created and report.points == index.count() == len(DOCS)
    assert sorted(doc_ids(index)) == sorted(DOCS)
    meta = index.metadata()
    assert meta is not None and meta["corpus"]["n_docs"] == len(DOCS)
    assert meta["corpus"]["avg_len"] == pytest.approx(index.model.fit(DOCS.values()).avg_len)
    after = {h.doc_id: h.score for h in index.search(QUERY, limit=len(DOCS))}
    assert after == pytest.approx(before)


def test_duplicate_ids_in_one_call_are_refused(index: SearchIndex) -> None:
    with pytest.raises(ValueError, match="duplicate document id 'x'"):
        index.index([("x", "a"), ("y", "b"), ("x", "c")], progress=False)


@pytest.mark.parametrize(
    ("mode", "fuse"),
    [("sparse", "rrf"), ("bm25", "rrf"), ("dense", "rrf")]
    + [("hybrid", f) for f in ("rrf", "dbsf", "weighted")],
)
def test_every_mode_returns_ranked_results(index: SearchIndex, mode: str, fuse: str) -> None:
    hits = index.search(QUERY, mode=mode, fusion=fuse, limit=3)  # type: ignore[arg-type]
    assert 1 <= len(hits) <= 3
    assert all(h.doc_id in DOCS for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_sparse_modes_only_return_matching_documents(index: SearchIndex) -> None:
    for mode in ("sparse", "bm25"):
        hits = index.search("cave", mode=mode, limit=10)  # type: ignore[arg-type]
        assert {h.doc_id for h in hits} == {"d3", "d6"}
    assert index.search("the and", mode="bm25") == []


def single_runs(index: SearchIndex, n: int) -> tuple[dict[str, float], dict[str, float]]:
    sparse = {h.doc_id: h.score for h in index.search(QUERY, mode="sparse", limit=n)}
    dense = {h.doc_id: h.score for h in index.search(QUERY, mode="dense", limit=n)}
    for run in (sparse, dense):  # rank fusion is only well defined without ties
        assert len({round(s, 6) for s in run.values()}) == len(run)
    return sparse, dense


@pytest.mark.parametrize("method", ["rrf", "dbsf"])
def test_server_side_fusion_equals_fusion_functions(index: SearchIndex, method: str) -> None:
    n = 5
    sparse, dense = single_runs(index, n)
    want = fusion.rrf([sparse, dense], k=60) if method == "rrf" else fusion.dbsf([sparse, dense])
    hits = index.search(QUERY, mode="hybrid", fusion=method, limit=n, candidates=n)  # type: ignore[arg-type]
    # every hit carries its fused score, and the top-n scores are the same; which of several
    # documents tied at the cut makes it in is up to each side's tie-breaking (RRF ties are
    # common), so only complete tie groups are compared by identity
    # Edge fuses in float32: DBSF's division by the standard deviation scales its ulps up
    assert [h.score for h in hits] == pytest.approx(
        [s for _, s in fusion.ranked(want, n)], rel=1e-5
    )
    for h in hits:
        assert h.score == pytest.approx(want[h.doc_id], rel=1e-5)
    got_groups = tie_groups([(h.doc_id, h.score) for h in hits])
    want_groups = tie_groups(fusion.ranked(want, n))
    assert got_groups[:-1] == want_groups[:-1]


def tie_groups(ranking: list[tuple[str, float]]) -> list[set[str]]:
    groups: list[set[str]] = []
    last = None
    for doc_id, score in ranking:
        if last is None or abs(score - last) > 1e-6 * max(1.0, abs(score)):
            groups.append(set())
        groups[-1].add(doc_id)
        last = score
    return groups


def test_weighted_hybrid_uses_exact_scores_for_every_candidate(index: SearchIndex) -> None:
    sparse, dense = single_runs(index, len(DOCS))
    want = fusion.weighted_sum(sparse, dense, weight=2.0)
    kwargs: dict[str, Any] = {"mode": "hybrid", "fusion": "weighted", "weight": 2.0, "floor": 0.0}
    everything = index.search(QUERY, limit=20, **kwargs)
    assert [(h.doc_id, h.score) for h in everything] == [
        (d, pytest.approx(s)) for d, s in fusion.ranked(want)
    ]
    # with 2 candidates per side, a candidate missing on one side still gets its true score
    few = index.search(QUERY, limit=3, candidates=2, **kwargs)
    assert {h.doc_id: h.score for h in few} == pytest.approx(
        {h.doc_id: want[h.doc_id] for h in few}
    )


def test_the_default_hybrid_is_the_floored_weighted_sum(index: SearchIndex) -> None:
    sparse, dense = single_runs(index, len(DOCS))
    bm25 = {h.doc_id: h.score for h in index.search(QUERY, mode="bm25", limit=len(DOCS))}
    floored = fusion.floored(sparse, bm25, hybrid.HYBRID_FLOOR)
    want = fusion.weighted_sum(floored, dense, hybrid.HYBRID_WEIGHT)
    hits = index.search(QUERY, mode="hybrid", limit=len(DOCS))
    assert [(h.doc_id, h.score) for h in hits] == [
        (d, pytest.approx(s)) for d, s in fusion.ranked(want)
    ]


def test_another_model_is_refused(index: SearchIndex, wordpiece_backbone: Backbone) -> None:
    other_heads = SearchIndex(random_model(wordpiece_backbone, seed=1), "docs", path=index.location)
    with pytest.raises(SearchIndexError, match=r"another model .*differs in heads\)"):
        other_heads.search(QUERY)
    with pytest.raises(SearchIndexError, match="index --recreate"):
        other_heads.index({"new": "a new document"}, progress=False)
    other_words = SearchIndex(
        random_model(wordpiece_backbone, words=["bank", "river"]), "docs", path=index.location
    )
    with pytest.raises(SearchIndexError, match="vocabulary size, vocabulary, heads"):
        other_words.search(QUERY, mode="bm25")
    assert index.count() == len(DOCS)


def test_missing_or_foreign_collections_are_refused(index: SearchIndex) -> None:
    missing = SearchIndex(index.model, "nope", path=index.location)
    with pytest.raises(SearchIndexError, match="'nope' not found"):
        missing.search(QUERY)
    assert not (Path(index.location) / "nope").exists()  # a failed search creates nothing
    EdgeShard.create(
        str(Path(index.location) / "foreign" / "shard"),
        EdgeConfig(vectors={"v": EdgeVectorParams(size=2, distance=Distance.Dot)}),
    ).close()
    foreign = SearchIndex(index.model, "foreign", path=index.location)
    with pytest.raises(SearchIndexError, match="not built by minicoil"):
        foreign.index(DOCS, progress=False)
    with pytest.raises(ValueError, match="mode must be one of"):
        index.search(QUERY, mode="splade")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        index.search("  ")


def test_metadata_persists_on_disk_and_recreate_switches_model(
    wordpiece_backbone: Backbone, tmp_path: Path
) -> None:
    first = random_model(wordpiece_backbone)
    with SearchIndex(first, "c", path=tmp_path) as built:
        built.index(dict(list(DOCS.items())[:4]), progress=False)
    with SearchIndex(random_model(wordpiece_backbone), "c", path=tmp_path) as reopened:
        assert reopened.metadata()["corpus"]["n_docs"] == 4  # type: ignore[index]
        assert reopened.search("river bank")
    second = random_model(wordpiece_backbone, seed=2)
    with SearchIndex(second, "c", path=tmp_path) as rebuilt:
        report = rebuilt.index(DOCS, recreate=True, progress=False)
        assert report.created and report.points == len(DOCS)
        assert rebuilt.search("river bank")


def test_weighted_hybrid_with_a_floor_mixes_in_bm25_exactly(index: SearchIndex) -> None:
    n = len(DOCS)
    sparse, dense = single_runs(index, n)
    plain = {h.doc_id: h.score for h in index.search(QUERY, mode="bm25", limit=n)}
    want = fusion.weighted_sum(fusion.floored(sparse, plain, 0.5), dense, weight=2.0)
    got = index.search(QUERY, mode="hybrid", fusion="weighted", weight=2.0, floor=0.5, limit=n)
    assert {h.doc_id: h.score for h in got} == pytest.approx(want)
    # few candidates per side: the BM25 top-N joins the pool and every score is looked up
    few = index.search(
        QUERY, mode="hybrid", fusion="weighted", weight=2.0, floor=0.5, limit=3, candidates=2
    )
    assert {h.doc_id: h.score for h in few} == pytest.approx(
        {h.doc_id: want[h.doc_id] for h in few}
    )
    with pytest.raises(ValueError, match="floor"):
        index.search(QUERY, mode="hybrid", fusion="weighted", floor=2.0)
