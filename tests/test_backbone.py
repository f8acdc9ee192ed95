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
