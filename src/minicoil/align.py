"""Attach tokens to words through character offsets, for any tokenizer.

Words are character spans (from :mod:`minicoil.text`); tokens carry the offsets their fast
tokenizer reports. A token belongs to every word its span overlaps, so WordPiece (``##``
continuations), byte-level BPE (leading-space tokens) and SentencePiece (``▁`` tokens) are all
handled the same way, without any tokenizer-specific rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def token_word_pairs(
    offsets: np.ndarray, word_starts: np.ndarray, word_ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(token index, word index) for every overlapping token/word pair.

    ``offsets`` is (n, 2) [start, end) per token; words are sorted, non-overlapping spans.
    Zero-width tokens (special tokens, some normaliser artefacts) attach to nothing.
    """
    if len(word_starts) == 0 or len(offsets) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    tok_start, tok_end = offsets[:, 0], offsets[:, 1]
    first = np.searchsorted(word_ends, tok_start, side="right")  # first word ending after start
    last = np.searchsorted(word_starts, tok_end, side="left") - 1  # last word starting before end
    span = np.where(tok_end > tok_start, last - first + 1, 0).clip(min=0)
    tokens = np.repeat(np.arange(len(offsets)), span)
    within = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
    words = np.repeat(first, span) + within
    return tokens, words


def mean_by_group(
    values: torch.Tensor, groups: torch.Tensor, n_groups: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``values`` rows per group id, and the number of rows per group."""
    sums = torch.zeros((n_groups, values.shape[1]), dtype=values.dtype)
    sums.index_add_(0, groups, values)
    counts = torch.bincount(groups, minlength=n_groups)
    return sums / counts.clamp(min=1).unsqueeze(1).to(values.dtype), counts


def span_means(
    offsets: Sequence[np.ndarray],
    token_embs: Sequence[torch.Tensor],
    spans: Sequence[Sequence[tuple[int, int, int]]],
    n_rows: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean token embedding per output row over character spans of several texts.

    ``spans[i]`` lists ``(start, end, row)`` for text ``i`` (whose tokens have ``offsets[i]``
    and embeddings ``token_embs[i]``); spans sharing a row are averaged together (e.g. all
    occurrences of a word in a sentence). Returns (means (n_rows, hidden), token counts); a row
    no token reaches stays zero with count 0. Overlapping spans are aligned one at a time.
    """
    pair_tok, pair_row = [], []
    base = 0
    for offs, text_spans in zip(offsets, spans, strict=True):
        ordered = sorted(text_spans)
        starts = np.array([s for s, _, _ in ordered], dtype=np.int64)
        ends = np.array([e for _, e, _ in ordered], dtype=np.int64)
        rows = np.array([r for _, _, r in ordered], dtype=np.int64)
        if len(ordered) and bool((starts[1:] >= ends[:-1]).all()):
            t, w = token_word_pairs(offs, starts, ends)
            pair_tok.append(t + base)
            pair_row.append(rows[w])
        else:
            for k in range(len(ordered)):
                t, _ = token_word_pairs(offs, starts[k : k + 1], ends[k : k + 1])
                pair_tok.append(t + base)
                pair_row.append(np.full(len(t), rows[k], dtype=np.int64))
        base += len(offs)
    hidden = token_embs[0].shape[1] if len(token_embs) else 0
    if not pair_tok or base == 0:
        return torch.zeros((n_rows, hidden)), torch.zeros(n_rows, dtype=torch.long)
    tokens = torch.cat(list(token_embs))[torch.from_numpy(np.concatenate(pair_tok))]
    return mean_by_group(tokens, torch.from_numpy(np.concatenate(pair_row)), n_rows)
