"""Evaluation commands: ``benchmark`` a model on a BEIR folder, ``eval-wic`` (word senses),
``explain`` (one score, word by word) and ``plot`` (one word's meanings).

Thin wrappers over :mod:`minicoil.eval`: they parse options, print a small table and let the
guard turn expected failures into one ``error:`` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from minicoil.cli.common import (
    BackendOption,
    BatchOption,
    FloorOption,
    FusionOption,
    ModelOption,
    QuietOption,
    StoreOption,
    TopKOption,
    WeightOption,
    check_avg_len,
    check_backend,
    check_model,
    fail,
    format_columns,
    guard,
    hybrid_settings,
    load_model,
    model_folder,
    model_label,
)


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



# Long only by its typer options (the signature is the command's --help); the body is short.
@guard
def benchmark(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="BEIR folder (corpus, queries, qrels/).")
    ],
    model: ModelOption = None,
    backend: BackendOption = "torch",
    split: Annotated[str, typer.Option(help="Qrels split (qrels/<split>.tsv).")] = "test",
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Results JSON; the chart goes next to it as .png."),
    ] = Path("results.json"),
    runs_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for <system>.trec run files. Default: <output>-runs/."),
    ] = None,
    fusion: FusionOption = None,
    weight: WeightOption = None,
    floor: FloorOption = None,
    batch_size: BatchOption = 32,
    top_k: TopKOption = 100,
    quiet: QuietOption = False,
    record: Annotated[
        bool, typer.Option(help="Store the metrics in the model folder's config and card.")
    ] = False,
) -> None:
    """Evaluate BM25, miniCOIL, dense and hybrid retrieval on a BEIR split.

    Encodes the corpus once, scores exactly (Qdrant's formula, no database), and writes the
    metrics (ndcg@10, recall@100, mrr@10) and timings as JSON, a PNG chart, and TREC run files.
    """
    if not data.is_dir():
        raise fail(f"{data}: BEIR folder not found")
    fusion, weight, floor = hybrid_settings(fusion, weight, floor)
    check_model(model)
    check_backend(backend)
    from minicoil.eval.benchmark import run_benchmark

    mc = load_model(model, backend)
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
        model_label=model_label(model),
    )
    label = hybrid_label(results["settings"])
    typer.echo(f"{results['dataset']} ({results['split']}), {label}")
    typer.echo(format_table(results))
    folder = model_folder(model)
    if record and folder is not None:
        from minicoil.card import record_evaluation

        record_evaluation(
            folder, f"{results['dataset']} {results['split']}", recorded_systems(results)
        )
        typer.echo(f"recorded in {folder}/config.json and README.md", err=True)
    typer.echo(
        f"wrote {output}, {output.with_suffix('.png')} and run files in "
        f"{results['settings']['runs_dir']}",
        err=True,
    )


@guard
def eval_wic(
    data: Annotated[Path, typer.Option("--data", "-d", help="WiC folder (train/, dev/, test/).")],
    model: ModelOption = None,
    backend: BackendOption = "torch",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the results as JSON.")
    ] = None,
    batch_size: BatchOption = 32,
    record: Annotated[
        bool, typer.Option(help="Store the accuracies in the model folder's config and card.")
    ] = False,
) -> None:
    """Word-in-Context accuracy of raw vectors, the model's meanings and random 4-d ones.

    The threshold is chosen on train+dev, the accuracy measured on test.
    """
    if not data.is_dir():
        raise fail(f"{data}: WiC folder not found")
    from minicoil.eval.wic import evaluate_wic
    from minicoil.io import atomic_file

    mc = load_model(model, backend)
    results = evaluate_wic(mc, data, batch_size=batch_size)
    folder = model_folder(model)
    if record and folder is not None:
        from minicoil.card import record_evaluation

        accuracies = {
            name: {"accuracy": float(row["test_accuracy"])}
            for name, row in wic_rows(results).items()
            if row.get("test_accuracy") is not None
        }
        record_evaluation(folder, "WiC test", accuracies)
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


@guard
def explain(
    query: Annotated[str, typer.Argument(help="The query.")],
    document: Annotated[str, typer.Argument(help="The document.")],
    model: ModelOption = None,
    avg_len: Annotated[
        float | None,
        typer.Option(
            help="Corpus mean length in kept words. Default: the collection's or IDF corpus' "
            "mean, else the document's own length."
        ),
    ] = None,
    idf_corpus: Annotated[
        Path | None,
        typer.Option(help="Documents for IDF: any corpus `minicoil index` reads."),
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="Take IDF and avg_len from this collection."),
    ] = None,
    path: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
) -> None:
    """Split a document's score for a query into per-word IDF x tf x cos contributions.

    Without --collection or --idf-corpus every IDF is reported as 1.0.
    """
    if avg_len is not None:
        check_avg_len(avg_len)
    if collection is not None and idf_corpus is not None:
        raise fail("give --collection or --idf-corpus, not both")
    if idf_corpus is not None and not idf_corpus.exists():
        raise fail(f"{idf_corpus}: file not found")
    store = None
    if collection is not None:
        from minicoil.cli.search import check_collection, store_path

        store = store_path(path)
        check_collection(store, collection)
    check_model(model)
    from minicoil.eval.explain import explain as run_explain
    from minicoil.eval.explain import format_explanation

    mc = load_model(model, "torch")
    if collection is not None:
        from minicoil.search import SearchIndex

        with SearchIndex(mc, collection, path=store) as index:
            result = run_explain(mc, query, document, avg_len=avg_len, index=index)
    else:
        corpus = None
        if idf_corpus is not None:
            from minicoil.data import read_corpus

            corpus = (doc.indexable_text for doc in read_corpus(idf_corpus))
        result = run_explain(mc, query, document, avg_len=avg_len, corpus=corpus)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(format_explanation(result))


@guard
def plot(
    word: Annotated[str, typer.Argument(help="The word whose meanings are drawn.")],
    data: Annotated[
        Path,
        typer.Option("--data", "-d", help="Texts: one per line, or a BEIR corpus.jsonl."),
    ],
    model: ModelOption = None,
    samples: Annotated[int, typer.Option(min=2, help="Texts to use at most.")] = 200,
    clusters: Annotated[
        int | None, typer.Option(min=1, help="k-means clusters. Default: chosen from the data.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG path. Default: WORD.png.")
    ] = None,
    batch_size: BatchOption = 32,
) -> None:
    """Cluster one word's meaning vectors over texts containing it and draw them."""
    if not data.exists():
        raise fail(f"{data}: file not found")
    check_model(model)
    from minicoil.eval.wordplot import plot_word

    mc = load_model(model, "torch")
    target = output or Path(f"{word.strip().lower() or 'word'}.png")
    result = plot_word(
        mc, word, data, target, samples=samples, clusters=clusters, batch_size=batch_size
    )
    summary = result.summary()
    typer.echo(
        f"{word} (stem {summary['stem']}, head {summary['vocab_id']}): "
        f"{summary['n_sentences']} texts, cluster sizes {summary['cluster_sizes']}"
    )
    labels: dict[str, Any] = summary.get("labels", {})
    for cluster, examples in summary["examples"].items():
        if labels.get(cluster):
            typer.echo(f"  [{int(cluster) + 1}] {', '.join(labels[cluster])}")
        for text in examples:
            typer.echo(f"  [{int(cluster) + 1}]   {text}")
    typer.echo(f"wrote {target}", err=True)
