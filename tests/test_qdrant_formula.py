"""Qdrant's local mode with the IDF modifier scores exactly as the reference formula says:
score(q, d) = sum_i q_i * idf_i * d_i, idf = ln((N - df + 0.5) / (df + 0.5) + 1)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from minicoil import MiniCOIL

DOCS = [
    "The bank of the river was flooded; the river bank eroded.",
    "She put money in the bank and the bank paid interest.",
    "A bat flew out of the cave near the river.",
    "Databases at the university store course data, please.",
    "Money, money, money: the bank of england.",
    "Cave divers explore the underground river.",
]
QUERIES = ["river bank", "money bank", "bat cave", "university databases zebra"]


def expected_scores(docs, query) -> dict[int, float]:
    n = len(docs)
    df: dict[int, int] = {}
    for d in docs:
        for i in d.indices.tolist():
            df[i] = df.get(i, 0) + 1
    scores = {}
    for doc_id, d in enumerate(docs):
        dv = d.as_dict()
        s = 0.0
        for i, q in query.as_dict().items():
            if i in dv:
                idf = math.log((n - df[i] + 0.5) / (df[i] + 0.5) + 1.0)
                s += q * idf * dv[i]
        if any(i in dv for i in query.as_dict()):
            scores[doc_id] = s
    return scores


@pytest.mark.parametrize("location", ["memory", "disk"])
def test_qdrant_ranks_as_the_formula(tiny_model: MiniCOIL, tmp_path: Path, location: str) -> None:
    client = (
        QdrantClient(":memory:") if location == "memory" else QdrantClient(path=str(tmp_path / "q"))
    )
    client.create_collection(
        "docs",
        vectors_config={},
        sparse_vectors_config={"minicoil": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    tiny_model.fit(DOCS)
    doc_vecs = list(tiny_model.encode_document(DOCS))
    client.upsert(
        "docs",
        [
            models.PointStruct(id=i, vector={"minicoil": v.to_qdrant()}, payload={})
            for i, v in enumerate(doc_vecs)
        ],
    )
    for query in QUERIES:
        qv = next(tiny_model.encode_query(query))
        want = expected_scores(doc_vecs, qv)
        got = client.query_points(
            "docs", query=qv.to_qdrant(), using="minicoil", limit=len(DOCS)
        ).points
        got_scores = {p.id: p.score for p in got}
        assert set(got_scores) >= set(want)
        for doc_id, score in want.items():
            assert got_scores[doc_id] == pytest.approx(score, rel=1e-4, abs=1e-5)
        ranked_want = sorted(want, key=lambda d: -want[d])
        ranked_got = [p.id for p in got if p.id in want]
        assert [round(want[d], 4) for d in ranked_got] == [round(want[d], 4) for d in ranked_want]
    client.close()
