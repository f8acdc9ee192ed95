"""``minicoil export onnx|fastembed``: a model for onnxruntime, or a folder fastembed loads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minicoil.cli.common import ModelOption, guard, load_model

OutArg = Annotated[Path, typer.Option("--out", "-o", help="Folder to write (replaced whole).")]
OpsetArg = Annotated[int, typer.Option(help="ONNX opset (>= 17).")]
HEADS_DTYPES = ("float32", "float16", "int8")

export_app = typer.Typer(
    help="Export a model for onnxruntime or fastembed.", no_args_is_help=True
)


def _model_with_heads(model: str | None):
    """The fp32 torch model (exports start from the reference weights); a plain BM25 model
    has nothing to export."""
    mc = load_model(model, "torch")
    if mc.config.vocab_size == 0:
        raise ValueError("the model has no heads (plain BM25): nothing to export")
    return mc


@export_app.command("onnx")
@guard
def export_onnx_cmd(
    out: OutArg,
    model: ModelOption = None,
    quantize: Annotated[
        bool, typer.Option(help="Also write backbone/onnx/model_qint8.onnx (int8 weights).")
    ] = True,
    per_channel: Annotated[
        bool, typer.Option(help="One int8 scale per output channel (per-tensor loses more).")
    ] = True,
    quantize_embeddings: Annotated[
        bool, typer.Option(help="Store the embedding tables int8 too (a third of MiniLM's size).")
    ] = True,
    heads_dtype: Annotated[
        str, typer.Option(help="Heads storage: float32, float16 or int8.")
    ] = "float16",
    opset: OpsetArg = 17,
) -> None:
    """Write a self-contained model folder that loads with backend="onnx"."""
    if heads_dtype not in HEADS_DTYPES:
        choices = ", ".join(HEADS_DTYPES)
        raise ValueError(f"--heads-dtype must be one of {choices}, got {heads_dtype!r}")
    from minicoil.export import export_onnx

    folder = export_onnx(
        _model_with_heads(model),
        out,
        quantize=quantize,
        per_channel=per_channel,
        quantize_embeddings=quantize_embeddings,
        heads_dtype=heads_dtype,  # type: ignore[arg-type]
        opset=opset,
    )
    for graph in sorted((folder / "backbone" / "onnx").glob("*.onnx")):
        typer.echo(f"{graph}  {graph.stat().st_size / 2**20:.1f} MiB")
    typer.echo(f"load with MiniCOIL.from_pretrained({str(folder)!r}, backend='onnx')")


@export_app.command("fastembed")
@guard
def export_fastembed_cmd(out: OutArg, model: ModelOption = None, opset: OpsetArg = 17) -> None:
    """Write a folder fastembed loads.

    SparseTextEmbedding("Qdrant/minicoil-v1", specific_model_path=OUT, avg_len=...).
    """
    from minicoil.export import export_fastembed

    folder = export_fastembed(_model_with_heads(model), out, opset=opset)
    typer.echo(f"wrote {folder}; see {folder / 'README.md'} for usage and differences")
