"""`minicoil index` and `minicoil search` end to end on the tiny BEIR fixture."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
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
    """The ``--json`` hits as (rank, id, score)."""
    rows = [json.loads(line) for line in output.strip().splitlines()]
    return [(row["rank"], row["id"], row["score"]) for row in rows]


def test_index_then_search_every_mode(model_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "q"
    common = ("--collection", "beir", "--model", model_dir, "--path", store, "--backend", "torch")
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
            "--fusion", fusion, "--top-k", "3", "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = parse(result.stdout)
        assert 1 <= len(rows) <= 3
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert {r[1] for r in rows} <= BEIR_IDS
    bm25 = parse(
        invoke("search", "python programming language", *common, "--mode", "bm25", "--json").stdout
    )
    assert bm25[0][1] == "d1"  # the only document with all three words
    floored = invoke(
        "search", "python programming language", *common, "--mode", "hybrid",
        "--fusion", "weighted", "--floor", "0.5", "-k", "3", "--json",
    )  # fmt: skip
    assert floored.exit_code == 0, floored.output
    assert {r[1] for r in parse(floored.stdout)} <= BEIR_IDS
    bad = invoke("search", "python", *common, "--fusion", "weighted", "--floor", "1.5")
    assert bad.exit_code == 2 and "floor" in bad.output


def test_search_prints_title_and_snippet_per_hit(model_dir: Path, tmp_path: Path) -> None:
    common = ("--collection", "beir", "--model", model_dir, "--path", tmp_path / "q")
    torch_backend = ("--backend", "torch")
    assert invoke("index", "--data", BEIR, *common, *torch_backend, "--quiet").exit_code == 0
    text = invoke("search", "python language", *common, *torch_backend, "--mode", "bm25", "-k", "2")
    assert text.exit_code == 0, text.output
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 2
    rank, doc_id, score, rest = lines[0].split(maxsplit=3)
    assert (rank, doc_id) == ("1", "d1") and float(score) > 0
    assert rest == "Python (programming language) — Python is a high-level programming language."
    assert "\x1b[" not in text.stdout  # not a terminal: no colour codes
    as_json = invoke("search", "python language", *common, *torch_backend, "--mode", "bm25",
                     "-k", "1", "--json")  # fmt: skip
    record = json.loads(as_json.stdout)
    assert record["id"] == "d1" and record["rank"] == 1
    assert record["title"] == "Python (programming language)"
    assert record["text"] == "Python is a high-level programming language."


def test_default_backend_is_the_int8_graph(model_dir: Path, tmp_path: Path) -> None:
    common = ("--collection", "beir", "--model", model_dir, "--path", tmp_path / "q")
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    result = invoke("search", "python programming language", *common, "--mode", "bm25", "--json")
    assert result.exit_code == 0, result.output
    assert parse(result.stdout)[0][1] == "d1"
    graphs = list(tmp_path.rglob("*.onnx"))
    assert graphs and any("int8" in g.name for g in graphs), graphs


def test_plain_text_corpus_uses_line_numbers(model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "docs.txt"
    corpus.write_text("the river bank\n\nmoney in the bank\nbats live in caves\n", "utf-8")
    common = ("--collection", "txt", "--model", model_dir, "--path", tmp_path / "q")
    common += ("--backend", "torch")
    assert invoke("index", "--data", corpus, *common, "--quiet").exit_code == 0
    result = invoke("search", "caves", *common, "--mode", "bm25", "--json")
    assert [(rank, doc_id) for rank, doc_id, _ in parse(result.stdout)] == [(1, "4")]


def test_default_store_is_the_user_data_folder(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    common = ("--collection", "beir", "--model", model_dir, "--backend", "torch")
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    listed = invoke("collections")
    assert listed.exit_code == 0, listed.output
    assert "beir" in listed.stdout and "8" in listed.stdout
    assert str(tmp_path / "data") in listed.stdout
    assert invoke("search", "python", *common, "--json").exit_code == 0


def assert_one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith("error: ")


def test_errors_are_one_line(model_dir: Path, tmp_path: Path, wordpiece_backbone: Backbone) -> None:
    store = ("--path", tmp_path / "q")
    missing = ("search", "x", "--collection", "none", "--model", model_dir, *store)
    assert_one_line_error(invoke(*missing), "no collections in")
    assert not (tmp_path / "q").exists()
    assert_one_line_error(
        invoke("index", "--data", tmp_path / "missing", "--collection", "c", *store),
        "file not found",
    )
    common = ("--collection", "beir", "--model", model_dir, *store, "--backend", "torch")
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    assert_one_line_error(invoke(*missing), "'none' not found")
    assert "it holds: beir" in invoke(*missing).output
    assert_one_line_error(invoke("search", "x", *common, "--mode", "splade"), "--mode must be")
    assert_one_line_error(invoke("search", "x", *common, "--fusion", "max"), "--fusion must be")
    assert_one_line_error(invoke("search", "x", *common, "--backend", "gpu"), "--backend must be")
    assert_one_line_error(
        invoke("search", "x", "--collection", "beir", "--model", tmp_path / "nope", *store),
        "model folder not found",
    )
    other = tmp_path / "other"
    random_model(wordpiece_backbone, seed=3).save_pretrained(other)
    assert_one_line_error(
        invoke("search", "python", "--collection", "beir", "--model", other, *store,
               "--backend", "torch"),
        "another model",
    )  # fmt: skip


def test_stopword_query_gets_a_clear_message(model_dir: Path, tmp_path: Path) -> None:
    common = ("--collection", "beir", "--model", model_dir, "--path", tmp_path / "q")
    common += ("--backend", "torch")
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    for mode in ("sparse", "bm25"):
        result = invoke("search", "the of and", *common, "--mode", mode)
        assert_one_line_error(result, "only stopwords")
    assert_one_line_error(invoke("search", "  ", *common), "the query is empty")
    dense = invoke("search", "the of and", *common, "--mode", "dense", "--json")
    assert dense.exit_code == 0 and parse(dense.stdout)  # a dense query still has a meaning


def test_an_ambiguous_corpus_is_refused_naming_the_file(model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "records.jsonl"
    corpus.write_text('{"name": "a", "body": "river bank"}\n', "utf-8")
    result = invoke(
        "index", "--data", corpus, "--collection", "c", "--path", tmp_path / "q",
        "--model", model_dir,
    )  # fmt: skip
    assert_one_line_error(result, "records.jsonl")
    assert not (tmp_path / "q").exists()


def test_push_to_an_unreachable_server_is_one_line(model_dir: Path, tmp_path: Path) -> None:
    store = ("--path", tmp_path / "q")
    common = ("--collection", "beir", "--model", model_dir, *store, "--backend", "torch")
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    result = invoke("push", "--collection", "beir", *store, "--qdrant-url", "http://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output


def test_explain_takes_idf_and_avg_len_from_a_collection(model_dir: Path, tmp_path: Path) -> None:
    common = ("--collection", "beir", "--model", model_dir, "--path", tmp_path / "q")
    assert invoke("index", "--data", BEIR, *common, "--backend", "torch", "--quiet").exit_code == 0
    query = "python programming language"
    hits = parse(invoke("search", query, *common, "--backend", "torch", "--json").stdout)
    score = dict((doc_id, s) for _, doc_id, s in hits)["d1"]
    document = "Python (programming language) Python is a high-level programming language."
    result = invoke("explain", query, document, *common, "--json")
    assert result.exit_code == 0, result.output
    explained = json.loads(result.stdout)
    assert "collection 'beir'" in explained["idf_source"]
    assert explained["total"] == pytest.approx(score, rel=1e-4)


def test_serve_answers_searches_over_http(model_dir: Path, tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    store = tmp_path / "q"
    common = ("--collection", "beir", "--model", model_dir, "--path", store, "--backend", "torch")
    assert invoke("index", "--data", BEIR, *common, "--quiet").exit_code == 0
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "minicoil.cli", "serve", *map(str, common)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/search", params={"q": "python language"}, timeout=5
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.5)
        assert answer.status_code == 200, answer.text
        assert "d1" in answer.text
    finally:
        server.terminate()
        server.wait(timeout=30)
