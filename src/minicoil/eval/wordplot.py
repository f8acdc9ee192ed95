"""Picture one word's meanings: a PNG of :func:`~minicoil.eval.senses.word_senses`.

If a head separates senses, sentences using *bank* for rivers and for money should fall into
different clusters; this is the quickest check a person can make of one head. The scatter
takes the full width, and under it one card per cluster names it and quotes the texts
closest to its centre, so the picture has no empty half whatever k the data chose.

Drawing uses a bare Agg :class:`~matplotlib.figure.Figure`, never ``pyplot`` (see
:mod:`minicoil.eval.plots`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minicoil.eval.senses import SenseCluster, WordSenses, snippet, word_senses
from minicoil.io import atomic_file

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = [
    "WordPlot",
    "WordSenses",
    "draw_senses",
    "iter_texts",
    "plot_word",
    "snippet",
    "word_senses",
]

# Okabe-Ito, as in plots.py: readable with colour-vision deficiencies.
CLUSTER_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442"]
CARDS_PER_ROW = 3
SCATTER_HEIGHT = 5.0  # inches
CARD_HEIGHT = 1.15  # inches: a title line and three example lines
FIGURE_WIDTH = 13.0  # inches
CHARS_PER_INCH = 15  # of 8-point text: how much of a snippet fits on one card line


def iter_texts(path: str | os.PathLike[str]) -> Iterator[str]:
    """Stream the texts of any corpus :func:`minicoil.data.read_corpus` reads (plain lines,
    BEIR or Pyserini JSON lines, CSV/TSV, Parquet, WikiExtractor, a folder of ``.txt``), each
    as its title + text; blank ones are skipped and nothing is held in memory."""
    from minicoil.data import read_corpus

    for document in read_corpus(path):
        text = document.indexable_text
        if text.strip():
            yield text


@dataclass(frozen=True)
class WordPlot:
    """What :func:`plot_word` drew and where."""

    senses: WordSenses
    path: Path

    def summary(self) -> dict[str, Any]:
        return {**self.senses.summary(), "path": str(self.path)}


def plot_word(
    model: MiniCOIL,
    word: str,
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    samples: int = 200,
    clusters: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
) -> WordPlot:
    """Group the meanings of ``word`` in up to ``samples`` texts of ``source`` and draw them
    to ``output`` (PNG, written atomically). ``clusters=None`` lets the data choose k."""
    senses = word_senses(
        model,
        word,
        iter_texts(source),
        samples=samples,
        clusters=clusters,
        batch_size=batch_size,
        seed=seed,
        source=str(source),
    )
    result = WordPlot(senses=senses, path=Path(output))
    draw_senses(senses, result.path)
    return result


def _color(c: int) -> str:
    return CLUSTER_COLORS[c % len(CLUSTER_COLORS)]


def _cluster_title(cluster: SenseCluster) -> str:
    named = ", ".join(cluster.label) if cluster.label else "no typical context words"
    return f"{cluster.index + 1} · {named} ({cluster.size} texts)"


def _scatter(ax: Any, senses: WordSenses) -> None:
    """Points coloured by cluster; the example points numbered as in the cards below."""
    xs = [p[0] for p in senses.points]
    ys = [p[1] for p in senses.points]
    for cluster in senses.summaries:
        members = [i for i, c in enumerate(senses.clusters) if c == cluster.index]
        ax.scatter(
            [xs[i] for i in members],
            [ys[i] for i in members],
            s=26,
            color=_color(cluster.index),
            alpha=0.75,
            edgecolor="white",
            linewidth=0.4,
            label=_cluster_title(cluster),
            zorder=2,
        )
    quoted = [i for _, i in _numbered(senses)]
    # A ring shows which dot a number belongs to when labels crowd near a cluster's centre.
    ax.scatter(
        [xs[i] for i in quoted],
        [ys[i] for i in quoted],
        s=70,
        facecolors="none",
        edgecolors="#222222",
        linewidths=1.0,
        zorder=3,
    )
    for number, (cluster, i) in enumerate(_numbered(senses), start=1):
        ax.annotate(
            str(number),
            (xs[i], ys[i]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=9,
            fontweight="bold",
            color=_color(cluster.index),
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            zorder=3,
        )
    variance = senses.explained_variance
    ax.set_xlabel(f"PC 1 ({variance[0]:.0%} of variance)", fontsize=9)
    ax.set_ylabel(f"PC 2 ({variance[1]:.0%} of variance)", fontsize=9)
    ax.margins(0.04)
    ax.grid(color="#e6e6e6", zorder=0)
    ax.set_axisbelow(True)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    # No legend: the cards below name each colour, and a legend would hide points.


def _numbered(senses: WordSenses) -> list[tuple[SenseCluster, int]]:
    return [(c, i) for c in senses.summaries for i in c.examples]


def _fit(text: str, width: int) -> str:
    """``text`` shortened to ``width`` characters from both ends, so the word at its centre
    stays in view."""
    if len(text) <= width:
        return text
    cut = len(text) - width + 2
    inner = text.strip("…")[cut // 2 : len(text.strip("…")) - (cut - cut // 2)]
    return f"…{inner.strip()}…"


def _cards(fig: Any, grid: Any, senses: WordSenses) -> None:
    """One text card per cluster: its name, then its numbered example snippets, each cut to
    the card's width (a line running into the next card would be unreadable)."""
    numbers = {i: n for n, (_, i) in enumerate(_numbered(senses), start=1)}
    width = int(FIGURE_WIDTH / min(CARDS_PER_ROW, senses.k) * CHARS_PER_INCH) - 6
    for slot, cluster in enumerate(senses.summaries):
        ax = fig.add_subplot(grid[1 + slot // CARDS_PER_ROW, slot % CARDS_PER_ROW])
        ax.axis("off")
        color = _color(cluster.index)
        ax.text(
            0.0,
            1.0,
            _cluster_title(cluster),
            color=color,
            fontsize=9.5,
            fontweight="bold",
            va="top",
            transform=ax.transAxes,
            in_layout=False,
        )
        for row, i in enumerate(cluster.examples, start=1):
            ax.text(
                0.0,
                1.0 - row * 0.24,
                f"{numbers[i]}. {_fit(senses.snippets[i], width)}",
                color="#222222",
                fontsize=8,
                va="top",
                transform=ax.transAxes,
                in_layout=False,
            )


def draw_senses(senses: WordSenses, path: str | os.PathLike[str]) -> Path:
    """Draw ``senses`` as a PNG at ``path`` (atomically): scatter on top, cluster cards under
    it. The figure's height follows the number of card rows, so no area is left blank."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(CARDS_PER_ROW, senses.k)
    rows = -(-senses.k // CARDS_PER_ROW)
    height = SCATTER_HEIGHT + rows * CARD_HEIGHT + 0.7
    fig = Figure(figsize=(FIGURE_WIDTH, height), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(
        1 + rows, columns, height_ratios=[SCATTER_HEIGHT] + [CARD_HEIGHT] * rows
    )
    _scatter(fig.add_subplot(grid[0, :]), senses)
    _cards(fig, grid, senses)
    sense_word = "sense" if senses.k == 1 else "senses"
    fig.suptitle(
        f"meanings of '{senses.word}' (stem {senses.stem}, head {senses.vocab_id}): "
        f"{len(senses.points)} texts, {senses.k} {sense_word}",
        fontsize=12,
        fontweight="bold",
    )
    fig.supxlabel(senses.method, fontsize=8, color="#555555")
    target = Path(path)
    with atomic_file(target, "wb") as handle:
        fig.savefig(handle, format="png")
    return target
