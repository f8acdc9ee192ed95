"""Evaluation commands of the ``minicoil`` CLI: ``benchmark`` a model on a BEIR folder,
``eval-wic`` (word senses), ``explain`` (one score, word by word) and ``plot`` (one word's
meanings).

Commands are thin wrappers over :mod:`minicoil.eval`; they only parse options, print a small
table and turn expected failures into one ``error:`` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from minicoil.cli_common import (
    FloorOption,
    FusionOption,
    WeightOption,
    display_path,
    format_columns,
    guard,
)
from minicoil.search.fusion import HYBRID_FLOOR, HYBRID_FUSION, HYBRID_WEIGHT


def format_table(results: dict[str, Any]) -> str:
    """The metrics (and median latency) as a fixed-width table, one system per row; the
    fusion variants (every fusion of miniCOIL or BM25 with dense, untimed) follow."""
    systems: dict[str, dict[str, float]] = results["systems"]
    metrics = list(results["settings"]["metrics"])
    latency = results.get("timing", {}).get("queries", {}).get("latency", {})
    header = ["system", *metrics, "p50 ms"]
    rows = [header]
    variants: dict[str, dict[str, float]] = results.get("fusion_variants", {})
    for name, values in [*systems.items(), *variants.items()]:
        p50 = latency.get(name, {}).get("p50_ms")
        rows.append(
            [
                name,
                *(f"{values[m]:.4f}" for m in metrics),
                f"{p50:.1f}" if p50 is not None else "-",
            ]
        )
    return format_columns(rows, min_width=8)


def hybrid_label(settings: dict[str, Any]) -> str:
    """The hybrid's name with its fusion, e.g. ``hybrid (weighted, floor 0.75, w 3)``: a
    recorded score is only comparable with one of the same fusion."""
    fusion = settings["fusion"]
    if fusion != "weighted":
        return f"hybrid ({fusion})"
    return f"hybrid (weighted, floor {settings['floor']:g}, w {settings['weight']:g})"


def recorded_systems(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The rows ``benchmark --record`` stores: the systems, the hybrid named by its fusion."""
    label = hybrid_label(results["settings"])
    return {
        label if name == "hybrid" else name: metrics for name, metrics in results["systems"].items()
    }


