"""Load: searches from several threads while another thread indexes into the same embedded
collection (one process: every SearchIndex on a folder shares its one open Edge shard).

With qdrant-client's former local mode a search that ran during an upsert failed with
mismatched array shapes or an ``IndexError``; Edge synchronises searches and upserts itself,
and only replacing a shard waits for running searches. Searches during indexing see a
growing collection; once indexing ends they must equal a single-threaded index's results
(see :func:`assert_same_results` for the float tolerance).
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from minicoil import MiniCOIL
from minicoil.search.qdrant import Hit, SearchIndex
from tests.reliability.helpers import QUERIES, random_documents

MODES = [("sparse", "rrf"), ("bm25", "rrf"), ("dense", "rrf")] + [
    ("hybrid", fusion) for fusion in ("rrf", "dbsf", "weighted")
]
SEARCHERS = 3


def all_results(index: SearchIndex, limit: int) -> dict[tuple[str, str, str], list[Hit]]:
    return {
        (query, mode, fusion): index.search(query, mode=mode, fusion=fusion, limit=limit)  # type: ignore[arg-type]
        for query in QUERIES
        for mode, fusion in MODES
    }


def check_hits(hits: list[Hit], corpus: dict[str, str]) -> None:
    ids = [hit.doc_id for hit in hits]
    assert set(ids) <= set(corpus), set(ids) - set(corpus)
    assert len(ids) == len(set(ids)), ids
    scores = [hit.score for hit in hits]
    assert all(np.isfinite(scores)) and scores == sorted(scores, reverse=True), scores


def assert_same_results(got: list[Hit], want: list[Hit], fusion: str) -> None:
    """Same documents with the same scores, hence the same ranking up to near-ties.

    Not bit-identical: Edge sums in float32 in segment order, and an index written while
    searches run may be laid out in other segments (and ties take the engine's storage order).
    Scores move by ~1e-7; under RRF a swap of two documents tied on one side changes their
    fused scores by 1/(61+r) - 1/(62+r) < 3e-4.
    """
    want_scores = {h.doc_id: h.score for h in want}
    got_scores = {h.doc_id: h.score for h in got}
    assert got_scores.keys() == want_scores.keys()
    ids = sorted(want_scores)
    atol = 3e-4 if fusion == "rrf" else 1e-6
    np.testing.assert_allclose(
        [got_scores[i] for i in ids], [want_scores[i] for i in ids], rtol=1e-5, atol=atol
    )


def test_searches_while_indexing_are_correct(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    corpus = random_documents(240, seed=1)
    with SearchIndex(tiny_model, "c", path=tmp_path / "reference") as reference:
        # same upsert batches, so the same encoding batches (padding moves floats by 1e-7)
        reference.index(corpus, upsert_batch=8, progress=False)
        want = all_results(reference, len(corpus))

    shared = tmp_path / "shared"
    writer = SearchIndex(tiny_model, "c", path=shared)
    # one searcher shares the writer's SearchIndex, the others open their own on the folder
    readers = [writer] + [SearchIndex(tiny_model, "c", path=shared) for _ in range(SEARCHERS - 1)]
    finished = threading.Event()
    errors: list[BaseException] = []
    during: list[int] = []  # result sizes of searches that ran before indexing ended

    def index() -> None:
        try:
            writer.index(corpus, upsert_batch=8, progress=False)  # 30 upserts to interleave
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            finished.set()

    def search(reader: SearchIndex, seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not reader.exists() and not finished.is_set():
                time.sleep(0.001)
            while not finished.is_set():
                mode, fusion = rng.choice(MODES)
                hits = reader.search(rng.choice(QUERIES), mode=mode, fusion=fusion, limit=20)  # type: ignore[arg-type]
                check_hits(hits, corpus)
                if not finished.is_set():
                    during.append(len(hits))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=index)] + [
        threading.Thread(target=search, args=(reader, seed)) for seed, reader in enumerate(readers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    try:
        assert not errors, errors
        assert len(during) >= 20, "the searches did not overlap the indexing"
        assert writer.count() == len(corpus)
        got = all_results(readers[1], len(corpus))
    finally:
        for reader in readers:
            reader.close()
    for key, hits in want.items():
        check_hits(got[key], corpus)
        assert_same_results(got[key], hits, fusion=key[2] if key[1] == "hybrid" else "")


@pytest.mark.parametrize("n_threads", [4])
def test_concurrent_searches_equal_sequential_ones(
    tiny_model: MiniCOIL, tmp_path: Path, n_threads: int
) -> None:
    """Searches only (no writer): every thread gets the sequential answer (to float32 noise,
    see :func:`assert_same_results`: DBSF scores moved by 1e-7 here too)."""
    corpus = random_documents(120, seed=2)
    with SearchIndex(tiny_model, "c", path=tmp_path / "q") as index:
        index.index(corpus, progress=False)
        want = all_results(index, len(corpus))
        keys = list(want) * 3
        results: dict[int, list[tuple[tuple[str, str, str], list[Hit]]]] = {}

        def run(worker: int) -> None:
            order = random.Random(worker).sample(keys, len(keys))
            results[worker] = [
                (key, index.search(key[0], mode=key[1], fusion=key[2], limit=len(corpus)))  # type: ignore[arg-type]
                for key in order
            ]

        threads = [threading.Thread(target=run, args=(w,)) for w in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert sorted(results) == list(range(n_threads))
    for answers in results.values():
        for key, hits in answers:
            check_hits(hits, corpus)
            assert_same_results(hits, want[key], fusion=key[2] if key[1] == "hybrid" else "")
