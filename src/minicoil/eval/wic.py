"""Word-in-Context (WiC): do the meaning vectors tell word senses apart?

WiC pairs two sentences that share a target word and says whether the word has the same sense
in both. A representation is scored by the cosine of the target's vectors in the two sentences,
with one threshold ("same sense" when cosine >= threshold) picked to maximise accuracy on
train+dev and reported on test, the usual protocol for unsupervised WiC baselines.

Three representations are compared, so a head's 4 numbers can be judged against what they
compress and against chance compression:

- ``raw``: the backbone's contextual embedding of the target (hidden-d);
- ``meaning``: the model's head applied to it (the vector miniCOIL indexes);
- ``random4``: a seeded Gaussian projection of the raw vector to 4-d (mean and std over seeds).

The target is located by its whitespace-token index (WiC sentences are pre-tokenized); its
vector is the mean of the backbone tokens overlapping that token's character span, the same
offset-based alignment as inference (:func:`minicoil.align.token_word_pairs`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from minicoil.align import span_means
from minicoil.data import iter_lines
from minicoil.eval.beir import DatasetError

if TYPE_CHECKING:
    from minicoil.backbone import Backbone
    from minicoil.model import MiniCOIL

__all__ = [
    "SPLITS",
    "WicPair",
    "best_threshold",
    "evaluate_scores",
    "evaluate_wic",
    "load_wic",
    "load_wic_split",
    "row_cosine",
    "span_embeddings",
    "target_spans",
    "target_stem",
    "token_span",
]

SPLITS = ("train", "dev", "test")
RANDOM_SEEDS = (0, 1, 2, 3, 4)
RANDOM_DIM = 4
NO_HEAD_COSINE = 1.0
"""Cosine given to a pair whose word has no head: "same sense", what plain BM25 assumes."""

_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"\w+")
_INDEX = re.compile(r"([0-9]+)-([0-9]+)")


@dataclass(frozen=True)
class WicPair:
    """One WiC instance: target lemma, POS, whitespace-token index of the target in each
    sentence, the two sentences, and the gold label (True = same sense)."""

    lemma: str
    pos: str
    index1: int
    index2: int
    sentence1: str
    sentence2: str
    label: bool


def token_span(sentence: str, index: int) -> tuple[int, int]:
    """Character span ``[start, end)`` of the ``index``-th whitespace token of ``sentence``."""
    for i, match in enumerate(_TOKEN.finditer(sentence)):
        if i == index:
            return match.start(), match.end()
    raise IndexError(f"token {index} out of range")


def _read_lines(path: Path) -> list[str]:
    return [line for _, line in iter_lines(path, error=DatasetError)]


def load_wic_split(data_dir: str | Path, split: str) -> list[WicPair]:
    """Read ``<split>/<split>.data.txt`` and ``<split>/<split>.gold.txt`` of a WiC folder.

    Every problem is a :class:`DatasetError` naming the file and 1-based line: a skipped line
    would silently change the accuracy being compared with published numbers.
    """
    folder = Path(data_dir) / split
    data_path, gold_path = folder / f"{split}.data.txt", folder / f"{split}.gold.txt"
    data, gold = _read_lines(data_path), _read_lines(gold_path)
    if len(data) != len(gold):
        raise DatasetError(
            f"{gold_path}: {len(gold)} labels for {len(data)} instances in {data_path}"
        )
    pairs = []
    for number, (line, label) in enumerate(zip(data, gold, strict=True), start=1):
        where = f"{data_path}, line {number}"
        columns = line.split("\t")
        if len(columns) != 5:
            raise DatasetError(f"{where}: expected 5 tab-separated columns, got {len(columns)}")
        lemma, pos, index, sentence1, sentence2 = columns
        match = _INDEX.fullmatch(index.strip())
        if match is None:
            raise DatasetError(f"{where}: index column {index!r} is not of the form i-j")
        index1, index2 = int(match.group(1)), int(match.group(2))
        for which, sentence, i in ((1, sentence1, index1), (2, sentence2, index2)):
            n_tokens = len(_TOKEN.findall(sentence))
            if i >= n_tokens:
                raise DatasetError(
                    f"{where}: index {i} is out of range for sentence {which} "
                    f"({n_tokens} whitespace tokens)"
                )
        value = label.strip()
        if value not in ("T", "F"):
            raise DatasetError(f"{gold_path}, line {number}: label {label!r} is not T or F")
        pairs.append(WicPair(lemma, pos, index1, index2, sentence1, sentence2, label=value == "T"))
    if not pairs:
        raise DatasetError(f"{data_path}: no instances")
    return pairs


def load_wic(data_dir: str | Path, splits: Sequence[str] = SPLITS) -> dict[str, list[WicPair]]:
    """All splits of a WiC folder (``train``, ``dev``, ``test`` by default)."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: WiC folder not found")
    return {split: load_wic_split(folder, split) for split in splits}


