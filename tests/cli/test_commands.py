"""Commands whose checks run before any model or engine: serve, push, collections, explain."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from minicoil.cli import app

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_serve_and_push_refuse_a_missing_collection_listing_what_exists(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for name in ("alpha", "beta"):  # what the store module counts as a collection
        (store / name / "shard").mkdir(parents=True)
        (store / name / "minicoil.json").write_text('{"format": "minicoil-collection"}', "utf-8")
    serve = one_line_error(invoke("serve", "--collection", "gamma", "--path", store))
    assert "'gamma' not found" in serve and "alpha, beta" in serve
    push = invoke("push", "--collection", "gamma", "--qdrant-url", "http://x:1", "--path", store)
    assert "alpha, beta" in one_line_error(push)


def test_collections_lists_names_and_sizes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (store / "docs" / "shard").mkdir(parents=True)
    (store / "docs" / "minicoil.json").write_text(
        '{"format": "minicoil-collection", "corpus": {"n_docs": 12, "avg_len": 7.5}}', "utf-8"
    )
    result = invoke("collections", "--path", store)
    assert result.exit_code == 0, result.output
    row = result.stdout.strip().splitlines()[-1].split()
    assert row == ["docs", "12", "7.50"]
    empty = invoke("collections", "--path", tmp_path / "none")
    assert empty.exit_code == 0 and "no collections" in empty.output


def test_an_old_local_mode_folder_is_one_clear_error(tmp_path: Path) -> None:
    old = tmp_path / "qdrant_data"
    (old / "collection").mkdir(parents=True)
    (old / "meta.json").write_text("{}", "utf-8")
    message = one_line_error(invoke("search", "bank", "--collection", "c", "--path", old))
    assert "older minicoil" in message
    assert "older minicoil" in one_line_error(invoke("collections", "--path", old))


def test_explain_checks_its_sources_first(tmp_path: Path) -> None:
    both = invoke(
        "explain", "q", "d", "--collection", "c", "--idf-corpus", tmp_path / "x.txt",
        "--path", tmp_path,
    )  # fmt: skip
    assert "not both" in one_line_error(both)
    missing = invoke("explain", "q", "d", "--idf-corpus", tmp_path / "x.txt")
    assert "file not found" in one_line_error(missing)
    no_collection = invoke("explain", "q", "d", "--collection", "c", "--path", tmp_path)
    assert "'c' not found" in one_line_error(no_collection)
    assert "--avg-len" in one_line_error(invoke("explain", "q", "d", "--avg-len", "0"))
