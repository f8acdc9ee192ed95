"""The backbone's forward pass through onnxruntime instead of torch.

Only the forward pass changes: tokenization, windows, special tokens and the token-to-word
alignment are inherited from :class:`~minicoil.backbone.Backbone`, so both backends give the
same sparse vectors up to floating-point rounding (tested: values within 1e-4, same indices).

The ONNX graph lives inside the backbone folder under ``onnx/`` (the layout sentence-transformers
and fastembed use); ``minicoil export onnx`` writes it. It takes ``input_ids``,
``attention_mask`` (and ``token_type_ids`` for BERT-style models) and returns
``token_embeddings`` (B, L, H) and ``sentence_embedding`` (B, D), both from one pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minicoil.backbone import DEFAULT_BACKBONE, Backbone, BackboneError, resolve_backbone_path

ONNX_DIR = "onnx"
DEFAULT_ONNX_FILE = "model.onnx"
QUANTIZED_ONNX_FILE = "model_qint8.onnx"
OUTPUT_NAMES = ("token_embeddings", "sentence_embedding")


def onnx_path(folder: Path, file_name: str = DEFAULT_ONNX_FILE) -> Path:
    """Where a backbone folder keeps the ONNX file ``file_name`` (``onnx/<file_name>``)."""
    return folder / ONNX_DIR / file_name


def _max_seq_length(folder: Path, tokenizer: Any) -> int:
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


class OnnxBackbone(Backbone):
    """A backbone whose forward pass is an onnxruntime session (fp32 or int8 graph)."""

    def __init__(
        self,
        session: Any,
        tokenizer: Any,
        *,
        max_length: int,
        hidden_size: int,
        window_overlap: int = 32,
        path: Path | None = None,
        file_name: str = DEFAULT_ONNX_FILE,
    ):
        outputs = {o.name: o for o in session.get_outputs()}
        missing = [name for name in OUTPUT_NAMES if name not in outputs]
        if missing:
            raise BackboneError(
                f"ONNX graph {file_name} lacks output(s) {', '.join(missing)}: it was not "
                "written by `minicoil export onnx`"
            )
        dense = outputs["sentence_embedding"].shape[-1]
        if not isinstance(dense, int):
            raise BackboneError(f"ONNX graph {file_name}: sentence_embedding has no fixed width")
        self.session = session
        self.file_name = file_name
        self.precision = "float32"
        self._hidden = hidden_size
        self._dense = dense
        self._inputs = {i.name for i in session.get_inputs()}
        self._init_tokenization(tokenizer, max_length, window_overlap, path)

    @classmethod
    def load(  # type: ignore[override]
        cls,
        path: str | os.PathLike[str] = DEFAULT_BACKBONE,
        *,
        file_name: str = DEFAULT_ONNX_FILE,
        window_overlap: int = 32,
        max_length: int | None = None,
        threads: int | None = None,
    ) -> OnnxBackbone:
        """Load ``<backbone folder>/onnx/<file_name>`` with the folder's tokenizer (offline)."""
        folder = resolve_backbone_path(path)
        graph = onnx_path(folder, file_name)
        if not graph.exists():
            raise BackboneError(
                f"{graph} not found: this backbone has no ONNX export; write one with "
                "`minicoil export onnx --model MODEL_DIR --out NEW_DIR`"
            )
        config_file = folder / "config.json"
        try:
            hidden = int(json.loads(config_file.read_text("utf-8"))["hidden_size"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackboneError(f"{config_file}: cannot read hidden_size ({exc})") from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import onnxruntime as ort
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except Exception as exc:
            raise BackboneError(f"cannot load the tokenizer of {folder}: {exc}") from exc
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise BackboneError(f"{graph}: onnxruntime cannot load it ({exc})") from exc
        return cls(
            session,
            tokenizer,
            max_length=int(max_length or _max_seq_length(folder, tokenizer)),
            hidden_size=hidden,
            window_overlap=window_overlap,
            path=folder,
            file_name=file_name,
        )

    @property
    def backend(self) -> str:
        return "onnx"

    @property
    def hidden_size(self) -> int:
        return self._hidden

    @property
    def dense_size(self) -> int:
        return int(self._dense)

    def run_features(self, features: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        feeds = {k: v for k, v in features.items() if k in self._inputs}
        tokens, sentence = self.session.run(list(OUTPUT_NAMES), feeds)
        return torch.from_numpy(np.asarray(tokens, dtype=np.float32)), torch.from_numpy(
            np.asarray(sentence, dtype=np.float32)
        )
