"""The ``minicoil`` command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from minicoil.backbone import BackboneError
from minicoil.cli_common import fail, guard
from minicoil.cli_eval import register as register_eval
from minicoil.cli_export import register as register_export
from minicoil.cli_search import register as register_search
from minicoil.cli_train import register as register_training
from minicoil.config import ModelFormatError
from minicoil.defaults import default_model_path
from minicoil.heads import HeadsError

app = typer.Typer(
    name="minicoil",
    help="Train, encode with, search with and evaluate miniCOIL sparse retrieval models.",
    no_args_is_help=True,
    add_completion=False,
)

ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model folder. Default: the shipped model, or plain BM25 if none is installed.",
    ),
]


BackendOption = Annotated[
    str,
    typer.Option(
        help="Backbone runtime: torch, or onnx (a folder from `minicoil export onnx`); "
        "onnx-int8 runs its int8 graph."
    ),
]
BACKENDS = {
    "torch": ("torch", None),
    "onnx": ("onnx", None),
    "onnx-int8": ("onnx", "model_qint8.onnx"),
}


def load_model(path: Path | None, backend: str = "torch"):
    """Load a model folder, turning format problems into a one-line CLI error."""
    from minicoil.model import MiniCOIL

    if backend not in BACKENDS:
        raise fail(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    runtime, file_name = BACKENDS[backend]
    try:
        folder = path or default_model_path()
        if folder is None:
            return MiniCOIL.bm25()
        return MiniCOIL.from_pretrained(folder, backend=runtime, file_name=file_name)
    except (ModelFormatError, HeadsError, BackboneError) as exc:
        raise fail(str(exc)) from None


@app.command()
@guard
def encode(
    texts: Annotated[
        list[str] | None,
        typer.Argument(help="Texts to encode; none or '-' reads one per line from stdin."),
    ] = None,
    model: ModelOption = None,
    query: Annotated[
        bool, typer.Option("--query", "-q", help="Encode as queries (no tf).")
    ] = False,
    avg_len: Annotated[
        float | None,
        typer.Option(
            help="Corpus mean document length in kept words. Default: measured on the given texts."
        ),
    ] = None,
    dense: Annotated[
        bool, typer.Option(help="Also print the dense vector of the same pass.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    backend: BackendOption = "torch",
) -> None:
    """Print one JSON object per text: {"indices": [...], "values": [...]} (plus "dense")."""
    items = list(texts or [])
    if not items or items == ["-"]:
        items = [line.rstrip("\n") for line in sys.stdin]
    if not items:
        raise fail("no text given (pass TEXT arguments or lines on stdin)")
    mc = load_model(model, backend)
    if query:
        stream = (
            mc.encode_query(items, batch_size=batch_size, dense=True)
            if dense
            else ((v, None) for v in mc.encode_query(items, batch_size=batch_size))
        )
    else:
        if avg_len is None:
            stats = mc.fit(items)
            avg_len = stats.avg_len if stats.avg_len > 0 else 1.0
        elif avg_len <= 0:
            raise fail(f"--avg-len must be positive, got {avg_len}")
        stream = (
            mc.encode_document(items, batch_size=batch_size, avg_len=avg_len, dense=True)
            if dense
            else (
                (v, None) for v in mc.encode_document(items, batch_size=batch_size, avg_len=avg_len)
            )
        )
    for sparse, vector in stream:
        record = sparse.to_dict()
        if vector is not None:
            record["dense"] = [round(float(x), 6) for x in vector]
        typer.echo(json.dumps(record))


@app.command()
def info(model: ModelOption = None) -> None:
    """Describe a model folder: backbone, vocabulary size, dim, BM25 settings."""
    mc = load_model(model)
    summary = mc.config.to_dict()
    summary["folder"] = str(model or default_model_path() or "(plain BM25, no model folder)")
    typer.echo(json.dumps(summary, indent=2))


register_training(app)
register_search(app)
register_eval(app)
register_export(app)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
