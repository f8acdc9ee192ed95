"""The corpora of ``bench_search.py``: SciFact encoded once, and synthetic corpora shaped like it.

Encoding SciFact with the shipped model takes minutes on a laptop, so its vectors are cached in
a work folder (outside the repository) and every engine reads the same arrays. A synthetic
corpus of N documents copies its shape from SciFact document by document: each synthetic
document takes a random SciFact document as template and keeps its number of words, its number
of words with a meaning head, its miniCOIL values (so the signs and magnitudes) and its BM25
values, but draws new words: most from SciFact's own words in proportion to their document
frequency (so posting lists have SciFact's shape), the rest uniformly from the whole id range
(new words, as a larger corpus brings), and its dense vector is the template's plus noise.
Queries are built the same way from SciFact's test queries, with words drawn from one
synthetic document so that they match. The texts for bm25s are those words
written out, each repeated by the term frequency its BM25 value implies.

Everything is stored as flat arrays (CSR-style ``indptr``/``indices``/``values`` per sparse
kind) as ``.npy`` files per corpus plus ``texts.txt``/``queries.txt``, one line each.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minicoil.io import atomic_file
from minicoil.sparse import SparseVector, oov_shift

SPARSE_KINDS = ("sparse", "bm25")  # miniCOIL and plain BM25, the names of EncodedQuery's fields
# Share of words drawn uniformly instead of from SciFact's document frequencies: a larger
# corpus has a larger vocabulary (rough Heaps' law growth at 10-100x SciFact's size).
NEW_HEADS, NEW_OTHERS = 0.1, 0.3
OTHER_SPACE = 1 << 24  # ids of words without a head


@dataclass
class Corpus:
    """A corpus' documents and queries, already encoded: what every engine indexes."""

    name: str
    avg_len: float
    doc_ids: list[str]
    arrays: dict[str, np.ndarray]
    texts: list[str]
    queries: list[str]

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def n_queries(self) -> int:
        return len(self.queries)

    def doc(self, kind: str, row: int) -> SparseVector:
        return _row(self.arrays, f"doc_{kind}", row)

    def query(self, kind: str, row: int) -> SparseVector:
        return _row(self.arrays, f"query_{kind}", row)


def _row(arrays: dict[str, np.ndarray], prefix: str, row: int) -> SparseVector:
    lo, hi = arrays[f"{prefix}_indptr"][row : row + 2]
    return SparseVector(arrays[f"{prefix}_indices"][lo:hi], arrays[f"{prefix}_values"][lo:hi])


def _stack(prefix: str, vectors: list[SparseVector]) -> dict[str, np.ndarray]:
    indptr = np.zeros(len(vectors) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in vectors], out=indptr[1:])
    return {
        f"{prefix}_indptr": indptr,
        f"{prefix}_indices": np.concatenate([v.indices for v in vectors]).astype(np.int32),
        f"{prefix}_values": np.concatenate([v.values for v in vectors]).astype(np.float32),
    }


def save(corpus: Corpus, folder: Path) -> None:
    (folder / "arrays").mkdir(parents=True, exist_ok=True)
    for key, array in corpus.arrays.items():
        with atomic_file(folder / "arrays" / f"{key}.npy", "wb") as handle:
            np.save(handle, array)
    for name, lines in (("texts.txt", corpus.texts), ("queries.txt", corpus.queries)):
        with atomic_file(folder / name) as handle:
            handle.writelines(line.replace("\n", " ") + "\n" for line in lines)
    with atomic_file(folder / "corpus.json") as handle:
        info = {"name": corpus.name, "avg_len": corpus.avg_len, "doc_ids": corpus.doc_ids}
        json.dump(info, handle)


def load(folder: Path) -> Corpus | None:
    """The corpus cached in ``folder``, or None if it is not there (complete) yet."""
    if not (folder / "corpus.json").is_file():
        return None
    info = json.loads((folder / "corpus.json").read_text("utf-8"))
    if (folder / "vectors.npz").is_file():
        with np.load(folder / "vectors.npz") as data:
            arrays = {key: data[key] for key in data.files}
    else:  # mapped: pages count as memory only once an engine touches them
        files = sorted((folder / "arrays").glob("*.npy"))
        arrays = {file.stem: np.load(file, mmap_mode="r") for file in files}

    def lines(name: str) -> list[str]:
        return (folder / name).read_text("utf-8").splitlines()

    return Corpus(
        info["name"],
        info["avg_len"],
        info["doc_ids"],
        arrays,
        lines("texts.txt"),
        lines("queries.txt"),
    )


