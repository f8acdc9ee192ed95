"""``plot_benchmark``: a results dict becomes a PNG, with or without latency, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from minicoil.eval.plots import plot_benchmark

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SYSTEMS = {
    "bm25": {"ndcg@10": 0.66, "recall@100": 0.90},
    "minicoil": {"ndcg@10": 0.68, "recall@100": 0.91},
    "dense": {"ndcg@10": 0.64, "recall@100": 0.93},
    "hybrid": {"ndcg@10": 0.71, "recall@100": 0.95},
}


@pytest.mark.parametrize("with_latency", [False, True])
def test_plot_benchmark_writes_a_png(tmp_path: Path, with_latency: bool) -> None:
    results: dict = {
        "dataset": "scifact",
        "split": "test",
        "systems": SYSTEMS,
        "settings": {"metrics": ["ndcg@10", "recall@100"], "n_docs": 5183, "n_queries": 300},
    }
    if with_latency:
        latency = {name: {"p50_ms": 2.0 + i, "p95_ms": 4.0 + i} for i, name in enumerate(SYSTEMS)}
        results["timing"] = {"queries": {"latency": latency}, "corpus": {"docs_per_s": 120.0}}
    out = plot_benchmark(results, tmp_path / "sub" / "bench.png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in out.parent.iterdir()] == ["bench.png"]  # no temporary left behind
