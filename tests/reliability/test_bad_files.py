"""Bad input, tested the way a database tests it: every damaged file a user can hand to
``minicoil`` must end in ONE ``error:`` line that names the file (and the line, where it has
lines), exit status 2, no traceback, and no partial output.

The error matrix below damages one file of an otherwise good setup per case (model folder,
backbone, BEIR folder, training corpus, Qdrant storage) and runs the command that reads it.
Library-level messages are tested next to each module (tests/test_model.py,
tests/eval/test_beir.py, tests/train/test_corpus.py); this file checks what the user sees.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file
from typer.testing import CliRunner

from minicoil import Backbone, MiniCOIL
from minicoil.cli import app
from minicoil.search.qdrant import SearchIndex
from minicoil.train.pipeline import run_pipeline
from tests.conftest import random_model
from tests.reliability.helpers import (
    REPO,
    args_of,
    assert_clean_failure,
    assert_one_line_error,
    cli_env,
    leftovers,
    run_cli,
    temporaries,
)
from tests.train.test_pipeline import tiny_config, write_corpus

BEIR = Path(__file__).resolve().parents[1] / "fixtures" / "beir-tiny"
runner = CliRunner()


# ------------------------------------------------------------------------------ the setup


@dataclass
class Space:
    """One good setup in a temporary folder; a case damages one file of it."""

    root: Path
    model: Path
    backbone: Path
    beir: Path
    corpus: Path
    storage: Path
    out: Path  # every output of the command under test goes here
    cleanup: list[Callable[[], object]] = field(default_factory=list)


@pytest.fixture(scope="module")
def templates(
    wordpiece_backbone: Backbone, wordpiece_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """A saved tiny model, a Qdrant storage holding beir-tiny and a training corpus, built
    once and copied per case."""
    root = tmp_path_factory.mktemp("templates")
    model = random_model(wordpiece_backbone)
    model.save_pretrained(root / "model")
    docs = {}
    for line in (BEIR / "corpus.jsonl").read_text("utf-8").splitlines():
        record = json.loads(line)
        docs[record["_id"]] = f"{record.get('title', '')} {record['text']}".strip()
    with SearchIndex(model, "c", path=root / "storage") as index:
        index.index(docs, progress=False)
    (root / "corpus").mkdir()
    write_corpus(root / "corpus", n_docs=12)
    return {"model": root / "model", "storage": root / "storage", "corpus": root / "corpus"}


@pytest.fixture
def space(tmp_path: Path, templates: dict[str, Path], wordpiece_dir: Path) -> Iterator[Space]:
    s = Space(
        root=tmp_path,
        model=tmp_path / "model",
        backbone=tmp_path / "backbone",
        beir=tmp_path / "beir",
        corpus=tmp_path / "corpus" / "wiki_AA.gz",
        storage=tmp_path / "storage",
        out=tmp_path / "out",
    )
    shutil.copytree(templates["model"], s.model)
    shutil.copytree(wordpiece_dir, s.backbone)
    shutil.copytree(BEIR, s.beir)
    shutil.copytree(templates["corpus"], s.corpus.parent)
    shutil.copytree(templates["storage"], s.storage)
    s.out.mkdir()
    edit_json(s.model / "config.json", backbone=str(s.backbone))  # the copy can be damaged
    yield s
    for close in s.cleanup:
        close()


def edit_json(path: Path, **changes: object) -> Path:
    data = json.loads(path.read_text("utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), "utf-8")
    return path


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def append(path: Path, text: str | bytes) -> Path:
    with path.open("ab") as handle:
        handle.write(text.encode() if isinstance(text, str) else text)
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


# ------------------------------------------------------------------------------ commands


def info(s: Space) -> list[str]:
    return args_of(["info", "--model", s.model])


def index_into(s: Space, storage: Path) -> list[str]:
    return args_of(
        ["index", "--data", s.beir, "--collection", "c", "--model", s.model],
        ["--path", storage, "--quiet"],
    )


def index(s: Space) -> list[str]:
    return index_into(s, s.out / "q")


def index_storage(s: Space) -> list[str]:
    return index_into(s, s.storage)


def search_storage(s: Space) -> list[str]:
    return args_of(["search", "bank", "--collection", "c", "--model", s.model, "--path", s.storage])


def benchmark(s: Space) -> list[str]:
    return args_of(
        ["benchmark", "--data", s.beir, "--model", s.model, "--output", s.out / "r.json", "--quiet"]
    )


def train(s: Space) -> list[str]:
    return args_of(
        ["train", s.corpus, "--out", s.out / "m", "--work", s.out / "w"],
        ["--backbone", s.backbone, "--vocab-size", "8", "--min-count", "3", "--per-word", "8"],
        ["--max-steps", "5", "--precision", "float32", "--quiet"],
    )


# ------------------------------------------------------------------------------ damage


def heads_file(s: Space) -> Path:
    return s.model / "heads.safetensors"


def write_heads(s: Space, tensors: dict[str, torch.Tensor]) -> Path:
    save_file(tensors, str(heads_file(s)))
    return heads_file(s)


def heads_with_nan(s: Space) -> Path:
    config = json.loads((s.model / "config.json").read_text("utf-8"))
    weights = torch.zeros((config["vocab_size"] + 1, config["hidden_size"], config["dim"]))
    weights[3, 0, 0] = float("nan")
    return write_heads(s, {"heads": weights})


def locked_storage(s: Space) -> Path:
    """Another process holds the collection (Edge must never be opened by two processes)."""
    code = (
        "import sys, time\nfrom minicoil.search.edge import EdgeEngine\n"
        "engine = EdgeEngine(sys.argv[1], 'c'); engine.count(); print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(s.storage)], stdout=subprocess.PIPE, text=True, env=env
    )
    s.cleanup.append(holder.kill)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return s.storage / "c"


def local_mode_storage(s: Space) -> Path:
    """A folder written by qdrant-client's local mode (minicoil before Qdrant Edge)."""
    shutil.rmtree(s.storage)
    (s.storage / "collection" / "c").mkdir(parents=True)
    (s.storage / "collection" / "c" / "storage.sqlite").write_bytes(b"")
    write(s.storage / "meta.json", '{"collections": {}}')
    return s.storage


