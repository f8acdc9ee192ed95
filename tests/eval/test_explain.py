"""``explain``: the per-word rows add up to the score Qdrant would compute from the vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from minicoil import MiniCOIL
from minicoil.cli import app
from minicoil.eval.explain import explain, format_explanation
from minicoil.search.exact import ExactSparse

runner = CliRunner()

QUERY = "river bank flooded after rain"
DOC = "The bank of the river was flooded; the river bank flooded again after the spring rain."
CORPUS = [
    "She deposited money at the bank.",
    "The river was flooded after the rain.",
    "A bat flew out of the cave.",
    DOC,
]


def test_total_equals_dot_product_without_idf(tiny_model: MiniCOIL) -> None:
    result = explain(tiny_model, QUERY, DOC, avg_len=9.0)
    q = next(tiny_model.encode_query(QUERY))
    d = next(tiny_model.encode_document(DOC, avg_len=9.0))
    assert result.total == pytest.approx(q.dot(d), rel=1e-6)
    assert "1.0" in result.idf_source
    by_stem = {w.stem: w for w in result.words}
    assert set(by_stem) == {"river", "bank", "flood", "rain"}
    assert by_stem["bank"].vocab_id == tiny_model.vocab.id("bank") and by_stem["bank"].count == 2
    assert -1.0 - 1e-6 <= by_stem["river"].cosine <= 1.0 + 1e-6
    for w in result.words:
        assert w.idf == 1.0
        assert w.contribution == pytest.approx(w.idf * w.tf * w.cosine, rel=1e-5, abs=1e-7)
    assert "total score" in format_explanation(result)


def test_oov_words_score_as_bm25(tiny_model: MiniCOIL) -> None:
    result = explain(tiny_model, QUERY, DOC)
    flood = next(w for w in result.words if w.stem == "flood")
    assert flood.vocab_id is None and flood.cosine == 1.0
    assert flood.contribution == pytest.approx(flood.tf)
    assert flood.doc_forms == ["flooded"] and flood.query_forms == ["flooded"]
    assert result.avg_len == result.doc_len  # no corpus: the document's own length
    assert result.to_dict()["words"][0]["vocab_id"] in ("oov", *range(1, 100))


def test_plain_bm25_model(wordpiece_backbone) -> None:
    bm25 = MiniCOIL.bm25(wordpiece_backbone)
    result = explain(bm25, QUERY, DOC, avg_len=12.0)
    q, d = next(bm25.encode_query(QUERY)), next(bm25.encode_document(DOC, avg_len=12.0))
    assert all(w.vocab_id is None for w in result.words)
    assert result.total == pytest.approx(q.dot(d), rel=1e-6)


def test_idf_from_corpus_matches_qdrant_formula(tiny_model: MiniCOIL) -> None:
    result = explain(tiny_model, QUERY, DOC, corpus=iter(CORPUS))
    stats = tiny_model.fit(CORPUS)
    assert result.avg_len == pytest.approx(stats.avg_len)
    index = ExactSparse.build(list(tiny_model.encode_document(CORPUS, avg_len=stats.avg_len)))
    q = next(tiny_model.encode_query(QUERY))
    d = next(tiny_model.encode_document(DOC, avg_len=stats.avg_len))
    idf = dict(zip(index.columns.tolist(), index.idf.tolist(), strict=True))
    expected = sum(
        qv * idf[i] * d.as_dict()[i] for i, qv in q.as_dict().items() if i in d.as_dict()
    )
    assert result.total == pytest.approx(expected, rel=1e-6)
    bank = next(w for w in result.words if w.stem == "bank")
    assert bank.idf == pytest.approx(np.log((4 - 2 + 0.5) / (2 + 0.5) + 1))
    assert "4 documents" in result.idf_source


def test_cli_explain(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", "utf-8")
    result = runner.invoke(
        app, ["explain", "-m", str(tmp_path / "m"), "--idf-corpus", str(corpus), QUERY, DOC]
    )
    assert result.exit_code == 0, result.output
    assert "bank" in result.output and "oov" in result.output and "total score" in result.output
    bad = runner.invoke(app, ["explain", "-m", str(tmp_path / "m"), "--avg-len", "0", "a", "b"])
    assert bad.exit_code == 2 and "avg-len" in bad.output


def test_idf_from_collection_equals_the_search_score(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    from minicoil.search import SearchIndex

    docs = {f"d{i}": text for i, text in enumerate(CORPUS)}
    with SearchIndex(tiny_model, "c", path=tmp_path) as index:
        index.index(docs, progress=False)
        result = explain(tiny_model, QUERY, DOC, index=index)
        score = {h.doc_id: h.score for h in index.search(QUERY, mode="sparse", limit=10)}
        assert result.total == pytest.approx(score["d3"], rel=1e-4)
        assert result.avg_len == pytest.approx(index.avg_len)
        assert "collection 'c' of 4 documents" in result.idf_source
        bank = next(w for w in result.words if w.stem == "bank")
        assert bank.idf == pytest.approx(np.log((4 - 2 + 0.5) / (2 + 0.5) + 1), rel=1e-5)
        assert result.to_dict()["idf_source"] == result.idf_source
        with pytest.raises(ValueError, match="not both"):
            explain(tiny_model, QUERY, DOC, index=index, corpus=CORPUS)


def test_explain_refuses_avg_len_zero(tiny_model: MiniCOIL) -> None:
    with pytest.raises(ValueError, match="avg_len must be positive"):
        explain(tiny_model, QUERY, DOC, avg_len=0.0)
