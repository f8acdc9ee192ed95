"""Why does a document score what it scores? One row per matched word.

miniCOIL's score is a sum over words shared by query and document of
``IDF x BM25-tf x cos(meaning in query, meaning in document)`` (cos is 1.0 for words without a
head). This module splits a real score into those terms, read off the very sparse vectors that
get indexed, so the rows always add up to the dot product Qdrant would compute (query times
IDF, dot document) rather than to a re-derivation that could drift from it.

A single document has no corpus, hence no IDF. Two sources give one:

- an indexed collection (``index=``, a :class:`~minicoil.search.SearchIndex`): the exact
  document frequency of every sparse index the query uses, the collection's size and its
  recorded ``avg_len``, so the total is the score ``minicoil search --mode sparse`` gives;
- a corpus (texts): document frequencies counted by stem, its mean length as ``avg_len``.

Without either every IDF is reported as 1.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from minicoil.search.exact import qdrant_idf
from minicoil.sparse import bm25_tf, oov_index, oov_shift
from minicoil.stats import CorpusStats

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL
    from minicoil.search import SearchIndex
    from minicoil.text import Word

__all__ = [
    "Explanation",
    "WordContribution",
    "document_frequencies",
    "explain",
    "explain_many",
    "format_explanation",
]


@dataclass(frozen=True)
class WordContribution:
    """One stem found in both texts and what it adds to the score."""

    stem: str
    query_forms: list[str]
    doc_forms: list[str]
    vocab_id: int | None  # None: out of vocabulary (or no usable meaning), scored as plain BM25
    count: int  # occurrences in the document
    tf: float  # BM25 tf weight in the document
    idf: float
    cosine: float  # of the two meanings; 1.0 for words without a head
    contribution: float  # idf * tf * cosine, read off the vectors
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "query_forms": self.query_forms,
            "doc_forms": self.doc_forms,
            "vocab_id": self.vocab_id if self.vocab_id is not None else "oov",
            "count": self.count,
            "tf": self.tf,
            "idf": self.idf,
            "cosine": self.cosine,
            "contribution": self.contribution,
            "note": self.note,
        }


@dataclass(frozen=True)
class Explanation:
    """All matched words, the total score and how IDF and avg_len were obtained."""

    words: list[WordContribution]
    total: float
    avg_len: float
    doc_len: int
    idf_source: str
    unmatched_query_stems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "words": [w.to_dict() for w in self.words],
            "total": self.total,
            "avg_len": self.avg_len,
            "doc_len": self.doc_len,
            "idf_source": self.idf_source,
            "unmatched_query_stems": self.unmatched_query_stems,
        }


def document_frequencies(model: MiniCOIL, corpus: Iterable[str]) -> tuple[Counter[str], int, int]:
    """``(df per stem, number of documents, total kept words)`` of ``corpus``.

    Counting by stem needs no backbone. It equals Qdrant's per-index document frequency
    except where a vocabulary word got no usable meaning in some document (it is then indexed
    under its hashed index), which the model only does for words no token reached.
    """
    df: Counter[str] = Counter()
    n_docs = total = 0
    for text in corpus:
        stems = model.processor.stems(text)
        df.update(set(stems))
        n_docs += 1
        total += len(stems)
    return df, n_docs, total


@dataclass(frozen=True)
class _Idf:
    """Where IDF comes from: per-stem counts (a corpus), per-index counts (a collection), or
    nothing (1.0 everywhere)."""

    source: str
    n_docs: int = 0
    by_stem: Counter[str] | None = None
    by_index: dict[int, int] | None = None

    def of(self, stem: str, indices: list[int]) -> np.ndarray:
        """IDF of each of ``indices`` (the sparse indices ``stem`` is scored under)."""
        if self.by_index is not None:
            df = np.asarray([self.by_index.get(i, 0) for i in indices])
        elif self.by_stem is not None:
            df = np.full(len(indices), self.by_stem[stem])
        else:
            return np.ones(len(indices))
        return qdrant_idf(df, self.n_docs).astype(np.float64)


_IDF_FORMULA = "idf = ln((N - df + 0.5)/(df + 0.5) + 1)"


def _corpus_idf(model: MiniCOIL, corpus: Iterable[str]) -> tuple[_Idf, float | None]:
    """IDF counted by stem over ``corpus``, and the corpus' mean length (None if empty)."""
    df, n_docs, total_len = document_frequencies(model, corpus)
    if n_docs == 0:
        raise ValueError("the IDF corpus has no documents")
    source = f"corpus of {n_docs} documents, {_IDF_FORMULA}"
    return _Idf(source, n_docs, by_stem=df), (total_len / n_docs if total_len > 0 else None)


