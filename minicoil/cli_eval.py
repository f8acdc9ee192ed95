"""Evaluation commands of the ``minicoil`` CLI: ``benchmark`` a model on a BEIR folder.

The command is a thin wrapper over :func:`minicoil.eval.benchmark.run_benchmark`; it only
parses options, prints a small table and turns expected failures into one ``error:`` line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _guard(fn: F) -> F:
    """Bad data (``DatasetError`` names file and line), bad options, unwritable output or a
    missing optional dependency become one ``error:`` line and exit code 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (ValueError, OSError, ImportError) as exc:
            lines = str(exc).strip().splitlines()
            raise _fail(lines[0] if lines else type(exc).__name__) from None

    return wrapper  # type: ignore[return-value]


def format_table(results: dict[str, Any]) -> str:
    """The metrics (and median latency) as a fixed-width table, one system per row."""
    systems: dict[str, dict[str, float]] = results["systems"]
    metrics = list(results["settings"]["metrics"])
    latency = results.get("timing", {}).get("queries", {}).get("latency", {})
    header = ["system", *metrics, "p50 ms"]
    widths = [max(8, len(h)) for h in header]
    rows = [header]
    for name, values in systems.items():
        p50 = latency.get(name, {}).get("p50_ms")
        rows.append(
            [
                name,
                *(f"{values[m]:.4f}" for m in metrics),
                f"{p50:.1f}" if p50 is not None else "-",
            ]
        )
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the ``benchmark`` command to ``app``."""

    @app.command()
    @_guard
    def benchmark(
        data: Annotated[
            Path, typer.Option("--data", "-d", help="BEIR folder (corpus, queries, qrels/).")
        ],
        model: Annotated[
            Path | None,
            typer.Option(
                "--model",
                "-m",
                help="Model folder. Default: the shipped model, or plain BM25 if none is "
                "installed.",
            ),
        ] = None,
        split: Annotated[str, typer.Option(help="Qrels split (qrels/<split>.tsv).")] = "test",
        output: Annotated[
            Path,
            typer.Option("--output", "-o", help="Results JSON; the chart goes next to it as .png."),
        ] = Path("results.json"),
        runs_dir: Annotated[
            Path | None,
            typer.Option(help="Folder for <system>.trec run files. Default: <output>-runs/."),
        ] = None,
        fusion: Annotated[str, typer.Option(help="Hybrid fusion: rrf, dbsf or weighted.")] = "rrf",
        weight: Annotated[float, typer.Option(help="Dense weight for --fusion weighted.")] = 3.0,
        batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
        top_k: Annotated[int, typer.Option(min=1, help="Documents kept per query.")] = 100,
        quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    ) -> None:
        """Evaluate BM25, miniCOIL, dense and hybrid retrieval on a BEIR split.

        Encodes the corpus once, scores exactly (Qdrant's formula, no database), and writes
        the metrics (ndcg@10, recall@100, mrr@10) and timings as JSON, a PNG chart, and TREC
        run files.
        """
        from minicoil.cli import load_model
        from minicoil.defaults import default_model_path
        from minicoil.eval.benchmark import run_benchmark

        mc = load_model(model)
        folder = model or default_model_path()
        results = run_benchmark(
            data,
            mc,
            split=split,
            batch_size=batch_size,
            top_k=top_k,
            weight=weight,
            fusion=fusion,
            output=output,
            runs_dir=runs_dir,
            progress=not quiet,
            model_label=str(folder) if folder is not None else "plain BM25 (no model folder)",
        )
        typer.echo(f"{results['dataset']} ({results['split']}), hybrid fusion {fusion}")
        typer.echo(format_table(results))
        typer.echo(
            f"wrote {output}, {output.with_suffix('.png')} and run files in "
            f"{results['settings']['runs_dir']}",
            err=True,
        )
