"""Why does a document score what it scores? One row per matched word.

miniCOIL's score is a sum over words shared by query and document of
``IDF x BM25-tf x cos(meaning in query, meaning in document)`` (cos is 1.0 for words without a
head). This module splits a real score into those terms, read off the very sparse vectors that
get indexed, so the rows always add up to the dot product Qdrant would compute (query times
IDF, dot document) rather than to a re-derivation that could drift from it.

A single document has no corpus, hence no IDF: pass a corpus (one document per line, or a BEIR
``corpus.jsonl``) to count document frequencies by stem, or every IDF is reported as 1.0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from minicoil.search.exact import qdrant_idf
from minicoil.sparse import bm25_tf, oov_index, oov_shift

if TYPE_CHECKING:
    from minicoil.model import MiniCOIL

__all__ = [
    "Explanation",
    "WordContribution",
    "document_frequencies",
    "explain",
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


def explain(
    model: MiniCOIL,
    query: str,
    document: str,
    *,
    avg_len: float | None = None,
    corpus: Iterable[str] | None = None,
) -> Explanation:
    """Split the score of ``document`` for ``query`` into per-word contributions.

    ``avg_len`` defaults to the corpus' mean length when a corpus is given, else the
    document's own length (BM25's length normalisation is then neutral). The total equals
    ``sum_i q_i * idf_i * d_i`` over the two sparse vectors.
    """
    df: Counter[str] | None = None
    n_docs = 0
    if corpus is not None:
        df, n_docs, total_len = document_frequencies(model, corpus)
        if n_docs == 0:
            raise ValueError("the IDF corpus has no documents")
        idf_source = f"corpus of {n_docs} documents, idf = ln((N - df + 0.5)/(df + 0.5) + 1)"
        if avg_len is None and total_len > 0:
            avg_len = total_len / n_docs
    else:
        idf_source = "none: no corpus given, every IDF reported as 1.0"
    q_words = model.processor.words(query)
    d_words = model.processor.words(document)
    if avg_len is None:
        avg_len = float(len(d_words)) or 1.0
    if not avg_len > 0:
        raise ValueError(f"avg_len must be positive, got {avg_len}")
    q_vec = next(model.encode_query(query)).as_dict()
    d_vec = next(model.encode_document(document, avg_len=avg_len)).as_dict()

    dim = model.config.dim
    shift = oov_shift(model.config.vocab_size, dim)
    k, b = model.config.k, model.config.b
    d_counts = Counter(w.stem for w in d_words)
    q_forms: dict[str, list[str]] = {}
    for w in q_words:
        forms = q_forms.setdefault(w.stem, [])
        if w.lower not in forms:
            forms.append(w.lower)
    d_forms: dict[str, list[str]] = {}
    for w in d_words:
        forms = d_forms.setdefault(w.stem, [])
        if w.lower not in forms:
            forms.append(w.lower)

    rows: list[WordContribution] = []
    for stem, query_forms in q_forms.items():
        if stem not in d_counts:
            continue
        count = d_counts[stem]
        tf = float(bm25_tf(count, len(d_words), avg_len, k, b))
        idf = float(qdrant_idf(np.asarray([df[stem]]), n_docs)[0]) if df is not None else 1.0
        wid = model.vocab.id(stem)
        head_idx = [dim * wid + j for j in range(dim)] if wid else []
        q_head = bool(head_idx) and head_idx[0] in q_vec
        d_head = bool(head_idx) and head_idx[0] in d_vec
        note = ""
        if q_head and d_head:
            u_q = np.asarray([q_vec[i] for i in head_idx], dtype=np.float64)
            v_d = np.asarray([d_vec[i] for i in head_idx], dtype=np.float64)
            dot = float(u_q @ v_d)
            cosine = dot / tf
            contribution = idf * dot
            vocab_id: int | None = wid
        elif q_head or d_head:  # one side fell back to the hashed index: the two never meet
            cosine, contribution, vocab_id = 0.0, 0.0, wid
            side = "document" if q_head else "query"
            note = f"no meaning in the {side} (no token reached the word): no match"
        else:
            index = oov_index(stem, shift)
            cosine = 1.0
            contribution = idf * q_vec.get(index, 0.0) * d_vec.get(index, 0.0)
            vocab_id = None
            if wid:
                note = "vocabulary word without a usable meaning: scored as plain BM25"
        rows.append(
            WordContribution(
                stem=stem,
                query_forms=query_forms,
                doc_forms=d_forms[stem],
                vocab_id=vocab_id,
                count=count,
                tf=tf,
                idf=idf,
                cosine=cosine,
                contribution=contribution,
                note=note,
            )
        )
    return Explanation(
        words=rows,
        total=float(sum(r.contribution for r in rows)),
        avg_len=float(avg_len),
        doc_len=len(d_words),
        idf_source=idf_source,
        unmatched_query_stems=[s for s in q_forms if s not in d_counts],
    )


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
