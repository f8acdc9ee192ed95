"""Tokens and windows: how a text of any length becomes model inputs, whatever the runtime.

Long texts are cut into windows of the backbone's max length so that no word loses its
contextual embedding to truncation. Consecutive windows overlap by ``window_overlap`` tokens and
each token takes its embedding from the window in which it sits farther from the edge (the seam
is the middle of the overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tokenized:
    """One text's content tokens (no special tokens) and their character offsets."""

    input_ids: np.ndarray  # (n,) int64
    offsets: np.ndarray  # (n, 2) int64, [start, end) into the text


@dataclass(frozen=True)
class Window:
    """A slice [start, end) of one text's tokens run through the model as one sequence."""

    text: int
    start: int
    end: int
    own_start: int  # tokens [own_start, own_end) take their embedding from this window
    own_end: int


def plan_windows(n_tokens: int, size: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Windows (start, end, own_start, own_end) covering ``n_tokens`` content tokens.

    Every text gets at least one window (an empty text is still run, for its dense vector).
    """
    if size <= 0:
        raise ValueError(f"window size must be positive, got {size}")
    overlap = max(0, min(overlap, size - 1))
    if n_tokens <= size:
        return [(0, n_tokens, 0, n_tokens)]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, n_tokens)
        spans.append((start, end))
        if end >= n_tokens:
            break
        start = end - overlap
    out = []
    for i, (s, e) in enumerate(spans):
        own_s = 0 if i == 0 else (s + spans[i - 1][1]) // 2
        own_e = n_tokens if i == len(spans) - 1 else (spans[i + 1][0] + e) // 2
        out.append((s, e, own_s, own_e))
    return out