def encode_scifact(data_dir: Path, batch_size: int = 32) -> Corpus:
    """SciFact's corpus and test queries through the shipped model (torch, the reference)."""
    from tqdm.auto import tqdm

    from minicoil import MiniCOIL
    from minicoil.eval.beir import load_beir

    dataset = load_beir(data_dir, "test")
    texts = [doc.indexable_text for doc in dataset.corpus.values()]
    queries = list(dataset.queries.values())
    model = MiniCOIL.from_pretrained()
    avg_len = model.fit(texts).avg_len
    bm25 = model.as_bm25()
    sparse, dense = [], []
    encoded = model.encode_document(texts, batch_size=batch_size, dense=True, avg_len=avg_len)
    for vector, embedding in tqdm(encoded, total=len(texts), desc="encoding SciFact", unit="doc"):
        sparse.append(vector)
        dense.append(np.asarray(embedding, dtype=np.float32))
    plain = list(bm25.encode_document(texts, batch_size=batch_size, avg_len=avg_len))
    q_sparse, q_dense = zip(*model.encode_query(queries, dense=True), strict=True)
    arrays = {
        **_stack("doc_sparse", sparse),
        **_stack("doc_bm25", plain),
        **_stack("query_sparse", list(q_sparse)),
        **_stack("query_bm25", list(bm25.encode_query(queries))),
        "doc_dense": np.stack(dense),
        "query_dense": np.stack([np.asarray(q, dtype=np.float32) for q in q_dense]),
        "shift": np.array([oov_shift(model.config.vocab_size, model.config.dim)]),
        "vocab_size": np.array([model.config.vocab_size]),
        "k": np.array([model.config.k]),
    }
    return Corpus("scifact", float(avg_len), list(dataset.corpus), arrays, texts, queries)


class _Synthesizer:
    """Draws synthetic documents and queries from SciFact templates (see the module doc)."""

    def __init__(self, template: Corpus, seed: int):
        self.t = template
        self.rng = np.random.default_rng(seed)
        self.shift = int(template.arrays["shift"][0])
        self.dim = 4
        self.k = float(template.arrays["k"][0])
        self.n_heads = int(template.arrays["vocab_size"][0])  # words with a meaning head
        self.dense_noise = 0.5 * float(np.std(template.arrays["doc_dense"]))
        indices = template.arrays["doc_sparse_indices"].astype(np.int64)
        heads = indices[(indices < self.shift) & (indices % self.dim == 0)] // self.dim
        self.head_pool = _frequencies(heads)
        self.other_pool = _frequencies((indices[indices >= self.shift] - self.shift) % OTHER_SPACE)

    def words(self, n: int, pool: tuple[np.ndarray, np.ndarray], new: float, space: int):
        """``n`` distinct word ids: SciFact's words by document frequency, or uniform new ones."""
        ids, cdf = pool
        out: set[int] = set()
        while len(out) < n:
            m = 2 * (n - len(out))
            known = ids[np.minimum(np.searchsorted(cdf, self.rng.random(m)), len(ids) - 1)]
            fresh = self.rng.integers(1, space, size=m)
            out.update(np.where(self.rng.random(m) < new, fresh, known).tolist())
        return np.asarray(list(out)[:n], dtype=np.int64)

    def split(self, vector: SparseVector) -> tuple[np.ndarray, np.ndarray]:
        """A template vector as (head blocks of ``dim`` values, values of words without one)."""
        head = vector.indices < self.shift
        blocks = vector.values[head].reshape(-1, self.dim)
        return blocks, vector.values[~head]

    def build(self, blocks: np.ndarray, plain: np.ndarray, words: np.ndarray) -> SparseVector:
        """Head words (the first ``len(blocks)`` of ``words``) get their blocks, others a value."""
        heads, others = words[: len(blocks)], words[len(blocks) :]
        idx = np.concatenate(
            [(heads[:, None] * self.dim + np.arange(self.dim)).ravel(), self.shift + others]
        )
        order = np.argsort(idx)
        return SparseVector(
            idx[order].astype(np.int32),
            np.concatenate([blocks.ravel(), plain]).astype(np.float32)[order],
        )

    def document(self, template_row: int) -> tuple[SparseVector, SparseVector, str, np.ndarray]:
        blocks, plain = self.split(self.t.doc("sparse", template_row))
        n_heads, n_plain = len(blocks), len(plain)
        heads = self.words(n_heads, self.head_pool, NEW_HEADS, self.n_heads + 1)
        others = self.words(n_plain, self.other_pool, NEW_OTHERS, OTHER_SPACE)
        words = np.concatenate([heads, others])
        sparse = self.build(blocks, plain, words)
        bm25_values = self.rng.permutation(self.t.doc("bm25", template_row).values)
        bm25_values = np.resize(bm25_values, len(words))
        keys = np.concatenate([heads, (1 << 30) + others])  # one index per word
        order = np.argsort(keys)
        bm25 = SparseVector(keys[order].astype(np.int32), bm25_values[order].astype(np.float32))
        # tf from BM25's saturation at average length: v = tf (k + 1) / (tf + k)
        tf = self.k * bm25_values / np.maximum(self.k + 1 - bm25_values, 0.1)
        repeats = np.maximum(1, np.rint(tf)).astype(int).tolist()
        text = " ".join(f"w{key}" for key, n in zip(keys, repeats, strict=True) for _ in range(n))
        return sparse, bm25, text, words

    def query(self, doc_words: np.ndarray, doc_heads: int, template_row: int):
        """A query of the template's shape whose words come from one synthetic document."""
        blocks, plain = self.split(self.t.query("sparse", template_row))
        n_heads = min(len(blocks), doc_heads)
        n_plain = min(len(plain), len(doc_words) - doc_heads)
        heads = self.rng.choice(doc_words[:doc_heads], n_heads, replace=False)
        others = self.rng.choice(doc_words[doc_heads:], n_plain, replace=False)
        sparse = self.build(blocks[:n_heads], plain[:n_plain], np.concatenate([heads, others]))
        keys = np.sort(np.concatenate([heads, (1 << 30) + others]))
        bm25 = SparseVector(keys.astype(np.int32), np.ones(len(keys), dtype=np.float32))
        return sparse, bm25, " ".join(f"w{key}" for key in keys)


