"""Export a model for onnxruntime: the backbone as an ONNX graph, optionally int8.

The graph wraps the whole sentence-transformers module stack (Transformer -> Pooling ->
Normalize ...), so one run gives the token embeddings for the heads and the dense sentence
embedding, exactly as the torch runtime does. It is traced with torch's TorchScript-based
exporter (``dynamo=False``), opset 17, with dynamic batch and sequence axes, because the dynamo
exporter needs ``onnxscript`` and writes graphs that onnxruntime's quantizer handles less well;
``optimum`` is not used because it does not install beside this torch.

int8: onnxruntime's dynamic quantization of the MatMul weights, *per output channel*, because
one scale per weight tensor (its default) costs retrieval quality (SciFact NDCG@10 in
BENCHMARKS.md). Activations stay fp32 and are quantized on the fly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from minicoil.backbone import (
    DEFAULT_ONNX_FILE,
    ONNX_DIR,
    OUTPUT_NAMES,
    QUANTIZED_ONNX_FILE,
    Backbone,
)
from minicoil.heads import HeadsDtype
from minicoil.io import atomic_dir
from minicoil.model import MiniCOIL

DEFAULT_OPSET = 17
_PROBE_TEXTS = ["a short probe", "a longer probe sentence, with more words in it, for the shapes"]


class ExportError(ValueError):
    """A model that cannot be exported in the asked format."""


class _Graph(torch.nn.Module):
    """Positional-argument wrapper around a sentence-transformers model for the tracer."""

    def __init__(self, model: torch.nn.Module, token_types: bool):
        super().__init__()
        self.model = model
        self.token_types = token_types

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.token_types and token_type_ids is not None:
            features["token_type_ids"] = token_type_ids
        out = self.model(features)
        return out["token_embeddings"], out["sentence_embedding"]


def export_backbone(backbone: Backbone, out_file: Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``backbone``'s forward pass (fp32) as an ONNX graph at ``out_file``.

    Whatever runtime ``backbone`` uses, the graph is traced from its torch weights.
    """
    if opset < 17:
        raise ExportError(f"opset {opset} is too old: miniCOIL exports use opset >= 17")
    import onnx

    backbone = backbone.as_torch()
    tokenized = backbone.tokenize(_PROBE_TEXTS)
    features = backbone.batch_features(tokenized, backbone.windows(tokenized))
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features]
    args = tuple(torch.from_numpy(features[n]) for n in names)
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names}
    dynamic[OUTPUT_NAMES[0]] = {0: "batch", 1: "sequence"}
    dynamic[OUTPUT_NAMES[1]] = {0: "batch"}
    graph = _Graph(backbone.model, token_types="token_type_ids" in names).eval()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(
            graph,
            args,
            str(out_file),
            input_names=names,
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(str(out_file))
    return out_file


def quantize_backbone(
    src: Path, dst: Path, *, per_channel: bool = True, embeddings: bool = True
) -> Path:
    """int8 weights for every MatMul of ``src`` (dynamic quantization), written to ``dst``.

    With ``embeddings`` the embedding lookups (``Gather``) are stored int8 too: the word
    embedding table is a third of MiniLM's weights, so without it the int8 graph stays at
    0.65 of fp32 instead of 0.25. Per-channel scales keep its token vectors at the same
    cosine to fp32 as the MatMul-only graph (0.989 on SciFact text); per-tensor ones do not.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # onnxruntime's quantization guide asks for this pre-processing (shape inference and
        # graph cleanup): the quantizer relies on inferred shapes to choose what to quantize.
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(
            prepared,
            dst,
            op_types_to_quantize=["MatMul", "Gather"] if embeddings else ["MatMul"],
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
        )
    return dst


def export_onnx(
    model: MiniCOIL,
    out_dir: str | os.PathLike[str],
    *,
    quantize: bool = False,
    per_channel: bool = True,
    quantize_embeddings: bool = True,
    heads_dtype: HeadsDtype = "float16",
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write a self-contained model folder that loads with ``backend="onnx"``.

    The folder holds the usual model files, the backbone copied into ``backbone/`` and its
    graph in ``backbone/onnx/model.onnx`` (plus ``model_qint8.onnx`` with ``quantize``). It is
    written atomically: a failed export leaves nothing behind.
    """
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        model.write_folder(tmp, heads_dtype=heads_dtype, include_backbone=True)
        graph = export_backbone(
            model.backbone, tmp / "backbone" / ONNX_DIR / DEFAULT_ONNX_FILE, opset=opset
        )
        if quantize:
            quantize_backbone(
                graph,
                graph.with_name(QUANTIZED_ONNX_FILE),
                per_channel=per_channel,
                embeddings=quantize_embeddings,
            )
    return out
