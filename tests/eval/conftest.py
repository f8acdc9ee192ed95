"""Shared fixtures for the evaluation tests: the tiny BEIR folder shipped in tests/fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def beir_tiny() -> Path:
    """The read-only BEIR fixture folder (8 documents, 4 queries, test and train qrels)."""
    return FIXTURES / "beir-tiny"


@pytest.fixture
def beir_copy(tmp_path: Path, beir_tiny: Path) -> Path:
    """A writable copy of beir-tiny, for tests that corrupt one file."""
    target = tmp_path / "beir-tiny"
    shutil.copytree(beir_tiny, target)
    return target