def storage_is_a_file(s: Space) -> Path:
    shutil.rmtree(s.storage)
    s.storage.write_text("not a folder")
    return s.storage


def beir_file(name: str) -> Callable[[Space], Path]:
    return lambda s: s.beir / name


def remove(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return path


def no_tokenizer(s: Space) -> Path:
    for name in ("tokenizer.json", "vocab.txt", "tokenizer.model"):
        (s.backbone / name).unlink(missing_ok=True)
    return s.backbone


def empty_corpus(s: Space) -> Path:
    plain = s.corpus.with_name("empty.txt")
    plain.write_text("\n\n", "utf-8")
    s.corpus = plain
    return plain


def corrupt_gzip(s: Space) -> Path:
    data = s.corpus.read_bytes()
    s.corpus.write_bytes(data[: len(data) // 3])  # the gzip stream ends mid-way
    return s.corpus


def malformed_jsonl_corpus(s: Space) -> Path:
    path = s.corpus.with_name("docs.jsonl")
    path.write_text('{"text": "the river bank"}\n{"text": "oops\n', "utf-8")
    s.corpus = path
    return path


def tiny_corpus(s: Space) -> Path:
    path = s.corpus.with_name("tiny.txt")
    path.write_text("One short sentence about a river bank.\n", "utf-8")
    s.corpus = path
    return s.out / "w" / "sentences.txt"  # the words are counted there


@dataclass(frozen=True)
class Case:
    """``damage`` breaks one file and returns the path the error must name (followed by
    ``where``, e.g. ``", line 9"``); ``command`` reads it; ``message`` is the diagnosis."""

    damage: Callable[[Space], Path]
    command: Callable[[Space], list[str]]
    message: str
    where: str = ""


def row(
    ident: str,
    damage: Callable[[Space], Path],
    command: Callable[[Space], list[str]],
    message: str,
    where: str = "",
) -> Any:
    return pytest.param(Case(damage, command, message, where), id=ident)


def config(s: Space) -> Path:
    return s.model / "config.json"


def corpus(s: Space) -> Path:
    return s.beir / "corpus.jsonl"


def qrels(s: Space) -> Path:
    return s.beir / "qrels" / "test.tsv"


# fmt: off
MATRIX = [
    # ---- model folder (`info` reads every file of it and nothing else)
    row("heads-truncated", lambda s: truncate(heads_file(s)), info, "not a readable safetensors"),
    row("heads-empty", lambda s: truncate(heads_file(s), 0.0), info, "not a readable safetensors"),
    row("heads-garbage", lambda s: write(heads_file(s), b"\xff" * 64), info,
        "not a readable safetensors"),
    row("heads-nan", heads_with_nan, info, "NaN"),
    row("heads-rows-vs-vocab", lambda s: write_heads(s, {"heads": torch.zeros((4, 32, 4))}), info,
        "shape (4, 32, 4), expected (10, 32, 4)"),
    row("heads-wrong-tensor", lambda s: write_heads(s, {"w": torch.zeros((10, 32, 4))}), info,
        "no tensor named 'heads'"),
    row("heads-missing", lambda s: remove(heads_file(s)), info, "not found"),
    row("config-invalid-json", lambda s: write(config(s), "{oops"), info, "invalid JSON"),
    row("config-not-object", lambda s: write(config(s), "[4]"), info, "expected a JSON object"),
    row("config-dim-string", lambda s: edit_json(config(s), dim="4"), info,
        "'dim' must be an integer"),
    row("config-hidden-null", lambda s: edit_json(config(s), hidden_size=None), info,
        "'hidden_size' must be an integer"),
    row("config-k-string", lambda s: edit_json(config(s), k="1.2"), info,
        "'k' must be an integer or a number"),
    row("config-vocab-size", lambda s: edit_json(config(s), vocab_size=4).with_name("vocab.json"),
        info, "holds 9 stems but config.json says vocab_size=4"),
    row("config-newer-format", lambda s: edit_json(config(s), format_version=2), info, "newer"),
    row("vocab-invalid-json", lambda s: write(s.model / "vocab.json", '{"stems": ['), info,
        "invalid JSON"),
    row("vocab-duplicate-stem", lambda s: edit_json(s.model / "vocab.json", stems=["bank"] * 9),
        info, "appears twice"),
    row("stopwords-not-utf8", lambda s: append(s.model / "stopwords.txt", b"\xff\xfe\n"), info,
        "not UTF-8"),
    # ---- backbone folder (index loads it before it creates any storage)
    row("backbone-no-tokenizer", no_tokenizer, index, "has no tokenizer"),
    row("backbone-config-invalid-json", lambda s: write(s.backbone / "config.json", "{").parent,
        index, "cannot load backbone"),
    row("backbone-weights-truncated",
        lambda s: truncate(s.backbone / "model.safetensors", 0.001).parent, index,
        "cannot load backbone"),
    row("backbone-missing", lambda s: remove(s.backbone), index, "backbone folder not found"),
    # ---- BEIR folder (benchmark reads all three files, index only the corpus)
    row("corpus-malformed-line", lambda s: append(corpus(s), '{"_id": "d9", "text": \n'),
        benchmark, "malformed JSON", ", line 9"),
    row("corpus-malformed-line-index", lambda s: append(corpus(s), '{"_id": "d9", "text": \n'),
        index, "malformed JSON", ", line 9"),
    row("corpus-truncated", lambda s: truncate(corpus(s), 0.93), benchmark, "malformed JSON",
        ", line 8"),
    row("corpus-invalid-utf8", lambda s: append(corpus(s), b'{"_id": "d9", "text": "\xff"}\n'),
        index, "invalid UTF-8", ", line 9"),
    row("corpus-duplicate-id", lambda s: append(corpus(s), '{"_id": "d2", "text": "x"}\n'),
        index, "duplicate id 'd2'", ", line 9"),
    row("corpus-no-text", lambda s: append(corpus(s), '{"_id": "d9", "body": "x"}\n'),
        benchmark, "missing 'text'", ", line 9"),
    row("corpus-empty", lambda s: write(corpus(s), "\n"), benchmark, "no documents"),
    row("corpus-empty-index", lambda s: write(corpus(s), ""), index, "no documents"),
    row("corpus-missing-index", lambda s: remove(corpus(s)), index, "file not found"),
    row("queries-empty", lambda s: write(s.beir / "queries.jsonl", ""), benchmark, "no queries"),
    row("queries-malformed-line", lambda s: append(s.beir / "queries.jsonl", "{\n"), benchmark,
        "malformed JSON", ", line 5"),
    row("qrels-unknown-document", lambda s: append(qrels(s), "q1\tnope\t1\n"), benchmark,
        "unknown document id 'nope'", ", line 7"),
    row("qrels-unknown-query", lambda s: append(qrels(s), "q9\td1\t1\n"), benchmark,
        "unknown query id 'q9'", ", line 7"),
    row("qrels-two-columns", lambda s: append(qrels(s), "q1\td1\n"), benchmark,
        "expected 3 tab-separated columns", ", line 7"),
    row("qrels-score-text", lambda s: append(qrels(s), "q1\td2\thigh\n"), benchmark,
        "is not an integer", ", line 7"),
    row("qrels-split-missing", lambda s: remove(qrels(s)), benchmark, "file not found"),
    # ---- training corpus
    row("train-empty-corpus", empty_corpus, train, "empty corpus"),
    row("train-truncated-gzip", corrupt_gzip, train, "corrupt or truncated gzip"),
    row("train-malformed-jsonl", malformed_jsonl_corpus, train, "malformed JSON", ", line 2"),
    row("train-corpus-too-small", tiny_corpus, train, "no stem occurs at least 3 times"),
    row("train-backbone-no-tokenizer", no_tokenizer, train, "has no tokenizer"),
    # ---- embedded store (Qdrant Edge shard + minicoil.json per collection)
    row("storage-metadata-invalid-json", lambda s: write(s.storage / "c" / "minicoil.json", "{"),
        search_storage, "invalid JSON"),
    row("storage-metadata-invalid-json-index",
        lambda s: write(s.storage / "c" / "minicoil.json", "{"), index_storage, "invalid JSON"),
    row("storage-shard-config-garbage",
        lambda s: write(s.storage / "c" / "shard" / "edge_config.json", "{").parent,
        search_storage, "damaged Qdrant Edge shard"),
    row("storage-local-mode", local_mode_storage, search_storage, "qdrant-client local mode"),
    row("storage-local-mode-index", local_mode_storage, index_storage, "index the corpus again"),
    row("storage-is-a-file", storage_is_a_file, search_storage, "not a folder"),
    row("storage-is-a-file-index", storage_is_a_file, index_storage, "not a folder"),
    row("storage-locked", locked_storage, search_storage, "in use by another process (pid"),
]
# fmt: on


@pytest.mark.parametrize("case", MATRIX)
def test_error_matrix(space: Space, case: Case) -> None:
    named = case.damage(space)
    result = runner.invoke(app, case.command(space))
    assert_clean_failure(result, f"{named}{case.where}", case.message)
    if case.command is train:  # finished steps may stay (they resume); the model may not
        assert not (space.out / "m").exists()
        assert temporaries(space.out) == []
    else:
        assert leftovers(space.out) == []


def test_encode_with_a_broken_backbone_is_one_line(space: Space) -> None:
    no_tokenizer(space)
    result = runner.invoke(app, ["encode", "--model", str(space.model), "bank"])
    assert_clean_failure(result, str(space.backbone), "has no tokenizer")


# ------------------------------------------------------------------------------ real processes


@pytest.mark.parametrize(
    ("damage", "command", "message"),
    [
        (lambda s: edit_json(s.model / "config.json", dim="4"), info, "'dim' must be"),
        (lambda s: truncate(s.beir / "corpus.jsonl", 0.93), benchmark, "malformed JSON"),
    ],
    ids=["config-type", "beir-truncated"],
)
def test_real_executable_prints_one_line_and_no_traceback(
    space: Space,
    damage: Callable[[Space], Path],
    command: Callable[[Space], list[str]],
    message: str,
) -> None:
    """What a shell user sees: stderr is exactly one ``error:`` line, stdout is empty."""
    named = damage(space)
    proc = run_cli(*command(space))
    assert proc.stdout == ""
    line = assert_one_line_error(proc.stderr, proc.returncode, str(named), message)
    assert proc.stderr.strip() == line
    assert leftovers(space.out) == []


# ------------------------------------------------------------------------------ atomic output


def test_failed_save_keeps_the_previous_model_and_leaves_nothing(
    tiny_model: MiniCOIL, tmp_path: Path, wordpiece_dir: Path
) -> None:
    """A real failure half-way through copying the backbone (a dangling link in it): the
    previous model folder is untouched, no temporary stays next to it."""
    target = tmp_path / "models" / "m"
    tiny_model.save_pretrained(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    broken = tmp_path / "bb"
    shutil.copytree(wordpiece_dir, broken)
    (broken / "zz-dangling.json").symlink_to(tmp_path / "nowhere")
    model = MiniCOIL.from_pretrained(target, backbone=broken)
    with pytest.raises(shutil.Error, match="zz-dangling"):
        model.save_pretrained(target, include_backbone=True)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert leftovers(tmp_path / "models") == sorted(["m", *(f"m/{name}" for name in before)])


def test_a_killed_writer_leaves_nothing_after_the_next_save(
    tiny_model: MiniCOIL, tmp_path: Path
) -> None:
    """SIGKILL runs no cleanup: the writer's temporary stays, named with its dead pid, and the
    next write of the same target removes it (a live writer's temporary would be kept)."""
    target = tmp_path / "m"
    script = (
        "import os, signal, sys\n"
        "from minicoil.io import atomic_dir\n"
        "with atomic_dir(sys.argv[1]) as tmp:\n"
        "    (tmp / 'config.json').write_text('{}')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(target)], env=cli_env(), cwd=REPO, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    assert [p.name.startswith(".m.tmp-") for p in tmp_path.iterdir()] == [True]
    tiny_model.save_pretrained(target)
    assert leftovers(tmp_path) == sorted(["m", *(f"m/{p.name}" for p in target.iterdir())])
    assert MiniCOIL.from_pretrained(target).vocab.stems == tiny_model.vocab.stems


# ------------------------------------------------------------------------------ damaged work folder


@pytest.fixture(scope="module")
def finished_work(
    wordpiece_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, np.ndarray]:
    """A finished tiny training run: its corpus, work folder and heads."""
    root = tmp_path_factory.mktemp("trained")
    corpus = write_corpus(root)
    run_pipeline([corpus], root / "m", root / "w", tiny_config(wordpiece_dir), progress=False)
    return corpus, root / "w", load_file(str(root / "m" / "heads.safetensors"))["heads"]


WORK_DAMAGE: dict[str, Callable[[Path], object]] = {
    "encode-state-invalid-json": lambda w: (w / "encoded" / "state.json").write_text("{"),
    "encode-meta-invalid-json": lambda w: (w / "encoded" / "meta.json").write_text("{"),
    "encode-tokens-truncated": lambda w: truncate(w / "encoded" / "tokens.npy", 0.1),
    "encode-teacher-missing": lambda w: (w / "encoded" / "teacher.npy").unlink(),
    "fit-state-invalid-json": lambda w: (w / "fit" / "state.json").write_text("[]"),
    "fit-chunk-garbage": lambda w: (w / "fit" / "chunk-00001.npz").write_bytes(b"garbage"),
    "fit-chunk-truncated": lambda w: truncate(w / "fit" / "chunk-00000.npz"),
    "timings-invalid-json": lambda w: (w / "timings.json").write_text("{"),
    "selection-truncated": lambda w: truncate(w / "selection.npz"),
    "vocab-invalid-json": lambda w: (w / "vocab.json").write_text("{"),
}


@pytest.mark.parametrize("damage", list(WORK_DAMAGE), ids=list(WORK_DAMAGE))
def test_damaged_work_folder_is_redone_not_trusted(
    finished_work: tuple[Path, Path, np.ndarray], wordpiece_dir: Path, tmp_path: Path, damage: str
) -> None:
    """Every write in a work folder is atomic, so damage comes from outside (disk, editor).
    A damaged record or array is redone, like a done marker that no longer matches: the
    resume neither stops on a numpy error naming no file nor trusts the damage, and the
    model is bit-identical to the undamaged run's."""
    corpus, work, want = finished_work
    shutil.copytree(work, tmp_path / "w")
    WORK_DAMAGE[damage](tmp_path / "w")
    model = run_pipeline(
        [corpus], tmp_path / "m", tmp_path / "w", tiny_config(wordpiece_dir), progress=False
    )
    assert model is not None
    np.testing.assert_array_equal(
        load_file(str(tmp_path / "m" / "heads.safetensors"))["heads"], want
    )
    assert temporaries(tmp_path) == []
