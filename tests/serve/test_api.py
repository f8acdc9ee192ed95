"""The JSON API over a tiny collection: every endpoint, bad parameters, limits, concurrency."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from minicoil.search.qdrant import SearchIndex
from minicoil.serve import Limits, create_app
from tests.serve.conftest import DOCS, QUERY

TITLES = {d.doc_id: d.title for d in DOCS}


def test_health_names_the_collection(client: TestClient) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "collection": "docs", "documents": len(DOCS)}


@pytest.mark.parametrize("mode", ["bm25", "sparse", "hybrid", "dense"])
def test_search_returns_the_index_ranking_with_titles(
    client: TestClient, serve_index: SearchIndex, mode: str
) -> None:
    answer = client.get("/search", params={"q": QUERY, "k": 4, "mode": mode})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = serve_index.search(QUERY, mode=mode, limit=4)  # type: ignore[arg-type]
    assert [h["id"] for h in body["hits"]] == [h.doc_id for h in expected]
    assert [h["score"] for h in body["hits"]] == pytest.approx([h.score for h in expected])
    assert [h["rank"] for h in body["hits"]] == list(range(1, len(expected) + 1))
    assert all(h["title"] == TITLES[h["id"]] for h in body["hits"])
    assert body["mode"] == mode and body["k"] == 4 and body["query"] == QUERY


def test_a_snippet_is_centred_on_a_query_word(client: TestClient) -> None:
    hits = client.get("/search", params={"q": "river bank", "k": 20, "mode": "bm25"}).json()
    long = next(h for h in hits["hits"] if h["id"] == "d9")
    assert "river bank" in long["snippet"] and long["snippet"].startswith("…")
    assert len(long["snippet"]) < len(DOCS[-1].text)


def test_compare_gives_three_columns_and_the_words_of_every_hit(client: TestClient) -> None:
    body = client.get("/compare", params={"q": QUERY, "k": 5}).json()
    assert list(body["columns"]) == ["bm25", "sparse", "hybrid"]
    shown = {h["id"] for hits in body["columns"].values() for h in hits}
    assert shown == set(body["words"])
    for words in body["words"].values():
        for w in words:
            assert w["stem"] in {"money", "river", "bank"}
            assert -1.0 - 1e-6 <= w["cosine"] <= 1.0 + 1e-6
    # The miniCOIL score of each document is the sum of its words' contributions.
    for hit in body["columns"]["sparse"]:
        total = sum(w["contribution"] for w in body["words"][hit["id"]])
        assert total == pytest.approx(hit["score"], rel=1e-3, abs=1e-4)


def test_compare_without_words_gives_the_same_columns(client: TestClient) -> None:
    full = client.get("/compare", params={"q": QUERY, "k": 4}).json()
    quick = client.get("/compare", params={"q": QUERY, "k": 4, "words": "false"}).json()
    assert quick["columns"] == full["columns"] and quick["words"] == {}


def test_explain_splits_the_minicoil_score_per_word(client: TestClient) -> None:
    hits = client.get("/search", params={"q": QUERY, "mode": "sparse"}).json()["hits"]
    top = hits[0]
    answer = client.get("/explain", params={"q": QUERY, "doc": top["id"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == top["id"] and body["title"] == TITLES[top["id"]]
    assert body["text"] == next(d.text for d in DOCS if d.doc_id == top["id"])
    assert body["total"] == pytest.approx(top["score"], rel=1e-3, abs=1e-4)
    for word in body["words"]:
        assert {"stem", "idf", "tf", "cosine", "contribution"} <= set(word)
        assert word["idf"] > 0 and word["tf"] > 0


def test_explaining_an_unknown_document_is_a_404(client: TestClient) -> None:
    answer = client.get("/explain", params={"q": QUERY, "doc": "no-such-doc"})
    assert answer.status_code == 404
    assert "no-such-doc" in answer.json()["error"]


def test_senses_of_a_word_cluster_its_documents(client: TestClient) -> None:
    answer = client.get("/senses", params={"word": "bank", "samples": 10})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    containing = [d for d in DOCS if "bank" in d.indexable_text.lower()]
    assert body["stem"] == "bank"
    assert len(body["points"]) == len(body["clusters"]) == len(body["snippets"])
    assert 2 <= len(body["points"]) <= len(containing)
    assert all(len(p) == 2 for p in body["points"])
    assert sum(c["size"] for c in body["summaries"]) == len(body["points"])


def test_senses_of_a_word_without_a_head_is_a_clear_400(client: TestClient) -> None:
    answer = client.get("/senses", params={"word": "flooded"})
    assert answer.status_code == 400
    assert "no head" in answer.json()["error"]


@pytest.mark.parametrize(
    ("path", "params", "status", "names"),
    [
        ("/search", {}, 422, "q"),
        ("/search", {"q": "   "}, 400, "empty"),
        ("/search", {"q": "x" * 513}, 422, "q"),
        ("/search", {"q": QUERY, "k": 0}, 422, "k"),
        ("/search", {"q": QUERY, "k": 101}, 422, "k"),
        ("/search", {"q": QUERY, "k": "ten"}, 422, "k"),
        ("/search", {"q": QUERY, "mode": "fuzzy"}, 422, "mode"),
        ("/compare", {"q": QUERY, "k": -3}, 422, "k"),
        ("/explain", {"q": QUERY}, 422, "doc"),
        ("/explain", {"q": "", "doc": "d1"}, 400, "empty"),
        ("/senses", {}, 422, "word"),
        ("/senses", {"word": "river bank"}, 400, "one word"),
        ("/senses", {"word": "bank", "samples": 1}, 422, "samples"),
        ("/senses", {"word": "bank", "samples": 10_000}, 422, "samples"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(
    client: TestClient, path: str, params: dict, status: int, names: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"error"}
    assert names in answer.json()["error"]


def test_unknown_paths_and_methods_answer_in_the_same_json_shape(client: TestClient) -> None:
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    wrong = client.post("/search", params={"q": QUERY})
    assert wrong.status_code == 405 and set(wrong.json()) == {"error"}


def test_a_query_of_stopwords_only_matches_no_word(client: TestClient) -> None:
    body = client.get("/compare", params={"q": "the and of", "k": 3}).json()
    assert body["columns"]["bm25"] == [] and body["columns"]["sparse"] == []
    assert all(words == [] for words in body["words"].values())


def test_an_unexpected_failure_is_a_json_500_without_details(
    serve_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(serve_index, limits=Limits(rate=0))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(app.state.service, "search", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/search", params={"q": QUERY})
    assert answer.status_code == 500
    assert "secret" not in answer.text and "Traceback" not in answer.text
    assert "server log" in answer.json()["error"]


def test_the_rate_limit_answers_429_with_retry_after(serve_index: SearchIndex) -> None:
    app = create_app(serve_index, limits=Limits(rate=0.5, burst=2))
    with TestClient(app, raise_server_exceptions=False) as client:
        codes = [client.get("/search", params={"q": QUERY}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get("/search", params={"q": QUERY})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "too many requests" in limited.json()["error"]
        assert client.get("/health").status_code == 200  # probes are never limited


def test_each_request_is_logged_in_one_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="minicoil.serve"):
        client.get("/search", params={"q": QUERY, "k": 3})
        client.get("/search", params={"k": 3})
    lines = [r.getMessage() for r in caplog.records if r.name == "minicoil.serve"]
    assert len(lines) == 2
    assert "GET /search?q=" in lines[0] and " 200 " in lines[0] and lines[0].endswith("ms")
    assert " 422 " in lines[1] and "\n" not in "".join(lines)


def test_concurrent_requests_get_the_answers_of_sequential_ones(
    app: FastAPI, client: TestClient
) -> None:
    queries = ["river bank", "money", "bat cave", "university database", QUERY, "run home"]
    modes = ["bm25", "sparse", "hybrid", "dense"]
    calls = [(q, m) for q in queries for m in modes]
    sequential = [client.get("/search", params={"q": q, "mode": m}).json() for q, m in calls]

    async def together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            requests = [http.get("/search", params={"q": q, "mode": m}) for q, m in calls]
            requests += [http.get("/compare", params={"q": q}) for q in queries]
            return await asyncio.gather(*requests)

    answers = asyncio.run(together())
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    parallel = [a.json() for a in answers[: len(calls)]]
    for one, other in zip(sequential, parallel, strict=True):
        assert [h["id"] for h in one["hits"]] == [h["id"] for h in other["hits"]]
        assert [h["score"] for h in one["hits"]] == pytest.approx(
            [h["score"] for h in other["hits"]]
        )


def test_the_page_and_the_api_docs_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in page.text
        assert client.get(asset).status_code == 200
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/compare", "/explain", "/senses", "/health"} <= set(paths)
