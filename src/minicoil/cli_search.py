"""Search commands of the ``minicoil`` CLI: ``index`` a corpus into Qdrant, ``search`` it.

Both default to Qdrant's embedded local mode in ``./qdrant_data`` (nothing to install or run);
``--qdrant-url`` points the same commands at a server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from minicoil.cli_common import FloorOption, FusionOption, WeightOption, fail, guard_with
from minicoil.eval.beir import CORPUS_FILE, DatasetError, indexable_text, iter_corpus
from minicoil.search.fusion import HYBRID_FLOOR, HYBRID_FUSION, HYBRID_WEIGHT

Collection = Annotated[str, typer.Option("--collection", "-c", help="Qdrant collection name.")]
Url = Annotated[
    str | None, typer.Option("--qdrant-url", help="Qdrant server URL (default: local mode).")
]
StoragePath = Annotated[
    Path, typer.Option("--path", help="Local-mode storage folder (ignored with --qdrant-url).")
]
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model folder (the one the collection was built with). Default: the shipped model, "
        "or plain BM25 if none is installed.",
    ),
]
DEFAULT_STORAGE = Path("qdrant_data")


def _qdrant_errors() -> tuple[type[BaseException], ...]:
    """Qdrant client failures (unreachable server, rejected request); imported late to keep
    startup fast."""
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    return (ResponseHandlingException, UnexpectedResponse)


guard = guard_with(_qdrant_errors, prefix="Qdrant request failed: ")


def read_documents(source: Path) -> Iterator[tuple[str, str]]:
    """``(doc_id, text)`` pairs from a BEIR folder, a BEIR ``corpus.jsonl``, or a plain text
    file with one document per line (id = 1-based line number; blank lines are skipped but
    still counted, so ids match what an editor shows)."""
    if source.is_dir():
        source = source / CORPUS_FILE
    if not source.is_file():
        raise DatasetError(f"{source}: file not found")
    if source.suffix == ".jsonl":
        for doc_id, doc in iter_corpus(source):
            yield doc_id, indexable_text(doc)
        return
    try:
        with source.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield str(number), line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{source}: invalid UTF-8 ({exc.reason})") from None


def _open_index(model_path: Path | None, collection: str, url: str | None, path: Path):
    from minicoil.cli import load_model
    from minicoil.search.qdrant import SearchIndex

    model = load_model(model_path)
    _ = model.backbone  # a broken backbone fails here, before a storage folder is created
    return SearchIndex(model, collection, path=path, url=url)


def register(app: typer.Typer) -> None:
    """Add the ``index`` and ``search`` commands to ``app``."""

    @app.command()
    @guard
    def index(
        data: Annotated[
            Path,
            typer.Option(
                "--data", "-d", help="BEIR folder, BEIR corpus.jsonl, or text file (one doc/line)."
            ),
        ],
        collection: Collection,
        model: ModelOption = None,
        qdrant_url: Url = None,
        path: StoragePath = DEFAULT_STORAGE,
        batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
        recreate: Annotated[
            bool, typer.Option(help="Drop the collection first (e.g. to change the model).")
        ] = False,
        quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    ) -> None:
        """Encode a corpus once (miniCOIL, BM25 and dense vectors) and upsert it into Qdrant.

        Re-running is idempotent: point ids derive from document ids.
        """
        documents = list(read_documents(data))
        if not documents:
            raise fail(f"{data / CORPUS_FILE if data.is_dir() else data}: no documents")
        with _open_index(model, collection, qdrant_url, path) as search_index:
            report = search_index.index(
                documents, batch_size=batch_size, recreate=recreate, progress=not quiet
            )
        where = qdrant_url or str(path)
        typer.echo(
            f"indexed {report.indexed} documents into {collection!r} at {where} "
            f"({report.points} points, avg_len {report.avg_len:.2f})",
            err=True,
        )

    @app.command()
    @guard
    def search(
        query: Annotated[str, typer.Argument(help="Query text.")],
        collection: Collection,
        model: ModelOption = None,
        qdrant_url: Url = None,
        path: StoragePath = DEFAULT_STORAGE,
        mode: Annotated[str, typer.Option(help="sparse, bm25, dense or hybrid.")] = "sparse",
        fusion: FusionOption = HYBRID_FUSION,
        weight: WeightOption = HYBRID_WEIGHT,
        floor: FloorOption = HYBRID_FLOOR,
        limit: Annotated[int, typer.Option(min=1, help="Results to print.")] = 10,
    ) -> None:
        """Print the top documents as tab-separated rank, document id and score."""
        if qdrant_url is None and not path.is_dir():  # opening would create an empty storage
            raise fail(f"no Qdrant storage at {path} (build one with `minicoil index`)")
        with _open_index(model, collection, qdrant_url, path) as search_index:
            hits = search_index.search(
                query,
                mode=mode,  # type: ignore[arg-type]
                fusion=fusion,  # type: ignore[arg-type]
                weight=weight,
                floor=floor,
                limit=limit,
            )
        for rank, hit in enumerate(hits, start=1):
            typer.echo(f"{rank}\t{hit.doc_id}\t{hit.score:.6f}")
