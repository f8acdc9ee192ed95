"""Issue 6 lever "query side: stopwords", measured where it acts: the BM25 part of the score.

Stopwords own no meaning head (the vocabulary is built without them), so keeping one in a
query adds a plain BM25 term to miniCOIL's score exactly as to BM25's; and the stopword list
also sets |d|, the document length BM25 normalises by. So the lever is measured on BM25 with
the shipped model's processor (Snowball stems, k and b, Qdrant's IDF, each query stem once),
needing no forward pass:

    nltk          NLTK's 179 English stopwords on both sides (the library's default)
    none          no stopwords at all
    nltk-query    stopwords dropped from queries only (documents keep them: only |d| changes)
    sklearn       scikit-learn's 318-word English list on both sides (a longer list)

Train chooses, test is reported once.

    python benchmarks/exp_stopwords.py --model src/minicoil/models/minicoil-en \\
        --data ../shared/data/beir/scifact --json benchmarks/results-stopwords.json
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from exp_transforms import evaluate_split, top
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from minicoil import MiniCOIL
from minicoil.eval.beir import indexable_text, load_beir
from minicoil.search.exact import qdrant_idf
from minicoil.sparse import bm25_tf
from minicoil.text import TextProcessor, default_stopwords

SPLITS = ("train", "test")


def bm25_matrix(
    docs: list[list[str]], k: float, b: float
) -> tuple[sp.csc_matrix, dict[str, int], np.ndarray]:
    """(documents x stems) BM25 tf weights, the stem columns, and each stem's Qdrant IDF."""
    columns: dict[str, int] = {}
    rows, cols, counts = [], [], []
    for r, stems in enumerate(docs):
        for stem, c in Counter(stems).items():
            rows.append(r)
            cols.append(columns.setdefault(stem, len(columns)))
            counts.append(c)
    lengths = np.array([len(s) for s in docs], dtype=np.float64)
    rows_a = np.asarray(rows)
    tf = bm25_tf(np.asarray(counts, np.float64), lengths[rows_a], float(lengths.mean()), k, b)
    matrix = sp.csc_matrix((tf, (rows_a, np.asarray(cols))), shape=(len(docs), len(columns)))
    df = np.diff(matrix.indptr)
    return matrix, columns, qdrant_idf(df, len(docs))


def run(
    doc_proc: TextProcessor,
    query_proc: TextProcessor,
    corpus: list[str],
    doc_ids: list[str],
    queries: dict[str, str],
    k: float,
    b: float,
) -> dict[str, dict[str, float]]:
    matrix, columns, idf = bm25_matrix([doc_proc.stems(t) for t in corpus], k, b)
    runs: dict[str, dict[str, float]] = {}
    for qid, text in queries.items():
        cols = sorted({columns[s] for s in query_proc.stems(text) if s in columns})
        scores = np.zeros(len(doc_ids))
        if cols:
            scores = np.asarray(matrix[:, cols] @ idf[cols]).ravel()
        runs[qid] = {doc_ids[i]: float(scores[i]) for i in top(scores)}
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    model = MiniCOIL.from_pretrained(args.model)
    k, b, language = model.config.k, model.config.b, model.config.language
    lists = {
        "nltk": frozenset(default_stopwords()),
        "none": frozenset(),
        "sklearn": frozenset(ENGLISH_STOP_WORDS),
    }
    procs = {name: TextProcessor(words, language=language) for name, words in lists.items()}
    variants = {  # name -> (document processor, query processor)
        "nltk": (procs["nltk"], procs["nltk"]),
        "none": (procs["none"], procs["none"]),
        "nltk-query": (procs["none"], procs["nltk"]),
        "sklearn": (procs["sklearn"], procs["sklearn"]),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    for split in SPLITS:
        data = load_beir(args.data, split)
        doc_ids = list(data.corpus)
        corpus = [indexable_text(d) for d in data.corpus.values()]
        queries = {q: data.queries[q] for q in data.qrels}
        for name, (doc_proc, query_proc) in variants.items():
            runs = run(doc_proc, query_proc, corpus, doc_ids, queries, k, b)
            metrics = {m: round(v, 4) for m, v in evaluate_split(runs, data.qrels).items()}
            results.setdefault(name, {})[split] = metrics
            print(f"{name} {split}: {metrics}", flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
