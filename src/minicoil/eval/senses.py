"""One word's senses, read off its meaning vectors in many texts: the data behind a sense plot.

If a head separates senses, texts using *bank* for rivers and for money should fall into
different groups. The vectors are computed exactly as inference does (tokens overlapping each
occurrence, averaged, head applied, occurrences of one text averaged and normalised).

How many senses: the data decides. k-means runs for every k from 2 to ``max_clusters`` and
the k with the best mean silhouette wins (the smallest k when several are within
:data:`SILHOUETTE_TIE` of it); when even that silhouette is weak
(< :data:`MIN_SILHOUETTE`, Kaufman and Rousseeuw's "no substantial structure"), the word is
drawn as one group. A fixed k would split a dominant sense over several clusters just to use
them all, which reads as senses that are not there.

Each group is named by the context words that set it apart (words far more frequent in its
texts than in the others'), so a reader sees "river, north, south" and "money, loan" rather
than "cluster 1". The result is plain JSON-able data: the PNG and the server's ``/senses``
draw the same thing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = [
    "MIN_SILHOUETTE",
    "SenseCluster",
    "WordSenses",
    "choose_clusters",
    "label_words",
    "snippet",
    "word_senses",
]

MIN_SILHOUETTE = 0.25
"""Below this best silhouette the groups are not separated enough to call them senses."""
SILHOUETTE_TIE = 0.02
"""A smaller k within this of the best silhouette wins: an extra cluster that does not separate
the data better only splits a sense."""
MAX_CLUSTERS = 6
EXAMPLES_PER_CLUSTER = 3
LABEL_WORDS = 3
SNIPPET_CHARS = 80


def snippet(text: str, start: int, end: int, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` centred on ``[start, end)``, cut at word
    boundaries where one is near (a half word reads as a typo), with ellipses."""
    if len(text) <= width:
        return " ".join(text.split())
    half = max(0, (width - (end - start)) // 2)
    lo = max(0, min(start - half, len(text) - width))
    hi = min(len(text), lo + width)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if 0 <= space < lo + 12 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space > hi - 12 else hi
    piece = " ".join(text[lo:hi].split())
    return ("…" if lo > 0 else "") + piece + ("…" if hi < len(text) else "")


@dataclass(frozen=True)
class SenseCluster:
    """One group of texts: its size, the words naming it and the points closest to its centre."""

    index: int
    size: int
    label: list[str]  # context words typical of this group, most distinctive first
    examples: list[int]  # point indices, closest to the centre first
    spread: float  # mean distance of members to the centre (0 = identical meanings)


@dataclass(frozen=True)
class WordSenses:
    """Everything a sense plot shows, as plain data (``to_dict`` is JSON-able)."""

    word: str
    stem: str
    vocab_id: int
    points: list[tuple[float, float]]  # 2-D PCA coordinates, one per text
    clusters: list[int]  # cluster index per point
    snippets: list[str]  # the text around the word, per point
    summaries: list[SenseCluster]
    explained_variance: list[float]  # of the two PCA axes
    silhouettes: dict[int, float] = field(default_factory=dict)  # k -> mean silhouette
    method: str = ""

    @property
    def k(self) -> int:
        return len(self.summaries)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["points"] = [list(p) for p in self.points]
        out["silhouettes"] = {str(k): v for k, v in self.silhouettes.items()}
        out["k"] = self.k
        return out

    def summary(self) -> dict[str, Any]:
        """The short form a terminal prints: sizes, labels and example snippets."""
        return {
            "word": self.word,
            "stem": self.stem,
            "vocab_id": self.vocab_id,
            "n_sentences": len(self.points),
            "k": self.k,
            "cluster_sizes": [c.size for c in self.summaries],
            "labels": {str(c.index): c.label for c in self.summaries},
            "examples": {
                str(c.index): [self.snippets[i] for i in c.examples] for c in self.summaries
            },
        }


def _find_texts(
    model: MiniCOIL, stem: str, texts: Iterable[str], samples: int
) -> tuple[list[str], list[tuple[int, int, int]], list[str], list[Counter[str]]]:
    """The first ``samples`` texts containing ``stem``: texts, occurrence spans, snippets and
    each text's other kept words (for naming the clusters)."""
    found: list[str] = []
    spans: list[tuple[int, int, int]] = []
    snippets: list[str] = []
    contexts: list[Counter[str]] = []
    for text in texts:
        words = model.processor.words(text)
        hits = [w for w in words if w.stem == stem]
        if not hits:
            continue
        t = len(found)
        found.append(text)
        spans.extend((t, w.start, w.end) for w in hits)
        snippets.append(snippet(text, hits[0].start, hits[0].end))
        contexts.append(
            Counter(
                w.lower for w in words if w.stem != stem and len(w.lower) > 2 and w.lower.isalpha()
            )
        )
        if len(found) >= samples:
            break
    return found, spans, snippets, contexts


def meaning_vectors(
    model: MiniCOIL,
    texts: list[str],
    spans: list[tuple[int, int, int]],
    vocab_id: int,
    batch_size: int = 32,
) -> np.ndarray:
    """Unit meaning vector of the word per text (zero rows where no token reached it)."""
    import torch

    from minicoil.eval.wic import span_embeddings

    raw, counts = span_embeddings(model.backbone, texts, spans, batch_size=batch_size)
    reached = counts > 0
    ids = torch.full((len(spans),), vocab_id, dtype=torch.int64)
    unit = np.zeros((len(spans), model.config.dim), dtype=np.float64)
    if reached.any():
        unit[reached] = model.heads.apply(torch.from_numpy(raw[reached]), ids[reached]).numpy()
    owner = np.asarray([t for t, _, _ in spans], dtype=np.int64)
    sums = np.zeros((len(texts), model.config.dim))
    np.add.at(sums, owner, unit)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


def choose_clusters(
    vectors: np.ndarray, max_clusters: int = MAX_CLUSTERS, seed: int = 0
) -> tuple[np.ndarray, dict[int, float]]:
    """k-means labels for the k with the best silhouette, or one group when no k reaches
    :data:`MIN_SILHOUETTE`; also every k's silhouette (what the choice was made on)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    distinct = len(np.unique(vectors.round(6), axis=0))
    top = min(max_clusters, distinct - 1, len(vectors) - 1)
    scores: dict[int, float] = {}
    runs: dict[int, np.ndarray] = {}
    for k in range(2, top + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors)
        if len(np.unique(labels)) == k:
            scores[k], runs[k] = float(silhouette_score(vectors, labels)), labels
    if not scores or max(scores.values()) < MIN_SILHOUETTE:
        return np.zeros(len(vectors), dtype=np.int64), scores
    best = max(scores.values())
    chosen = min(k for k, score in scores.items() if score >= best - SILHOUETTE_TIE)
    return _by_size(runs[chosen]), scores


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters largest first, so cluster 1 is the dominant sense on every run."""
    order = np.argsort(-np.bincount(labels), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels]


def label_words(
    contexts: list[Counter[str]], labels: np.ndarray, n_words: int = LABEL_WORDS
) -> list[list[str]]:
    """Per cluster, the context words most typical of it against the rest.

    A word's score is the smoothed log-ratio of the share of the cluster's texts using it to
    the share of the other texts using it, weighted by how many of the cluster's texts use it
    (so a word seen once does not name a cluster). With one cluster, the most common words.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    docs = [Counter[str]() for _ in range(k)]
    for context, c in zip(contexts, labels.tolist(), strict=True):
        docs[c].update(set(context))
    sizes = np.bincount(labels, minlength=k)
    total = sum(docs, Counter[str]())
    out = []
    for c in range(k):
        scored = []
        for word, n_in in docs[c].items():
            if n_in < 2 and sizes[c] > 3:
                continue
            n_out = total[word] - n_in
            share_in = (n_in + 0.5) / (sizes[c] + 1)
            share_out = (n_out + 0.5) / (len(labels) - sizes[c] + 1)
            score = n_in if k == 1 else math.log(share_in / share_out) * math.sqrt(n_in)
            scored.append((score, n_in, word))
        scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
        out.append([w for _, _, w in scored[:n_words]])
    return out


def _summaries(
    vectors: np.ndarray, labels: np.ndarray, names: list[list[str]]
) -> list[SenseCluster]:
    out = []
    for c, label in enumerate(names):
        members = np.flatnonzero(labels == c)
        centre = vectors[members].mean(axis=0)
        distance = np.linalg.norm(vectors[members] - centre, axis=1)
        closest = members[np.argsort(distance, kind="stable")]
        out.append(
            SenseCluster(
                index=c,
                size=len(members),
                label=label,
                examples=closest[:EXAMPLES_PER_CLUSTER].tolist(),
                spread=float(distance.mean()),
            )
        )
    return out


def word_senses(
    model: MiniCOIL,
    word: str,
    texts: Iterable[str],
    *,
    samples: int = 200,
    clusters: int | None = None,
    max_clusters: int = MAX_CLUSTERS,
    batch_size: int = 32,
    seed: int = 0,
    source: str = "the texts",
) -> WordSenses:
    """Group and project the meanings of ``word`` in up to ``samples`` of ``texts``.

    ``clusters`` fixes k; by default it is chosen from the data (see the module docstring).
    Raises ``ValueError`` when the word has no head, or fewer than two texts give it a meaning
    (there is nothing to compare); ``source`` names the texts in that message.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    if samples < 2 or (clusters is not None and clusters < 1) or max_clusters < 1:
        raise ValueError("samples must be >= 2 and clusters >= 1")
    lower = word.strip().lower()
    stem = model.processor.stem(lower)
    vocab_id = model.vocab.id(stem) if lower else 0
    if vocab_id == 0:
        raise ValueError(f"{word!r} (stem {stem!r}) has no head in this model: nothing to plot")
    found, spans, snippets, contexts = _find_texts(model, stem, texts, samples)
    if len(found) < 2:
        what = "no text" if not found else "only one text"
        raise ValueError(f"{what} in {source} contains {word!r} (stem {stem!r}); need 2 or more")
    vectors = meaning_vectors(model, found, spans, vocab_id, batch_size)
    keep = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)
    if len(keep) < 2:
        raise ValueError(f"fewer than two texts give {word!r} a meaning vector")
    vectors = vectors[keep]
    if clusters is None:
        labels, silhouettes = choose_clusters(vectors, max_clusters, seed)
        method = f"k by best silhouette over k=2..{max_clusters} (one group below {MIN_SILHOUETTE})"
    else:
        k = min(clusters, len(np.unique(vectors.round(6), axis=0)))
        labels = _by_size(KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors))
        silhouettes, method = {}, f"k fixed at {k}"
    pca = PCA(n_components=2, random_state=seed)
    coords = pca.fit_transform(vectors)
    names = label_words([contexts[i] for i in keep], labels)
    variance = [float(v) for v in pca.explained_variance_ratio_]
    return WordSenses(
        word=word,
        stem=stem,
        vocab_id=vocab_id,
        points=[(float(x), float(y)) for x, y in coords],
        clusters=labels.tolist(),
        snippets=[snippets[i] for i in keep],
        summaries=_summaries(vectors, labels, names),
        explained_variance=variance + [0.0] * (2 - len(variance)),
        silhouettes=silhouettes,
        method=f"k-means on unit meaning vectors, {method}; PCA to 2-D",
    )
