"""``fusion.floored``: miniCOIL mixed with BM25 *is* miniCOIL scored with
``floor + (1 - floor) * cos``, checked word by word against the model's own vectors, and the
weighted hybrid serves it from one Qdrant collection."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from minicoil import Backbone, SparseVector
from minicoil.search import fusion
from minicoil.search.exact import ExactSparse, qdrant_idf
from minicoil.sparse import oov_shift
from tests.conftest import random_model

DOCS = [
    "The bank of the river was flooded; the river bank eroded.",
    "She put money in the bank and the bank paid interest.",
    "A bat flew out of the cave near the river.",
    "Databases at the university store course data, please.",
    "Money, money, money: the bank of england. Zyxwv qqqq.",
    "Cave divers explore the underground river at night.",
]
QUERIES = ["money at the river bank", "bat cave", "university databases zyxwv", "qqqq river"]


def by_word(vector: SparseVector, dim: int, shift: int) -> dict[Any, tuple[float, Any]]:
    """Per word: (tf or query weight, unit meaning or None for a word without a head)."""
    out: dict[Any, tuple[float, Any]] = {}
    blocks: dict[int, np.ndarray] = {}
    for index, value in zip(vector.indices.tolist(), vector.values.tolist(), strict=True):
        if index < shift:
            blocks.setdefault(index // dim, np.zeros(dim))[index % dim] = value
        else:
            out[("oov", index)] = (value, None)
    for word, block in blocks.items():
        norm = float(np.linalg.norm(block))
        out[word] = (norm, block / norm)
    return out


def test_floored_scores_are_the_floor_transform_word_by_word(wordpiece_backbone: Backbone) -> None:
    model = random_model(wordpiece_backbone)
    bm25 = model.as_bm25()
    avg_len = model.fit(DOCS).avg_len
    dim, shift = model.config.dim, oov_shift(model.config.vocab_size, model.config.dim)
    docs = list(model.encode_document(DOCS, avg_len=avg_len))
    minicoil_index = ExactSparse.build(docs)
    bm25_index = ExactSparse.build(list(bm25.encode_document(DOCS, avg_len=avg_len)))
    words = [by_word(v, dim, shift) for v in docs]
    df = Counter(key for doc in words for key in doc)
    assert any(u is not None for doc in words for _, u in doc.values())  # heads are used
    assert any(u is None for doc in words for _, u in doc.values())  # and words without
    for query in QUERIES:
        q_vector = next(model.encode_query(query))
        minicoil = minicoil_index.scores(q_vector)
        plain = bm25_index.scores(next(bm25.encode_query(query)))
        q_words = by_word(q_vector, dim, shift)
        for floor in (0.0, 0.3, 1.0):
            got = fusion.floored(minicoil, plain, floor)
            for d, doc in enumerate(words):
                want = 0.0
                for key, (q_weight, q_unit) in q_words.items():
                    if key not in doc:
                        continue
                    tf, unit = doc[key]
                    idf = float(qdrant_idf(np.array([df[key]]), len(DOCS))[0])
                    f = 1.0 if unit is None else floor + (1 - floor) * float(unit @ q_unit)
                    want += idf * tf * q_weight * f
                assert got.get(d, 0.0) == pytest.approx(want, rel=1e-5, abs=1e-6), (query, d)


def test_floored_by_hand_and_bounds() -> None:
    mixed = fusion.floored({"a": 2.0, "b": -1.0}, {"a": 4.0, "c": 1.0}, 0.25)
    assert mixed == {"a": pytest.approx(2.5), "b": pytest.approx(-0.75), "c": pytest.approx(0.25)}
    assert fusion.floored({"a": 2.0}, {"a": 4.0}, 0.0) == {"a": 2.0}
    with pytest.raises(ValueError, match="floor must be between 0 and 1"):
        fusion.floored({}, {}, 1.5)
