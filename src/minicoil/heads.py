"""Per-word heads: one (hidden -> dim) linear map per vocabulary word, applied in one step.

All heads live in a single tensor ``W`` of shape (V+1, hidden, dim); row 0 is zeros and stands
for "no head". A word occurrence with contextual embedding ``x`` and vocabulary id ``i`` gets
the meaning ``normalize(tanh(x @ W[i]))``. Many occurrences of many different words are computed
together with one gather and one einsum, never a Python loop over words.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

HEADS_KEY = "heads"
INT8_KEY = "heads_int8"
SCALE_KEY = "heads_scale"
HeadsDtype = Literal["float32", "float16", "int8"]
_FLOAT_DTYPES = {"float32": torch.float32, "float16": torch.float16}
_CHUNK = 8192  # occurrences per einsum: bounds the gathered (n, hidden, dim) block to ~50 MB


class HeadsError(ValueError):
    """A heads file that is missing, unreadable or does not fit the model."""


class Heads:
    """The stacked head weights of a model, kept in float32 for compute."""

    def __init__(self, weights: torch.Tensor):
        if weights.ndim != 3:
            raise HeadsError(
                f"heads must have shape (V+1, hidden, dim), got {tuple(weights.shape)}"
            )
        self.weights = weights.float().contiguous()

    @classmethod
    def zeros(cls, vocab_size: int, hidden: int, dim: int) -> Heads:
        return cls(torch.zeros((vocab_size + 1, hidden, dim)))

    @property
    def vocab_size(self) -> int:
        return self.weights.shape[0] - 1

    @property
    def hidden(self) -> int:
        return self.weights.shape[1]

    @property
    def dim(self) -> int:
        return self.weights.shape[2]

    def apply(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Unit meaning vectors (n, dim) for embeddings ``x`` (n, hidden) of words ``ids`` (n,).

        A row whose output is all zeros (id 0, or a zero input) stays zero instead of NaN.
        """
        out = torch.empty((x.shape[0], self.dim), dtype=torch.float32)
        for s in range(0, x.shape[0], _CHUNK):
            block = torch.einsum(
                "nh,nhd->nd", x[s : s + _CHUNK].float(), self.weights[ids[s : s + _CHUNK]]
            )
            out[s : s + _CHUNK] = torch.tanh(block)
        return torch.nn.functional.normalize(out, dim=-1)

    def save(self, path: str | os.PathLike[str], dtype: HeadsDtype = "float16") -> None:
        """Write as safetensors: fp16 by default (half of fp32; the outputs are normalised, so
        the rounding is far below anything that changes a ranking), or int8 with one scale per
        word and output dimension (a quarter of fp32; the loss is measured in BENCHMARKS.md).
        """
        if dtype == "int8":
            q, scale = quantize_int8(self.weights)
            save_file({INT8_KEY: q, SCALE_KEY: scale}, str(path))
        elif dtype in _FLOAT_DTYPES:
            save_file({HEADS_KEY: self.weights.to(_FLOAT_DTYPES[dtype]).contiguous()}, str(path))
        else:
            raise ValueError(f"heads dtype must be float32, float16 or int8, got {dtype!r}")

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, vocab_size: int, hidden: int, dim: int) -> Heads:
        """Load and check a heads file against the sizes the model folder promises."""
        path = Path(path)
        if not path.exists():
            raise HeadsError(f"heads file not found: {path}")
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise HeadsError(f"{path}: not a readable safetensors file ({exc})") from exc
        if HEADS_KEY in tensors:
            weights = tensors[HEADS_KEY]
        elif INT8_KEY in tensors and SCALE_KEY in tensors:
            weights = _dequantize(path, tensors[INT8_KEY], tensors[SCALE_KEY])
        else:
            raise HeadsError(
                f"{path}: no tensor named {HEADS_KEY!r} (or {INT8_KEY!r} with {SCALE_KEY!r}); "
                f"found {sorted(tensors)}"
            )
        expected = (vocab_size + 1, hidden, dim)
        if tuple(weights.shape) != expected:
            what = (
                "backbone hidden size"
                if weights.ndim == 3 and weights.shape[1] != hidden
                else "shape"
            )
            raise HeadsError(
                f"{path}: heads have shape {tuple(weights.shape)}, expected {expected} "
                f"(vocabulary size + 1, backbone hidden size, dim); mismatched {what}"
            )
        if not torch.isfinite(weights).all():
            raise HeadsError(f"{path}: heads contain NaN or infinite values")
        return cls(weights)


def quantize_int8(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 with one scale per word and output dimension: (V+1, H, dim) int8 and
    (V+1, 1, dim) float32. Per-column scales cost 16 bytes a word and keep each of a head's
    ``dim`` output directions at full int8 resolution whatever their norms."""
    w = weights.float()
    scale = w.abs().amax(dim=1, keepdim=True) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.clamp(torch.round(w / scale), -127, 127).to(torch.int8)
    return q.contiguous(), scale.contiguous()


def _dequantize(path: Path, q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    if q.dtype != torch.int8 or q.ndim != 3 or tuple(scale.shape) != (q.shape[0], 1, q.shape[2]):
        raise HeadsError(
            f"{path}: int8 heads {tuple(q.shape)} {q.dtype} do not fit their scales "
            f"{tuple(scale.shape)}"
        )
    return q.float() * scale.float()
