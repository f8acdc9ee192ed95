"""Attach tokens to words through character offsets, for any tokenizer.

Words are character spans (from :mod:`minicoil.text`); tokens carry the offsets their fast
tokenizer reports. A token belongs to every word its span overlaps, so WordPiece (``##``
continuations), byte-level BPE (leading-space tokens) and SentencePiece (``▁`` tokens) are all
handled the same way, without any tokenizer-specific rule.
"""

from __future__ import annotations

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
