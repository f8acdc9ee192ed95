"""Exports of a model for other runtimes: onnxruntime (``onnx``), fastembed (``fastembed``),
and the fast loader that builds and caches the ONNX graph on first use (``runtime``).

Names load on first use (PEP 562), so ``minicoil.export.runtime.BACKENDS`` costs no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minicoil.export.fastembed import export_fastembed
    from minicoil.export.onnx import ExportError, export_backbone, export_onnx, quantize_backbone
    from minicoil.export.runtime import BACKENDS, load_model

_EXPORTS = {
    "BACKENDS": "minicoil.export.runtime",
    "ExportError": "minicoil.export.onnx",
    "export_backbone": "minicoil.export.onnx",
    "export_fastembed": "minicoil.export.fastembed",
    "export_onnx": "minicoil.export.onnx",
    "load_model": "minicoil.export.runtime",
    "quantize_backbone": "minicoil.export.onnx",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'minicoil.export' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "BACKENDS",
    "ExportError",
    "export_backbone",
    "export_fastembed",
    "export_onnx",
    "load_model",
    "quantize_backbone",
]