def synthesize(template: Corpus, n_docs: int, n_queries: int, seed: int = 0) -> Corpus:
    """``n_docs`` documents and ``n_queries`` queries shaped like ``template`` (SciFact)."""
    from tqdm.auto import tqdm

    synth = _Synthesizer(template, seed)
    rows = synth.rng.integers(0, template.n_docs, size=n_docs)
    sparse, bm25, texts, words = [], [], [], []
    for row in tqdm(rows.tolist(), desc=f"synthesizing {n_docs} documents", unit="doc"):
        s, b, text, w = synth.document(row)
        sparse.append(s)
        bm25.append(b)
        texts.append(text)
        words.append((w, int((s.indices < synth.shift).sum()) // synth.dim))
    dense = template.arrays["doc_dense"][rows] + synth.rng.normal(
        0, synth.dense_noise, size=(n_docs, template.arrays["doc_dense"].shape[1])
    ).astype(np.float32)
    q_sparse, q_bm25, q_texts, q_rows = [], [], [], []
    for _ in range(n_queries):
        doc = int(synth.rng.integers(0, n_docs))
        t_row = int(synth.rng.integers(0, template.n_queries))
        s, b, text = synth.query(words[doc][0], words[doc][1], t_row)
        q_sparse.append(s)
        q_bm25.append(b)
        q_texts.append(text)
        q_rows.append(doc)
    noise = synth.rng.normal(0, synth.dense_noise, size=(n_queries, dense.shape[1]))
    q_dense = dense[q_rows] + noise
    arrays = {
        **_stack("doc_sparse", sparse),
        **_stack("doc_bm25", bm25),
        **_stack("query_sparse", q_sparse),
        **_stack("query_bm25", q_bm25),
        "doc_dense": dense.astype(np.float32),
        "query_dense": q_dense.astype(np.float32),
        **{key: template.arrays[key] for key in ("shift", "vocab_size", "k")},
    }
    ids = [f"s{i}" for i in range(n_docs)]
    return Corpus(f"synthetic-{n_docs}", template.avg_len, ids, arrays, texts, q_texts)


def _frequencies(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids and their cumulative probabilities by occurrence count (for sampling)."""
    unique, counts = np.unique(ids, return_counts=True)
    return unique, np.cumsum(counts) / counts.sum()


def shape(corpus: Corpus) -> dict[str, float]:
    """What the synthetic corpora copy, measured: to check them against SciFact."""
    a = corpus.arrays
    return {
        "docs": corpus.n_docs,
        "words_per_doc": float(np.diff(a["doc_bm25_indptr"]).mean()),
        "minicoil_nnz_per_doc": float(np.diff(a["doc_sparse_indptr"]).mean()),
        "negative_share": float((a["doc_sparse_values"] < 0).mean()),
        "query_words": float(np.diff(a["query_bm25_indptr"]).mean()),
        "query_nnz": float(np.diff(a["query_sparse_indptr"]).mean()),
    }


def work_folder(work: Path, name: str) -> Path:
    return Path(os.fspath(work)) / name
