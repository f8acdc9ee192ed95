"""The embedded store around Edge shards: folder lock across processes, the old local-mode
layout, optimization leftovers, incremental indexing, Document input and the cheap store API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from minicoil import MiniCOIL
from minicoil.search.points import point_id
from minicoil.search.qdrant import SearchIndex
from minicoil.search.store import (
    StoreError,
    default_store_path,
    list_collections,
    read_collection_metadata,
)

DOCS = {
    "d1": "The bank of the river was flooded; the river bank eroded.",
    "d2": "She put money in the bank and the bank paid interest.",
    "d3": "A bat flew out of the cave near the river.",
    "d4": "Databases at the university store course data, please.",
}
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Doc:
    """Shaped like ``minicoil.data.Document`` (the index reads it by its attributes)."""

    doc_id: str
    text: str
    title: str = ""


def open_in_child(store: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\nfrom minicoil.search.edge import EdgeEngine\n"
        "try:\n    EdgeEngine(sys.argv[1], 'c').count()\n"
        "except ValueError as exc:\n    print(exc)\n    sys.exit(3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-c", code, str(store)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_second_process_gets_one_clear_error_and_the_holder_keeps_working(
    tiny_model: MiniCOIL, tmp_path: Path
) -> None:
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        index.index(dict(list(DOCS.items())[:2]), progress=False)
        child = open_in_child(tmp_path)
        assert child.returncode == 3, child.stderr
        assert str(tmp_path / "c") in child.stdout and f"pid {os.getpid()}" in child.stdout
        report = index.index(DOCS, progress=False)  # the holder still writes and flushes
        assert report.points == len(DOCS) and index.search("cave")
    assert open_in_child(tmp_path).returncode == 0  # released on close


def test_a_local_mode_folder_is_refused_with_how_to_reindex(
    tiny_model: MiniCOIL, tmp_path: Path
) -> None:
    (tmp_path / "collection" / "docs").mkdir(parents=True)
    (tmp_path / "collection" / "docs" / "storage.sqlite").write_bytes(b"")
    (tmp_path / "meta.json").write_text(json.dumps({"collections": {}}))
    with pytest.raises(StoreError, match=r"qdrant-client local mode.*index the corpus again"):
        SearchIndex(tiny_model, "docs", path=tmp_path)
    with pytest.raises(StoreError, match="local mode"):
        list_collections(tmp_path)


def test_leftovers_of_a_killed_optimization_are_removed_on_open(
    tiny_model: MiniCOIL, tmp_path: Path
) -> None:
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        index.index(DOCS, progress=False)
    temp = tmp_path / "c" / "shard" / "temp_segments" / "segment-x"
    temp.mkdir(parents=True)
    (temp / "junk").write_bytes(b"\0" * 1024)
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        assert index.count() == len(DOCS)
        assert not temp.parent.exists()
        assert index.search("river bank")


def test_indexing_is_incremental_by_content(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        first = index.index(DOCS, progress=False)
        assert (first.indexed, first.unchanged, first.created) == (4, 0, True)
        again = index.index(DOCS, progress=False)
        assert (again.indexed, again.unchanged, again.created) == (0, 4, False)
        changed = {**DOCS, "d3": "Money in the bank.", "d5": "A new cave."}
        third = index.index(changed, progress=False)
        assert (third.indexed, third.unchanged, third.points) == (2, 3, 5)
        assert {h.doc_id for h in index.search("cave", mode="bm25")} == {"d5"}
        text = index.engine.payloads([point_id("d3")], ["text"])[point_id("d3")]["text"]
        assert text == "Money in the bank."


def test_documents_carry_title_and_text_into_hits(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    docs = [Doc("a", "flooded river", title="River bank"), Doc("b", "money money")]
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        index.index(docs, progress=False)
        hits = index.search("bank", mode="bm25")
        assert [(h.doc_id, h.title, h.text) for h in hits] == [("a", "River bank", "flooded river")]
        assert index.avg_len == pytest.approx(
            tiny_model.fit(["River bank flooded river", "money money"]).avg_len
        )


def test_store_api_reads_without_an_engine(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    assert list_collections(tmp_path / "none") == []
    with SearchIndex(tiny_model, "one", path=tmp_path) as index:
        index.index(DOCS, progress=False)
    (tmp_path / "half").mkdir()  # a folder without a shard is no collection
    assert list_collections(tmp_path) == ["one"]
    meta = read_collection_metadata(tmp_path, "one")
    assert meta is not None and meta["corpus"]["n_docs"] == len(DOCS)
    assert meta["format"] == "minicoil-collection" and "heads_sha256" in meta["model"]
    assert read_collection_metadata(tmp_path, "two") is None
    (tmp_path / "one" / "minicoil.json").write_text("{broken")
    with pytest.raises(StoreError, match=r"minicoil.json: invalid JSON"):
        read_collection_metadata(tmp_path, "one")
    assert default_store_path().name == "collections"
    with pytest.raises(StoreError, match="folder name"):
        SearchIndex(tiny_model, "../escape", path=tmp_path)


def test_the_store_module_is_cheap_to_import() -> None:
    code = (
        "import sys, minicoil.search.store\n"
        "print(sorted(m for m in ('torch', 'scipy', 'qdrant_client', 'qdrant_edge')"
        " if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stderr
