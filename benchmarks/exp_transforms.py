"""How the meaning cosine should enter the score, and the best hybrid: measured on one encoding.

The corpus and the train+test queries are encoded once (sparse + dense from one pass, cached
as .npz in ``--cache``); every scoring variant is then pure arithmetic over per-word postings:

    score(q, d) = sum over shared words w of IDF(w) * tf(w, d) * f(cos(m_q(w), m_d(w)))
                + sum over shared out-of-vocabulary words of IDF * tf

with Qdrant's IDF and BM25 tf exactly as the index computes them (f = cos reproduces the
``minicoil`` row of ``minicoil benchmark``). Variants of f: 1 (BM25), cos, max(cos, 0),
(1+cos)/2, sign*cos^2 and floors a + (1-a)*cos. Hybrids: score/max(score) + w * dense cosine,
w chosen on train; and the rank fusions the index serves (RRF with k=60, DBSF) over the top-100
of each side, as ``SearchIndex.search`` fuses its candidate lists. Following the issue's rule,
train queries choose the setting and test is reported once per variant.

    python benchmarks/exp_transforms.py --model models/minicoil-en \\
        --data ../shared/data/beir/scifact --cache work/exp-scifact --json results.json
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from minicoil import MiniCOIL
from minicoil.eval.beir import indexable_text, load_beir
from minicoil.eval.metrics import evaluate, remove_self_hits
from minicoil.search import fusion as fuse
from minicoil.search.exact import ExactSparse, qdrant_idf
from minicoil.sparse import SparseVector, oov_shift

TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "1 (bm25)": lambda c: np.ones_like(c),
    "cos": lambda c: c,
    "max(cos,0)": lambda c: np.maximum(c, 0.0),
    "(1+cos)/2": lambda c: (1.0 + c) / 2.0,
    "sign*cos^2": lambda c: np.sign(c) * c * c,
    ".25+.75cos": lambda c: 0.25 + 0.75 * c,
    ".5+.5cos": lambda c: 0.5 + 0.5 * c,
    ".75+.25cos": lambda c: 0.75 + 0.25 * c,
}
WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
HYBRID_BASES = ("1 (bm25)", "cos", "(1+cos)/2")


def encode(model: MiniCOIL, texts: list[str], query: bool, cache: Path) -> dict[str, np.ndarray]:
    """Sparse vectors as flat (row, index, value) arrays plus the dense matrix, cached."""
    if cache.exists():
        with np.load(cache) as data:
            return dict(data)
    rows, idx, val, dense = [], [], [], []
    stream = (
        model.encode_query(texts, dense=True)
        if query
        else model.encode_document(texts, dense=True, batch_size=32)
    )
    for r, (sparse, vector) in enumerate(stream):
        rows.append(np.full(len(sparse.indices), r, dtype=np.int64))
        idx.append(sparse.indices.astype(np.int64))
        val.append(sparse.values)
        dense.append(vector)
        if not query and r % 500 == 0:
            print(f"  encoded {r}/{len(texts)}", flush=True)
    out = {
        "rows": np.concatenate(rows),
        "idx": np.concatenate(idx),
        "val": np.concatenate(val).astype(np.float32),
        "dense": np.stack(dense).astype(np.float32),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


class Postings:
    """Per term (vocabulary word or hashed index): document rows, tf and unit meanings."""

    def __init__(self, docs: dict[str, np.ndarray], dim: int, shift: int, n_docs: int):
        rows, idx, val = docs["rows"], docs["idx"], docs["val"]
        vocab = idx < shift
        term = np.where(vocab, idx // dim, idx)  # word id, or the OOV index itself
        slot = np.where(vocab, idx % dim, 0)
        order = np.lexsort((slot, rows, term))
        term, rows, slot, val = term[order], rows[order], slot[order], val[order]
        self.dim, self.shift, self.n_docs = dim, shift, n_docs
        self.terms: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
        bounds = np.flatnonzero(np.diff(term)) + 1
        for sel in np.split(np.arange(len(term)), bounds):
            t = int(term[sel[0]])
            if t * dim < shift:  # a vocabulary word: up to dim values per document
                r, pos = np.unique(rows[sel], return_inverse=True)
                block = np.zeros((len(r), dim), dtype=np.float32)
                block[pos, slot[sel]] = val[sel]
                tf = np.linalg.norm(block, axis=1)
                self.terms[t] = (r, tf, block / np.maximum(tf, 1e-12)[:, None])
            else:
                self.terms[t] = (rows[sel], val[sel], None)
        df = np.array([len(v[0]) for v in self.terms.values()])
        self.idf = dict(zip(self.terms, qdrant_idf(df, n_docs).tolist(), strict=True))

    def score(
        self, q_idx: np.ndarray, q_val: np.ndarray, f: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        scores = np.zeros(self.n_docs)
        vocab = q_idx < self.shift
        for t in np.unique(q_idx[vocab] // self.dim):
            if int(t) not in self.terms:
                continue
            rows, tf, meaning = self.terms[int(t)]
            q = np.zeros(self.dim, dtype=np.float32)
            mine = q_idx[vocab] // self.dim == t
            q[q_idx[vocab][mine] % self.dim] = q_val[vocab][mine]
            cos = meaning @ q if meaning is not None else np.ones_like(tf)
            scores[rows] += self.idf[int(t)] * tf * f(cos)
        for t, v in zip(q_idx[~vocab].tolist(), q_val[~vocab].tolist(), strict=True):
            if t in self.terms:
                rows, tf, _ = self.terms[t]
                scores[rows] += self.idf[t] * tf * v
        return scores


def _vectors(enc: dict[str, np.ndarray], n: int) -> list[SparseVector]:
    bounds = np.searchsorted(enc["rows"], np.arange(n + 1))
    return [
        SparseVector(enc["idx"][a:b].astype(np.int32), enc["val"][a:b].astype(np.float32))
        for a, b in itertools.pairwise(bounds)
    ]


def check_against_exact(post: Postings, docs: dict[str, np.ndarray], queries: dict) -> float:
    """The f = cos variant must be the index's own score: compare with the exact scorer."""
    index = ExactSparse.build(_vectors(docs, post.n_docs))
    worst = 0.0
    for r, query in enumerate(_vectors(queries, 20)):
        want = index.scores(query)
        sel = queries["rows"] == r
        got = post.score(queries["idx"][sel], queries["val"][sel], TRANSFORMS["cos"])
        for pos, score in want.items():
            worst = max(worst, abs(got[pos] - score) / max(1.0, abs(score)))
    if worst > 1e-4:
        raise AssertionError(f"postings disagree with the exact scorer by {worst:.2e}")
    return worst


