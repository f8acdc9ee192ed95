"""Qdrant with the IDF modifier scores exactly as the reference formula says:
score(q, d) = sum_i q_i * idf_i * d_i, idf = ln((N - df + 0.5) / (df + 0.5) + 1).
Checked on Qdrant Edge (the embedded engine, through the engine interface) and on
qdrant-client's in-memory client (the stand-in for a server)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from minicoil import MiniCOIL
from minicoil.search.edge import EdgeEngine
from minicoil.search.engine import VectorQuery
from minicoil.search.points import EncodedPoint
from minicoil.search.server import ServerEngine
from minicoil.sparse import SparseVector

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


@pytest.mark.parametrize("location", ["memory", "edge"])
def test_qdrant_ranks_as_the_formula(tiny_model: MiniCOIL, tmp_path: Path, location: str) -> None:
    tiny_model.fit(DOCS)
    doc_vecs = list(tiny_model.encode_document(DOCS))
    empty = SparseVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
    points = [
        EncodedPoint(str(i), v, empty, np.ones(2, np.float32)) for i, v in enumerate(doc_vecs)
    ]
    engine = (
        ServerEngine(QdrantClient(":memory:"), "docs", location="memory", owned=True)
        if location == "memory"
        else EdgeEngine(tmp_path, "docs")
    )
    engine.create(2, {})
    engine.upsert(points)
    names = {p.id: int(p.doc_id) for p in points}
    for query in QUERIES:
        qv = next(tiny_model.encode_query(query))
        want = expected_scores(doc_vecs, qv)
        got = engine.search([VectorQuery("minicoil", qv, len(DOCS))])[0]
        got_scores = {names[pid]: score for pid, score in got}
        assert set(got_scores) >= set(want)
        for doc_id, score in want.items():
            assert got_scores[doc_id] == pytest.approx(score, rel=1e-4, abs=1e-5)
        ranked_want = sorted(want, key=lambda d: -want[d])
        ranked_got = [names[pid] for pid, _ in got if names[pid] in want]
        assert [round(want[d], 4) for d in ranked_got] == [round(want[d], 4) for d in ranked_want]
    engine.close()
