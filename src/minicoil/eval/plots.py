"""Charts of benchmark results: what someone looks at before (or instead of) the JSON.

Plots are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``: no global backend switch, no display needed, nothing left open in a long-running
process, and safe to call from a headless training or CI machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from minicoil.io import atomic_file

__all__ = ["SYSTEM_COLORS", "SYSTEM_LABELS", "plot_benchmark"]

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies and in grey.
SYSTEM_COLORS: dict[str, str] = {
    "bm25": "#999999",
    "minicoil": "#0072B2",
    "dense": "#E69F00",
    "hybrid": "#009E73",
}
SYSTEM_LABELS: dict[str, str] = {
    "bm25": "BM25",
    "minicoil": "miniCOIL",
    "dense": "dense",
    "hybrid": "hybrid",
}
_GAIN, _LOSS = "#1a7f37", "#b3261e"


def _label(system: str) -> str:
    return SYSTEM_LABELS.get(system, system)


def _baseline_lines(ax: Any, baseline: Mapping[str, float], metrics: Sequence[str]) -> None:
    """BM25's value as a dashed line across each metric's group, to read gains against."""
    for m, metric in enumerate(metrics):
        ax.hlines(
            float(baseline.get(metric, 0.0)),
            m - 0.45,
            m + 0.45,
            colors="#444444",
            linestyles="--",
            linewidth=1.1,
            zorder=3,
            label="BM25 reference" if m == 0 else None,
        )


def _metric_axes(ax: Any, systems: Mapping[str, Mapping[str, float]], metrics: Sequence[str]):
    """Grouped bars: one group per metric, one bar per system, value (and gain over BM25)
    printed on each bar, and BM25's value as a dashed line across the group to read gains."""
    names = list(systems)
    n = len(names)
    width = 0.8 / max(n, 1)
    top = max((float(v) for s in systems.values() for v in s.values()), default=0.0)
    baseline = systems.get("bm25")
    for i, name in enumerate(names):
        xs = [m + (i - (n - 1) / 2) * width for m in range(len(metrics))]
        values = [float(systems[name].get(metric, 0.0)) for metric in metrics]
        ax.bar(
            xs,
            values,
            width * 0.92,
            label=_label(name),
            color=SYSTEM_COLORS.get(name, f"C{i}"),
            edgecolor="white",
            linewidth=0.6,
            zorder=2,
        )
        for x, value, metric in zip(xs, values, metrics, strict=True):
            ax.annotate(
                f"{value:.3f}",
                (x, value),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7.5,
                zorder=4,
                # readable where BM25's dashed line crosses a label
                bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.8},
            )
            delta = value - float(baseline.get(metric, 0.0)) if baseline is not None else 0.0
            if name != "bm25" and abs(delta) >= 0.0005:  # "+0.000" would only be clutter
                ax.annotate(
                    f"{delta:+.3f}",
                    (x, value),
                    xytext=(0, 11),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=6.5,
                    color=_GAIN if delta > 0 else _LOSS if delta < 0 else "#555555",
                    zorder=4,
                )
    if baseline is not None:
        _baseline_lines(ax, baseline, metrics)
    ax.set_xticks(range(len(metrics)))
    ax.set_xticklabels(metrics, fontsize=10)
    # Headroom for the two label lines; ticks stop at 1.0, the largest score a metric can take.
    ax.set_ylim(0, min(1.16, top * 1.1 + 0.05) if top > 0 else 1.0)
    ax.set_yticks([t / 10 for t in range(11) if t / 10 <= max(top, 0.1) * 1.1 + 0.05])
    ax.set_ylabel("score (higher is better)", fontsize=9)
    ax.grid(axis="y", color="#e6e6e6", zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    # Below the axis labels: bars reach the top of the plot, a legend inside would hide some.
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.09), fontsize=8.5, frameon=False, ncol=n + 1
    )


def _latency_axes(ax: Any, latency: Mapping[str, Mapping[str, float]], systems: Sequence[str]):
    """Horizontal bars of median per-query latency with a whisker to p95 (log-free: the
    differences that matter here are a few milliseconds)."""
    names = [name for name in systems if name in latency]
    p50 = [float(latency[name].get("p50_ms", 0.0)) for name in names]
    p95 = [float(latency[name].get("p95_ms", 0.0)) for name in names]
    ys = list(range(len(names)))[::-1]
    ax.barh(
        ys,
        p50,
        0.6,
        color=[SYSTEM_COLORS.get(name, f"C{i}") for i, name in enumerate(names)],
        xerr=[[0.0] * len(names), [max(0.0, b - a) for a, b in zip(p50, p95, strict=True)]],
        error_kw={"ecolor": "#444444", "capsize": 3, "elinewidth": 1},
        zorder=2,
    )
    for y, a, b in zip(ys, p50, p95, strict=True):
        ax.annotate(
            f"{a:.1f} ms",
            (max(a, b), y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(ys)
    ax.set_yticklabels([_label(name) for name in names])
    right = max([*p95, *p50, 0.0])
    ax.set_xlim(0, right * 1.45 if right > 0 else 1.0)
    ax.set_xlabel("ms per query (bar p50, whisker p95)")
    ax.set_title("query latency: encode + search", fontsize=10)
    ax.grid(axis="x", color="#e6e6e6", zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _subtitle(results: Mapping[str, Any]) -> str:
    settings = results.get("settings", {})
    model = results.get("model", {})
    corpus = results.get("timing", {}).get("corpus", {})
    parts = []
    if model:
        name = model.get("name")
        kind = "model " + Path(str(name)).name if name else f"{model.get('kind', '')} model"
        parts.append(f"{kind} ({model.get('vocab_size', 0):,} words)")
    if settings:
        parts.append(
            f"{settings.get('n_docs', 0):,} docs, {settings.get('n_queries', 0):,} queries"
        )
        fusion = settings.get("fusion")
        if fusion:
            extra = f", weight {settings.get('weight')}" if fusion == "weighted" else ""
            parts.append(f"hybrid = miniCOIL + dense, {fusion}{extra}")
    if corpus.get("docs_per_s"):
        parts.append(f"corpus encoded at {corpus['docs_per_s']:.0f} docs/s")
    return "  |  ".join(parts)


def plot_benchmark(results: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Draw ``results`` (the dict :func:`~minicoil.eval.benchmark.run_benchmark` writes) as a
    PNG at ``path``, atomically; returns the path.

    Left: grouped bars of every metric for every system, BM25 dashed as the reference. Right,
    when timings are present: per-query latency.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    systems: Mapping[str, Mapping[str, float]] = results["systems"]
    metrics = list(results.get("settings", {}).get("metrics") or next(iter(systems.values())))
    latency = results.get("timing", {}).get("queries", {}).get("latency") or {}

    fig = Figure(figsize=(12.5 if latency else 9.0, 5.6), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    if latency:
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3.0, 1.25]})
        _latency_axes(right, latency, list(systems))
    else:
        left = fig.subplots()
    _metric_axes(left, systems, metrics)
    dataset, split = results.get("dataset", "dataset"), results.get("split", "")
    left.set_title("retrieval quality (gain over BM25 above each bar)", fontsize=10)
    fig.suptitle(
        f"{dataset} · {split}: BM25 vs miniCOIL vs dense vs hybrid",
        fontsize=13,
        fontweight="bold",
    )
    subtitle = _subtitle(results)
    if subtitle:
        fig.supxlabel(subtitle, fontsize=8, color="#555555")
    target = Path(path)
    with atomic_file(target, "wb") as handle:
        fig.savefig(handle, format="png")
    return target
