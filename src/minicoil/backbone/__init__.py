"""The backbone: tokenization and windows once, with torch or onnxruntime running the pass.

Importing this package is cheap (no torch): the folder facts (:mod:`.paths`) and windows
(:mod:`.windows`) load at once, :class:`Backbone` and the runtimes on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minicoil.backbone.paths import (
    DEFAULT_BACKBONE,
    DEFAULT_ONNX_FILE,
    ONNX_DIR,
    OUTPUT_NAMES,
    QUANTIZED_ONNX_FILE,
    BackboneError,
    onnx_path,
    read_hidden_size,
    resolve_backbone_path,
)
from minicoil.backbone.windows import Tokenized, Window, plan_windows

if TYPE_CHECKING:
    from minicoil.backbone.core import Backbone
    from minicoil.backbone.runtimes import OnnxRuntime, Runtime, TorchRuntime

_LAZY = {
    "Backbone": "minicoil.backbone.core",
    "OnnxRuntime": "minicoil.backbone.runtimes",
    "Runtime": "minicoil.backbone.runtimes",
    "TorchRuntime": "minicoil.backbone.runtimes",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'minicoil.backbone' has no attribute {name!r}")


__all__ = [
    "DEFAULT_BACKBONE",
    "DEFAULT_ONNX_FILE",
    "ONNX_DIR",
    "OUTPUT_NAMES",
    "QUANTIZED_ONNX_FILE",
    "Backbone",
    "BackboneError",
    "OnnxRuntime",
    "Runtime",
    "Tokenized",
    "TorchRuntime",
    "Window",
    "onnx_path",
    "plan_windows",
    "read_hidden_size",
    "resolve_backbone_path",
]
