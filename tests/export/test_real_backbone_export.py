"""The real all-MiniLM-L6-v2 through ONNX and fastembed: the same vectors as torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from minicoil import Backbone, MiniCOIL
from minicoil.export import export_fastembed, export_onnx
from tests.conftest import random_model

pytestmark = pytest.mark.backbone

TEXTS = [
    "The bank raised interest rates; the river bank flooded.",
    "A bat flew out of the cave at dusk. " * 30,  # longer than one window
    "Please run the database migration at the university.",
]
WORDS = ["bank", "river", "interest", "bat", "cave", "database", "university", "run", "please"]


@pytest.fixture(scope="module")
def model(real_backbone: Backbone) -> MiniCOIL:
    """Random heads at about the scale of trained ones (unit-variance heads saturate tanh)."""
    mc = random_model(real_backbone, WORDS)
    mc.heads.weights.mul_(0.05)
    return mc


def test_onnx_fp32_equals_torch_and_int8_stays_close(model: MiniCOIL, tmp_path: Path) -> None:
    export_onnx(model, tmp_path / "m", quantize=True, heads_dtype="float32")
    fp32 = MiniCOIL.from_pretrained(tmp_path / "m", backend="onnx")
    int8 = MiniCOIL.from_pretrained(tmp_path / "m", backend="onnx", file_name="model_qint8.onnx")
    ref = list(model.encode_document(TEXTS, avg_len=20.0, dense=True))
    for (a, da), (b, db), (c, dc) in zip(
        ref,
        fp32.encode_document(TEXTS, avg_len=20.0, dense=True),
        int8.encode_document(TEXTS, avg_len=20.0, dense=True),
        strict=True,
    ):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.values, b.values, atol=1e-4)
        np.testing.assert_allclose(da, db, atol=1e-4)
        np.testing.assert_array_equal(a.indices, c.indices)
        assert float(np.dot(da, dc)) > 0.98


def test_fastembed_on_the_real_backbone(model: MiniCOIL, tmp_path: Path) -> None:
    fastembed = pytest.importorskip("fastembed")
    out = export_fastembed(model, tmp_path / "fe")
    theirs = fastembed.SparseTextEmbedding(
        "Qdrant/minicoil-v1", specific_model_path=str(out), avg_len=20.0
    )
    # every vocabulary word once per text: where fastembed promises our vectors
    texts = ["The bank raised interest rates near the river.", TEXTS[2], "bats and caves"]
    for a, e in zip(model.encode_document(texts, avg_len=20.0), theirs.embed(texts), strict=True):
        order = np.argsort(e.indices)
        np.testing.assert_array_equal(a.indices, e.indices[order])
        np.testing.assert_allclose(a.values, e.values[order], atol=1e-4)