def _collection_idf(collection: SearchIndex, indices: Iterable[int]) -> _Idf:
    """Exact per-index document frequencies of ``indices`` in the collection's miniCOIL
    vectors: the very numbers its IDF modifier uses at search time."""
    n_docs = collection.n_docs  # also checks the collection was built with this model
    by_index = collection.document_frequencies(indices, using="minicoil")
    source = f"collection {collection.collection!r} of {n_docs} documents, {_IDF_FORMULA}"
    return _Idf(source, n_docs, by_index=by_index)


def _forms(words: list[Word]) -> dict[str, list[str]]:
    """Surface forms (lowercased, first-seen order) of every stem, stems in text order."""
    forms: dict[str, list[str]] = {}
    for w in words:
        seen = forms.setdefault(w.stem, [])
        if w.lower not in seen:
            seen.append(w.lower)
    return forms


def _score_stem(
    model: MiniCOIL,
    stem: str,
    tf: float,
    vectors: tuple[dict[int, float], dict[int, float]],
    idf: _Idf,
) -> tuple[int | None, float, float, float, str]:
    """``(vocab id or None, idf, cosine, contribution, note)`` of one shared stem, read off
    the query and document vectors: its head's indices, or its hashed index."""
    q_vec, d_vec = vectors
    dim = model.config.dim
    wid = model.vocab.id(stem)
    head = [dim * wid + j for j in range(dim)] if wid else []
    q_head, d_head = bool(head) and head[0] in q_vec, bool(head) and head[0] in d_vec
    if q_head and d_head:
        u = np.asarray([q_vec[i] for i in head], dtype=np.float64)
        v = np.asarray([d_vec[i] for i in head], dtype=np.float64)
        weights = idf.of(stem, head)
        return wid, float(weights.mean()), float(u @ v) / tf, float(u @ (weights * v)), ""
    if q_head or d_head:  # one side fell back to the hashed index: the two never meet
        side = "document" if q_head else "query"
        note = f"no meaning in the {side} (no token reached the word): no match"
        return wid, float(idf.of(stem, head[:1])[0]), 0.0, 0.0, note
    index = oov_index(stem, oov_shift(model.config.vocab_size, dim))
    weight = float(idf.of(stem, [index])[0])
    dot = q_vec.get(index, 0.0) * d_vec.get(index, 0.0)
    note = "vocabulary word without a usable meaning: scored as plain BM25" if wid else ""
    return None, weight, 1.0, weight * dot, note


def _rows(
    model: MiniCOIL,
    q_forms: dict[str, list[str]],
    d_words: list[Word],
    vectors: tuple[dict[int, float], dict[int, float]],
    idf: _Idf,
    avg_len: float,
) -> list[WordContribution]:
    """One row per query stem found in the document, in query order."""
    d_counts = Counter(w.stem for w in d_words)
    d_forms = _forms(d_words)
    rows = []
    for stem in (s for s in q_forms if s in d_counts):
        count = d_counts[stem]
        tf = float(bm25_tf(count, len(d_words), avg_len, model.config.k, model.config.b))
        vocab_id, weight, cosine, contribution, note = _score_stem(model, stem, tf, vectors, idf)
        rows.append(
            WordContribution(
                stem=stem,
                query_forms=q_forms[stem],
                doc_forms=d_forms[stem],
                vocab_id=vocab_id,
                count=count,
                tf=tf,
                idf=weight,
                cosine=cosine,
                contribution=contribution,
                note=note,
            )
        )
    return rows