def span_embeddings(
    backbone: Backbone,
    texts: Sequence[str],
    spans: Sequence[tuple[int, int, int]],
    batch_size: int = 32,
    chunk: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean backbone token embedding over each ``(text index, start, end)`` character span.

    Returns ``(vectors (n, hidden), token counts (n,))``; a span no token reaches gets a zero
    vector and count 0. Texts are encoded once each, in chunks, and token embeddings are
    dropped after each chunk, so memory stays at the size of the result.
    """
    n = len(spans)
    out = np.zeros((n, backbone.hidden_size), dtype=np.float32)
    counts = np.zeros(n, dtype=np.int64)
    by_text: dict[int, list[int]] = {}
    for k, (t, _, _) in enumerate(spans):
        by_text.setdefault(t, []).append(k)
    order = sorted(by_text)
    step = chunk or max(8 * batch_size, 256)
    for s in range(0, len(order), step):
        block = order[s : s + step]
        tokenized = backbone.tokenize([texts[t] for t in block])
        token_embs, _ = backbone.embed(tokenized, batch_size=batch_size)
        per_text = [[(spans[k][1], spans[k][2], k) for k in by_text[t]] for t in block]
        offsets = [tok.offsets for tok in tokenized]
        means, cnt = span_means(offsets, token_embs, per_text, n)
        if means.shape[1] == 0:
            continue
        hit = cnt > 0
        out[hit.numpy()] = means[hit].numpy()
        counts += cnt.numpy()
    return out, counts


def row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine; 0.0 where either vector is zero (no token reached the word)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("nd,nd->n", a, b)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(threshold, accuracy)`` maximising accuracy of ``score >= threshold`` == label.

    Candidates are midpoints between consecutive distinct scores plus one below the minimum
    (everything "same") and one above the maximum (everything "different"); ties in accuracy
    go to the lowest threshold, so the choice is deterministic.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    if len(scores) == 0:
        raise ValueError("no scores to choose a threshold on")
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], labels[order]
    n = len(s)
    # Cut at k predicts "different" for the k lowest: correct = F among them + T among the rest.
    false_below = np.concatenate([[0], np.cumsum(~y)])
    true_above = int(y.sum()) - np.concatenate([[0], np.cumsum(y)])
    correct = false_below + true_above
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[1:] > s[:-1]  # never cut between equal scores
    best = int(np.flatnonzero(valid & (correct == correct[valid].max()))[0])
    if best == 0:
        threshold = s[0] - 1.0
    elif best == n:
        threshold = s[-1] + 1.0
    else:
        threshold = (s[best - 1] + s[best]) / 2.0
    return float(threshold), float(correct[best] / n)


def _accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float | None:
    if len(scores) == 0:
        return None
    return float(np.mean((np.asarray(scores) >= threshold) == np.asarray(labels, dtype=bool)))


def evaluate_scores(
    scores: dict[str, np.ndarray], labels: dict[str, np.ndarray]
) -> dict[str, float | None]:
    """WiC's protocol for any similarity: the threshold is chosen on train+dev (the
    task's own rule, so no test label is seen), then test accuracy at that threshold.
    ``scores``/``labels`` map ``train``, ``dev`` and ``test`` to per-pair arrays."""
    fit_scores = np.concatenate([scores["train"], scores["dev"]])
    fit_labels = np.concatenate([labels["train"], labels["dev"]])
    if len(fit_scores) == 0 or len(scores["test"]) == 0:
        return {"test_accuracy": None, "threshold": None, "train_dev_accuracy": None}
    threshold, fit_accuracy = best_threshold(fit_scores, fit_labels)
    return {
        "test_accuracy": _accuracy(scores["test"], labels["test"], threshold),
        "threshold": threshold,
        "train_dev_accuracy": fit_accuracy,
    }


def target_stem(model: MiniCOIL, sentence: str, start: int, end: int) -> str:
    """The stem of the target token's first word (WiC tokens are words, maybe with an
    apostrophe piece); empty when the token holds no word character."""
    match = _WORD.search(sentence, start, end)
    return model.processor.stem(match.group().lower()) if match else ""


def target_spans(
    model: MiniCOIL, data: dict[str, list[WicPair]]
) -> tuple[list[str], list[tuple[int, int, int]], list[str]]:
    """Distinct sentences, then per occurrence (two per pair, pairs in split order) its
    ``(sentence index, start, end)`` target span and the target's stem: each sentence is
    encoded once however many pairs use it."""
    sentences: dict[str, int] = {}
    spans: list[tuple[int, int, int]] = []
    stems: list[str] = []
    for pairs in data.values():
        for pair in pairs:
            for sentence, index in ((pair.sentence1, pair.index1), (pair.sentence2, pair.index2)):
                t = sentences.setdefault(sentence, len(sentences))
                start, end = token_span(sentence, index)
                spans.append((t, start, end))
                stems.append(target_stem(model, sentence, start, end))
    return list(sentences), spans, stems


@dataclass(frozen=True)
class _Splits:
    """Where each split's pairs sit in the flat arrays: pairs in split order, and occurrence
    rows ``2p`` and ``2p + 1`` holding pair ``p``'s two sentences."""

    names: list[str]
    bounds: np.ndarray  # pair offsets: split i is pairs bounds[i]:bounds[i+1]

    @classmethod
    def of(cls, data: dict[str, list[WicPair]]) -> _Splits:
        return cls(list(data), np.cumsum([0, *(len(pairs) for pairs in data.values())]))

    def split(self, values: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per-pair ``values`` cut into splits, keeping only pairs where ``mask`` holds."""
        out = {}
        for i, name in enumerate(self.names):
            part = slice(self.bounds[i], self.bounds[i + 1])
            out[name] = values[part] if mask is None else values[part][mask[part]]
        return out

    def test_rate(self, flags: np.ndarray) -> float:
        """Share of test pairs (the last split) where ``flags`` holds."""
        return float(flags[self.bounds[-2] :].mean())


def _meanings(
    model: MiniCOIL, raw: np.ndarray, counts: np.ndarray, stems: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, meaning vectors)`` per occurrence: the head applied where the word has one and
    a token reached it, zero elsewhere."""
    ids = np.asarray(model.vocab.ids(stems), dtype=np.int64)
    meaning = np.zeros((len(stems), model.config.dim), dtype=np.float32)
    has = (ids > 0) & (counts > 0)
    if has.any():
        meaning[has] = model.heads.apply(
            torch.from_numpy(raw[has]), torch.from_numpy(ids[has])
        ).numpy()
    return ids, meaning


def _meaning_method(
    splits: _Splits, ids: np.ndarray, meaning: np.ndarray, labels_all: np.ndarray, dim: int
) -> dict[str, Any]:
    """Accuracy of the heads' cosine, with uncovered pairs scored :data:`NO_HEAD_COSINE`, and
    the same restricted to covered pairs."""
    first, second = slice(0, None, 2), slice(1, None, 2)
    has_meaning = np.abs(meaning).sum(axis=1) > 0
    covered = has_meaning[first] & has_meaning[second] & (ids[first] == ids[second])
    cosine = np.where(covered, row_cosine(meaning[first], meaning[second]), NO_HEAD_COSINE)
    labels = splits.split(labels_all)
    covered_result = evaluate_scores(
        splits.split(cosine, covered), splits.split(labels_all, covered)
    )
    per_split_covered = splits.split(covered)
    return {
        **evaluate_scores(splits.split(cosine), labels),
        "dim": dim,
        "coverage": splits.test_rate(covered),
        "pairs_without_head": {s: int((~v).sum()) for s, v in per_split_covered.items()},
        "fallback": f"a pair without a head gets cosine {NO_HEAD_COSINE} (same sense)",
        "covered": {
            **covered_result,
            "n_pairs": {s: int(v.sum()) for s, v in per_split_covered.items()},
        },
    }


def _random_method(
    splits: _Splits, raw: np.ndarray, labels: dict[str, np.ndarray], coverage: float
) -> dict[str, Any]:
    """Seeded Gaussian projections of the raw vectors to :data:`RANDOM_DIM`: what 4 numbers
    keep by chance, as mean and std over :data:`RANDOM_SEEDS`."""
    per_seed = []
    for seed in RANDOM_SEEDS:
        projection = np.random.default_rng(seed).standard_normal((raw.shape[1], RANDOM_DIM))
        projected = raw.astype(np.float64) @ projection
        cosine = row_cosine(projected[0::2], projected[1::2])
        per_seed.append({"seed": seed, **evaluate_scores(splits.split(cosine), labels)})
    accuracies = np.asarray([r["test_accuracy"] for r in per_seed], dtype=np.float64)
    return {
        "test_accuracy": float(accuracies.mean()),
        "std": float(accuracies.std()),
        "dim": RANDOM_DIM,
        "coverage": coverage,
        "per_seed": per_seed,
    }


def evaluate_wic(model: MiniCOIL, data_dir: str | Path, batch_size: int = 32) -> dict[str, Any]:
    """WiC accuracy of the raw embedding, the model's meanings and random 4-d projections.

    Each distinct sentence is encoded once. A pair is *covered* by the heads when both
    occurrences resolve to the same vocabulary id and get a non-zero meaning; uncovered pairs
    get cosine :data:`NO_HEAD_COSINE` ("same sense", as BM25 treats every match), so the
    all-pairs accuracy shows what the model does on real text, and ``covered`` shows what the
    heads do where they exist.
    """
    data = load_wic(data_dir)
    texts, spans, stems = target_spans(model, data)
    raw, counts = span_embeddings(model.backbone, texts, spans, batch_size=batch_size)
    ids, meaning = _meanings(model, raw, counts, stems)
    splits = _Splits.of(data)
    labels_all = np.asarray([p.label for pairs in data.values() for p in pairs], dtype=bool)
    labels = splits.split(labels_all)
    missing_tokens = (counts[0::2] == 0) | (counts[1::2] == 0)
    raw_method = {
        **evaluate_scores(splits.split(row_cosine(raw[0::2], raw[1::2])), labels),
        "dim": int(raw.shape[1]),
        "coverage": 1.0 - splits.test_rate(missing_tokens),
    }
    methods = {
        "raw": raw_method,
        "meaning": _meaning_method(splits, ids, meaning, labels_all, int(model.config.dim)),
        "random4": _random_method(splits, raw, labels, raw_method["coverage"]),
    }
    test_labels = labels["test"]
    return {
        "dataset": str(data_dir),
        "n_pairs": {name: len(pairs) for name, pairs in data.items()},
        "n_sentences": len(texts),
        "missing_tokens": int(missing_tokens.sum()),
        "majority_test_accuracy": float(max(test_labels.mean(), 1 - test_labels.mean())),
        "protocol": "cosine >= threshold means same sense; threshold maximises train+dev "
        "accuracy; accuracy reported on test",
        "methods": methods,
    }
