"""Issue 6 levers on the heads, measured on one encoding of SciFact and WiC.

A head changes a SciFact score only for the words the queries contain, and a WiC decision only
for the target words: so each variant trains heads for those ~3,000 words only, from the
training work folder's encoded samples and with the same code as ``minicoil train`` (chunks
of ``words_per_chunk`` words, per-chunk seeds, the same held-out sentences), and is scored on
384-d occurrence vectors that are encoded once and cached:

    SciFact  sum over shared words of IDF * tf * cos(query meaning, document meaning)
             + IDF * tf for shared words without a head (Qdrant's IDF, BM25 tf, as the index);
             NDCG@10 on train (which chooses settings) and test (reported once per variant),
             and the weighted hybrid sparse/max + w * dense with w chosen on train
    WiC      accuracy of the meaning cosine, threshold from train+dev (pairs with a head)

The ``shipped`` variant applies the shipped model's heads and must reproduce its own numbers
(``minicoil benchmark``: 0.7022, WiC covered 0.573): the check that the harness is the index.

Variants (``--variant``, repeatable; results are merged into ``--json``):
    shipped     the shipped model's heads (no training)
    refit       the shipped training settings, retrained on the word subset
    seed1/seed2 the same with other seeds (init, triplets, held-out split): the noise band
    center      each word's mean training vector subtracted before its head
    dim8/dim16  wider meaning vectors (index size grows with dim); dim8-seed1 its second seed
    bf16        inputs multiplied in bfloat16 during training (speed)
    s128        128 instead of 256 samples per word
    no-snippets no snippet augmentation
    gap0.05/gap0.2   triplet margin threshold (min_gap)
    long        twice the steps and patience
    steps300    half the steps (the training-time lever)
    t64         64 instead of 128 triplets per word and step
    umap        UMAP targets instead of triplets (first 600 subset words: UMAP is slow)
    refit600    triplets on the same 600 words: umap's baseline (other words scored as BM25)
    teacher-token   the teacher is the word's own 384-d token vector (cosine between a word's
                samples), not the sentence embedding: keep what the token vector knows
    teacher-mix the mean of both teachers' cosines
    vocab5k/vocab10k  the shipped heads of the 5,000 / 10,000 most frequent stems only (the
                others scored as BM25): which words need a head
Scoring variants of every fit: the document meaning as the mean of unit meanings (the
library), as the head of the mean vector (fastembed), and the best-matching occurrence
(an upper bound: one vector per word and document cannot serve it); query tf counted.

    python benchmarks/exp_heads.py --model src/minicoil/models/minicoil-en \\
        --work ../minicoil-work/wiki --data ../shared/data/beir/scifact \\
        --wic ../shared/data/wic --cache ../minicoil-work/exp-heads \\
        --variant shipped --variant center --json benchmarks/results-heads.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

# the sibling script's ranking and metrics, so both experiments score alike (run from the
# checkout: ``python benchmarks/exp_heads.py`` puts benchmarks/ on the import path)
from exp_transforms import evaluate_split, top

from minicoil import MiniCOIL
from minicoil.align import mean_by_group, token_word_pairs
from minicoil.eval.beir import indexable_text, load_beir
from minicoil.eval.wic import (
    evaluate_scores,
    load_wic,
    row_cosine,
    span_embeddings,
    target_spans,
)
from minicoil.meaning import analyse
from minicoil.search.exact import qdrant_idf
from minicoil.sparse import oov_shift
from minicoil.train import fit as fit_module
from minicoil.train.encode import EncodedSamples
from minicoil.train.fit import FitConfig, train_chunk
from minicoil.train.sample import Selection

SPLITS = ("train", "test")
WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
FLOORS = (0.0, 0.25, 0.5, 0.75, 1.0)  # f(cos) = floor + (1 - floor) * cos = a mix with BM25
UMAP_WORDS = 600

VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "refit": {},
    "seed1": {"seed": 1},
    "seed2": {"seed": 2},
    "center": {"center": True},
    "dim8": {"dim": 8},
    "dim16": {"dim": 16},
    "dim8-seed1": {"dim": 8, "seed": 1},
    "bf16": {"precision": "bfloat16"},
    "s128": {"max_samples": 128},
    "no-snippets": {"snippet_prob": 0.0},
    "gap0.05": {"min_gap": 0.05},
    "gap0.2": {"min_gap": 0.2},
    "long": {"max_steps": 1200, "patience": 8},
    "steps300": {"max_steps": 300},
    "t64": {"triplets_per_word": 64},
    "umap": {"method": "umap", "limit_words": UMAP_WORDS},
    "refit600": {"limit_words": UMAP_WORDS},
    "teacher-token": {"teacher": "token"},
    "teacher-mix": {"teacher": "mix"},
    "vocab5k": {"shipped_top": 5000},
    "vocab10k": {"shipped_top": 10000},
}


# ----------------------------------------------------------------------------- occurrences
def occurrence_vectors(
    model: MiniCOIL, texts: list[str], keep: set[int] | None, block: int = 64
) -> dict[str, np.ndarray]:
    """Every vocabulary-word occurrence of ``texts`` (ids in ``keep``): text row, word id and
    the mean of its token embeddings, exactly the vectors ``text_meanings`` feeds the heads."""
    rows, ids, xs = [], [], []
    for s in range(0, len(texts), block):
        part = texts[s : s + block]
        analyses = [analyse(t, model.processor, model.vocab) for t in part]
        tokenized = model.backbone.tokenize(part)
        token_embs, _ = model.backbone.embed(tokenized, batch_size=32)
        for j, a in enumerate(analyses):
            mask = a.ids > 0
            if keep is not None:
                mask &= np.isin(a.ids, list(keep))
            n = int(mask.sum())
            if not n:
                continue
            t, w = token_word_pairs(tokenized[j].offsets, a.starts[mask], a.ends[mask])
            x, counts = mean_by_group(token_embs[j][torch.from_numpy(t)], torch.from_numpy(w), n)
            has = (counts > 0).numpy()
            rows.append(np.full(int(has.sum()), s + j, dtype=np.int64))
            ids.append(a.ids[mask][has])
            xs.append(x[torch.from_numpy(has)].numpy().astype(np.float16))
        if s % 1024 == 0:
            print(f"  occurrences: {s}/{len(texts)}", flush=True)
    return {"row": np.concatenate(rows), "id": np.concatenate(ids), "x": np.concatenate(xs)}


def prepare(args: argparse.Namespace, model: MiniCOIL) -> dict[str, Any]:
    """Occurrence vectors (SciFact corpus, queries; WiC targets), tf and IDF, cached."""
    cache = args.cache / "prepared.npz"
    meta_path = args.cache / "prepared.json"
    if cache.exists() and meta_path.exists():
        with np.load(cache) as data:
            arrays = dict(data)
        return {"arrays": arrays, **json.loads(meta_path.read_text())}
    args.cache.mkdir(parents=True, exist_ok=True)
    splits = {s: load_beir(args.data, s) for s in SPLITS}
    corpus = splits["test"].corpus
    texts = [indexable_text(d) for d in corpus.values()]
    arrays: dict[str, np.ndarray] = {}
    query_words: set[int] = set()
    qids = {}
    for split, data in splits.items():
        qids[split] = list(data.queries)
        occ = occurrence_vectors(model, [data.queries[q] for q in qids[split]], None)
        query_words.update(occ["id"].tolist())
        for key, value in occ.items():
            arrays[f"q_{split}_{key}"] = value
    docs = occurrence_vectors(model, texts, query_words)
    for key, value in docs.items():
        arrays[f"d_{key}"] = value
    # WiC target occurrences through the same backbone code as `minicoil eval-wic`
    wic = load_wic(args.wic)
    sentences, spans, stems = target_spans(model, wic)
    labels = [pair.label for pairs in wic.values() for pair in pairs]
    split_of = [split for split, pairs in wic.items() for _ in pairs]
    raw, counts = span_embeddings(model.backbone, sentences, spans)
    arrays["wic_x"] = raw.astype(np.float16)
    arrays["wic_count"] = counts
    arrays["wic_id"] = np.asarray(model.vocab.ids(stems), dtype=np.int64)
    arrays["wic_label"] = np.asarray(labels, dtype=bool)
    arrays["wic_split"] = np.asarray(split_of)
    words = sorted(query_words | set(arrays["wic_id"][arrays["wic_id"] > 0].tolist()))
    arrays["words"] = np.asarray(words, dtype=np.int64)
    # tf of every (document, word) and the OOV part of queries from the library's own vectors
    # (exp_transforms' cache: same model files, head-independent parts only)
    dim, shift = model.config.dim, oov_shift(model.config.vocab_size, model.config.dim)
    enc = {}
    for name in ("docs", *SPLITS):
        with np.load(args.transforms_cache / f"{name}.npz") as data:
            enc[name] = dict(data)
    d = enc["docs"]
    vocab = d["idx"] < shift
    key = d["rows"][vocab] * (model.config.vocab_size + 1) + d["idx"][vocab] // dim
    uniq, inv = np.unique(key, return_inverse=True)
    tf = np.sqrt(np.bincount(inv, weights=d["val"][vocab].astype(np.float64) ** 2))
    arrays["tf_row"] = uniq // (model.config.vocab_size + 1)
    arrays["tf_id"] = uniq % (model.config.vocab_size + 1)
    arrays["tf"] = tf
    arrays["oov_row"], arrays["oov_idx"] = d["rows"][~vocab], d["idx"][~vocab]
    arrays["oov_tf"] = d["val"][~vocab]
    for split in SPLITS:
        q = enc[split]
        qv = q["idx"] < shift
        arrays[f"q_{split}_oov_row"] = q["rows"][~qv]
        arrays[f"q_{split}_oov_idx"] = q["idx"][~qv]
        arrays[f"q_{split}_oov_val"] = q["val"][~qv]
        arrays[f"q_{split}_dense"] = q["dense"]
    arrays["d_dense"] = d["dense"]
    np.savez(cache, **arrays)
    meta = {"doc_ids": list(corpus), "qids": qids, "n_words": len(words)}
    meta_path.write_text(json.dumps(meta))
    return {"arrays": arrays, **meta}


# ----------------------------------------------------------------------------- heads
@dataclasses.dataclass
class SubsetHeads:
    """Heads for some word ids: W (n, H, dim), optional centres (n, H)."""

    ids: np.ndarray
    weights: np.ndarray
    centers: np.ndarray | None = None

    def apply(self, x: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Unit meanings (n, dim); rows of words without a head are zero."""
        pos = np.searchsorted(self.ids, ids)
        pos = np.clip(pos, 0, len(self.ids) - 1)
        has = self.ids[pos] == ids
        out = np.zeros((len(ids), self.weights.shape[2]), dtype=np.float32)
        rows = np.flatnonzero(has)
        for s in range(0, len(rows), 4096):  # (n, H, dim) gathered weights, a block at a time
            sel, p = rows[s : s + 4096], pos[rows[s : s + 4096]]
            xf = x[sel].astype(np.float32)
            if self.centers is not None:
                xf = xf - self.centers[p]
            y = np.tanh(np.einsum("nh,nhd->nd", xf, self.weights[p]))
            norm = np.linalg.norm(y, axis=1, keepdims=True)
            out[sel] = np.divide(y, norm, out=np.zeros_like(y), where=norm > 0)
        return out


