from __future__ import annotations

import numpy as np
import torch

from minicoil.align import mean_by_group, token_word_pairs


def test_tokens_attach_to_overlapping_words() -> None:
    # text "ab cd-ef": words ab[0,2) cd[3,5) ef[6,8)
    starts, ends = np.array([0, 3, 6]), np.array([2, 5, 8])
    offsets = np.array(
        [
            [0, 1],  # "a"  -> ab
            [1, 2],  # "b"  -> ab
            [2, 3],  # " "  -> nothing
            [3, 6],  # "cd-" -> cd
            [4, 7],  # "d-e" spans cd and ef
            [0, 0],  # zero width -> nothing
            [7, 8],  # "f" -> ef
        ]
    )
    tokens, words = token_word_pairs(offsets, starts, ends)
    assert list(zip(tokens.tolist(), words.tolist(), strict=True)) == [
        (0, 0),
        (1, 0),
        (3, 1),
        (4, 1),
        (4, 2),
        (6, 2),
    ]


def test_no_words_or_no_tokens() -> None:
    empty = np.zeros(0, dtype=np.int64)
    t, w = token_word_pairs(np.zeros((0, 2), dtype=np.int64), np.array([0]), np.array([1]))
    assert len(t) == len(w) == 0
    t, w = token_word_pairs(np.array([[0, 1]]), empty, empty)
    assert len(t) == len(w) == 0


def test_mean_by_group() -> None:
    values = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    means, counts = mean_by_group(values, torch.tensor([0, 0, 2]), 3)
    assert means.tolist() == [[2.0, 1.0], [0.0, 0.0], [5.0, 5.0]]
    assert counts.tolist() == [2, 0, 1]


def test_span_means_shared_rows_and_overlapping_spans() -> None:
    from minicoil.align import span_means

    offsets = [np.array([[0, 2], [3, 5], [6, 8]]), np.array([[0, 4]])]
    embs = [torch.tensor([[1.0, 0.0], [3.0, 0.0], [5.0, 2.0]]), torch.tensor([[7.0, 7.0]])]
    # text 0: rows 0 (tokens 0 and 2, two occurrences) and 1 (token 1); overlapping span -> row 2
    spans = [[(0, 2, 0), (6, 8, 0), (3, 5, 1), (0, 5, 2)], [(1, 3, 3)]]
    means, counts = span_means(offsets, embs, spans, 5)
    assert means.tolist() == [[3.0, 1.0], [3.0, 0.0], [2.0, 0.0], [7.0, 7.0], [0.0, 0.0]]
    assert counts.tolist() == [2, 1, 2, 1, 0]
