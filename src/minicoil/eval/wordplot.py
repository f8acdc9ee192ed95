"""Picture one word's meanings: its meaning vectors in many sentences, clustered and projected.

If a head separates senses, sentences using *bank* for rivers and for money should fall into
different clusters; this is the quickest check a person can make of one head. The vectors are
computed exactly as inference does (tokens overlapping each occurrence, averaged, head applied,
occurrences of one text averaged and normalised), then k-means groups them and PCA draws them
in 2-D, with a few sentences per cluster printed next to the plot.

Drawing uses a bare Agg :class:`~matplotlib.figure.Figure`, never ``pyplot`` (see
:mod:`minicoil.eval.plots`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from minicoil.eval.beir import iter_corpus
from minicoil.eval.wic import span_embeddings
from minicoil.io import atomic_file

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = ["WordPlot", "iter_texts", "plot_word", "snippet"]

# Okabe-Ito, as in plots.py: readable with colour-vision deficiencies.
CLUSTER_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442"]
LABELS_PER_CLUSTER = 3
SNIPPET_CHARS = 60


def iter_texts(path: str | os.PathLike[str]) -> Iterator[str]:
    """Stream texts from a file: a BEIR ``corpus.jsonl`` (title + text) when the name ends
    in ``.jsonl``, else one text per line. Blank lines are skipped; nothing is held in memory."""
    from minicoil.eval.beir import DatasetError, indexable_text

    file = Path(path)
    if file.suffix == ".jsonl":
        for _, doc in iter_corpus(file):
            yield indexable_text(doc)
        return
    try:
        handle = file.open("r", encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{file}: file not found") from None
    with handle:
        number = 0
        try:
            for number, line in enumerate(handle, start=1):  # noqa: B007
                text = line.strip()
                if text:
                    yield text
        except UnicodeDecodeError:
            raise DatasetError(f"{file}, line {number + 1}: not valid UTF-8") from None


def snippet(text: str, start: int, end: int, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` centred on ``[start, end)``, with ellipses."""
    if len(text) <= width:
        return " ".join(text.split())
    half = max(0, (width - (end - start)) // 2)
    lo = max(0, min(start - half, len(text) - width))
    hi = min(len(text), lo + width)
    piece = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + piece + ("…" if hi < len(text) else "")


@dataclass(frozen=True)
class WordPlot:
    """What was drawn: sentences, their clusters and 2-D coordinates, and the labelled ones."""

    word: str
    stem: str
    vocab_id: int
    sentences: list[str]
    clusters: np.ndarray
    coords: np.ndarray
    labelled: dict[int, list[int]]  # cluster -> indices of the sentences printed for it
    explained_variance: list[float]
    path: Path

    def summary(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "stem": self.stem,
            "vocab_id": self.vocab_id,
            "n_sentences": len(self.sentences),
            "cluster_sizes": np.bincount(self.clusters).tolist(),
            "explained_variance": self.explained_variance,
            "examples": {
                str(c): [self.sentences[i] for i in idx] for c, idx in self.labelled.items()
            },
            "path": str(self.path),
        }


def _find_sentences(
    model: MiniCOIL, stem: str, source: str | os.PathLike[str], samples: int
) -> tuple[list[str], list[tuple[int, int, int]], list[str]]:
    """The first ``samples`` texts containing ``stem``: texts, occurrence spans, snippets."""
    texts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    snippets: list[str] = []
    for text in iter_texts(source):
        hits = [w for w in model.processor.words(text) if w.stem == stem]
        if not hits:
            continue
        t = len(texts)
        texts.append(text)
        spans.extend((t, w.start, w.end) for w in hits)
        snippets.append(snippet(text, hits[0].start, hits[0].end))
        if len(texts) >= samples:
            break
    return texts, spans, snippets


def plot_word(
    model: MiniCOIL,
    word: str,
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    samples: int = 200,
    clusters: int = 3,
    batch_size: int = 32,
    seed: int = 0,
) -> WordPlot:
    """Cluster and draw the meanings of ``word`` in up to ``samples`` texts of ``source``.

    Raises ``ValueError`` when the word has no head, or fewer than two texts contain it
    (there is nothing to compare).
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    if samples < 2 or clusters < 1:
        raise ValueError("samples must be >= 2 and clusters >= 1")
    lower = word.strip().lower()
    stem = model.processor.stem(lower)
    vocab_id = model.vocab.id(stem)
    if not lower or vocab_id == 0:
        raise ValueError(f"{word!r} (stem {stem!r}) has no head in this model: nothing to plot")
    texts, spans, snippets = _find_sentences(model, stem, source, samples)
    if len(texts) < 2:
        found = "no text" if not texts else "only one text"
        raise ValueError(f"{found} in {source} contains {word!r} (stem {stem!r}); need 2 or more")

    raw, counts = span_embeddings(model.backbone, texts, spans, batch_size=batch_size)
    reached = counts > 0
    ids = torch.full((len(spans),), vocab_id, dtype=torch.int64)
    unit = np.zeros((len(spans), model.config.dim), dtype=np.float64)
    if reached.any():
        unit[reached] = model.heads.apply(torch.from_numpy(raw[reached]), ids[reached]).numpy()
    owner = np.asarray([t for t, _, _ in spans], dtype=np.int64)
    sums = np.zeros((len(texts), model.config.dim))
    np.add.at(sums, owner, unit)
    norms = np.linalg.norm(sums, axis=1)
    keep = np.flatnonzero(norms > 0)  # a text where no token reached the word has no meaning
    if len(keep) < 2:
        raise ValueError(f"fewer than two texts give {word!r} a meaning vector")
    vectors = sums[keep] / norms[keep, None]
    kept_snippets = [snippets[i] for i in keep]

    k = min(clusters, len(np.unique(vectors.round(6), axis=0)))
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors)
    pca = PCA(n_components=2, random_state=seed)
    coords = pca.fit_transform(vectors)
    labelled: dict[int, list[int]] = {}
    for c in range(k):
        members = np.flatnonzero(labels == c)
        centre = vectors[members].mean(axis=0)
        closest = members[np.argsort(np.linalg.norm(vectors[members] - centre, axis=1))]
        labelled[c] = closest[:LABELS_PER_CLUSTER].tolist()
    result = WordPlot(
        word=word,
        stem=stem,
        vocab_id=vocab_id,
        sentences=kept_snippets,
        clusters=labels,
        coords=coords,
        labelled=labelled,
        explained_variance=[float(v) for v in pca.explained_variance_ratio_],
        path=Path(output),
    )
    _draw(result)
    return result


def _draw(plot: WordPlot) -> None:
    """Scatter (left) coloured by cluster with numbered example points, the numbered example
    sentences (right) in their cluster's colour."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13.0, 6.0), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1.0]})
    k = int(plot.clusters.max()) + 1
    for c in range(k):
        members = plot.clusters == c
        ax.scatter(
            plot.coords[members, 0],
            plot.coords[members, 1],
            s=22,
            color=CLUSTER_COLORS[c % len(CLUSTER_COLORS)],
            alpha=0.75,
            edgecolor="white",
            linewidth=0.4,
            label=f"cluster {c + 1} ({int(members.sum())})",
            zorder=2,
        )
    lines: list[tuple[str, str]] = []
    number = 0
    for c, indices in plot.labelled.items():
        color = CLUSTER_COLORS[c % len(CLUSTER_COLORS)]
        lines.append((f"cluster {c + 1}", color))
        for i in indices:
            number += 1
            ax.annotate(
                str(number),
                plot.coords[i],
                xytext=(3, 3),
                textcoords="offset points",
                fontsize=8,
                fontweight="bold",
                color=color,
                zorder=3,
            )
            lines.append((f"  {number}. {plot.sentences[i]}", color))
    variance = plot.explained_variance
    ax.set_xlabel(f"PC 1 ({variance[0]:.0%} of variance)", fontsize=9)
    ax.set_ylabel(f"PC 2 ({variance[1]:.0%} of variance)", fontsize=9)
    ax.grid(color="#e6e6e6", zorder=0)
    ax.set_axisbelow(True)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    ax.legend(fontsize=8, frameon=False, loc="best")
    side.axis("off")
    step = min(0.06, 0.95 / max(len(lines), 1))
    for row, (text, color) in enumerate(lines):
        bold = not text.startswith("  ")
        side.text(
            0.0,
            0.98 - row * step,
            text,
            color=color,
            fontsize=8,
            fontweight="bold" if bold else "normal",
            va="top",
            ha="left",
            transform=side.transAxes,
            wrap=False,
        )
    fig.suptitle(
        f"meanings of '{plot.word}' (stem {plot.stem}, head {plot.vocab_id}): "
        f"{len(plot.sentences)} texts, {k} clusters",
        fontsize=12,
        fontweight="bold",
    )
    fig.supxlabel("k-means on unit meaning vectors, PCA to 2-D", fontsize=8, color="#555555")
    with atomic_file(plot.path, "wb") as handle:
        fig.savefig(handle, format="png")
