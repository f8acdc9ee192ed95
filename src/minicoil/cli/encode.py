"""``encode`` (texts to sparse vectors as JSON lines) and ``info`` (what a model folder holds)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from minicoil.cli.common import (
    BackendOption,
    BatchOption,
    ModelOption,
    check_avg_len,
    check_backend,
    check_model,
    fail,
    guard,
    load_model,
)


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
    batch_size: BatchOption = 32,
    backend: BackendOption = "torch",
) -> None:
    """Print one JSON object per text: {"indices": [...], "values": [...]} (plus "dense")."""
    if avg_len is not None:
        check_avg_len(avg_len)
    check_model(model)
    check_backend(backend)
    items = list(texts or [])
    if not items or items == ["-"]:
        items = [line.rstrip("\n") for line in sys.stdin]
    if not items:
        raise fail("no text given (pass TEXT arguments or lines on stdin)")
    mc = load_model(model, backend)
    if query:
        stream = mc.encode_query(items, batch_size=batch_size, dense=dense)
    else:
        if avg_len is None:
            mc.fit(items)  # the texts are the corpus: encode_document uses what fit measured
        stream = mc.encode_document(items, batch_size=batch_size, avg_len=avg_len, dense=dense)
    for item in stream:
        sparse, vector = item if dense else (item, None)
        record = sparse.to_dict()
        if vector is not None:
            record["dense"] = [round(float(x), 6) for x in vector]
        typer.echo(json.dumps(record))


@guard
def info(model: ModelOption = None) -> None:
    """Describe a model: backbone, vocabulary size, dim, BM25 settings."""
    from minicoil.cli.common import model_label

    mc = load_model(model, "torch")  # the config only: the backbone is never run
    summary = mc.config.to_dict()
    summary["folder"] = model_label(model)
    typer.echo(json.dumps(summary, indent=2))