def shipped_heads(model: MiniCOIL, words: np.ndarray) -> SubsetHeads:
    return SubsetHeads(words, model.heads.weights[torch.from_numpy(words)].float().numpy())


def fit_subset(
    args: argparse.Namespace, words: np.ndarray, settings: dict[str, Any], name: str
) -> tuple[SubsetHeads, dict[str, Any]]:
    """Train the heads of ``words`` as ``fit_heads`` would (cached per variant)."""
    path = args.cache / f"fit-{name}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            centers = data["centers"] if "centers" in data.files else None
            heads = SubsetHeads(data["ids"], data["weights"], centers)
            return heads, json.loads(str(data["info"]))
    settings = dict(settings)
    center = settings.pop("center", False)
    teacher = settings.pop("teacher", "sentence")
    max_samples = settings.pop("max_samples", None)
    limit = settings.pop("limit_words", None)
    if limit:
        words = words[:limit]
    config = FitConfig(**settings)
    selection = Selection.load(args.work / "selection.npz")
    enc = EncodedSamples.open(args.work / "encoded", selection)
    if max_samples:
        enc = _capped(enc, max_samples)
    rng = np.random.default_rng([config.seed, 7])
    held_out = rng.random(len(enc.layout.sentences)) < config.val_fraction
    centers_by_word: dict[int, np.ndarray] = {}
    original = fit_module._gather_chunk
    if center:
        fit_module._gather_chunk = _centering(original, centers_by_word)
    if teacher != "sentence":
        fit_module._gather_chunk = _token_teacher(original, mix=teacher == "mix")
    weights, stats, t0 = [], [], time.perf_counter()
    try:
        for c in range(0, len(words), config.words_per_chunk):
            chunk = [int(w) for w in words[c : c + config.words_per_chunk]]
            w, s = train_chunk(enc, chunk, held_out, config, config.seed * 1_000_003 + c)  # type: ignore[arg-type]
            weights.append(w)
            stats.extend(s)
            print(f"  fit {name}: {c + len(chunk)}/{len(words)} words", flush=True)
    finally:
        fit_module._gather_chunk = original
    seconds = time.perf_counter() - t0
    agreements = [s["agreement"] for s in stats if s["agreement"] is not None]
    info = {
        "config": dataclasses.asdict(config),
        "center": center,
        "teacher": teacher,
        "max_samples": max_samples,
        "words": len(words),
        "seconds_per_word": round(seconds / len(words), 4),
        "heldout_triplet_agreement": round(float(np.mean(agreements)), 4),
    }
    centers = np.stack([centers_by_word[int(w)] for w in words]) if center else None
    heads = SubsetHeads(words, np.concatenate(weights), centers)
    extra = {"centers": centers} if centers is not None else {}
    np.savez(path, ids=words, weights=heads.weights, info=json.dumps(info), **extra)
    return heads, info


