"""The embedded engine's housekeeping: when it optimizes, how indexing reports progress, what
``import minicoil.search`` costs, and how a push to an unreachable server fails."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import tqdm.auto

from minicoil import MiniCOIL
from minicoil.search import edge_tuning as edge
from minicoil.search import indexing
from minicoil.search.qdrant import SearchIndex

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Info:
    """The three numbers of Edge's ``ShardInfo`` that the optimize policy reads."""

    segments_count: int
    points_count: int
    indexed_vectors_count: int


def test_optimize_runs_after_bulk_writes_and_when_small_writes_pile_up() -> None:
    big = edge.EXACT_DENSE_MAX * 3
    indexed = 3 * big  # two sparse vectors and HNSW-indexed dense ones
    assert edge.worth_optimizing(Info(1, 500, 1000), edge.OPTIMIZE_WRITES)  # a bulk
    assert not edge.worth_optimizing(Info(2, 500, 1000), 10)  # small: dense search is exact
    assert not edge.worth_optimizing(Info(2, big, indexed + 2 * 50), 50)  # 50 unindexed
    assert edge.worth_optimizing(Info(edge.MAX_SEGMENTS + 1, 500, 1000), 1)
    unindexed = edge.EXACT_DENSE_MAX + 1  # brute-force scanned by every dense query
    assert edge.worth_optimizing(Info(2, big, indexed - unindexed), 1)


class RecordingBar(tqdm.auto.tqdm):  # type: ignore[misc,name-defined]
    """A real progress bar that also records its position after every update."""

    positions: ClassVar[list[int]] = []

    def update(self, n: float | None = 1) -> bool | None:
        shown = super().update(n)
        RecordingBar.positions.append(int(self.n))
        return shown


def test_the_progress_bar_moves_with_every_encode_block(
    tiny_model: MiniCOIL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    monkeypatch.setattr(indexing, "ENCODE_BLOCK", 2)  # blocks of 2 batches of 1 document
    RecordingBar.positions = []
    docs = {f"d{i}": f"river bank number {i}" for i in range(7)}
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        index.index(docs, batch_size=1, upsert_batch=256)
        assert [p for p in RecordingBar.positions if p] == [2, 4, 6, 7]
        RecordingBar.positions = []
        index.index({**docs, "d7": "a new cave"}, batch_size=2)  # 7 unchanged, then 1 encoded
        assert [p for p in RecordingBar.positions if p] == [7, 8]


def test_importing_the_search_package_loads_no_scorer_or_engine() -> None:
    code = (
        "import sys, minicoil.search\n"
        "print(sorted(m for m in ('scipy', 'torch', 'qdrant_client', 'qdrant_edge')"
        " if m in sys.modules))\n"
        "from minicoil.search import SearchIndex, rrf\n"
        "print(SearchIndex.__name__, rrf.__name__)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.stdout.split("\n")[:2] == ["[]", "SearchIndex rrf"], out.stderr


def test_push_to_an_unreachable_server_fails_without_a_version_warning(
    tiny_model: MiniCOIL, tmp_path: Path
) -> None:
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        index.index({"d1": "river bank"}, progress=False)
    # qdrant-client checks the server version in a thread of its own, so this runs in a child
    # that waits for such a thread before exiting
    code = (
        "import sys, time\n"
        "from minicoil.search.push import push_collection\n"
        "try:\n"
        "    push_collection(sys.argv[1], 'c', url='http://127.0.0.1:9')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
        "time.sleep(1.0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.stdout.strip(), out.stderr  # it failed, as it must
    assert "server version" not in out.stderr
