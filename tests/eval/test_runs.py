"""TREC run files: exact format, tie-breaking, depth, round trip, atomic writes, read errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from minicoil.eval import runs
from minicoil.eval.runs import RunFileError, rank_documents, read_trec_run, write_trec_run

RUN: dict[str, dict[str, float]] = {
    "q2": {"d1": 0.5},
    "q10": {"b": 1.0, "a": 1.0, "c": 2.5, "z": -0.25},
}


def test_exact_format_and_tie_breaking(tmp_path: Path) -> None:
    path = write_trec_run(tmp_path / "run.trec", RUN, tag="bm25")
    assert path == tmp_path / "run.trec"
    # Queries sorted by id as strings ("q10" < "q2"); within q10: c (2.5) first, then the tie
    # a/b (1.0) broken by doc id ascending, then z; ranks start at 1.
    assert path.read_text(encoding="utf-8") == (
        "q10 Q0 c 1 2.5 bm25\n"
        "q10 Q0 a 2 1.0 bm25\n"
        "q10 Q0 b 3 1.0 bm25\n"
        "q10 Q0 z 4 -0.25 bm25\n"
        "q2 Q0 d1 1 0.5 bm25\n"
    )


def test_output_does_not_depend_on_insertion_order(tmp_path: Path) -> None:
    reordered = {qid: dict(reversed(list(docs.items()))) for qid, docs in reversed(RUN.items())}
    first = write_trec_run(tmp_path / "a.trec", RUN, tag="t")
    second = write_trec_run(tmp_path / "b.trec", reordered, tag="t")
    assert first.read_bytes() == second.read_bytes()


def test_round_trip_keeps_scores_exactly(tmp_path: Path) -> None:
    run = {"q1": {"d1": 0.1 + 0.2, "d2": 1e-17, "d3": 123456.789012345, "d4": 3}}
    path = write_trec_run(tmp_path / "run.trec", run, tag="exact")
    assert read_trec_run(path) == run


def test_depth_truncates_each_query(tmp_path: Path) -> None:
    path = write_trec_run(tmp_path / "run.trec", RUN, tag="t", depth=2)
    # q10 keeps c and a (a wins the tie with b); q2 has only one document.
    assert read_trec_run(path) == {"q10": {"c": 2.5, "a": 1.0}, "q2": {"d1": 0.5}}


def test_default_depth_is_1000(tmp_path: Path) -> None:
    run = {"q": {f"d{i:04d}": float(i) for i in range(1005)}}
    lines = write_trec_run(tmp_path / "run.trec", run, tag="t").read_text().splitlines()
    assert len(lines) == 1000
    assert lines[0] == "q Q0 d1004 1 1004.0 t"
    assert lines[-1] == "q Q0 d0005 1000 5.0 t"


def test_write_does_not_mutate_input_and_creates_parents(tmp_path: Path) -> None:
    original = copy.deepcopy(RUN)
    write_trec_run(tmp_path / "deep" / "er" / "run.trec", RUN, tag="t")
    assert original == RUN
    assert (tmp_path / "deep" / "er" / "run.trec").is_file()


def test_empty_run_writes_empty_file(tmp_path: Path) -> None:
    path = write_trec_run(tmp_path / "run.trec", {"q": {}}, tag="t")
    assert path.read_text() == ""
    assert read_trec_run(path) == {}


def test_rank_documents() -> None:
    docs = {"b": 1.0, "a": 1.0, "c": 0.0}
    assert rank_documents(docs) == [("a", 1.0), ("b", 1.0), ("c", 0.0)]
    assert rank_documents(docs, depth=1) == [("a", 1.0)]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_leaves_nothing_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real_format = runs._format_line

    def failing_format(*args: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk full")
        return real_format(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(runs, "_format_line", failing_format)
    with pytest.raises(OSError, match="disk full"):
        write_trec_run(tmp_path / "run.trec", RUN, tag="t")
    assert calls == 3  # two lines had been written to the temporary file
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_the_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_trec_run(tmp_path / "run.trec", RUN, tag="old")
    before = path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("replace failed")

    monkeypatch.setattr(runs.os, "replace", failing_replace)
    with pytest.raises(OSError, match="replace failed"):
        write_trec_run(path, {"q": {"d": 1.0}}, tag="new")
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == ["run.trec"]


def test_invalid_id_midway_leaves_no_partial_file(tmp_path: Path) -> None:
    run = {"a": {"d1": 1.0}, "b": {"bad doc": 1.0}}
    with pytest.raises(ValueError, match="document id 'bad doc'"):
        write_trec_run(tmp_path / "run.trec", run, tag="t")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("run", "tag", "depth", "message"),
    [
        ({"q": {"d": 1.0}}, "two words", 10, "tag 'two words'"),
        ({"q": {"d": 1.0}}, "", 10, "tag ''"),
        ({"q 1": {"d": 1.0}}, "t", 10, "query id 'q 1'"),
        ({"q": {"d": float("nan")}}, "t", 10, "is nan"),
        ({"q": {"d": float("inf")}}, "t", 10, "is inf"),
        ({"q": {"d": 1.0}}, "t", 0, "depth must be >= 1"),
    ],
)
def test_write_rejects_unwritable_runs(
    tmp_path: Path, run: dict[str, dict[str, float]], tag: str, depth: int, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        write_trec_run(tmp_path / "run.trec", run, tag=tag, depth=depth)
    assert _leftovers(tmp_path) == []


def test_read_accepts_other_q0_values_blank_lines_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text("q1 0 d1 1 2.0 x\n\nq1\tQ0\td2\t2\t-1e3\tx\r\nq2 Q0 d1 1 5 y\n")
    assert read_trec_run(path) == {"q1": {"d1": 2.0, "d2": -1000.0}, "q2": {"d1": 5.0}}


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("q1 Q0 d3 3 1.0", r"expected 6 columns \(qid Q0 docid rank score tag\), got 5"),
        ("q1 Q0 d3 3 1.0 t extra", r"expected 6 columns .* got 7"),
        ("q1 Q0 d3 third 1.0 t", r"rank 'third' is not an integer"),
        ("q1 Q0 d3 -1 1.0 t", r"rank -1 is negative"),
        ("q1 Q0 d3 3 high t", r"score 'high' is not a number"),
        ("q1 Q0 d3 3 nan t", r"score 'nan' is not finite"),
        ("q1 Q0 d1 3 1.0 t", r"document 'd1' listed twice for query 'q1' \(first on line 1\)"),
    ],
)
def test_read_errors_name_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = tmp_path / "bad.trec"
    path.write_text(f"q1 Q0 d1 1 3.0 t\nq1 Q0 d2 2 2.0 t\n{bad_line}\n")
    with pytest.raises(RunFileError, match=r"bad\.trec, line 3: " + message):
        read_trec_run(path)


def test_read_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.trec"
    path.write_bytes(b"q1 Q0 d1 1 3.0 t\nq1 Q0 \xff 2 2.0 t\n")
    with pytest.raises(RunFileError, match=r"bad\.trec, line 2: invalid UTF-8"):
        read_trec_run(path)


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.trec"):
        read_trec_run(tmp_path / "absent.trec")
