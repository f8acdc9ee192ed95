"""`minicoil index` and `minicoil search` end to end on the tiny BEIR fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from minicoil import Backbone, MiniCOIL
from minicoil.cli import app
from tests.conftest import random_model

BEIR = Path(__file__).resolve().parents[1] / "fixtures" / "beir-tiny"
BEIR_IDS = {f"d{i}" for i in range(1, 9)}
runner = CliRunner()


@pytest.fixture
def model_dir(tiny_model: MiniCOIL, tmp_path: Path) -> Path:
    tiny_model.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def parse(output: str) -> list[tuple[int, str, float]]:
    rows = [line.split("\t") for line in output.strip().splitlines()]
    return [(int(rank), doc_id, float(score)) for rank, doc_id, score in rows]


def test_index_then_search_every_mode(model_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "q"
    common = ("--collection", "beir", "--model", model_dir, "--path", store)
    first = invoke("index", "--data", BEIR, *common, "--quiet")
    assert first.exit_code == 0, first.output
    assert "indexed 8 documents" in first.output
    again = invoke("index", "--data", BEIR / "corpus.jsonl", *common, "--quiet")
    assert again.exit_code == 0 and "(8 points" in again.output
    for mode, fusion in [("sparse", "rrf"), ("bm25", "rrf"), ("dense", "rrf")] + [
        ("hybrid", f) for f in ("rrf", "dbsf", "weighted")
    ]:
        result = invoke(
            "search", "python programming language", *common, "--mode", mode,
            "--fusion", fusion, "--limit", "3",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = parse(result.stdout)
        assert 1 <= len(rows) <= 3
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert {r[1] for r in rows} <= BEIR_IDS
    bm25 = parse(invoke("search", "python programming language", *common, "--mode", "bm25").stdout)
    assert bm25[0][1] == "d1"  # the only document with all three words
    floored = invoke(
        "search", "python programming language", *common, "--mode", "hybrid",
        "--fusion", "weighted", "--floor", "0.5", "--limit", "3",
    )  # fmt: skip
    assert floored.exit_code == 0, floored.output
    assert {r[1] for r in parse(floored.stdout)} <= BEIR_IDS
    bad = invoke("search", "python", *common, "--fusion", "weighted", "--floor", "1.5")
    assert bad.exit_code == 2 and "floor" in bad.output


def test_plain_text_corpus_uses_line_numbers(model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "docs.txt"
    corpus.write_text("the river bank\n\nmoney in the bank\nbats live in caves\n", "utf-8")
    common = ("--collection", "txt", "--model", model_dir, "--path", tmp_path / "q")
    assert invoke("index", "--data", corpus, *common, "--quiet").exit_code == 0
    result = invoke("search", "caves", *common, "--mode", "bm25")
    assert [(rank, doc_id) for rank, doc_id, _ in parse(result.stdout)] == [(1, "4")]


def assert_one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    # exactly one error line, last (a backbone load may print its own progress bar before it)
    lines = result.output.strip().splitlines()
    assert [line for line in lines if line.startswith("error: ")] == [lines[-1]]


def test_errors_are_one_line(model_dir: Path, tmp_path: Path, wordpiece_backbone: Backbone) -> None:
    store = ("--path", tmp_path / "q")
    missing = ("search", "x", "--collection", "none", "--model", model_dir, *store)
    assert_one_line_error(invoke(*missing), "no Qdrant storage at")
    assert not (tmp_path / "q").exists()
    assert_one_line_error(
        invoke("index", "--data", tmp_path / "missing", "--collection", "c", *store),
        "file not found",
    )
    common = ("--collection", "beir", "--model", model_dir, *store)
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    assert_one_line_error(invoke(*missing), "'none' not found")
    assert_one_line_error(invoke("search", "x", *common, "--mode", "splade"), "mode must be")
    other = tmp_path / "other"
    random_model(wordpiece_backbone, seed=3).save_pretrained(other)
    assert_one_line_error(
        invoke("search", "python", "--collection", "beir", "--model", other, *store),
        "another model",
    )