def _capped(enc: EncodedSamples, cap: int) -> EncodedSamples:
    """The same samples with at most ``cap`` per word (the first ones: reservoir order)."""
    valid = enc.valid.copy()
    valid &= enc.layout.slot < cap
    return dataclasses.replace(enc, valid=valid)


def _token_teacher(original: Any, mix: bool) -> Any:
    """Wrap ``_gather_chunk`` so the teacher similarity is the cosine between the word's own
    token vectors (the heads' inputs), or its mean with the sentence teacher's (``mix``).
    Held-out agreement is then measured against that teacher too."""

    def gather(
        enc: EncodedSamples, words: Any, held_out: np.ndarray, val: bool, dtype: torch.dtype
    ) -> Any:
        chunk = original(enc, words, held_out, val, torch.float32)
        t = torch.nn.functional.normalize(chunk.x.transpose(1, 2), dim=-1)  # (W, S, H)
        token_sim = torch.bmm(t, t.transpose(1, 2))
        chunk.sim = (chunk.sim + token_sim) / 2 if mix else token_sim
        chunk.x, chunk.xs = chunk.x.to(dtype), chunk.xs.to(dtype)
        return chunk

    return gather


def _centering(original: Any, centers: dict[int, np.ndarray]) -> Any:
    """Wrap ``_gather_chunk`` so each word's inputs have its training mean subtracted."""

    def gather(
        enc: EncodedSamples, words: Any, held_out: np.ndarray, val: bool, dtype: torch.dtype
    ) -> Any:
        chunk = original(enc, words, held_out, val, torch.float32)
        for i, w in enumerate(words):
            n = int(chunk.sizes[i])
            if not val:
                mean = chunk.x[i, :, :n].mean(1) if n else torch.zeros(chunk.x.shape[1])
                centers[int(w)] = mean.numpy().astype(np.float32)
            mu = torch.from_numpy(centers[int(w)]).view(-1, 1)
            chunk.x[i, :, :n] -= mu
            k = int((chunk.snip_pos[i] >= 0).sum())
            chunk.xs[i, :, :k] -= mu
        chunk.x, chunk.xs = chunk.x.to(dtype), chunk.xs.to(dtype)
        return chunk

    return gather


