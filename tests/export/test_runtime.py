"""load_model: onnx graphs built once per backbone content, cached, found again, shared safely."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minicoil import Backbone, MiniCOIL, ModelFormatError
from minicoil.backbone import QUANTIZED_ONNX_FILE, OnnxRuntime, TorchRuntime
from minicoil.export.runtime import BACKENDS, CACHE_DIR_NAME, backbone_key, load_model
from tests.conftest import random_model

TEXTS = ["the bank of the river", "money at the bank", "bat in a cave"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, wordpiece_backbone: Backbone) -> Path:
    """A model folder carrying its own copy of the backbone (so tests may edit the copy)."""
    folder = tmp_path_factory.mktemp("runtime") / "models" / "m"
    random_model(wordpiece_backbone).save_pretrained(folder, include_backbone=True)
    return folder


@pytest.fixture(scope="module")
def int8_model(model_dir: Path) -> MiniCOIL:
    return load_model(model_dir)  # builds the cache beside the model folder


def test_backends_are_named_fast_first() -> None:
    assert BACKENDS == ("onnx-int8", "onnx", "torch")
    with pytest.raises(ValueError, match="backend must be one of onnx-int8, onnx, torch"):
        load_model(None, backend="tpu")


def test_default_is_the_int8_graph_cached_beside_the_model(
    model_dir: Path, int8_model: MiniCOIL
) -> None:
    backbone = int8_model.backbone
    assert isinstance(backbone.runtime, OnnxRuntime)
    assert backbone.file_name == QUANTIZED_ONNX_FILE
    key = backbone_key(model_dir / "backbone")
    cache = model_dir.parent / CACHE_DIR_NAME / key
    assert backbone.runtime.graph == cache / QUANTIZED_ONNX_FILE
    assert sorted(p.name for p in cache.iterdir()) == [
        "model.onnx",
        "model_qint8.onnx",
        "source.json",
    ]
    assert not (model_dir / "backbone" / "onnx").exists()  # the model folder is left alone
    assert not [p for p in cache.parent.iterdir() if ".tmp-" in p.name]


def test_int8_vectors_keep_the_torch_words(model_dir: Path, int8_model: MiniCOIL) -> None:
    reference = load_model(model_dir, backend="torch")
    assert isinstance(reference.backbone.runtime, TorchRuntime)
    fp32 = load_model(model_dir, backend="onnx")
    assert fp32.backbone.file_name == "model.onnx"
    for a, b, c in zip(
        reference.encode_query(TEXTS),
        fp32.encode_query(TEXTS),
        int8_model.encode_query(TEXTS),
        strict=True,
    ):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_allclose(a.values, b.values, atol=1e-4)
        np.testing.assert_array_equal(a.indices, c.indices)


def test_second_load_reuses_the_cache(model_dir: Path, int8_model: MiniCOIL) -> None:
    graph = int8_model.backbone.runtime.graph  # type: ignore[attr-defined]
    stamp = graph.stat().st_mtime_ns
    again = load_model(model_dir)
    assert again.backbone.runtime.graph == graph  # type: ignore[attr-defined]
    assert graph.stat().st_mtime_ns == stamp


def test_an_unchanged_folder_is_not_hashed_again_and_an_edit_is(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minicoil.export import runtime

    copy = tmp_path / "models" / "m"
    shutil.copytree(model_dir, copy)
    cache = tmp_path / "cache"
    first = load_model(copy, cache_dir=cache).backbone.runtime.graph  # type: ignore[attr-defined]
    hashed: list[Path] = []
    real_key = runtime.backbone_key
    monkeypatch.setattr(runtime, "backbone_key", lambda f: hashed.append(f) or real_key(f))
    again = load_model(copy, cache_dir=cache).backbone.runtime.graph  # type: ignore[attr-defined]
    assert again == first and hashed == []
    vocab = copy / "backbone" / "tokenizer_config.json"
    vocab.write_text(vocab.read_text() + " ")  # same meaning, new content: a new key
    edited = load_model(copy, cache_dir=cache).backbone.runtime.graph  # type: ignore[attr-defined]
    assert hashed == [copy / "backbone"] and edited != first


def test_changed_backbone_content_gets_a_new_graph(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models" / "m"
    shutil.copytree(model_dir, copy)
    before = backbone_key(copy / "backbone")
    pooling = copy / "backbone" / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config["pooling_mode"] = "cls"
    pooling.write_text(json.dumps(config))
    assert backbone_key(copy / "backbone") != before
    (copy / "backbone" / "README.md").write_text("notes do not change the graph")
    model = load_model(copy, backend="onnx", cache_dir=tmp_path / "cache")
    graph = model.backbone.runtime.graph  # type: ignore[attr-defined]
    assert graph.parent.name == backbone_key(copy / "backbone")
    old = next(load_model(model_dir, backend="torch").encode_query("bank", dense=True))[1]
    new = next(load_model(copy, backend="torch").encode_query("bank", dense=True))[1]
    assert not np.allclose(old, new, atol=1e-3)  # the edit changes the dense vector
    np.testing.assert_allclose(next(model.encode_query("bank", dense=True))[1], new, atol=1e-4)


def test_an_exported_folder_is_used_as_is(model_dir: Path, tmp_path: Path) -> None:
    from minicoil.export import export_onnx

    out = tmp_path / "exported"
    export_onnx(MiniCOIL.from_pretrained(model_dir), out, quantize=True)
    model = load_model(out, cache_dir=tmp_path / "unused")
    assert model.backbone.runtime.graph == out / "backbone" / "onnx" / QUANTIZED_ONNX_FILE  # type: ignore[attr-defined]
    assert not (tmp_path / "unused").exists()


def test_unwritable_model_side_falls_back_to_the_user_cache(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "ro" / "m"
    shutil.copytree(model_dir, copy)
    (copy.parent / CACHE_DIR_NAME).write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    model = load_model(copy)
    graph = model.backbone.runtime.graph  # type: ignore[attr-defined]
    assert graph.is_relative_to(tmp_path / "xdg")


def test_concurrent_first_loads_share_one_complete_cache(model_dir: Path, tmp_path: Path) -> None:
    """Two processes build at once: both get a working graph, one folder remains, no debris."""
    code = (
        "import sys; from minicoil.export.runtime import load_model; "
        "m = load_model(sys.argv[1], cache_dir=sys.argv[2]); "
        "print(m.backbone.runtime.graph); list(m.encode_query('bank'))"
    )
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(model_dir), str(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert {o[0].strip() for o in outs} == {
        str(cache / backbone_key(model_dir / "backbone") / QUANTIZED_ONNX_FILE)
    }
    assert sorted(p.name for p in cache.iterdir()) == [backbone_key(model_dir / "backbone"), "keys"]


def test_names_resolve_and_unknown_names_list_the_known(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match=r"unknown model 'minicoil-xx'.*minicoil-en"):
        load_model("minicoil-xx")
    with pytest.raises(ModelFormatError, match="model folder not found"):
        load_model(tmp_path / "missing")


def test_checking_a_backend_name_loads_no_torch() -> None:
    """A command line validates ``--backend`` before anything heavy: BACKENDS is cheap."""
    code = (
        "import sys; from minicoil.export.runtime import BACKENDS; "
        "assert 'torch' not in sys.modules; print(','.join(BACKENDS))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "onnx-int8,onnx,torch"
