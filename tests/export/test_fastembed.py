"""The fastembed export: fastembed's own MiniCOIL class, loading our folder, gives our vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from minicoil import Backbone, MiniCOIL, SparseVector
from minicoil.export import ExportError, export_fastembed
from minicoil.export.fastembed import HEADS_FILE, VOCAB_FILE, fastembed_vocab
from tests.backbones import build_backbone
from tests.conftest import random_model

fastembed = pytest.importorskip("fastembed")

# Plain English, every vocabulary word once per text, within one window: the cases where the
# two libraries promise the same vectors (the README of the export lists the others).
DOCS = [
    "The bank of the river.",
    "A bat flew out of the cave with money.",
    "Please run the database at the university.",
    "Banks, rivers and caves: the universities' databases!",
    "Nothing here is in the vocabulary, only other words.",
    "",
]
QUERIES = ["river bank", "bats in caves", "universities running databases", "what is it"]


def _sorted(indices: np.ndarray, values: np.ndarray) -> SparseVector:
    order = np.argsort(indices)
    return SparseVector(indices[order].astype(np.int32), values[order].astype(np.float32))


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, wordpiece_backbone: Backbone
) -> tuple[MiniCOIL, object]:
    model = random_model(wordpiece_backbone)
    out = export_fastembed(model, tmp_path_factory.mktemp("fe") / "fastembed")
    theirs = fastembed.SparseTextEmbedding(
        "Qdrant/minicoil-v1", specific_model_path=str(out), avg_len=7.5
    )
    return model, theirs


def test_fastembed_documents_equal_ours(pair: tuple[MiniCOIL, object]) -> None:
    model, theirs = pair
    ours = list(model.encode_document(DOCS, avg_len=7.5))
    got = [_sorted(e.indices, e.values) for e in theirs.embed(DOCS)]  # type: ignore[attr-defined]
    assert sum(len(v.indices) for v in ours) > 20
    for text, a, b in zip(DOCS, ours, got, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices, err_msg=text)
        np.testing.assert_allclose(a.values, b.values, atol=1e-4, err_msg=text)


def test_fastembed_queries_equal_ours(pair: tuple[MiniCOIL, object]) -> None:
    model, theirs = pair
    got = [_sorted(e.indices, e.values) for e in theirs.query_embed(QUERIES)]  # type: ignore[attr-defined]
    for text, a, b in zip(QUERIES, model.encode_query(QUERIES), got, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices, err_msg=text)
        np.testing.assert_allclose(a.values, b.values, atol=1e-4, err_msg=text)


def test_export_folder_layout(pair: tuple[MiniCOIL, object], tmp_path: Path) -> None:
    model, _ = pair
    out = export_fastembed(model, tmp_path / "fe")
    heads = np.load(out / HEADS_FILE)
    assert heads.shape == (len(model.vocab) + 1, model.config.hidden_size, 4)
    assert heads.dtype == np.float32
    vocab = json.loads((out / VOCAB_FILE).read_text())
    assert vocab["vocab"] == model.vocab.stems
    assert json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == (
        model.backbone.max_length
    )
    assert "differ" in (out / "README.md").read_text()


def test_vocab_maps_forms_and_rust_stems_to_our_ids(pair: tuple[MiniCOIL, object]) -> None:
    model, _ = pair
    mapping = fastembed_vocab(model)["stem_mapping"]
    stem = model.processor.stem("university")
    assert mapping["university"] == stem  # a surface form, resolved without stemming
    assert mapping["univers"] == stem  # py_rust_stemmers' stem of it, where PyStemmer differs
    assert all(mapping[s] == s for s in model.vocab.stems)


def test_non_wordpiece_backbone_is_refused(tmp_path: Path) -> None:
    backbone = Backbone.load(build_backbone("bpe", tmp_path / "bpe"))
    with pytest.raises(ExportError, match="WordPiece"):
        export_fastembed(random_model(backbone), tmp_path / "out")
    assert not (tmp_path / "out").exists()
