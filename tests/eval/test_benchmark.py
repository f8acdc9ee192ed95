"""``minicoil benchmark`` on beir-tiny with the tiny random model: output shape, self-hits,
deterministic run files, the chart, fusion semantics and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from minicoil import MiniCOIL
from minicoil.cli import app
from minicoil.eval import evaluate, load_beir, read_trec_run
from minicoil.eval.beir import DatasetError, indexable_text
from minicoil.eval.benchmark import (
    METRICS,
    SYSTEMS,
    bm25_twin,
    default_runs_dir,
    run_benchmark,
)
from minicoil.eval.runs import rank_documents
from minicoil.search import fusion as fuse
from minicoil.search.exact import ExactDense, ExactSparse
from minicoil.search.hybrid import HYBRID_FLOOR, HYBRID_FUSION, HYBRID_WEIGHT

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _bench(data: Path, model: MiniCOIL, out: Path, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("plot", False)  # drawing is tested once; the rest stays fast
    return run_benchmark(data, model, output=out / "results.json", progress=False, **kwargs)


def _order(run: dict[str, float]) -> list[str]:
    return [doc_id for doc_id, _ in rank_documents(run)]


def test_results_json_has_the_documented_shape(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    results = _bench(beir_tiny, tiny_model, tmp_path)
    on_disk = json.loads((tmp_path / "results.json").read_text("utf-8"))
    assert on_disk == results
    assert set(results) == {
        "dataset",
        "split",
        "model",
        "systems",
        "fusion_variants",
        "timing",
        "settings",
    }
    variants = results["fusion_variants"]
    assert sorted(variants) == sorted(
        f"{side}+dense {f}" for side in ("minicoil", "bm25") for f in ("rrf", "dbsf", "weighted")
    )
    # the default hybrid is one of the variants, computed once
    assert variants[f"minicoil+dense {HYBRID_FUSION}"] == results["systems"]["hybrid"]
    assert (results["dataset"], results["split"]) == ("beir-tiny", "test")
    assert list(results["systems"]) == list(SYSTEMS) == ["bm25", "minicoil", "dense", "hybrid"]
    for metrics in results["systems"].values():
        assert list(metrics) == list(METRICS) == ["ndcg@10", "recall@100", "mrr@10"]
        assert all(0.0 <= value <= 1.0 for value in metrics.values())
    model = results["model"]
    assert model["vocab_size"] == tiny_model.config.vocab_size and model["kind"] == "minicoil"
    texts = [indexable_text(doc) for doc in load_beir(beir_tiny).corpus.values()]
    assert model["avg_len"] == pytest.approx(tiny_model.measure(texts).avg_len)
    corpus = results["timing"]["corpus"]
    assert corpus["docs"] == 8 and corpus["encode_s"] > 0 and corpus["docs_per_s"] > 0
    queries = results["timing"]["queries"]
    assert queries["count"] == 3 and list(queries["latency"]) == list(SYSTEMS)
    for latency in queries["latency"].values():
        assert 0 < latency["p50_ms"] <= latency["p95_ms"]
    settings = results["settings"]
    assert (settings["n_docs"], settings["n_queries"], settings["fusion"]) == (8, 3, HYBRID_FUSION)
    assert (settings["weight"], settings["floor"]) == (HYBRID_WEIGHT, HYBRID_FLOOR)
    assert settings["runs_dir"] == str(default_runs_dir(tmp_path / "results.json"))
    assert Path(settings["runs_dir"]).name == "results-runs"


def test_benchmark_does_not_change_the_models_corpus_stats(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    tiny_model.fit(["one short text", "another short text here"])
    before = tiny_model.corpus_stats
    _bench(beir_tiny, tiny_model, tmp_path)
    assert tiny_model.corpus_stats is before


def test_metrics_equal_an_evaluation_of_the_written_run_files(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    results = _bench(beir_tiny, tiny_model, tmp_path)
    qrels = load_beir(beir_tiny).qrels
    for system in SYSTEMS:
        run = read_trec_run(Path(results["settings"]["run_files"][system]))
        assert evaluate(qrels, run) == pytest.approx(results["systems"][system])


def test_run_files_are_deterministic_across_runs(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    first = _bench(beir_tiny, tiny_model, tmp_path / "a")
    second = _bench(beir_tiny, tiny_model, tmp_path / "b", runs_dir=tmp_path / "runs-b")
    for system in SYSTEMS:
        a = Path(first["settings"]["run_files"][system])
        b = Path(second["settings"]["run_files"][system])
        assert a.name == b.name == f"{system}.trec"
        assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 0
    assert b.parent == tmp_path / "runs-b"
    assert first["systems"] == second["systems"]


def test_chart_is_a_valid_png_next_to_the_output(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    image = pytest.importorskip("matplotlib.image")
    _bench(beir_tiny, tiny_model, tmp_path, plot=True)
    png = tmp_path / "results.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    pixels = image.imread(png)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temporary file behind


def test_self_hits_are_removed_and_the_depth_refilled(
    tiny_model: MiniCOIL, beir_copy: Path, tmp_path: Path
) -> None:
    # A query whose id is a document id and whose text is that document (as in Quora/ArguAna).
    d3 = load_beir(beir_copy).corpus["d3"]
    with (beir_copy / "queries.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"_id": "d3", "text": indexable_text(d3)}) + "\n")
    with (beir_copy / "qrels" / "test.tsv").open("a", encoding="utf-8") as handle:
        handle.write("d3\td4\t1\n")
    results = _bench(beir_copy, tiny_model, tmp_path, top_k=3)
    assert results["settings"]["self_hits_removed"]["bm25"] == 1  # it was the top BM25 hit
    for system in SYSTEMS:
        run = read_trec_run(Path(results["settings"]["run_files"][system]))
        assert "d3" in run and "d3" not in run["d3"], system
        assert all(len(docs) <= 3 for docs in run.values())
    dense = read_trec_run(Path(results["settings"]["run_files"]["dense"]))
    assert len(dense["d3"]) == 3  # one spare hit retrieved, so top_k survives the removal


def test_weighted_fusion_with_weight_zero_ranks_like_minicoil(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    results = _bench(beir_tiny, tiny_model, tmp_path, fusion="weighted", weight=0.0, floor=0.0)
    files = results["settings"]["run_files"]
    sparse = read_trec_run(Path(files["minicoil"]))
    hybrid = read_trec_run(Path(files["hybrid"]))
    assert sparse and set(sparse) <= set(hybrid)
    for qid, docs in sparse.items():
        order = _order(hybrid[qid])
        assert [d for d in order if d in docs] == _order(docs)
        positive = [d for d in _order(docs) if docs[d] > 0]
        assert order[: len(positive)] == positive  # dense-only candidates only fill in after
        scale = max(docs.values())
        for doc_id, score in docs.items():
            assert hybrid[qid][doc_id] == pytest.approx(score / scale)


def test_rrf_hybrid_is_the_fusion_of_the_minicoil_and_dense_runs(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    files = _bench(beir_tiny, tiny_model, tmp_path, fusion="rrf")["settings"]["run_files"]
    runs = {system: read_trec_run(Path(files[system])) for system in SYSTEMS}
    for qid, docs in runs["hybrid"].items():
        want = fuse.rrf([runs["minicoil"].get(qid, {}), runs["dense"][qid]], k=60)
        assert docs == pytest.approx(want)


def test_dbsf_hybrid_runs(tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path) -> None:
    results = _bench(beir_tiny, tiny_model, tmp_path, fusion="dbsf")
    assert results["settings"]["fusion"] == "dbsf"
    assert all(0.0 <= v <= 1.0 for v in results["systems"]["hybrid"].values())


def test_single_query_searchers_match_the_exact_scorers(
    tiny_model: MiniCOIL, beir_tiny: Path
) -> None:
    """The benchmark times queries one by one through the exact scorers' single-query sides;
    their hits must be exactly those of the batch search (proven to agree with Qdrant)."""
    texts = [indexable_text(doc) for doc in load_beir(beir_tiny).corpus.values()]
    tiny_model.fit(texts)
    encoded = list(tiny_model.encode_document(texts, dense=True))
    bm25 = bm25_twin(tiny_model)
    queries = ["python language", "bank deposit money", "the", "apple river bank jaguar"]
    for docs, encoder in (
        ([s for s, _ in encoded], tiny_model),
        (list(bm25.encode_document(texts, avg_len=tiny_model.corpus_stats.avg_len)), bm25),
    ):
        index = ExactSparse.build(docs)
        vectors = list(encoder.encode_query(queries))
        assert [index.side(q).top(5) for q in vectors] == index.search(vectors, 5)
    dense = ExactDense(np.stack([d for _, d in encoded]))
    dense_q = [d for _, d in tiny_model.encode_query(queries, dense=True)]
    # float32 BLAS may round one row differently from a block of rows: same order, same scores
    # up to the last bit
    single = [dense.side(q).top(5) for q in dense_q]
    for mine, theirs in zip(single, dense.search(dense_q, 5), strict=True):
        assert [p for p, _ in mine] == [p for p, _ in theirs]
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-6)


def test_bm25_twin_shares_words_and_never_needs_heads(tiny_model: MiniCOIL) -> None:
    twin = bm25_twin(tiny_model)
    assert twin.processor is tiny_model.processor
    assert (twin.config.k, twin.config.b, twin.config.vocab_size) == (
        tiny_model.config.k,
        tiny_model.config.b,
        0,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fusion": "max"}, "fusion"),
        ({"top_k": 0}, "top_k"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_settings_are_value_errors(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path, kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _bench(beir_tiny, tiny_model, tmp_path, **kwargs)
    assert not (tmp_path / "results.json").exists()


def test_missing_split_names_the_qrels_file(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    with pytest.raises(DatasetError, match=r"qrels.dev\.tsv"):
        _bench(beir_tiny, tiny_model, tmp_path, split="dev")


# --- command line -----------------------------------------------------------------------------


def test_cli_benchmark_prints_a_table_and_writes_everything(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    out = tmp_path / "out" / "bench.json"
    result = runner.invoke(
        app,
        [
            "benchmark",
            "--data",
            str(beir_tiny),
            "--model",
            str(tmp_path / "m"),
            "--output",
            str(out),
            "--fusion",
            "weighted",
            "--weight",
            "1.5",
            "--batch-size",
            "4",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("system"))
    assert all(metric in header for metric in METRICS)
    for system in SYSTEMS:
        assert any(line.startswith(system + " ") for line in lines), system
    results = json.loads(out.read_text("utf-8"))
    assert results["settings"]["fusion"] == "weighted" and results["settings"]["weight"] == 1.5
    assert results["settings"]["batch_size"] == 4
    assert results["model"]["name"] == str(tmp_path / "m")
    assert out.with_suffix(".png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in (tmp_path / "out" / "bench-runs").iterdir()) == sorted(
        f"{system}.trec" for system in SYSTEMS
    )


def test_cli_malformed_beir_folder_is_a_one_line_error(
    tiny_model: MiniCOIL, beir_copy: Path, tmp_path: Path
) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    corpus = beir_copy / "corpus.jsonl"
    lines = corpus.read_text("utf-8").splitlines()
    lines[1] = '{"_id": "d2", "text": '
    corpus.write_text("\n".join(lines) + "\n", "utf-8")
    result = runner.invoke(
        app,
        [
            "benchmark",
            "--data",
            str(beir_copy),
            "--model",
            str(tmp_path / "m"),
            "--output",
            str(tmp_path / "r.json"),
            "--quiet",
        ],
    )
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and f"{corpus}, line 2" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "r.json").exists()


def test_cli_bad_fusion_is_a_one_line_error(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    result = runner.invoke(
        app,
        [
            "benchmark",
            "-d",
            str(beir_tiny),
            "-m",
            str(tmp_path / "m"),
            "-o",
            str(tmp_path / "r.json"),
            "--fusion",
            "max",
        ],
    )
    assert result.exit_code == 2 and "error: fusion must be one of" in result.output


def test_cli_record_stores_the_metrics_in_the_model_folder(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from minicoil.cli import app
    from minicoil.config import MiniCOILConfig

    tiny_model.save_pretrained(tmp_path / "m")
    args = ["benchmark", "--data", str(beir_tiny), "--model", str(tmp_path / "m")]
    args += ["--output", str(tmp_path / "r.json"), "--quiet", "--record"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = MiniCOILConfig.load(tmp_path / "m").evaluation["beir-tiny test"]
    on_disk = json.loads((tmp_path / "r.json").read_text("utf-8"))["systems"]
    hybrid = f"hybrid (weighted, floor {HYBRID_FLOOR:g}, w {HYBRID_WEIGHT:g})"
    assert list(recorded) == ["bm25", "minicoil", "dense", hybrid]  # named by its fusion
    assert recorded[hybrid] == on_disk["hybrid"]
    assert all(recorded[name] == on_disk[name] for name in ("bm25", "minicoil", "dense"))
    card = (tmp_path / "m" / "README.md").read_text()
    assert "beir-tiny test" in card and hybrid in card
    # re-recording with another fusion replaces the rows of that benchmark, none goes stale
    result = CliRunner().invoke(app, [*args, "--fusion", "rrf"])
    assert result.exit_code == 0, result.output
    recorded = MiniCOILConfig.load(tmp_path / "m").evaluation["beir-tiny test"]
    assert list(recorded) == ["bm25", "minicoil", "dense", "hybrid (rrf)"]


def test_floor_one_turns_the_weighted_hybrid_into_bm25_plus_dense(
    tiny_model: MiniCOIL, beir_tiny: Path, tmp_path: Path
) -> None:
    results = _bench(beir_tiny, tiny_model, tmp_path, fusion="weighted", weight=1.5, floor=1.0)
    assert results["settings"]["floor"] == 1.0
    want = results["fusion_variants"]["bm25+dense weighted"]
    assert results["systems"]["hybrid"] == pytest.approx(want)
    assert results["fusion_variants"]["minicoil+dense weighted"] == pytest.approx(want)
    with pytest.raises(ValueError, match="floor"):
        _bench(beir_tiny, tiny_model, tmp_path, floor=-0.1)
