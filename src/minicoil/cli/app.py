"""The ``minicoil`` command tree: every command, registered from its group's module.

Commands are plain top-level functions in ``encode``, ``search``, ``serve``, ``evaluate``,
``train`` and ``export``; this module only names them. Nothing heavy is imported here or
there, so ``minicoil --help`` and usage errors answer at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

from minicoil.cli.encode import encode, info
from minicoil.cli.evaluate import benchmark, eval_wic, explain, plot
from minicoil.cli.export import export_app
from minicoil.cli.search import collections, index, push, search
from minicoil.cli.serve import serve
from minicoil.cli.train import (
    convert,
    encode_samples,
    fit_heads,
    sample,
    sentences,
    train,
    vocab,
)

app = typer.Typer(
    name="minicoil",
    help="Train, encode with, search with and evaluate miniCOIL sparse retrieval models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # the guard reports expected errors; a bug shows plainly
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"minicoil {version('minicoil')}")
        raise typer.Exit()


@app.callback()
def main_options(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Train, encode with, search with and evaluate miniCOIL sparse retrieval models."""


for command in (
    encode,
    info,
    index,
    search,
    collections,
    push,
    serve,
    benchmark,
    explain,
    plot,
    train,
    convert,
    sentences,
    vocab,
    sample,
):
    app.command()(command)
app.command("eval-wic")(eval_wic)
app.command("encode-samples")(encode_samples)
app.command("fit-heads")(fit_heads)
app.add_typer(export_app, name="export")


def main() -> None:  # pragma: no cover - the console script
    app()
