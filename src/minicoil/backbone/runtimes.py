"""The runtimes of the forward pass: torch (a sentence-transformers module) and onnxruntime.

A runtime does one thing: padded int64 inputs in, ``(token embeddings (B, L, H), sentence
embeddings (B, D))`` out, as float32 CPU tensors. Tokens, windows and special tokens belong to
:class:`~minicoil.backbone.Backbone`, which holds one runtime, so both runtimes give the same
sparse vectors up to floating-point rounding (tested: values within 1e-4, same indices). This
is how sentence-transformers itself picks a backend: one model class, the runtime behind it.

An ONNX graph of a backbone takes ``input_ids``, ``attention_mask`` (and ``token_type_ids`` for
BERT-style models) and returns ``token_embeddings`` and ``sentence_embedding`` from one pass;
``minicoil export onnx`` and :mod:`minicoil.export.runtime` write such graphs under the backbone
folder's ``onnx/`` (the layout sentence-transformers and fastembed use).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from minicoil.backbone.paths import (
    OUTPUT_NAMES,
    BackboneError,
    max_seq_length,
    quiet_loading,
    suspects,
)

PRECISIONS = ("float32", "bfloat16")


class Runtime(Protocol):
    """What :class:`~minicoil.backbone.Backbone` needs from a forward-pass engine."""

    name: str
    precision: str

    @property
    def hidden_size(self) -> int: ...

    @property
    def dense_size(self) -> int: ...

    def run(self, features: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]: ...


class TorchRuntime:
    """A sentence-transformers module (Transformer -> Pooling -> Normalize ...) run by torch."""

    name = "torch"

    def __init__(self, module: torch.nn.Module, precision: str = "float32"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got {precision!r}")
        self.module = module.eval()
        self.precision = precision

    @classmethod
    def load(cls, folder: Path, *, device: str = "cpu", precision: str = "float32") -> TorchRuntime:
        """Load a local sentence-transformers folder (offline; never downloads)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            with quiet_loading():
                module = SentenceTransformer(str(folder), device=device, local_files_only=True)
        except Exception as exc:
            raise BackboneError(f"cannot load backbone from {suspects(folder)}: {exc}") from exc
        return cls(module, precision)

    @property
    def tokenizer(self) -> Any:
        return self.module.tokenizer  # type: ignore[attr-defined]

    @property
    def max_length(self) -> int:
        return int(self.module.max_seq_length)  # type: ignore[attr-defined]

    @property
    def hidden_size(self) -> int:
        # From the loaded module: the weights that actually run, not a file that may disagree.
        return int(self.module[0].auto_model.config.hidden_size)  # type: ignore[index]

    @property
    def dense_size(self) -> int:
        getter = getattr(self.module, "get_embedding_dimension", None)
        getter = getter or self.module.get_sentence_embedding_dimension  # type: ignore[attr-defined]
        return int(getter())

    @torch.inference_mode()
    def run(self, features: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(self.module.parameters()).device
        inputs = {k: torch.from_numpy(v).to(device) for k, v in features.items()}
        if self.precision == "bfloat16":
            # On CPUs with AVX512-BF16 about 1.8x faster (measured: 22 -> 40 SciFact docs/s)
            # for embeddings within ~1% of fp32; training opts in, inference stays fp32.
            with torch.autocast(device.type, dtype=torch.bfloat16):
                out = self.module(inputs)
        else:
            out = self.module(inputs)
        return out["token_embeddings"].float().cpu(), out["sentence_embedding"].float().cpu()


class OnnxRuntime:
    """An onnxruntime session over a backbone graph (fp32 or int8)."""

    name = "onnx"
    precision = "float32"

    def __init__(self, session: Any, *, hidden_size: int, graph: Path):
        outputs = {o.name: o for o in session.get_outputs()}
        missing = [name for name in OUTPUT_NAMES if name not in outputs]
        if missing:
            raise BackboneError(
                f"ONNX graph {graph.name} lacks output(s) {', '.join(missing)}: it was not "
                "written by `minicoil export onnx`"
            )
        self.session = session
        self.graph = graph
        self._hidden = hidden_size
        self._inputs = {i.name for i in session.get_inputs()}
        dense = outputs["sentence_embedding"].shape[-1]
        # The tracer leaves the width symbolic for some poolings (CLS): one tiny run tells it.
        self._dense = dense if isinstance(dense, int) else self._probe_dense_width()

    def _probe_dense_width(self) -> int:
        one = np.ones((1, 1), dtype=np.int64)
        features = {"input_ids": one, "attention_mask": one, "token_type_ids": one * 0}
        try:
            _, sentence = self.run(features)
        except Exception as exc:
            raise BackboneError(
                f"ONNX graph {self.graph}: cannot run a probe input ({exc})"
            ) from exc
        return int(sentence.shape[-1])

    @classmethod
    def load(cls, graph: Path, *, hidden_size: int, threads: int | None = None) -> OnnxRuntime:
        if not graph.exists():
            raise BackboneError(
                f"{graph} not found: this backbone has no ONNX export; write one with "
                "`minicoil export onnx --model MODEL_DIR --out NEW_DIR`"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise BackboneError(f"{graph}: onnxruntime cannot load it ({exc})") from exc
        return cls(session, hidden_size=hidden_size, graph=graph)

    @property
    def file_name(self) -> str:
        return self.graph.name

    @property
    def hidden_size(self) -> int:
        return self._hidden

    @property
    def dense_size(self) -> int:
        return int(self._dense)

    def run(self, features: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        feeds = {k: v for k, v in features.items() if k in self._inputs}
        tokens, sentence = self.session.run(list(OUTPUT_NAMES), feeds)
        return (
            torch.from_numpy(np.asarray(tokens, dtype=np.float32)),
            torch.from_numpy(np.asarray(sentence, dtype=np.float32)),
        )


def load_tokenizer(folder: Path) -> tuple[Any, int]:
    """The folder's tokenizer and window length, for runtimes that bring no tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise BackboneError(f"cannot load the tokenizer of {folder}: {exc}") from exc
    return tokenizer, max_seq_length(folder, tokenizer)