def wic_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The representations WiC compares, by display name: one naming for the printed table
    and the rows ``--record`` writes into the model card."""
    methods = results["methods"]
    raw, meaning, rand = methods["raw"], methods["meaning"], methods["random4"]
    return {
        f"raw {raw['dim']}-d token vectors": raw,
        f"{meaning['dim']}-d meanings, all pairs (no head = same sense)": meaning,
        f"{meaning['dim']}-d meanings, pairs with a head": meaning["covered"],
        f"random {rand['dim']}-d projection (mean of {len(rand['per_seed'])} seeds)": rand,
    }


def format_wic_table(results: dict[str, Any]) -> str:
    """One row per representation: test accuracy, threshold (from train+dev), coverage."""
    rows = [["method", "test acc", "threshold", "coverage"]]
    for name, row in wic_rows(results).items():
        accuracy = row.get("test_accuracy")
        threshold = row.get("threshold")
        if "per_seed" in row:  # random projections: a mean over seeds, thresholds per seed
            shown = f"{accuracy:.4f} ± {row['std']:.4f}"
            threshold_text = "per seed"
        else:
            shown = f"{accuracy:.4f}" if accuracy is not None else "-"
            threshold_text = f"{threshold:+.4f}" if threshold is not None else "-"
        coverage = (
            f"{row['n_pairs']['test']} pairs" if "n_pairs" in row else f"{row['coverage']:.3f}"
        )
        rows.append([name, shown, threshold_text, coverage])
    return format_columns(rows)


def register(app: typer.Typer) -> None:
    """Add the ``benchmark``, ``eval-wic``, ``explain`` and ``plot`` commands to ``app``."""

    @app.command()
    @guard
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
        fusion: FusionOption = HYBRID_FUSION,
        weight: WeightOption = HYBRID_WEIGHT,
        floor: FloorOption = HYBRID_FLOOR,
        batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
        top_k: Annotated[int, typer.Option(min=1, help="Documents kept per query.")] = 100,
        quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
        record: Annotated[
            bool, typer.Option(help="Store the metrics in the model folder's config and card.")
        ] = False,
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
            floor=floor,
            output=output,
            runs_dir=runs_dir,
            progress=not quiet,
            model_label=(
                display_path(folder) if folder is not None else "plain BM25 (no model folder)"
            ),
        )
        label = hybrid_label(results["settings"])
        typer.echo(f"{results['dataset']} ({results['split']}), {label}")
        typer.echo(format_table(results))
        if record and folder is not None:
            from minicoil.card import record_evaluation

            record_evaluation(
                Path(folder), f"{results['dataset']} {results['split']}", recorded_systems(results)
            )
            typer.echo(f"recorded in {folder}/config.json and README.md", err=True)
        typer.echo(
            f"wrote {output}, {output.with_suffix('.png')} and run files in "
            f"{results['settings']['runs_dir']}",
            err=True,
        )

    @app.command("eval-wic")
    @guard
    def eval_wic(
        data: Annotated[
            Path, typer.Option("--data", "-d", help="WiC folder (train/, dev/, test/).")
        ],
        model: Annotated[
            Path | None,
            typer.Option("--model", "-m", help="Model folder. Default: the shipped model."),
        ] = None,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="Also write the results as JSON.")
        ] = None,
        batch_size: Annotated[int, typer.Option(min=1, help="Sentences per forward pass.")] = 32,
        record: Annotated[
            bool, typer.Option(help="Store the accuracies in the model folder's config and card.")
        ] = False,
    ) -> None:
        """Word-in-Context accuracy of raw embeddings, the model's meanings and random 4-d
        projections (threshold chosen on train+dev, accuracy on test)."""
        from minicoil.cli import load_model
        from minicoil.defaults import default_model_path
        from minicoil.eval.wic import evaluate_wic
        from minicoil.io import atomic_file

        mc = load_model(model)
        results = evaluate_wic(mc, data, batch_size=batch_size)
        folder = model or default_model_path()
        if record and folder is not None:
            from minicoil.card import record_evaluation

            record_evaluation(
                Path(folder),
                "WiC test",
                {
                    name: {"accuracy": float(row["test_accuracy"])}
                    for name, row in wic_rows(results).items()
                    if row.get("test_accuracy") is not None
                },
            )
        n = results["n_pairs"]
        typer.echo(
            f"WiC: {n['train']} train, {n['dev']} dev, {n['test']} test pairs; "
            f"test majority rate {results['majority_test_accuracy']:.4f}"
        )
        typer.echo(format_wic_table(results))
        if output is not None:
            with atomic_file(output) as handle:
                json.dump(results, handle, indent=2)
            typer.echo(f"wrote {output}", err=True)

    @app.command()
    @guard
    def explain(
        query: Annotated[str, typer.Argument(help="The query.")],
        document: Annotated[str, typer.Argument(help="The document.")],
        model: Annotated[
            Path | None,
            typer.Option("--model", "-m", help="Model folder. Default: the shipped model."),
        ] = None,
        avg_len: Annotated[
            float | None,
            typer.Option(
                help="Corpus mean length in kept words. Default: the IDF corpus' mean, else "
                "the document's own length."
            ),
        ] = None,
        idf_corpus: Annotated[
            Path | None,
            typer.Option(
                help="Documents for IDF: one per line, or a BEIR corpus.jsonl. Without it "
                "every IDF is 1.0."
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
    ) -> None:
        """Split a document's score for a query into per-word IDF x tf x cos contributions."""
        from minicoil.cli import load_model
        from minicoil.eval.explain import explain as run_explain
        from minicoil.eval.explain import format_explanation
        from minicoil.eval.wordplot import iter_texts

        if avg_len is not None and avg_len <= 0:
            raise ValueError(f"--avg-len must be positive, got {avg_len}")
        mc = load_model(model)
        corpus = iter_texts(idf_corpus) if idf_corpus is not None else None
        result = run_explain(mc, query, document, avg_len=avg_len, corpus=corpus)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            typer.echo(format_explanation(result))

    @app.command()
    @guard
    def plot(
        word: Annotated[str, typer.Argument(help="The word whose meanings are drawn.")],
        data: Annotated[
            Path,
            typer.Option(
                "--data", "-d", help="Texts: one per line, or a BEIR corpus.jsonl (streamed)."
            ),
        ],
        model: Annotated[
            Path | None,
            typer.Option("--model", "-m", help="Model folder. Default: the shipped model."),
        ] = None,
        samples: Annotated[int, typer.Option(min=2, help="Texts to use at most.")] = 200,
        clusters: Annotated[int, typer.Option(min=1, help="k-means clusters.")] = 3,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="PNG path. Default: WORD.png.")
        ] = None,
        batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
    ) -> None:
        """Cluster one word's meaning vectors over sentences containing it and draw them."""
        from minicoil.cli import load_model
        from minicoil.eval.wordplot import plot_word

        mc = load_model(model)
        target = output or Path(f"{word.strip().lower() or 'word'}.png")
        result = plot_word(
            mc, word, data, target, samples=samples, clusters=clusters, batch_size=batch_size
        )
        summary = result.summary()
        typer.echo(
            f"{word} (stem {summary['stem']}, head {summary['vocab_id']}): "
            f"{summary['n_sentences']} texts, cluster sizes {summary['cluster_sizes']}"
        )
        for cluster, examples in summary["examples"].items():
            for text in examples:
                typer.echo(f"  [{int(cluster) + 1}] {text}")
        typer.echo(f"wrote {target}", err=True)
