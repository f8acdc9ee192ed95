"""``Retriever``: three lines from texts to hits, on the same SearchIndex the CLI uses."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from minicoil import MiniCOIL
from minicoil.data import Document
from minicoil.retriever import Retriever
from minicoil.search import SearchIndex, SearchIndexError

TEXTS = [
    "The bank of the river was flooded after the rain.",
    "She put money in the bank and the bank paid interest.",
    "A bat flew out of the cave near the river.",
    "Please run the database backup before the university closes.",
]


def test_from_texts_in_memory_searches_and_cleans_up(tiny_model: MiniCOIL) -> None:
    r = Retriever.from_texts(TEXTS, model=tiny_model)
    folder = Path(r.index.location)
    assert folder.exists() and len(r) == 4
    hits = r.search("money in the bank", k=2, mode="sparse")
    assert len(hits) == 2 and hits[0].doc_id == "1" and hits[0].text == TEXTS[1]
    assert hits[0].score >= hits[1].score
    hybrid = r.search("river bank", k=10)
    assert {h.doc_id for h in hybrid} <= {"0", "1", "2", "3"} and len(hybrid) >= 2
    assert [h.doc_id for h in hybrid] == [
        h.doc_id for h in r.index.search("river bank", mode="hybrid", limit=10)
    ]
    r.close()
    assert r.closed and not folder.exists()
    r.close()  # twice is harmless
    with pytest.raises(ValueError, match="closed"):
        r.search("bank")


def test_garbage_collection_removes_the_temporary_store(tiny_model: MiniCOIL) -> None:
    r = Retriever.from_texts(TEXTS[:2], model=tiny_model)
    folder = Path(r.index.location)
    assert folder.exists()
    del r
    gc.collect()
    assert not folder.exists()


def test_ids_documents_and_add(tiny_model: MiniCOIL) -> None:
    with Retriever.from_texts(TEXTS[:2], ids=["a", "b"], model=tiny_model) as r:
        assert len(r) == 2
        assert r.add([TEXTS[2]]) == 3  # automatic id continues after the size
        assert r.add([Document("doc-x", TEXTS[3], title="Backups")]) == 4
        hits = {h.doc_id: h for h in r.search("database backup", k=4, mode="bm25")}
        assert hits["doc-x"].title == "Backups"
        assert r.search("cave bat", k=1, mode="bm25")[0].doc_id == "2"
        with pytest.raises(ValueError, match="'a' is already in the collection"):
            r.add(["another text"], ids=["a"])
        assert len(r) == 4


def test_automatic_ids_skip_taken_numbers(tiny_model: MiniCOIL) -> None:
    with Retriever.from_texts(TEXTS[:2], ids=["2", "3"], model=tiny_model) as r:
        r.add([TEXTS[2], TEXTS[3]])
        assert sorted(p.payload["doc_id"] for p in r.index.engine.points()) == ["2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("texts", "ids", "error", "match"),
    [
        ([], None, ValueError, "no texts"),
        ("one text", None, TypeError, "not a single text"),
        (["a b", "c d"], ["x"], ValueError, "1 ids for 2 texts"),
        (["a b", "c d"], ["x", "x"], ValueError, "duplicate id 'x'"),
        (["a b", "   "], None, ValueError, "text 1 .* is empty"),
        (["a b", 3], None, TypeError, "text 1 is a int"),
        ([Document("d", "bank")], ["x"], ValueError, "carries its own doc_id"),
    ],
)
def test_bad_input_is_one_clear_error(
    tiny_model: MiniCOIL, texts, ids, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        Retriever.from_texts(texts, ids=ids, model=tiny_model)


def test_bad_search_arguments(tiny_model: MiniCOIL) -> None:
    with Retriever.from_texts(TEXTS, model=tiny_model) as r:
        with pytest.raises(ValueError, match="mode must be one of"):
            r.search("bank", mode="semantic")
        with pytest.raises(ValueError, match="k must be a positive integer"):
            r.search("bank", k=0)


def test_on_disk_reopen_and_errors(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    with Retriever.from_texts(TEXTS, path=tmp_path, collection="notes", model=tiny_model) as r:
        first = [(h.doc_id, h.score) for h in r.search("river bank", k=3, mode="sparse")]
    assert (tmp_path / "notes").is_dir()  # a store on disk outlives the retriever
    with Retriever.open("notes", path=tmp_path, model=tiny_model) as again:
        assert len(again) == 4
        assert [(h.doc_id, h.score) for h in again.search("river bank", k=3, mode="sparse")] == (
            pytest.approx(first)
        )
    with pytest.raises(SearchIndexError, match=r"'nope' not found .*collections there: notes"):
        Retriever.open("nope", path=tmp_path, model=tiny_model)
    with pytest.raises(SearchIndexError, match="already exists"):
        Retriever.from_texts(TEXTS, path=tmp_path, collection="notes", model=tiny_model)
    with Retriever.from_texts(
        TEXTS[:1], path=tmp_path, collection="notes", model=tiny_model, recreate=True
    ) as r:
        assert len(r) == 1


def test_open_refuses_another_model(
    tiny_model: MiniCOIL, wordpiece_backbone, tmp_path: Path
) -> None:
    from tests.conftest import random_model

    Retriever.from_texts(TEXTS, path=tmp_path, model=tiny_model).close()
    other = random_model(wordpiece_backbone, seed=1)
    with pytest.raises(SearchIndexError, match="another model"):
        Retriever.open("default", path=tmp_path, model=other)


def test_same_engine_as_search_index(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    """A collection written by the retriever is an ordinary SearchIndex collection."""
    Retriever.from_texts(TEXTS, path=tmp_path, collection="c", model=tiny_model).close()
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        assert index.count() == 4 and index.search("bat cave", mode="bm25")[0].doc_id == "2"


@pytest.mark.backbone
def test_three_lines_with_the_shipped_model() -> None:
    texts = [
        "The river bank was muddy after the flood.",
        "The bank raised its interest rates on loans.",
        "Bats sleep in caves during the day.",
    ]
    with Retriever.from_texts(texts, backend="torch") as r:
        assert r.search("river bank", k=3)[0].doc_id == "0"
        assert r.search("bank loan interest", k=1, mode="sparse")[0].text == texts[1]
