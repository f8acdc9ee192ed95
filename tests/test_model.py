from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from minicoil import Heads, HeadsError, MiniCOIL, ModelFormatError
from minicoil.sparse import bm25_tf, oov_index, oov_shift
from tests.conftest import random_model

DOCS = [
    "The bank of the river was flooded; the river bank eroded.",
    "She put money in the bank.",
    "A bat flew out of the cave.",
    "Databases at the university, please!",
    "",
]


def _groups(vec, dim: int) -> dict[int, np.ndarray]:
    """Vocabulary id -> the dim values stored for it."""
    out: dict[int, list[float]] = {}
    for i, v in zip(vec.indices.tolist(), vec.values.tolist(), strict=True):
        if i < oov_shift(10**6, dim):
            out.setdefault(i // dim, []).append(v)
    return {k: np.array(v) for k, v in out.items()}


def test_query_layout(tiny_model: MiniCOIL) -> None:
    vec = next(tiny_model.encode_query("river bank banks zebra"))
    dim, vocab = tiny_model.config.dim, tiny_model.vocab
    groups = _groups(vec, dim)
    assert set(groups) == {vocab.id("river"), vocab.id("bank")}
    for values in groups.values():
        assert len(values) == dim and np.linalg.norm(values) == pytest.approx(1.0, abs=1e-5)
    shift = oov_shift(len(vocab), dim)
    oov = [(i, v) for i, v in zip(vec.indices, vec.values, strict=True) if i >= shift]
    assert oov == [(oov_index("zebra", shift), 1.0)]


def test_document_layout_is_bm25_tf_times_unit_meaning(tiny_model: MiniCOIL) -> None:
    text = "bank bank river zebra zebra zebra the of"
    vec = next(tiny_model.encode_document(text, avg_len=4.0))
    k, b = tiny_model.config.k, tiny_model.config.b
    doc_len = 6  # stopwords do not count
    groups = _groups(vec, 4)
    assert np.linalg.norm(groups[tiny_model.vocab.id("bank")]) == pytest.approx(
        bm25_tf(2, doc_len, 4.0, k, b), rel=1e-5
    )
    assert np.linalg.norm(groups[tiny_model.vocab.id("river")]) == pytest.approx(
        bm25_tf(1, doc_len, 4.0, k, b), rel=1e-5
    )
    shift = oov_shift(len(tiny_model.vocab), 4)
    assert vec.as_dict()[oov_index("zebra", shift)] == pytest.approx(
        bm25_tf(3, doc_len, 4.0, k, b), rel=1e-6
    )
    assert vec.indices.dtype == np.int32 and vec.values.dtype == np.float32
    assert (np.diff(vec.indices) > 0).all() and (vec.indices >= 0).all()


def test_document_needs_corpus_length(tiny_model: MiniCOIL) -> None:
    with pytest.raises(ValueError, match=r"fit\(corpus\)"):
        tiny_model.encode_document(DOCS)
    stats = tiny_model.fit(DOCS)
    assert stats.n_docs == 5
    assert stats.avg_len == pytest.approx(sum(len(tiny_model.processor.words(d)) for d in DOCS) / 5)
    assert len(list(tiny_model.encode_document(DOCS))) == 5
    with pytest.raises(ValueError, match="empty corpus"):
        tiny_model.fit([])


def test_vector_does_not_depend_on_batch(tiny_model: MiniCOIL) -> None:
    tiny_model.fit(DOCS)
    together = list(tiny_model.encode_document(DOCS, batch_size=2))
    alone = [next(tiny_model.encode_document([d])) for d in DOCS]
    for a, b in zip(together, alone, strict=True):
        assert a.indices.tolist() == b.indices.tolist()
        np.testing.assert_allclose(a.values, b.values, atol=1e-5)


def test_encoding_is_lazy_and_ordered(tiny_model: MiniCOIL) -> None:
    endless = (f"bank number {i}" for i in itertools.count())
    first = list(itertools.islice(tiny_model.encode_query(endless, chunk_size=4), 6))
    assert len(first) == 6
    again = list(tiny_model.encode_query([f"bank number {i}" for i in range(6)]))
    assert [v.indices.tolist() for v in first] == [v.indices.tolist() for v in again]


def test_dense_from_the_same_call(tiny_model: MiniCOIL) -> None:
    tiny_model.fit(DOCS)
    pairs = list(tiny_model.encode_document(DOCS, dense=True))
    dense = np.stack([d for _, d in pairs])
    assert dense.shape == (5, tiny_model.backbone.dense_size)
    _, want = tiny_model.backbone.embed(tiny_model.backbone.tokenize(DOCS))
    np.testing.assert_allclose(dense, want.numpy(), atol=1e-5)


def test_bad_text_types(tiny_model: MiniCOIL) -> None:
    with pytest.raises(TypeError, match="position 1"):
        list(tiny_model.encode_query(["ok", 3]))  # type: ignore[list-item]
    with pytest.raises(TypeError, match="bytes"):
        list(tiny_model.encode_query(b"raw"))  # type: ignore[arg-type]


def test_bm25_model_is_plain_bm25(wordpiece_backbone) -> None:
    model = MiniCOIL.bm25(wordpiece_backbone)
    vec = next(model.encode_document("bank bank river", avg_len=3.0))
    shift = oov_shift(0, 4)
    assert vec.as_dict() == pytest.approx(
        {
            oov_index("bank", shift): bm25_tf(2, 3, 3.0, 1.2, 0.75),
            oov_index("river", shift): bm25_tf(1, 3, 3.0, 1.2, 0.75),
        }
    )


def test_zero_head_falls_back_to_hashed_word(wordpiece_backbone) -> None:
    model = random_model(wordpiece_backbone)
    model.heads.weights[model.vocab.id("bank")] = 0
    vec = next(model.encode_query("bank river"))
    shift = oov_shift(len(model.vocab), 4)
    assert vec.as_dict()[oov_index("bank", shift)] == 1.0
    assert set(_groups(vec, 4)) == {model.vocab.id("river")}


def test_save_and_load_round_trip(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    tiny_model.save_pretrained(folder, heads_dtype="float32")
    assert {p.name for p in folder.iterdir()} == {
        "config.json",
        "vocab.json",
        "stopwords.txt",
        "heads.safetensors",
        "README.md",
    }
    loaded = MiniCOIL.from_pretrained(folder)
    assert loaded.vocab.stems == tiny_model.vocab.stems
    for a, b in zip(tiny_model.encode_query(DOCS), loaded.encode_query(DOCS), strict=True):
        assert a.indices.tolist() == b.indices.tolist()
        np.testing.assert_allclose(a.values, b.values, atol=1e-6)
    # fp16 storage: same indices, values within fp16 rounding
    tiny_model.save_pretrained(folder)  # overwrite atomically
    half = MiniCOIL.from_pretrained(folder)
    for a, b in zip(tiny_model.encode_query(DOCS), half.encode_query(DOCS), strict=True):
        assert a.indices.tolist() == b.indices.tolist()
        np.testing.assert_allclose(a.values, b.values, atol=5e-3)


def test_self_contained_folder(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    tiny_model.save_pretrained(tmp_path / "m", include_backbone=True)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["backbone"] == "backbone"
    loaded = MiniCOIL.from_pretrained(tmp_path / "m")
    assert (
        next(loaded.encode_query("bank")).indices.tolist()
        == next(tiny_model.encode_query("bank")).indices.tolist()
    )


@pytest.fixture
def saved(tiny_model: MiniCOIL, tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    tiny_model.save_pretrained(folder)
    return folder


def _edit_config(folder: Path, **changes: object) -> None:
    data = json.loads((folder / "config.json").read_text())
    data.update(changes)
    (folder / "config.json").write_text(json.dumps(data))


@pytest.mark.parametrize(
    "name", ["config.json", "vocab.json", "stopwords.txt", "heads.safetensors"]
)
def test_missing_file_is_named(saved: Path, name: str) -> None:
    (saved / name).unlink()
    with pytest.raises((ModelFormatError, HeadsError), match=name.replace(".", r"\.")):
        MiniCOIL.from_pretrained(saved)


def test_newer_format_version(saved: Path) -> None:
    _edit_config(saved, format_version=99)
    with pytest.raises(ModelFormatError, match=r"config\.json.*newer"):
        MiniCOIL.from_pretrained(saved)


def test_wrong_vocab_size(saved: Path) -> None:
    _edit_config(saved, vocab_size=3)
    with pytest.raises(ModelFormatError, match=r"vocab\.json.*vocab_size=3"):
        MiniCOIL.from_pretrained(saved)


def test_heads_not_matching_backbone_hidden_size(saved: Path, tiny_model: MiniCOIL) -> None:
    Heads.zeros(len(tiny_model.vocab), 48, 4).save(saved / "heads.safetensors")
    with pytest.raises(HeadsError, match=r"heads\.safetensors.*hidden size"):
        MiniCOIL.from_pretrained(saved)


def test_corrupted_heads(saved: Path) -> None:
    data = (saved / "heads.safetensors").read_bytes()
    (saved / "heads.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(HeadsError, match=r"heads\.safetensors"):
        MiniCOIL.from_pretrained(saved)


def test_failed_save_leaves_no_partial_folder(
    tiny_model: MiniCOIL, tmp_path: Path, monkeypatch
) -> None:
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Heads, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        tiny_model.save_pretrained(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_saved_files_get_normal_permissions(tiny_model: MiniCOIL, tmp_path: Path) -> None:
    import os
    import stat

    mask = os.umask(0o022)
    try:
        tiny_model.save_pretrained(tmp_path / "m")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "m" / "config.json").stat().st_mode) == 0o644


def test_bm25_twin_shares_words_and_settings(tiny_model: MiniCOIL) -> None:
    twin = tiny_model.as_bm25()
    assert twin.processor is tiny_model.processor and len(twin.vocab) == 0
    assert (twin.config.k, twin.config.b) == (tiny_model.config.k, tiny_model.config.b)
    vec = next(twin.encode_document("bank bank zebra", avg_len=3.0))
    shift = oov_shift(0, 4)
    assert set(vec.as_dict()) == {oov_index("bank", shift), oov_index("zebra", shift)}


# ---------------------------------------------------------------- corpus statistics


def test_corpus_stats_validate_once() -> None:
    from minicoil import CorpusStats

    assert CorpusStats(3, 2).avg_len == 2.0 and isinstance(CorpusStats(3, 2).avg_len, float)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="avg_len must be positive"):
            CorpusStats(1, bad)
    with pytest.raises(ValueError, match="avg_len must be a number"):
        CorpusStats(1, "5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_docs"):
        CorpusStats(-1, 1.0)
    assert CorpusStats.from_lengths([0, 0]).avg_len == 1.0  # no kept words: neutral, not 0
    assert CorpusStats.from_lengths([2, 4]) == CorpusStats(2, 3.0)
    with pytest.raises(ValueError, match="empty corpus"):
        CorpusStats.from_lengths([])


def test_fit_is_kept_and_used_and_a_bad_avg_len_fails_before_encoding(
    tiny_model: MiniCOIL,
) -> None:
    stats = tiny_model.fit(DOCS)
    assert tiny_model.corpus_stats is stats and stats.n_docs == 5
    fitted = list(tiny_model.encode_document(DOCS))
    explicit = list(tiny_model.encode_document(DOCS, avg_len=stats.avg_len))
    as_stats = list(tiny_model.encode_document(DOCS, avg_len=stats))
    for a, b, c in zip(fitted, explicit, as_stats, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.values, c.values)
    with pytest.raises(ValueError, match="avg_len must be positive"):
        tiny_model.encode_document(DOCS, avg_len=0.0)  # raised at the call, not on iteration


def test_measure_leaves_the_model_unchanged(tiny_model: MiniCOIL) -> None:
    before = tiny_model.corpus_stats
    stats = tiny_model.measure(DOCS)
    assert stats.n_docs == 5 and tiny_model.corpus_stats is before
    assert tiny_model.fit(DOCS) == stats


def test_all_stopword_corpus_fits_a_usable_length(tiny_model: MiniCOIL) -> None:
    stats = tiny_model.fit(["the of and", "a an"])
    assert stats.avg_len == 1.0
    assert len(next(tiny_model.encode_document("the of"))) == 0


# ---------------------------------------------------------------- models by name


def test_shipped_model_loads_by_name_and_by_default() -> None:
    from minicoil.defaults import KNOWN_MODELS, default_model_path

    shipped = default_model_path()
    if shipped is None:
        pytest.skip("no shipped model installed")
    assert "minicoil-en" in KNOWN_MODELS
    by_name = MiniCOIL.from_pretrained("minicoil-en")
    default = MiniCOIL.from_pretrained()
    by_path = MiniCOIL.from_pretrained(shipped)
    assert by_name.config == default.config == by_path.config
    assert by_name.vocab.stems == by_path.vocab.stems


def test_unknown_model_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match=r"unknown model 'minicoil-fr'.*minicoil-en"):
        MiniCOIL.from_pretrained("minicoil-fr")
    with pytest.raises(ModelFormatError, match="model folder not found"):
        MiniCOIL.from_pretrained(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match="model folder not found"):
        MiniCOIL.from_pretrained("models/nope")


def test_a_folder_wins_over_a_name(
    tiny_model: MiniCOIL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_model.save_pretrained(tmp_path / "minicoil-en")
    monkeypatch.chdir(tmp_path)
    assert MiniCOIL.from_pretrained("minicoil-en").vocab.stems == tiny_model.vocab.stems


# ---------------------------------------------------------------- the package surface


def test_import_minicoil_loads_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, minicoil; assert 'torch' not in sys.modules, 'torch'; "
        "from minicoil import CorpusStats, ModelFormatError; "
        "assert 'torch' not in sys.modules, 'torch after stats'; print(minicoil.__version__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from importlib.metadata import version

    assert done.stdout.strip() == version("minicoil")


def test_lazy_exports_are_the_real_objects() -> None:
    import minicoil
    from minicoil.model import MiniCOIL as Direct

    assert minicoil.MiniCOIL is Direct
    assert set(minicoil.__all__) <= set(dir(minicoil))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        minicoil.Nope  # noqa: B018
