"""Search commands: ``index`` a corpus, ``search`` it, list the ``collections``, ``push`` one
to a Qdrant server.

Collections live in the embedded store (Qdrant Edge, in-process) under the user data folder
unless ``--path`` names another one; ``--qdrant-url`` points index and search at a server.
Everything that can be checked without the model (options, corpus path, store, collection
name) is checked first: loading the model and the engine takes seconds, a typo should not.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated

import typer

from minicoil.cli.common import (
    BackendOption,
    BatchOption,
    CollectionOption,
    FloorOption,
    FusionOption,
    ModelOption,
    QdrantUrlOption,
    QuietOption,
    StoreOption,
    TopKOption,
    WeightOption,
    check_backend,
    check_model,
    fail,
    format_columns,
    guard_with,
    hybrid_settings,
    load_model,
)


def _qdrant_errors() -> tuple[type[BaseException], ...]:
    """Qdrant client failures (unreachable server, rejected request); imported only when a
    command fails, to keep startup fast."""
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    return (ResponseHandlingException, UnexpectedResponse)


guard = guard_with(_qdrant_errors, prefix="Qdrant request failed: ")


def store_path(path: Path | None) -> Path:
    """``--path``, else the per-user default store (independent of the working folder)."""
    from minicoil.search.store import default_store_path

    return path if path is not None else default_store_path()


def check_collection(store: Path, name: str) -> None:
    """Fail at once, listing what exists, when ``store`` holds no collection ``name``."""
    from minicoil.search.store import list_collections

    names = list_collections(store)
    if name in names:
        return
    if names:
        raise fail(f"collection {name!r} not found in {store}; it holds: {', '.join(names)}")
    raise fail(
        f"collection {name!r} not found: no collections in {store} "
        "(build one with `minicoil index`)"
    )


def check_search_options(mode: str, fusion: str) -> None:
    """Fail at once on a mode or fusion the index does not know."""
    from minicoil.search.hybrid import FUSIONS
    from minicoil.search.qdrant import MODES

    if mode not in MODES:
        raise fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if fusion not in FUSIONS:
        raise fail(f"--fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")


@guard
def index(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="Corpus: BEIR folder or JSONL, Pyserini JSONL, text (one document per line), "
            "a folder of .txt files, CSV/TSV or Parquet.",
        ),
    ],
    collection: CollectionOption,
    model: ModelOption = None,
    backend: BackendOption = "onnx-int8",
    qdrant_url: QdrantUrlOption = None,
    path: StoreOption = None,
    batch_size: BatchOption = 32,
    recreate: Annotated[
        bool, typer.Option(help="Drop the collection first (e.g. to change the model).")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Encode a corpus once (miniCOIL, BM25 and dense vectors) into a collection.

    Re-running is idempotent: point ids derive from document ids.
    """
    from minicoil.data import BEIR_CORPUS_FILE, read_corpus

    if not data.exists():
        raise fail(f"{data}: file not found")
    store = None if qdrant_url else store_path(path)
    check_model(model)
    documents = read_corpus(data)
    first = next(documents, None)  # the format is detected (or refused) before the model loads
    if first is None:
        beir = data / BEIR_CORPUS_FILE
        raise fail(f"{beir if beir.is_file() else data}: no documents")
    check_backend(backend)
    mc = load_model(model, backend)
    from minicoil.search import SearchIndex

    with SearchIndex(mc, collection, path=store, url=qdrant_url) as search_index:
        report = search_index.index(
            itertools.chain([first], documents),
            batch_size=batch_size,
            recreate=recreate,
            progress=not quiet,
        )
    typer.echo(
        f"indexed {report.indexed} documents into {collection!r} at {qdrant_url or store} "
        f"({report.points} points, avg_len {report.avg_len:.2f})",
        err=True,
    )


@guard
def search(
    query: Annotated[str, typer.Argument(help="Query text.")],
    collection: CollectionOption,
    model: ModelOption = None,
    backend: BackendOption = "onnx-int8",
    qdrant_url: QdrantUrlOption = None,
    path: StoreOption = None,
    mode: Annotated[str, typer.Option(help="sparse, bm25, dense or hybrid.")] = "sparse",
    fusion: FusionOption = None,
    weight: WeightOption = None,
    floor: FloorOption = None,
    top_k: TopKOption = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per hit (rank, id, score, title, text).")
    ] = False,
) -> None:
    """Print the best documents: rank, id, score, title and a snippet.

    In a terminal the query's matched words are marked; --json prints one object per hit.
    """
    from minicoil.cli.output import print_hits

    fusion, weight, floor = hybrid_settings(fusion, weight, floor)
    check_search_options(mode, fusion)
    if not query.strip():
        raise fail("the query is empty")
    store = None
    if not qdrant_url:
        store = store_path(path)
        check_collection(store, collection)
    check_model(model)
    check_backend(backend)
    mc = load_model(model, backend)
    if mode in ("sparse", "bm25") and not mc.processor.words(query):
        raise fail(
            f"the query {query!r} has no searchable words (only stopwords or punctuation); "
            "add content words, or use --mode dense"
        )
    from minicoil.search import SearchIndex

    with SearchIndex(mc, collection, path=store, url=qdrant_url) as search_index:
        hits = search_index.search(
            query,
            mode=mode,  # type: ignore[arg-type]
            fusion=fusion,  # type: ignore[arg-type]
            weight=weight,
            floor=floor,
            limit=top_k,
        )
    if not print_hits(hits, query, mc.processor, as_json=as_json):
        typer.echo(f"no document matches {query!r}", err=True)


@guard
def collections(path: StoreOption = None) -> None:
    """List the collections of the embedded store: name, documents, avg_len."""
    from minicoil.search.store import list_collections, read_collection_metadata

    store = store_path(path)
    names = list_collections(store)
    if not names:
        typer.echo(f"no collections in {store} (build one with `minicoil index`)", err=True)
        return
    rows = [["collection", "documents", "avg_len"]]
    for name in names:
        meta = read_collection_metadata(store, name) or {}
        corpus = meta.get("corpus", meta)  # the record keeps corpus statistics apart, or flat
        n_docs, avg_len = corpus.get("n_docs"), corpus.get("avg_len")
        rows.append(
            [
                name,
                str(n_docs) if n_docs is not None else "-",
                f"{avg_len:.2f}" if avg_len is not None else "-",
            ]
        )
    typer.echo(f"{store}:")
    typer.echo(format_columns(rows))


@guard
def push(
    collection: CollectionOption,
    qdrant_url: Annotated[str, typer.Option("--qdrant-url", help="The Qdrant server to fill.")],
    path: StoreOption = None,
    target: Annotated[
        str | None, typer.Option(help="Name on the server. Default: the same name.")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace a collection of that name on the server.")
    ] = False,
) -> None:
    """Copy a collection of the embedded store to a Qdrant server.

    Vectors, payload and metadata are copied as they are: no model runs. `minicoil search
    --qdrant-url URL` then searches it there.
    """
    store = store_path(path)
    check_collection(store, collection)
    from minicoil.search.push import push_collection

    points = push_collection(store, collection, url=qdrant_url, target=target, replace=replace)
    typer.echo(
        f"pushed {points} points of {collection!r} to {qdrant_url} as {target or collection!r}",
        err=True,
    )
