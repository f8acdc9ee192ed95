"""Unit tests of the training steps on tiny inputs: resume records, sample, encode, targets,
fit and combine (the pipeline test covers them only end to end)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from minicoil.backbone import Backbone
from minicoil.text import TextProcessor, Vocabulary
from minicoil.train import fit as fit_module
from minicoil.train.combine import combine_model
from minicoil.train.corpus import CorpusError
from minicoil.train.encode import encode_samples, snippet_span, token_spans
from minicoil.train.encoded import EncodedSamples, Layout
from minicoil.train.fit import FitConfig, fit_heads
from minicoil.train.sample import Selection, sample_sentences, select_sentences
from minicoil.train.steps import StepRecord, done_marker, done_marker_path
from minicoil.train.targets import mine_triplets, umap_targets

SENTENCES = [
    "The river bank was flooded after the rain.",
    "She put money in the bank this morning.",
    "A bat flew out of the dark cave.",
    "The bank raised the interest on money.",
    "Fish swim in the river near the bank.",
    "The cave by the river was cold.",
    "Money cannot buy a quiet river.",
    "He swung the bat at the ball.",
] * 3
WORDS = ["bank", "river", "money", "bat", "cave"]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary.from_words(WORDS)


@pytest.fixture(scope="module")
def sentences_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sentences") / "sentences.txt"
    path.write_text("".join(s + "\n" for s in SENTENCES), encoding="utf-8")
    return path


# --- steps: the one resume record --------------------------------------------------------


def test_step_record_matches_only_the_same_params_and_output(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("done\n")
    record = done_marker(out, {"a": 1})
    assert record.path == done_marker_path(out) and record.read() is None
    record.write({"lines": 1})
    assert record.read() == {"lines": 1}
    assert done_marker(out, {"a": 2}).read() is None  # other settings
    out.write_text("edited\n")
    assert record.read() is None  # output changed after the record
    chunked = StepRecord(tmp_path / "state.json", {"b": 1})
    chunked.write({"chunks_done": 3})
    assert chunked.read() == {"chunks_done": 3}
    (tmp_path / "state.json").write_text("{damaged")
    assert chunked.read() is None
    chunked.clear()
    assert not chunked.path.exists()


# --- sample ------------------------------------------------------------------------------


def test_select_sentences_is_a_shared_bottom_k_sample(vocab: Vocabulary) -> None:
    processor = TextProcessor()
    full = select_sentences(SENTENCES, vocab, processor, per_word=100, seed=0)
    for stem in vocab.stems:
        w = vocab.id(stem)
        containing = [i for i, s in enumerate(SENTENCES) if w in vocab.ids(processor.stems(s))]
        assert sorted(full.of(w).tolist()) == containing
        assert full.counts[w] == len(containing)
    small = select_sentences(SENTENCES, vocab, processor, per_word=3, seed=0)
    for stem in vocab.stems:
        w = vocab.id(stem)
        assert len(small.of(w)) == 3 and set(small.of(w)) <= set(full.of(w).tolist())
    # "river" and "bank" share sentences and priorities, so they share chosen sentences
    shared = set(small.of(vocab.id("river"))) & set(small.of(vocab.id("bank")))
    assert shared
    other = select_sentences(SENTENCES, vocab, processor, per_word=3, seed=1)
    assert any(not np.array_equal(other.of(w), small.of(w)) for w in range(1, len(vocab) + 1))


def test_sample_sentences_resumes_and_rejects_useless_input(
    sentences_file: Path, vocab: Vocabulary, tmp_path: Path
) -> None:
    out = tmp_path / "selection.npz"
    selection, skipped = sample_sentences(sentences_file, vocab, out, per_word=4, progress=False)
    assert not skipped and done_marker_path(out).is_file()
    again, skipped = sample_sentences(sentences_file, vocab, out, per_word=4, progress=False)
    assert skipped and np.array_equal(again.sentences, selection.sentences)
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing relevant here\n")
    with pytest.raises(CorpusError, match=r"empty\.txt: no vocabulary word occurs"):
        sample_sentences(empty, vocab, tmp_path / "s2.npz", per_word=4, progress=False)


# --- encode ------------------------------------------------------------------------------


def test_layout_and_snippets() -> None:
    selection = Selection(
        offsets=np.array([0, 0, 3, 5]), sentences=np.array([4, 1, 7, 1, 2]), counts=np.ones(3)
    )
    layout = Layout.build(selection, snippet_fraction=0.5)
    assert layout.word.tolist() == [1, 1, 1, 2, 2] and layout.slot.tolist() == [0, 1, 2, 0, 1]
    assert layout.sentences.tolist() == [1, 2, 4, 7]
    assert layout.teacher_row.tolist() == [2, 0, 3, 0, 1]
    assert layout.snippet_offsets.tolist() == [0, 0, 2, 3]  # ceil(3 * .5), ceil(2 * .5)
    assert layout.snippet_row(np.arange(5)).tolist() == [0, 1, -1, 2, -1]
    text = "one two three four five six seven"
    s, e = snippet_span(token_spans(text), text.index("five"), 3, 0.0)
    assert text[s:e] == "five six seven"
    s, e = snippet_span(token_spans(text), text.index("seven"), 4, 0.0)
    assert text[s:e] == "four five six seven"  # clipped at the end, still 4 tokens


@pytest.fixture(scope="module")
def encoded(
    sentences_file: Path,
    vocab: Vocabulary,
    wordpiece_backbone: Backbone,
    tmp_path_factory: pytest.TempPathFactory,
) -> EncodedSamples:
    root = tmp_path_factory.mktemp("encode")
    selection, _ = sample_sentences(
        sentences_file, vocab, root / "sel.npz", per_word=8, progress=False
    )
    result = encode_samples(
        sentences_file, selection, vocab, wordpiece_backbone, root / "enc", chunk_size=5,
        batch_size=4, progress=False,
    )  # fmt: skip
    assert result is not None
    return result


def test_encode_rows_are_the_words_token_means(
    encoded: EncodedSamples, vocab: Vocabulary, wordpiece_backbone: Backbone
) -> None:
    layout = encoded.layout
    assert encoded.valid.all() and encoded.snippet_valid.all()
    pair = int(layout.offsets[vocab.id("river")])  # first sampled sentence of "river"
    sentence = SENTENCES[int(layout.sentences[layout.teacher_row[pair]])]
    tokenized = wordpiece_backbone.tokenize([sentence])
    tokens, dense = wordpiece_backbone.embed(tokenized)
    start = sentence.lower().index("river")
    mine = [i for i, (s, e) in enumerate(tokenized[0].offsets) if s < start + 5 and e > start]
    want = tokens[0][mine].mean(dim=0).numpy()
    np.testing.assert_allclose(encoded.tokens[pair], want, atol=2e-2, rtol=1e-2)
    np.testing.assert_allclose(
        encoded.teacher[layout.teacher_row[pair]], dense[0].numpy(), atol=2e-2, rtol=1e-2
    )


def test_encode_resumes_and_rechunking_gives_the_same_rows(
    sentences_file: Path,
    vocab: Vocabulary,
    wordpiece_backbone: Backbone,
    encoded: EncodedSamples,
    tmp_path: Path,
) -> None:
    selection = Selection.load(encoded.folder.parent / "sel.npz")
    kwargs = dict(chunk_size=5, batch_size=4, progress=False)
    stopped = encode_samples(
        sentences_file, selection, vocab, wordpiece_backbone, tmp_path, stop_after_chunks=1,
        **kwargs,
    )  # fmt: skip
    assert stopped is None
    assert json.loads((tmp_path / "state.json").read_text())["result"] == {"chunks_done": 1}
    resumed = encode_samples(
        sentences_file, selection, vocab, wordpiece_backbone, tmp_path, **kwargs
    )
    assert resumed is not None
    np.testing.assert_array_equal(np.asarray(resumed.tokens), np.asarray(encoded.tokens))
    np.testing.assert_array_equal(np.asarray(resumed.snippets), np.asarray(encoded.snippets))
    with pytest.raises(ValueError, match="another vocabulary"):
        encode_samples(
            sentences_file, selection, Vocabulary.from_words(["bank"]), wordpiece_backbone,
            tmp_path, **kwargs,
        )  # fmt: skip


# --- targets -----------------------------------------------------------------------------


def test_mined_triplets_order_positive_before_negative() -> None:
    gen = torch.Generator().manual_seed(0)
    points = torch.nn.functional.normalize(torch.randn(2, 12, 5, generator=gen), dim=-1)
    sim = torch.bmm(points, points.transpose(1, 2))
    sizes = torch.tensor([12, 2])
    triplets, margin, ok = mine_triplets(sim, sizes, 64, gen, min_gap=0.05)
    assert triplets.shape == (2, 64, 3) and (triplets[0] < 12).all() and (triplets[1] < 2).all()
    assert not ok[1].any()  # fewer than 3 samples: no usable triplet
    assert ok[0].any() and (margin[0][ok[0]] > 0.05).all()
    a, p, n = triplets[0][ok[0]].unbind(-1)
    d_ap, d_an = 1 - sim[0, a, p], 1 - sim[0, a, n]
    assert (d_ap <= d_an).all()
    torch.testing.assert_close(margin[0][ok[0]], (d_an - d_ap).abs().float())


def test_umap_targets_of_too_few_samples_are_zero() -> None:
    assert not umap_targets(np.ones((4, 8), dtype=np.float32), dim=4).any()


# --- fit ---------------------------------------------------------------------------------


def _clustered_samples(tmp_path: Path, n: int = 60, hidden: int = 8) -> EncodedSamples:
    """One word whose inputs come from two clusters that its teacher also separates: a head
    that learns anything puts held-out triplets in the teacher's order."""
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, size=n)
    centers = rng.normal(size=(2, hidden)) * 3
    tokens = (centers[label] + rng.normal(size=(n, hidden)) * 0.3).astype(np.float16)
    teacher = np.eye(2)[label] + rng.normal(size=(n, 2)) * 0.05
    selection = Selection(np.array([0, 0, n]), np.arange(n), np.array([0, n]))
    layout = Layout.build(selection, snippet_fraction=0.0)
    empty = np.zeros((0, hidden), dtype=np.float16)
    return EncodedSamples(
        tmp_path, layout, tokens, empty, teacher.astype(np.float16), np.ones(n, bool),
        np.zeros(0, bool),
    )  # fmt: skip


