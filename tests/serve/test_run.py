"""``serve(...)`` as ``minicoil serve`` runs it: a child process that loads a model folder,
opens a collection and answers over HTTP on 127.0.0.1; a missing collection fails at start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from minicoil import Backbone
from minicoil.search.qdrant import SearchIndex
from tests.conftest import random_model
from tests.serve.conftest import DOCS, QUERY

SERVE = (
    "import sys; from minicoil.serve import serve; serve(sys.argv[1], path=sys.argv[2], "
    "port=int(sys.argv[3]), model=sys.argv[4], backend='torch', log_level='info')"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(collection: str, store: Path, model: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", SERVE, collection, str(store), str(port), str(model)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture(scope="module")
def served(wordpiece_backbone: Backbone, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("serve-run")
    model = random_model(wordpiece_backbone)
    model.save_pretrained(root / "model")
    with SearchIndex(model, "docs", path=root / "store") as index:
        index.index(DOCS, progress=False)
    return root / "store", root / "model"


def test_serve_answers_on_localhost_and_logs_each_request(served: tuple[Path, Path]) -> None:
    store, model = served
    port = _free_port()
    server = _start("docs", store, model, port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        answer = httpx.get(f"{base}/search", params={"q": QUERY, "k": 3}, timeout=30)
        assert answer.status_code == 200
        assert len(answer.json()["hits"]) == 3
        assert 'id="columns"' in httpx.get(base + "/", timeout=10).text
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "GET /search?q=" in output and " 200 " in output


def test_serve_refuses_a_missing_collection_before_listening(served: tuple[Path, Path]) -> None:
    store, model = served
    server = _start("nope", store, model, _free_port())
    output = server.communicate(timeout=120)[0]
    assert server.returncode != 0
    assert "'nope'" in output and "not found" in output