# ----------------------------------------------------------------------------- scoring
class Scorer:
    """The exact sparse score over cached occurrences for any heads and aggregation."""

    def __init__(self, prep: dict[str, Any], args: argparse.Namespace):
        a = prep["arrays"]
        self.a = a
        self.doc_ids: list[str] = prep["doc_ids"]
        self.qids: dict[str, list[str]] = prep["qids"]
        self.n_docs = len(self.doc_ids)
        self.qrels = {s: load_beir(args.data, s).qrels for s in SPLITS}
        # document frequency and postings of vocabulary words (tf) and OOV indices
        order = np.lexsort((a["tf_row"], a["tf_id"]))
        self.tf_id, self.tf_row, self.tf = a["tf_id"][order], a["tf_row"][order], a["tf"][order]
        bounds = np.flatnonzero(np.diff(self.tf_id)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(self.tf_id)]])
        self.span = {int(self.tf_id[s]): (s, e) for s, e in zip(starts, ends, strict=True)}
        self.idf = {
            t: float(qdrant_idf(np.array([e - s]), self.n_docs)[0])
            for t, (s, e) in self.span.items()
        }
        self.oov_scores = {s: self._oov(s) for s in SPLITS}
        self._bm25: dict[str, np.ndarray] = {}

    def _oov(self, split: str) -> np.ndarray:
        a = self.a
        out = np.zeros((len(self.qids[split]), self.n_docs))
        post: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        order = np.argsort(a["oov_idx"], kind="stable")
        idx, rows, tf = a["oov_idx"][order], a["oov_row"][order], a["oov_tf"][order]
        for r, t, v in zip(
            a[f"q_{split}_oov_row"], a[f"q_{split}_oov_idx"], a[f"q_{split}_oov_val"], strict=True
        ):
            if int(t) not in post:
                lo, hi = np.searchsorted(idx, t), np.searchsorted(idx, t, side="right")
                post[int(t)] = (rows[lo:hi], tf[lo:hi])
            d_rows, d_tf = post[int(t)]
            if len(d_rows):
                idf = float(qdrant_idf(np.array([len(d_rows)]), self.n_docs)[0])
                out[r, d_rows] += idf * d_tf * v
        return out

    def doc_meanings(self, heads: SubsetHeads, mode: str) -> dict[tuple[int, int], Any]:
        """Per (word, doc row): its meaning (mean of units / head of mean) or all units."""
        a = self.a
        ids, rows, x = a["d_id"], a["d_row"], a["d_x"]
        if mode == "head-of-mean":
            key = rows * 100_000 + ids
            uniq, inv = np.unique(key, return_inverse=True)
            sums = np.zeros((len(uniq), x.shape[1]), dtype=np.float32)
            np.add.at(sums, inv, x.astype(np.float32))
            sums /= np.bincount(inv)[:, None]
            units = heads.apply(sums, uniq % 100_000)
            return {"rows": uniq // 100_000, "ids": uniq % 100_000, "m": units}
        units = heads.apply(x, ids)
        if mode == "best":
            return {"rows": rows, "ids": ids, "m": units}
        key = rows * 100_000 + ids
        uniq, inv = np.unique(key, return_inverse=True)
        sums = np.zeros((len(uniq), units.shape[1]), dtype=np.float32)
        np.add.at(sums, inv, units)
        norm = np.linalg.norm(sums, axis=1, keepdims=True)
        m = np.divide(sums, norm, out=np.zeros_like(sums), where=norm > 0)
        return {"rows": uniq // 100_000, "ids": uniq % 100_000, "m": m}

    def bm25(self, split: str) -> np.ndarray:
        """BM25 with the same words, IDF and tf (every cosine 1)."""
        if split not in self._bm25:
            a = self.a
            out = self.oov_scores[split].copy()
            key = np.unique(a[f"q_{split}_row"] * 100_000 + a[f"q_{split}_id"])
            for r, t in zip((key // 100_000).tolist(), (key % 100_000).tolist(), strict=True):
                if t in self.span:
                    s, e = self.span[t]
                    out[r, self.tf_row[s:e]] += self.idf[t] * self.tf[s:e]
            self._bm25[split] = out
        return self._bm25[split]

    def scores(
        self, heads: SubsetHeads, split: str, mode: str = "mean-of-units", query_tf: bool = False
    ) -> np.ndarray:
        a = self.a
        dm = self.doc_meanings(heads, mode)
        by_word: dict[int, np.ndarray] = {}
        order = np.argsort(dm["ids"], kind="stable")
        sid = dm["ids"][order]
        out = self.oov_scores[split].copy()
        q_units = heads.apply(a[f"q_{split}_x"], a[f"q_{split}_id"])
        q_rows, q_ids = a[f"q_{split}_row"], a[f"q_{split}_id"]
        key = q_rows * 100_000 + q_ids
        uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        qs = np.zeros((len(uniq), q_units.shape[1]), dtype=np.float32)
        np.add.at(qs, inv, q_units)
        for (k, q), c in zip(zip(uniq.tolist(), qs, strict=True), cnt.tolist(), strict=True):
            r, t = divmod(k, 100_000)
            if t not in self.span:
                continue
            s, e = self.span[t]
            d_rows, tf = self.tf_row[s:e], self.tf[s:e]
            qn = np.linalg.norm(q)
            if qn == 0:  # no head: BM25 (cosine 1)
                out[r, d_rows] += self.idf[t] * tf * (c if query_tf else 1)
                continue
            if t not in by_word:
                lo, hi = np.searchsorted(sid, t), np.searchsorted(sid, t, side="right")
                by_word[t] = order[lo:hi]
            sel = by_word[t]
            cos_occ = dm["m"][sel] @ (q / qn)
            cos = np.full(self.n_docs, -np.inf)
            np.maximum.at(cos, dm["rows"][sel], cos_occ)
            cos_d = cos[d_rows]
            cos_d[~np.isfinite(cos_d)] = 1.0  # occurrence without tokens: BM25
            out[r, d_rows] += self.idf[t] * tf * cos_d * (c if query_tf else 1)
        return out

    def ndcg(self, split: str, scores: np.ndarray) -> dict[str, float]:
        runs = {
            qid: {self.doc_ids[i]: float(scores[r, i]) for i in top(scores[r])}
            for r, qid in enumerate(self.qids[split])
        }
        return evaluate_split(runs, self.qrels[split])

    def hybrid(self, scores: dict[str, np.ndarray], floor: float) -> dict[str, Any]:
        """sparse / max + w * dense with f = floor + (1 - floor) * cos; w chosen on train.

        The whole (w -> train, test) grid is kept too, so that one (floor, w) default can be
        chosen on train across several fits.
        """
        dense, sparse = {}, {}
        for split in SPLITS:  # both sides once per split, then only the weight varies
            dense[split] = self.a[f"q_{split}_dense"] @ self.a["d_dense"].T
            s = (1 - floor) * scores[split] + floor * self.bm25(split)
            sparse[split] = s / np.maximum(s.max(axis=1, keepdims=True), 1e-12)
        grid: dict[str, dict[str, float]] = {}
        for w in WEIGHTS:
            grid[str(w)] = {
                split: round(self.ndcg(split, sparse[split] + w * dense[split])["ndcg@10"], 4)
                for split in SPLITS
            }
        best = max(WEIGHTS, key=lambda w: grid[str(w)]["train"])  # first of equal scores
        return {"w": best, **grid[str(best)], "grid": grid}


def wic_accuracy(prep: dict[str, Any], heads: SubsetHeads) -> dict[str, Any]:
    """WiC test accuracy of the meaning cosine on pairs with a head (as ``eval-wic``)."""
    a = prep["arrays"]
    x, ids, counts = a["wic_x"], a["wic_id"], a["wic_count"]
    meaning = heads.apply(x, np.where(counts > 0, ids, -1))
    first, second = np.arange(0, len(ids), 2), np.arange(1, len(ids), 2)
    has = np.abs(meaning).sum(1) > 0
    covered = has[first] & has[second] & (ids[first] == ids[second])
    cos = row_cosine(meaning[first], meaning[second])
    split, labels = a["wic_split"], a["wic_label"]
    sc = {s: cos[(split == s) & covered] for s in ("train", "dev", "test")}
    lb = {s: labels[(split == s) & covered] for s in ("train", "dev", "test")}
    result = evaluate_scores(sc, lb)
    return {
        "covered_test_accuracy": round(result["test_accuracy"], 4),
        "covered_test_pairs": int(((split == "test") & covered).sum()),
    }


# ----------------------------------------------------------------------------- main
def run_variant(
    args: argparse.Namespace, model: MiniCOIL, prep: dict[str, Any], scorer: Scorer, name: str
) -> dict[str, Any]:
    words = prep["arrays"]["words"]
    if "shipped_top" in VARIANTS[name] or name == "shipped":
        top = VARIANTS[name].get("shipped_top", len(model.vocab))
        words = words[words <= top]  # ids are frequency ranks
        heads, info = shipped_heads(model, words), {"words": len(words), "vocab": top}
    else:
        heads, info = fit_subset(args, words, VARIANTS[name], name)
    result: dict[str, Any] = {"fit": info, "dim": int(heads.weights.shape[2])}
    base: dict[str, np.ndarray] = {}
    for mode in ("mean-of-units", "head-of-mean", "best"):
        row = {}
        for split in SPLITS:
            s = scorer.scores(heads, split, mode)
            row[split] = round(scorer.ndcg(split, s)["ndcg@10"], 4)
            if mode == "mean-of-units":
                base[split] = s
        result[mode] = row
        print(f"  {name} {mode}: {row}", flush=True)
    result["query-tf"] = {
        s: round(scorer.ndcg(s, scorer.scores(heads, s, query_tf=True))["ndcg@10"], 4)
        for s in SPLITS
    }
    for floor in FLOORS:
        result[f"floor {floor}"] = {
            split: round(
                scorer.ndcg(split, (1 - floor) * base[split] + floor * scorer.bm25(split))[
                    "ndcg@10"
                ],
                4,
            )
            for split in SPLITS
        }
        result[f"hybrid floor {floor}"] = scorer.hybrid(base, floor)
    result["wic"] = wic_accuracy(prep, heads)
    print(f"  {name}: {json.dumps(result)}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="training work folder (wiki)")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--wic", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument(
        "--transforms-cache", type=Path, default=None, help="exp_transforms' --cache folder"
    )
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), required=True)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    args.transforms_cache = args.transforms_cache or args.work.parent / "exp"
    model = MiniCOIL.from_pretrained(args.model)
    prep = prepare(args, model)
    scorer = Scorer(prep, args)
    for name in args.variant:
        result = run_variant(args, model, prep, scorer, name)
        if args.json:  # re-read: several runs may add variants to one file
            results = json.loads(args.json.read_text()) if args.json.exists() else {}
            results[name] = result
            args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
