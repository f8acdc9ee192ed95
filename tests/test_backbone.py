from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from minicoil.align import token_word_pairs
from minicoil.backbone import Backbone, BackboneError, plan_windows
from minicoil.text import TextProcessor


@pytest.mark.parametrize("n", [0, 1, 61, 62, 63, 100, 124, 500])
@pytest.mark.parametrize(("size", "overlap"), [(62, 8), (62, 0), (10, 9), (62, 100)])
def test_windows_cover_every_token_exactly_once(n: int, size: int, overlap: int) -> None:
    windows = plan_windows(n, size, overlap)
    owned = np.zeros(n, dtype=int)
    for start, end, own_start, own_end in windows:
        assert 0 <= start <= own_start <= own_end <= end <= n
        assert end - start <= size
        owned[own_start:own_end] += 1
    assert (owned == 1).all()
    assert windows[0][0] == 0


def test_windowed_tokens_equal_a_direct_pass_over_their_window(
    wordpiece_backbone: Backbone,
) -> None:
    bb = wordpiece_backbone
    text = " ".join(f"bank river money word{i % 7}" for i in range(60))  # far beyond 64 tokens
    tok = bb.tokenize([text])
    assert len(tok[0].input_ids) > 3 * bb.window_size
    embs, _ = bb.embed(tok, batch_size=3)
    windows = bb.windows(tok)
    assert len(windows) >= 4
    for w in windows:
        direct, _ = bb.forward_windows(tok, [w])
        got = embs[0][w.own_start : w.own_end]
        want = direct[0, w.own_start - w.start : w.own_end - w.start]
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_dense_vector_is_sentence_transformers_encode(
    wordpiece_dir: Path, wordpiece_backbone: Backbone
) -> None:
    texts = ["short text about a bank", "", " ".join(["long river text"] * 80)]
    st = SentenceTransformer(str(wordpiece_dir), device="cpu")
    want = st.encode(texts, convert_to_numpy=True)
    _, dense = wordpiece_backbone.embed(wordpiece_backbone.tokenize(texts), batch_size=2)
    np.testing.assert_allclose(dense.numpy(), want, atol=1e-5)


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_every_word_gets_tokens_for_any_tokenizer(
    kind: str, backbone_dirs: dict[str, Path]
) -> None:
    """The word rebuild works from offsets for WordPiece, byte-level BPE and SentencePiece."""
    bb = Backbone.load(backbone_dirs[kind])
    text = "Databases at the university: please, run! Über-café naïve résumé 1234 bank's 🙂"
    words = TextProcessor(frozenset()).words(text)
    tok = bb.tokenize([text])[0]
    t_idx, w_idx = token_word_pairs(
        tok.offsets, np.array([w.start for w in words]), np.array([w.end for w in words])
    )
    assert set(w_idx.tolist()) == set(range(len(words)))
    for i, word in enumerate(words):
        spans = tok.offsets[t_idx[w_idx == i]]
        # the tokens of a word cover its characters (special prefix markers aside)
        assert spans[:, 0].min() <= word.start and spans[:, 1].max() >= word.end


def test_wordpiece_rebuild_agrees_with_tokenizer_word_ids(wordpiece_backbone: Backbone) -> None:
    text = "databases bank rivers running quickly"
    enc = wordpiece_backbone.tokenizer(text, add_special_tokens=False)
    words = TextProcessor(frozenset()).words(text)
    tok = wordpiece_backbone.tokenize([text])[0]
    t_idx, w_idx = token_word_pairs(
        tok.offsets, np.array([w.start for w in words]), np.array([w.end for w in words])
    )
    assert w_idx[np.argsort(t_idx)].tolist() == enc.word_ids()


def test_missing_folder_and_tokenizer_are_clear_errors(tmp_path: Path, wordpiece_dir: Path) -> None:
    with pytest.raises(BackboneError, match="not found"):
        Backbone.load(tmp_path / "nope")
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(wordpiece_dir, broken)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer.model"):
        (broken / name).unlink(missing_ok=True)
    with pytest.raises(BackboneError, match="tokenizer"):
        Backbone.load(broken)


def test_runtimes_share_one_tokenization(
    wordpiece_dir: Path, wordpiece_backbone: Backbone, tmp_path: Path
) -> None:
    """An onnx-run backbone is the same Backbone class: same tokens, windows and inputs; the
    runtime alone differs, and it still knows its torch weights (for exports)."""
    from minicoil.backbone import OnnxRuntime, TorchRuntime
    from minicoil.export import export_backbone

    graph = export_backbone(wordpiece_backbone, tmp_path / "g" / "model.onnx")
    onnx = Backbone.load(wordpiece_dir, runtime="onnx", graph=graph, window_overlap=8)
    assert type(onnx) is Backbone and isinstance(onnx.runtime, OnnxRuntime)
    assert isinstance(wordpiece_backbone.runtime, TorchRuntime)
    assert (onnx.backend, onnx.file_name, onnx.precision) == ("onnx", "model.onnx", "float32")
    assert (onnx.hidden_size, onnx.dense_size) == (
        wordpiece_backbone.hidden_size,
        wordpiece_backbone.dense_size,
    )
    texts = ["bank of the river " * 30, "money"]
    tok_a, tok_b = wordpiece_backbone.tokenize(texts), onnx.tokenize(texts)
    assert wordpiece_backbone.windows(tok_a) == onnx.windows(tok_b)
    feats_a = wordpiece_backbone.batch_features(tok_a, wordpiece_backbone.windows(tok_a))
    feats_b = onnx.batch_features(tok_b, onnx.windows(tok_b))
    assert feats_a.keys() == feats_b.keys()
    for key, value in feats_a.items():
        np.testing.assert_array_equal(value, feats_b[key])
    (ta, da), (tb, db) = wordpiece_backbone.embed(tok_a), onnx.embed(tok_b)
    np.testing.assert_allclose(da.numpy(), db.numpy(), atol=1e-4)
    for a, b in zip(ta, tb, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)
    with pytest.raises(BackboneError, match="as_torch"):
        _ = onnx.model
    assert isinstance(onnx.as_torch().runtime, TorchRuntime)
    assert wordpiece_backbone.as_torch() is wordpiece_backbone
    again = export_backbone(onnx, tmp_path / "h" / "model.onnx")  # traced from torch weights
    assert again.stat().st_size == graph.stat().st_size


def test_unknown_runtime_and_precision_are_named(wordpiece_dir: Path) -> None:
    with pytest.raises(ValueError, match="runtime must be 'torch' or 'onnx'"):
        Backbone.load(wordpiece_dir, runtime="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="precision must be"):
        Backbone.load(wordpiece_dir, precision="int4")


def test_hidden_size_is_read_from_the_config_once(wordpiece_dir: Path, tmp_path: Path) -> None:
    import json

    from minicoil.backbone import read_hidden_size

    assert read_hidden_size(wordpiece_dir) == 32
    for key in ("d_model", "dim"):
        (tmp_path / key).mkdir()
        (tmp_path / key / "config.json").write_text(json.dumps({key: 7}))
        assert read_hidden_size(tmp_path / key) == 7
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text(json.dumps({"hidden_size": True}))
    with pytest.raises(BackboneError, match=r"bad/config\.json: no positive integer hidden_size"):
        read_hidden_size(tmp_path / "bad")


def test_loading_prints_no_weight_bars_and_keeps_the_users_setting(
    wordpiece_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()
    Backbone.load(wordpiece_dir)
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out
    assert hf_logging.is_progress_bar_enabled()  # only this load was quiet
