"""Exports of a model for other runtimes: onnxruntime (``onnx``) and fastembed (``fastembed``)."""

from minicoil.export.fastembed import export_fastembed
from minicoil.export.onnx import ExportError, export_backbone, export_onnx, quantize_backbone

__all__ = [
    "ExportError",
    "export_backbone",
    "export_fastembed",
    "export_onnx",
    "quantize_backbone",
]
