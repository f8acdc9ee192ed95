"""ONNX export and the onnxruntime backend: same vectors as torch, int8 variants, clean errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from minicoil import Backbone, Heads, MiniCOIL
from minicoil.backbone import BackboneError, OnnxRuntime
from minicoil.export import ExportError, export_onnx
from minicoil.heads import quantize_int8
from tests.conftest import random_model

DOCS = [
    "The bank of the river was full of money. " * 40,  # several windows
    "bat in a cave",
    "",
    "please run the database at the university",
    "Banks, rivers; caves!",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, wordpiece_backbone: Backbone) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "model"
    export_onnx(random_model(wordpiece_backbone), out, quantize=True, heads_dtype="float32")
    return out


def test_export_writes_a_self_contained_folder(exported: Path) -> None:
    names = sorted(p.name for p in (exported / "backbone" / "onnx").iterdir())
    assert names == ["model.onnx", "model_qint8.onnx"]
    assert (exported / "config.json").exists() and (exported / "heads.safetensors").exists()
    assert not list(exported.parent.glob(".model.tmp-*"))


def test_onnx_backend_gives_the_torch_vectors(exported: Path, wordpiece_backbone: Backbone) -> None:
    torch_model = random_model(wordpiece_backbone)
    onnx_model = MiniCOIL.from_pretrained(exported, backend="onnx")
    backbone = onnx_model.backbone
    assert isinstance(backbone.runtime, OnnxRuntime) and backbone.backend == "onnx"
    pairs = [
        (
            torch_model.encode_document(DOCS, avg_len=12.0, dense=True),
            onnx_model.encode_document(DOCS, avg_len=12.0, dense=True),
        ),
    ]
    for ours, theirs in pairs:
        for (a, da), (b, db) in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.indices, b.indices)
            np.testing.assert_allclose(a.values, b.values, atol=1e-4)
            np.testing.assert_allclose(da, db, atol=1e-4)
    for a, b in zip(torch_model.encode_query(DOCS), onnx_model.encode_query(DOCS), strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.values, b.values, atol=1e-4)


def test_int8_graph_keeps_the_words_and_stays_close(exported: Path) -> None:
    fp32 = MiniCOIL.from_pretrained(exported, backend="onnx")
    int8 = MiniCOIL.from_pretrained(exported, backend="onnx", file_name="model_qint8.onnx")
    assert int8.backbone.file_name == "model_qint8.onnx"  # type: ignore[attr-defined]
    for (a, da), (b, db) in zip(
        fp32.encode_document(DOCS, avg_len=12.0, dense=True),
        int8.encode_document(DOCS, avg_len=12.0, dense=True),
        strict=True,
    ):
        np.testing.assert_array_equal(a.indices, b.indices)
        assert np.isfinite(b.values).all()
        if len(da):
            assert float(np.dot(da, db)) > 0.95  # unit dense vectors barely move


def _float_weights(graph: Path) -> dict[str, int]:
    """Size of every float32 initializer of a graph with more than 1,000 values."""
    import onnx
    from onnx import TensorProto

    model = onnx.load(str(graph))
    return {
        init.name: int(np.prod(init.dims))
        for init in model.graph.initializer
        if init.data_type == TensorProto.FLOAT and np.prod(init.dims) > 1000
    }


def test_int8_graph_stores_the_embedding_tables_int8(exported: Path, tmp_path: Path) -> None:
    from minicoil.export import quantize_backbone

    graphs = exported / "backbone" / "onnx"
    assert _float_weights(graphs / "model.onnx")  # the fp32 graph has big float tables
    assert _float_weights(graphs / "model_qint8.onnx") == {}  # MatMuls and Gathers are int8
    matmul_only = quantize_backbone(graphs / "model.onnx", tmp_path / "mm.onnx", embeddings=False)
    left = _float_weights(matmul_only)
    assert any("embeddings" in name for name in left), left  # the lookups stayed float


def test_int8_heads_round_trip_within_half_a_step(tmp_path: Path) -> None:
    weights = torch.randn((101, 64, 4), generator=torch.Generator().manual_seed(1))
    weights[0] = 0
    q, scale = quantize_int8(weights)
    assert q.dtype == torch.int8 and scale.shape == (101, 1, 4)
    Heads(weights).save(tmp_path / "h.safetensors", dtype="int8")
    back = Heads.load(tmp_path / "h.safetensors", vocab_size=100, hidden=64, dim=4).weights
    assert torch.all((back - weights).abs() <= scale / 2 + 1e-6)
    assert torch.equal(back[0], torch.zeros(64, 4))
    assert (tmp_path / "h.safetensors").stat().st_size < weights.numel() * 4 / 3


def test_int8_heads_model_matches_float_heads(tmp_path: Path, wordpiece_backbone: Backbone) -> None:
    model = random_model(wordpiece_backbone)
    model.save_pretrained(tmp_path / "m8", heads_dtype="int8")
    small = MiniCOIL.from_pretrained(tmp_path / "m8", backbone=wordpiece_backbone.path)
    small._backbone = wordpiece_backbone
    for a, b in zip(model.encode_query(DOCS), small.encode_query(DOCS), strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.values, b.values, atol=0.05)  # one int8 step: ~1% of a weight


def test_heads_dtype_is_checked(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="float32, float16 or int8"):
        tiny_model.save_pretrained(tmp_path / "x", heads_dtype="int4")  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()


def test_onnx_backend_without_export_names_the_fix(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "plain", include_backbone=True)
    model = MiniCOIL.from_pretrained(tmp_path / "plain", backend="onnx")
    with pytest.raises(BackboneError, match="minicoil export onnx"):
        list(model.encode_query(["bank"]))


def test_backend_arguments_are_checked(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match="backend must be"):
        MiniCOIL.from_pretrained(tmp_path / "m", backend="tensorrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs backend='onnx'"):
        MiniCOIL.from_pretrained(tmp_path / "m", file_name="model_qint8.onnx")


def test_failed_export_leaves_nothing(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="opset"):
        export_onnx(tiny_model, tmp_path / "out", opset=13)
    assert list(tmp_path.iterdir()) == []


def test_damaged_graph_is_named(exported: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(exported, copy)
    graph = copy / "backbone" / "onnx" / "model.onnx"
    graph.write_bytes(graph.read_bytes()[:1000])
    with pytest.raises(BackboneError, match=r"model\.onnx"):
        Backbone.load(copy / "backbone", runtime="onnx")


def test_cli_export_then_encode_with_the_onnx_backend(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from minicoil.cli import app

    runner = CliRunner()
    tiny_model.save_pretrained(tmp_path / "m")
    done = runner.invoke(
        app, ["export", "onnx", "-m", str(tmp_path / "m"), "-o", str(tmp_path / "x")]
    )
    assert done.exit_code == 0, done.output
    assert "model_qint8.onnx" in done.output
    outputs = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        result = runner.invoke(
            app, ["encode", "-m", str(tmp_path / "x"), "--backend", backend, "bank of the river"]
        )
        assert result.exit_code == 0, result.output
        outputs[backend] = json.loads(result.stdout)
    assert (
        outputs["torch"]["indices"] == outputs["onnx"]["indices"] == outputs["onnx-int8"]["indices"]
    )
    np.testing.assert_allclose(outputs["torch"]["values"], outputs["onnx"]["values"], atol=1e-4)
    bad = runner.invoke(app, ["encode", "-m", str(tmp_path / "m"), "--backend", "tpu", "x"])
    assert bad.exit_code == 2 and "--backend must be one of" in bad.output


def test_cli_export_refuses_plain_bm25(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from minicoil.cli import app

    MiniCOIL.bm25().save_pretrained(tmp_path / "bm25")
    result = CliRunner().invoke(
        app, ["export", "onnx", "-m", str(tmp_path / "bm25"), "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "nothing to export" in result.output
    assert not (tmp_path / "x").exists()