def explain(
    model: MiniCOIL,
    query: str,
    document: str,
    *,
    avg_len: float | None = None,
    corpus: Iterable[str] | None = None,
    index: SearchIndex | None = None,
) -> Explanation:
    """Split the score of ``document`` for ``query`` into per-word contributions.

    IDF comes from ``index`` (an open :class:`~minicoil.search.SearchIndex` built with
    ``model``) or from ``corpus`` (texts), not both. ``avg_len`` defaults to the collection's
    recorded value, else the corpus' mean length, else the document's own length (BM25's
    length normalisation is then neutral). The total equals ``sum_i q_i * idf_i * d_i`` over
    the two sparse vectors.
    """
    return explain_many(model, query, [document], avg_len=avg_len, corpus=corpus, index=index)[0]


def explain_many(
    model: MiniCOIL,
    query: str,
    documents: Sequence[str],
    *,
    avg_len: float | None = None,
    corpus: Iterable[str] | None = None,
    index: SearchIndex | None = None,
) -> list[Explanation]:
    """:func:`explain` for several documents of one query: the query is encoded and its IDF
    looked up once, and the documents go through the backbone in one batched call (what a
    results page needs: one explanation per hit shown, at the cost of one pass)."""
    if index is not None and corpus is not None:
        raise ValueError("give IDF either from a collection or from a corpus, not both")
    q_vec = next(model.encode_query(query)).as_dict()
    idf = _Idf("none: no corpus or collection given, every IDF reported as 1.0")
    if index is not None:
        idf = _collection_idf(index, q_vec)
        avg_len = index.avg_len if avg_len is None else avg_len
    elif corpus is not None:
        idf, corpus_len = _corpus_idf(model, corpus)
        avg_len = corpus_len if avg_len is None else avg_len
    doc_words = [model.processor.words(document) for document in documents]
    # Without a corpus length each document is its own average (neutral length normalisation).
    lengths = [
        CorpusStats.coerce(avg_len if avg_len is not None else float(len(w)) or 1.0).avg_len
        for w in doc_words
    ]
    if avg_len is not None:
        d_vecs = [v.as_dict() for v in model.encode_document(documents, avg_len=lengths[0])]
    else:
        d_vecs = [
            next(model.encode_document(d, avg_len=n)).as_dict()
            for d, n in zip(documents, lengths, strict=True)
        ]
    q_forms = _forms(model.processor.words(query))
    explanations = []
    for d_words, d_vec, length in zip(doc_words, d_vecs, lengths, strict=True):
        rows = _rows(model, q_forms, d_words, (q_vec, d_vec), idf, length)
        d_stems = {w.stem for w in d_words}
        explanations.append(
            Explanation(
                words=rows,
                total=float(sum(r.contribution for r in rows)),
                avg_len=float(length),
                doc_len=len(d_words),
                idf_source=idf.source,
                unmatched_query_stems=[s for s in q_forms if s not in d_stems],
            )
        )
    return explanations


def format_explanation(explanation: Explanation) -> str:
    """A fixed-width table, one matched word per row, then the total."""
    header = ["stem", "forms (q / d)", "id", "tf", "idf", "cos", "contribution"]
    rows = [header]
    for w in explanation.words:
        rows.append(
            [
                w.stem,
                f"{','.join(w.query_forms)} / {','.join(w.doc_forms)}",
                str(w.vocab_id) if w.vocab_id is not None else "oov",
                f"{w.tf:.4f}",
                f"{w.idf:.4f}",
                f"{w.cosine:+.4f}",
                f"{w.contribution:+.4f}",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(wd) if i < 2 else c.rjust(wd)
            for i, (c, wd) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    lines.append(f"total score: {explanation.total:.6f}")
    lines.append(f"avg_len: {explanation.avg_len:.2f} (document length {explanation.doc_len})")
    lines.append(f"idf: {explanation.idf_source}")
    notes = [f"  {w.stem}: {w.note}" for w in explanation.words if w.note]
    if notes:
        lines.extend(["notes:", *notes])
    if explanation.unmatched_query_stems:
        lines.append(
            "query words not in the document: " + ", ".join(explanation.unmatched_query_stems)
        )
    return "\n".join(lines)