def top(scores: np.ndarray, k: int = 100) -> np.ndarray:
    part = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def evaluate_split(
    runs: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]
) -> dict[str, float]:
    return evaluate(qrels, remove_self_hits(runs), ("ndcg@10", "recall@100"))


RANK_FUSIONS: dict[str, Callable[[list[dict[str, float]]], dict[str, float]]] = {
    "rrf": lambda runs: fuse.rrf(runs, k=60),
    "dbsf": fuse.dbsf,
}


def rank_fused(
    sparse: list[np.ndarray],
    dense: np.ndarray,
    doc_ids: list[str],
    qids: list[str],
    method: str,
) -> dict[str, dict[str, float]]:
    """Fuse the top-100 of each side per query with a rank fusion, as the index's prefetch does.

    ``dense`` holds the (queries, documents) cosines."""
    runs = {}
    for r, qid in enumerate(qids):
        sides = [{doc_ids[i]: float(s[i]) for i in top(s)} for s in (sparse[r], dense[r])]
        runs[qid] = dict(fuse.ranked(RANK_FUSIONS[method](sides), 100))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="folder for the encodings")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    model = MiniCOIL.from_pretrained(args.model)
    splits = {name: load_beir(args.data, name) for name in ("train", "test")}
    corpus = splits["test"].corpus
    doc_ids = list(corpus)
    texts = [indexable_text(d) for d in corpus.values()]
    model.fit(texts)
    docs = encode(model, texts, False, args.cache / "docs.npz")
    shift = oov_shift(model.config.vocab_size, model.config.dim)
    post = Postings(docs, model.config.dim, shift, len(doc_ids))
    dense_docs = docs["dense"]
    results: dict[str, Any] = {"model": str(args.model), "variants": {}, "hybrid": {}}
    per_split: dict[str, dict[str, Any]] = {}
    for split, data in splits.items():
        qids = list(data.queries)
        enc = encode(model, [data.queries[q] for q in qids], True, args.cache / f"{split}.npz")
        per_split[split] = {"qids": qids, "enc": enc, "dense": enc["dense"] @ dense_docs.T}
    worst = check_against_exact(post, docs, per_split["test"]["enc"])
    print(f"f = cos agrees with minicoil.search.exact to {worst:.1e} (relative)")
    for name, f in TRANSFORMS.items():
        row = {}
        for split, data in splits.items():
            qids, enc = per_split[split]["qids"], per_split[split]["enc"]
            runs, scores_all = {}, []
            for r, qid in enumerate(qids):
                sel = enc["rows"] == r
                s = post.score(enc["idx"][sel], enc["val"][sel], f)
                scores_all.append(s)
                runs[qid] = {doc_ids[i]: float(s[i]) for i in top(s)}
            row[split] = evaluate_split(runs, data.qrels)
            if name in HYBRID_BASES:
                per_split[split].setdefault("scores", {})[name] = scores_all
        results["variants"][name] = row
        print(f"{name:14s} train {row['train']['ndcg@10']:.4f}  test {row['test']['ndcg@10']:.4f}")
    for name in HYBRID_BASES:
        best = None
        for w in WEIGHTS:
            row = {}
            for split, data in splits.items():
                qids = per_split[split]["qids"]
                runs = {}
                for r, qid in enumerate(qids):
                    s = per_split[split]["scores"][name][r]
                    fused = s / max(float(s.max()), 1e-12) + w * per_split[split]["dense"][r]
                    runs[qid] = {doc_ids[i]: float(fused[i]) for i in top(fused)}
                row[split] = evaluate_split(runs, data.qrels)
            if best is None or row["train"]["ndcg@10"] > best[1]["train"]["ndcg@10"]:
                best = (w, row)
        assert best is not None
        results["hybrid"][f"{name} + w*dense"] = {"w": best[0], **best[1]}
        print(
            f"hybrid {name:10s} w={best[0]}: train {best[1]['train']['ndcg@10']:.4f}  "
            f"test {best[1]['test']['ndcg@10']:.4f}"
        )
    for name in HYBRID_BASES:
        for method in RANK_FUSIONS:
            row = {}
            for split, data in splits.items():
                side = per_split[split]
                runs = rank_fused(
                    side["scores"][name], side["dense"], doc_ids, side["qids"], method
                )
                row[split] = evaluate_split(runs, data.qrels)
            results["hybrid"][f"{method}({name}, dense)"] = row
            print(
                f"{method} {name:10s}: train {row['train']['ndcg@10']:.4f}  "
                f"test {row['test']['ndcg@10']:.4f}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
