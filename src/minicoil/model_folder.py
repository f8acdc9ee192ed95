"""The model folder on disk: read every file with checks, write every file in one go.

What ``MiniCOIL.from_pretrained`` and ``save_pretrained`` move between disk and memory, kept
apart from the model's arithmetic. Layout: ``config.json``, ``vocab.json``, ``stopwords.txt``,
``heads.safetensors``, ``README.md`` (the model card), optionally ``backbone/``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from minicoil.backbone import DEFAULT_BACKBONE
from minicoil.card import render_model_card
from minicoil.config import (
    CARD_FILE,
    CONFIG_FILE,
    HEADS_FILE,
    STOPWORDS_FILE,
    VOCAB_FILE,
    MiniCOILConfig,
)
from minicoil.heads import Heads, HeadsDtype
from minicoil.io import write_json
from minicoil.text import TextProcessor, Vocabulary
from minicoil.vocab_io import load_stopwords, load_vocab, save_stopwords, save_vocab

BACKBONE_DIR = "backbone"


@dataclass(frozen=True)
class ModelFiles:
    """The checked contents of a model folder."""

    config: MiniCOILConfig
    vocab: Vocabulary
    processor: TextProcessor
    heads: Heads


def read_model_folder(folder: Path) -> ModelFiles:
    """Load and cross-check every file; an error names the file at fault."""
    config = MiniCOILConfig.load(folder)
    vocab = load_vocab(folder / VOCAB_FILE, expected_size=config.vocab_size)
    stopwords = load_stopwords(folder / STOPWORDS_FILE)
    heads = Heads.load(
        folder / HEADS_FILE,
        vocab_size=config.vocab_size,
        hidden=config.hidden_size,
        dim=config.dim,
    )
    processor = TextProcessor(frozenset(stopwords), language=config.language)
    return ModelFiles(config, vocab, processor, heads)


def write_model_folder(
    folder: Path,
    files: ModelFiles,
    backbone_path: Path,
    *,
    heads_dtype: HeadsDtype = "float16",
    include_backbone: bool = False,
) -> None:
    """Write the model's files into an existing (temporary) folder; not atomic by itself.

    A copied backbone leaves out ``onnx/``/``openvino/`` exports, which belong to the folder
    they were made for and would go stale. A backbone kept by reference is written as an
    absolute path, so the folder works from any working directory.
    """
    config = MiniCOILConfig(**files.config.to_dict())
    if include_backbone:
        shutil.copytree(
            backbone_path,
            folder / BACKBONE_DIR,
            ignore=shutil.ignore_patterns("onnx", "openvino"),
        )
        config.backbone = BACKBONE_DIR
    elif config.backbone and config.backbone != DEFAULT_BACKBONE:
        config.backbone = str(Path(backbone_path).resolve())
    write_json(folder / CONFIG_FILE, config.to_dict())
    save_vocab(folder / VOCAB_FILE, files.vocab)
    save_stopwords(folder / STOPWORDS_FILE, sorted(files.processor.stopwords))
    files.heads.save(folder / HEADS_FILE, dtype=heads_dtype)
    (folder / CARD_FILE).write_text(render_model_card(config), "utf-8")
