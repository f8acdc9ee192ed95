"""A tiny collection (random heads on the tiny test backbone) and the app serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from minicoil import Backbone
from minicoil.data import Document
from minicoil.search.qdrant import SearchIndex
from minicoil.serve import Limits, create_app
from tests.conftest import random_model

LONG = (
    "Filler words come first in this long abstract about nothing in particular, " * 6
    + "and only then the river bank appears, near its end."
)
DOCS = [
    Document("d1", "The bank of the river was flooded; the river bank eroded.", "River banks"),
    Document("d2", "She put money in the bank and the bank paid interest.", "Savings"),
    Document("d3", "A bat flew out of the cave near the river.", "Cave bats"),
    Document("d4", "Databases at the university store course data, please.", ""),
    Document("d5", "Money, money, money: the bank of england.", "Central bank"),
    Document("d6", "Cave divers explore the underground river at night.", "Diving"),
    Document("d7", "The baseball bat was wooden and the runner ran home.", "Baseball"),
    Document("d8", "Please run the database backup before the university closes.", "Backups"),
    Document("d9", LONG, "A long one"),
]
QUERY = "money at the river bank"
NO_RATE_LIMIT = Limits(rate=0)


@pytest.fixture(scope="session")
def serve_index(
    wordpiece_backbone: Backbone, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SearchIndex]:
    folder: Path = tmp_path_factory.mktemp("serve-store")
    with SearchIndex(random_model(wordpiece_backbone), "docs", path=folder) as index:
        index.index(DOCS, progress=False)
        yield index


@pytest.fixture(scope="session")
def app(serve_index: SearchIndex) -> FastAPI:
    return create_app(serve_index, limits=NO_RATE_LIMIT)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
