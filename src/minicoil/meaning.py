"""From backbone tokens to one text's sparse vector: the per-text arithmetic of miniCOIL.

Three steps, each a function so that inference, evaluation and tools share one implementation:
``analyse`` (kept words, spans, stems, vocabulary ids), ``text_meanings`` (every vocabulary word
occurrence of a block through the heads in one batched call, then averaged per word and text)
and ``assemble_sparse`` (BM25 weights and the index layout).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from minicoil.align import mean_by_group, token_word_pairs
from minicoil.backbone import Tokenized
from minicoil.heads import Heads
from minicoil.sparse import SparseVector, bm25_tf, build_sparse, oov_index
from minicoil.text import TextProcessor, Vocabulary

Meaning = tuple[np.ndarray, np.ndarray]
"""(vocabulary ids, unit meaning vector per id) of one text."""


@dataclass(frozen=True)
class Analysis:
    """One text's kept words: spans, stems and vocabulary ids."""

    starts: np.ndarray
    ends: np.ndarray
    stems: list[str]
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.stems)

    @property
    def has_vocab_words(self) -> bool:
        return bool((self.ids > 0).any())


def analyse(text: str, processor: TextProcessor, vocab: Vocabulary) -> Analysis:
    """Kept words of ``text`` with their character spans and vocabulary ids (0 = no head)."""
    words = processor.words(text)
    stems = [w.stem for w in words]
    return Analysis(
        np.fromiter((w.start for w in words), dtype=np.int64, count=len(words)),
        np.fromiter((w.end for w in words), dtype=np.int64, count=len(words)),
        stems,
        np.asarray(vocab.ids(stems), dtype=np.int64),
    )


def text_meanings(
    analyses: list[Analysis],
    run: list[int],
    tokenized: list[Tokenized],
    token_embs: list[torch.Tensor],
    heads: Heads,
) -> dict[int, Meaning]:
    """Per text index in ``run``: its vocabulary ids and unit meanings, averaged over the
    word's occurrences. ``tokenized``/``token_embs`` are aligned with ``run``.

    All occurrences of the block go through the heads in one batched call.
    """
    n_ids = heads.vocab_size + 1
    pair_tok, pair_occ, occ_text, occ_ids = [], [], [], []
    tok_base = occ_base = 0
    for j, i in enumerate(run):
        mask = analyses[i].ids > 0
        n_occ = int(mask.sum())
        if n_occ:
            t, w = token_word_pairs(
                tokenized[j].offsets, analyses[i].starts[mask], analyses[i].ends[mask]
            )
            pair_tok.append(t + tok_base)
            pair_occ.append(w + occ_base)
            occ_text.append(np.full(n_occ, i, dtype=np.int64))
            occ_ids.append(analyses[i].ids[mask])
        tok_base += len(tokenized[j].input_ids)
        occ_base += n_occ
    if occ_base == 0:
        return {}
    all_tokens = torch.cat(token_embs)
    tok_idx = torch.from_numpy(np.concatenate(pair_tok))
    occ_idx = torch.from_numpy(np.concatenate(pair_occ))
    x, counts = mean_by_group(all_tokens[tok_idx], occ_idx, occ_base)
    ids = torch.from_numpy(np.concatenate(occ_ids))
    unit = torch.zeros((occ_base, heads.dim))
    has = counts > 0
    if bool(has.any()):
        unit[has] = heads.apply(x[has], ids[has])
    key = np.concatenate(occ_text) * n_ids + ids.numpy()
    groups, inverse = np.unique(key, return_inverse=True)
    avg, _ = mean_by_group(unit, torch.from_numpy(inverse), len(groups))
    avg = torch.nn.functional.normalize(avg, dim=-1).numpy()
    group_text, group_id = groups // n_ids, groups % n_ids
    out: dict[int, Meaning] = {}
    bounds = np.flatnonzero(np.diff(group_text)) + 1
    for sel in np.split(np.arange(len(groups)), bounds):
        out[int(group_text[sel[0]])] = (group_id[sel], avg[sel])
    return out


def assemble_sparse(
    analysis: Analysis,
    meaning: Meaning | None,
    vocab: Vocabulary,
    *,
    avg_len: float | None,
    k: float,
    b: float,
    dim: int,
    shift: int,
) -> SparseVector:
    """One text's vector: BM25 tf (documents) or 1 (queries) times the unit meaning.

    ``avg_len`` is the corpus' mean length for a document and None for a query, which has no
    tf: Qdrant's IDF modifier weighs query words at search time.

    A vocabulary word that got no usable meaning (no token reached it, or a zero head) is
    indexed like an out-of-vocabulary word rather than lost.
    """
    doc_len = len(analysis)
    vocab_counts = Counter(int(i) for i in analysis.ids if i > 0)
    oov_counts: Counter[int] = Counter()
    for stem, wid in zip(analysis.stems, analysis.ids, strict=True):
        if wid == 0:
            oov_counts[oov_index(stem, shift)] += 1
    keep_ids: list[int] = []
    keep_vecs: list[np.ndarray] = []
    if meaning is not None:
        for wid, vec in zip(meaning[0].tolist(), meaning[1], strict=True):
            if float(np.abs(vec).sum()) > 0.0:
                keep_ids.append(wid)
                keep_vecs.append(vec)
    kept = set(keep_ids)
    for wid, count in vocab_counts.items():
        if wid not in kept:
            oov_counts[oov_index(vocab.stems[wid - 1], shift)] += count

    def weight(count: int) -> float:
        return 1.0 if avg_len is None else float(bm25_tf(count, doc_len, avg_len, k, b))

    oov_idx = sorted(oov_counts)
    return build_sparse(
        keep_ids,
        np.asarray(keep_vecs, dtype=np.float32).reshape(len(keep_ids), dim),
        [weight(vocab_counts[w]) for w in keep_ids],
        oov_idx,
        [weight(oov_counts[i]) for i in oov_idx],
        dim,
    )
