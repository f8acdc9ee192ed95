"""What a benchmark's results record besides the metrics: the model, the machine, latencies.

Kept apart from :mod:`minicoil.eval.benchmark` so that the benchmark module reads as the
benchmark's steps; everything here turns finished measurements into JSON-able dicts.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = ["SYSTEMS", "environment", "model_summary", "percentiles", "query_timing"]

# What ``minicoil benchmark`` compares, in table order.
SYSTEMS: tuple[str, ...] = ("bm25", "minicoil", "dense", "hybrid")


def model_summary(
    model: MiniCOIL, dense_size: int, avg_len: float, label: str | None
) -> dict[str, Any]:
    """The model's settings and training scalars, to tell benchmark runs apart."""
    config = model.config
    summary: dict[str, Any] = {
        "name": label,
        "kind": "minicoil" if config.vocab_size else "bm25",
        "backbone": str(config.backbone),
        "hidden_size": int(config.hidden_size),
        "dense_size": int(dense_size),
        "vocab_size": int(config.vocab_size),
        "dim": int(config.dim),
        "k": float(config.k),
        "b": float(config.b),
        "language": str(config.language),
        "avg_len": float(avg_len),
    }
    training = config.training if isinstance(config.training, dict) else {}
    # Scalars only (agreement, timings, command): enough to tell runs apart, not the whole record.
    summary["training"] = {
        key: value
        for key, value in training.items()
        if value is None or isinstance(value, (str, int, float, bool))
    }
    return summary


def query_timing(spent: Mapping[str, list[float]]) -> dict[str, Any]:
    """Per-system latency from the seconds of each step per query: each system's encoder plus
    its own search steps (the hybrid: miniCOIL, dense and the fusion)."""

    def total(*steps: str) -> list[float]:
        return [sum(parts) for parts in zip(*(spent[s] for s in steps), strict=True)]

    latency = {
        "bm25": total("bm25_encode", "bm25"),
        "minicoil": total("encode", "minicoil"),
        "dense": total("encode", "dense"),
        "hybrid": total("encode", "minicoil", "dense", "fusion"),
    }
    return {
        "count": len(spent["encode"]),
        "encode": percentiles(spent["encode"]),
        "latency": {name: percentiles(latency[name]) for name in SYSTEMS},
    }


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds (zeros when there were no queries)."""
    if not seconds:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "mean_ms": 0.0}
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    p50, p95 = np.percentile(ms, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "mean_ms": float(ms.mean())}


def environment() -> dict[str, Any]:
    """Where the timings were taken: they mean little without the machine's thread count."""
    import torch

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