def test_fit_learns_the_teachers_order_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enc = _clustered_samples(tmp_path)
    config = FitConfig(max_steps=150, eval_every=25, triplets_per_word=64, snippet_prob=0.0)
    result = fit_heads(enc, tmp_path / "fit", config, progress=False)
    assert result is not None
    assert result.heads.shape == (2, 8, 4) and not result.heads[0].any()
    assert result.trained_words == 1 and result.agreement > 0.9

    def must_not_train(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished chunk was trained again")

    monkeypatch.setattr(fit_module, "train_chunk", must_not_train)
    again = fit_heads(enc, tmp_path / "fit", config, progress=False)
    assert again is not None
    np.testing.assert_array_equal(again.heads, result.heads)
    with pytest.raises(AssertionError, match="trained again"):  # other settings: no reuse
        fit_heads(enc, tmp_path / "fit", FitConfig(max_steps=10), progress=False)


# --- combine -----------------------------------------------------------------------------


def test_combine_writes_a_loadable_model(
    vocab: Vocabulary, wordpiece_backbone: Backbone, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    heads = rng.normal(size=(len(vocab) + 1, wordpiece_backbone.hidden_size, 4)).astype(np.float32)
    model = combine_model(
        heads, vocab, wordpiece_backbone, str(wordpiece_backbone.path), tmp_path / "m",
        training={"note": "unit test"},
    )  # fmt: skip
    assert model.vocab.stems == vocab.stems
    assert model.config.training == {"note": "unit test"}
    weights = model.heads.weights.float().numpy()
    assert not weights[0].any()  # row 0 is "no head", whatever was passed
    np.testing.assert_allclose(weights[1:], heads[1:], rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="do not fit"):
        combine_model(heads[:-1], vocab, wordpiece_backbone, "x", tmp_path / "bad", training={})
    assert not (tmp_path / "bad").exists()
