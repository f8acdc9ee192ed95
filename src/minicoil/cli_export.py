"""``minicoil export onnx|fastembed``: a model for onnxruntime, or a folder fastembed loads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minicoil.cli_common import guard

ModelArg = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model folder. Default: the shipped model."),
]
OutArg = Annotated[Path, typer.Option("--out", "-o", help="Folder to write (replaced whole).")]
OpsetArg = Annotated[int, typer.Option(help="ONNX opset (>= 17).")]


def register(app: typer.Typer) -> None:
    export = typer.Typer(help="Export a model for onnxruntime or fastembed.", no_args_is_help=True)
    app.add_typer(export, name="export")

    @export.command("onnx")
    @guard
    def export_onnx_cmd(
        out: OutArg,
        model: ModelArg = None,
        quantize: Annotated[
            bool,
            typer.Option(help="Also write backbone/onnx/model_qint8.onnx (int8 weights)."),
        ] = True,
        per_channel: Annotated[
            bool,
            typer.Option(help="One int8 scale per output channel (per-tensor loses more)."),
        ] = True,
        quantize_embeddings: Annotated[
            bool,
            typer.Option(help="Store the embedding tables int8 too (a third of MiniLM's size)."),
        ] = True,
        heads_dtype: Annotated[
            str, typer.Option(help="Heads storage: float32, float16 or int8.")
        ] = "float16",
        opset: OpsetArg = 17,
    ) -> None:
        """Write a self-contained model folder that loads with backend="onnx"."""
        from minicoil.cli import load_model
        from minicoil.export import export_onnx

        if heads_dtype not in ("float32", "float16", "int8"):
            raise ValueError(f"--heads-dtype must be float32, float16 or int8, got {heads_dtype!r}")
        mc = load_model(model)
        if mc.config.vocab_size == 0:
            raise ValueError("the model has no heads (plain BM25): nothing to export")
        folder = export_onnx(
            mc,
            out,
            quantize=quantize,
            per_channel=per_channel,
            quantize_embeddings=quantize_embeddings,
            heads_dtype=heads_dtype,  # type: ignore[arg-type]
            opset=opset,
        )
        for graph in sorted((folder / "backbone" / "onnx").glob("*.onnx")):
            size = graph.stat().st_size / 2**20
            typer.echo(f"{graph}  {size:.1f} MiB")
        typer.echo(f"load with MiniCOIL.from_pretrained({str(folder)!r}, backend='onnx')")

    @export.command("fastembed")
    @guard
    def export_fastembed_cmd(out: OutArg, model: ModelArg = None, opset: OpsetArg = 17) -> None:
        """Write a folder for fastembed: SparseTextEmbedding("Qdrant/minicoil-v1",
        specific_model_path=OUT, avg_len=...)."""
        from minicoil.cli import load_model
        from minicoil.export import export_fastembed

        mc = load_model(model)
        if mc.config.vocab_size == 0:
            raise ValueError("the model has no heads (plain BM25): nothing to export")
        folder = export_fastembed(mc, out, opset=opset)
        typer.echo(f"wrote {folder}; see {folder / 'README.md'} for usage and differences")
