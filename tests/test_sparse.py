from __future__ import annotations

import math

import numpy as np
import pytest

from minicoil.sparse import INT32_MAX, bm25_tf, build_sparse, oov_index, oov_shift


def test_bm25_tf_against_hand_computed_value() -> None:
    # c=2, |d|=10, avg_len=5, k=1.2, b=0.75:
    # 2*2.2 / (2 + 1.2*(0.25 + 0.75*2)) = 4.4 / (2 + 2.1) = 1.0731707...
    assert bm25_tf(2, 10, 5.0, 1.2, 0.75) == pytest.approx(4.4 / 4.1)
    # at average length with b irrelevant: c(k+1)/(c+k)
    assert bm25_tf(1, 7, 7.0, 1.2, 0.75) == pytest.approx(2.2 / 2.2)
    with pytest.raises(ValueError):
        bm25_tf(1, 1, 0.0, 1.2, 0.75)


def test_oov_layout_matches_reference_formula() -> None:
    # shift = ((V*dim)//32000 + 2) * 32000
    assert oov_shift(20000, 4) == (80000 // 32000 + 2) * 32000 == 128000
    assert oov_shift(0, 4) == 64000
    # mmh3 documents murmur3_32("foo", seed 0) = -156908512 (signed)
    shift = 128000
    assert oov_index("foo", shift) == shift + 156908512 % (INT32_MAX - shift)
    assert shift <= oov_index("anything", shift) < INT32_MAX


def test_build_sparse_sorted_unique_int32() -> None:
    meanings = np.array([[0.6, 0.8, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    vec = build_sparse([3, 1], meanings, [2.0, 0.5], [999_999, 70_000], [1.5, 1.0], dim=4)
    assert vec.indices.dtype == np.int32 and vec.values.dtype == np.float32
    assert vec.indices.tolist() == [4, 5, 6, 7, 12, 13, 14, 15, 70_000, 999_999]
    assert vec.values.tolist()[:8] == pytest.approx([0.5, 0, 0, 0, 1.2, 1.6, 0, 0])
    q = vec.to_qdrant()
    assert q.indices == vec.indices.tolist()
    assert math.isclose(vec.dot(vec), float(np.sum(vec.values.astype(np.float64) ** 2)))
