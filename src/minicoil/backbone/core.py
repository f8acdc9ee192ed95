"""The transformer forward pass: token embeddings and the pooled sentence embedding, together.

Any local sentence-transformers folder works. Its own module stack (Transformer -> Pooling ->
Normalize, ...) computes both outputs in one pass: the token embeddings feed the per-word
heads, the sentence embedding is the dense vector. :class:`Backbone` owns tokenization and
windows; a runtime (torch or onnxruntime, :mod:`minicoil.backbone.runtimes`) runs the pass.

The dense vector is pooled from the first window only, which is exactly what
sentence-transformers' truncating ``encode`` returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from minicoil.backbone.paths import (
    DEFAULT_BACKBONE,
    DEFAULT_ONNX_FILE,
    BackboneError,
    check_backbone_folder,
    onnx_path,
    read_hidden_size,
    resolve_backbone_path,
)
from minicoil.backbone.runtimes import OnnxRuntime, Runtime, TorchRuntime, load_tokenizer
from minicoil.backbone.windows import Tokenized, Window, plan_windows

RuntimeName = Literal["torch", "onnx"]


class Backbone:
    """Tokenizer and windows of a sentence-transformers model, with a runtime for the pass."""

    def __init__(
        self,
        runtime: Runtime,
        tokenizer: Any,
        *,
        max_length: int,
        window_overlap: int = 32,
        path: Path | None = None,
    ):
        if not getattr(tokenizer, "is_fast", False):
            raise BackboneError(
                "the backbone's tokenizer is not a fast (Rust) tokenizer: miniCOIL needs its "
                "character offsets to attach tokens to words"
            )
        self.runtime = runtime
        self.tokenizer = tokenizer
        self.path = path
        self.max_length = int(max_length)
        self.window_overlap = window_overlap
        self._prefix, self._suffix = self._special_tokens()
        self.window_size = self.max_length - len(self._prefix) - len(self._suffix)
        if self.window_size < 8:
            raise BackboneError(f"max length {self.max_length} leaves no room for text")
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self._uses_token_types = "token_type_ids" in self.tokenizer.model_input_names

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] = DEFAULT_BACKBONE,
        *,
        runtime: RuntimeName = "torch",
        device: str = "cpu",
        window_overlap: int = 32,
        max_length: int | None = None,
        precision: str = "float32",
        file_name: str = DEFAULT_ONNX_FILE,
        graph: str | os.PathLike[str] | None = None,
        threads: int | None = None,
    ) -> Backbone:
        """Load a local sentence-transformers folder (offline; never downloads).

        ``runtime="onnx"`` runs ``<folder>/onnx/<file_name>`` (or the graph file ``graph``,
        e.g. a cached export) through onnxruntime with the folder's tokenizer.
        ``precision="bfloat16"`` (torch only) runs under bf16 autocast; training uses it.
        """
        folder = resolve_backbone_path(path)
        check_backbone_folder(folder)
        if runtime == "torch":
            torch_rt = TorchRuntime.load(folder, device=device, precision=precision)
            tokenizer, length, engine = torch_rt.tokenizer, torch_rt.max_length, torch_rt
        elif runtime == "onnx":
            graph_file = Path(graph) if graph is not None else onnx_path(folder, file_name)
            engine = OnnxRuntime.load(
                graph_file, hidden_size=read_hidden_size(folder), threads=threads
            )
            tokenizer, length = load_tokenizer(folder)
        else:
            raise ValueError(f"runtime must be 'torch' or 'onnx', got {runtime!r}")
        return cls(
            engine,
            tokenizer,
            max_length=max_length or length,
            window_overlap=window_overlap,
            path=folder,
        )

    def as_torch(self) -> Backbone:
        """This backbone with the torch runtime (itself if it has it): what an export traces."""
        if isinstance(self.runtime, TorchRuntime):
            return self
        if self.path is None:
            raise BackboneError("this backbone has no folder to load its torch weights from")
        return Backbone.load(
            self.path, window_overlap=self.window_overlap, max_length=self.max_length
        )

    # ------------------------------------------------------------------ runtime facts

    @property
    def backend(self) -> str:
        """Which runtime computes the forward pass: "torch" or "onnx"."""
        return self.runtime.name

    @property
    def precision(self) -> str:
        return self.runtime.precision

    @property
    def file_name(self) -> str | None:
        """The ONNX graph's file name (``model_qint8.onnx`` for int8); None under torch."""
        return getattr(self.runtime, "file_name", None)

    @property
    def model(self) -> torch.nn.Module:
        """The sentence-transformers module (torch runtime only)."""
        if not isinstance(self.runtime, TorchRuntime):
            raise BackboneError("this backbone runs an ONNX graph; use as_torch() for the module")
        return self.runtime.module

    @property
    def hidden_size(self) -> int:
        """Width of the token embeddings (the heads' input size)."""
        return self.runtime.hidden_size

    @property
    def dense_size(self) -> int:
        return self.runtime.dense_size

    # ------------------------------------------------------------------ tokens and windows

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a single text ([CLS] ... [SEP] for BERT).

        Found by tokenizing a one-word probe, so any tokenizer's template works.
        """
        enc = self.tokenizer("a", add_special_tokens=True, return_special_tokens_mask=True)
        ids, mask = enc["input_ids"], enc["special_tokens_mask"]
        content = [i for i, m in enumerate(mask) if m == 0]
        if not content:
            raise BackboneError("tokenizer produced no content token for a probe text")
        return list(ids[: content[0]]), list(ids[content[-1] + 1 :])

    def tokenize(self, texts: list[str]) -> list[Tokenized]:
        """Tokenize whole texts (no truncation), keeping offsets for the word rebuild."""
        enc = self.tokenizer(
            texts,
            add_special_tokens=False,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        out = []
        for ids, offs in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
            offsets = np.asarray(offs, dtype=np.int64).reshape(-1, 2)
            out.append(Tokenized(np.asarray(ids, dtype=np.int64), offsets))
        return out

    def windows(self, tokenized: list[Tokenized]) -> list[Window]:
        out = []
        for t, tok in enumerate(tokenized):
            for s, e, os_, oe in plan_windows(
                len(tok.input_ids), self.window_size, self.window_overlap
            ):
                out.append(Window(t, s, e, os_, oe))
        return out

    def batch_features(
        self, tokenized: list[Tokenized], windows: list[Window]
    ) -> dict[str, np.ndarray]:
        """The padded model inputs (int64 arrays) for one batch of windows, special tokens added."""
        prefix, suffix = self._prefix, self._suffix
        rows = [
            prefix + tokenized[w.text].input_ids[w.start : w.end].tolist() + suffix for w in windows
        ]
        length = max(len(r) for r in rows)
        input_ids = np.full((len(rows), length), self.pad_id, dtype=np.int64)
        attention = np.zeros((len(rows), length), dtype=np.int64)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = row
            attention[i, : len(row)] = 1
        features = {"input_ids": input_ids, "attention_mask": attention}
        if self._uses_token_types:
            features["token_type_ids"] = np.zeros_like(input_ids)
        return features

    # ------------------------------------------------------------------ the forward pass

    def run_features(self, features: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """The forward pass: (token embeddings (B, L, H), sentence embeddings (B, D)), fp32 CPU."""
        return self.runtime.run(features)

    def forward_windows(
        self, tokenized: list[Tokenized], windows: list[Window]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run one padded batch of windows. Returns (token embeddings (W, L, H) without the
        special prefix, sentence embeddings (W, D))."""
        tokens, sentence = self.run_features(self.batch_features(tokenized, windows))
        return tokens[:, len(self._prefix) :], sentence

    def embed(
        self, tokenized: list[Tokenized], batch_size: int = 32
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Token embeddings (n_i, H) for every content token of every text, and each text's
        sentence embedding from its first window (T, D).

        Windows of all texts are sorted by length before batching, as sentence-transformers
        does, so that padding stays small.
        """
        windows = self.windows(tokenized)
        order = sorted(range(len(windows)), key=lambda i: windows[i].end - windows[i].start)
        token_out = [torch.empty((len(t.input_ids), self.hidden_size)) for t in tokenized]
        dense = torch.empty((len(tokenized), self.dense_size))
        for b in range(0, len(order), batch_size):
            batch = [windows[i] for i in order[b : b + batch_size]]
            tokens, sentence = self.forward_windows(tokenized, batch)
            for row, w in enumerate(batch):
                if w.own_end > w.own_start:
                    token_out[w.text][w.own_start : w.own_end] = tokens[
                        row, w.own_start - w.start : w.own_end - w.start
                    ]
                if w.start == 0:
                    dense[w.text] = sentence[row]
        return token_out, dense
