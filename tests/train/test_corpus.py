"""Step 1 "Convert": readers for every supported format, their errors, atomic resumable output."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import re
import shutil
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

import pytest

from minicoil.data import iter_lines
from minicoil.train import corpus
from minicoil.train.corpus import (
    CorpusError,
    convert_corpus,
    detect_format,
    iter_paragraphs,
    resolve_inputs,
)
from minicoil.train.steps import done_marker_path

WIKI_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "wikipedia-en"

WIKI_SNIPPET = """\
<doc id="12" url="https://en.wikipedia.org/wiki?curid=12" title="Anarchism">
Anarchism

Anarchism is a political philosophy. It is sceptical of authority.
History.
The earliest anarchist themes can be found in the 6th century BC.
</doc>
<doc id="25" url="https://en.wikipedia.org/wiki?curid=25" title="Autism">
Autism

Autism is a developmental disorder.
</doc>
"""
WIKI_PARAGRAPHS = [
    "Anarchism is a political philosophy. It is sceptical of authority.",
    "History.",
    "The earliest anarchist themes can be found in the 6th century BC.",
    "Autism is a developmental disorder.",
]


def write(path: Path, text: str, compression: str = "none") -> Path:
    """Write UTF-8 ``text`` to ``path``, optionally gzip/bz2-compressed."""
    data = text.encode("utf-8")
    if compression == "gzip":
        data = gzip.compress(data)
    elif compression == "bz2":
        data = bz2.compress(data)
    path.write_bytes(data)
    return path


def jsonl(records: Sequence[object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# ------------------------------------------------------------------------------------------
# Readers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "compression"),
    [("wiki_00", "none"), ("wiki_00.gz", "gzip"), ("wiki_00.bz2", "bz2"), ("wiki_01", "gzip")],
)
def test_wikiextractor_plain_gzip_bz2(tmp_path: Path, name: str, compression: str) -> None:
    # "wiki_01" is gzip without a .gz name: compression is detected from the magic bytes
    path = write(tmp_path / name, WIKI_SNIPPET, compression)
    assert detect_format(path) == "wikiextractor"
    assert list(iter_paragraphs(path)) == WIKI_PARAGRAPHS


def test_wikiextractor_folder_is_walked_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "AB").mkdir()
    (tmp_path / "AA").mkdir()
    write(tmp_path / "AB" / "wiki_00", '<doc id="3" title="C">\nC\nthird\n</doc>\n')
    write(tmp_path / "AA" / "wiki_01.gz", '<doc id="2" title="B">\nB\nsecond\n</doc>\n', "gzip")
    write(tmp_path / "AA" / "wiki_00", '<doc id="1" title="A">\nA\nfirst\n</doc>\n')
    write(tmp_path / "AA" / ".wiki_02.tmp", "not a corpus")
    assert list(iter_paragraphs(tmp_path)) == ["first", "second", "third"]
    assert [p.name for p in resolve_inputs(tmp_path)] == ["wiki_00", "wiki_01.gz", "wiki_00"]


def test_wikiextractor_ignores_text_outside_blocks_but_not_a_file_without_blocks(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "w", "stray line\n" + WIKI_SNIPPET)
    assert list(iter_paragraphs(path, "wikiextractor")) == WIKI_PARAGRAPHS
    plain = write(tmp_path / "plain.txt", "\nOne paragraph.\n")
    with pytest.raises(CorpusError, match=r"plain\.txt, line 2: no <doc \.\.\.> block found"):
        list(iter_paragraphs(plain, "wikiextractor"))


@pytest.mark.parametrize(("name", "compression"), [("p.txt", "none"), ("p.txt.gz", "gzip")])
def test_plain_text_one_paragraph_per_line(tmp_path: Path, name: str, compression: str) -> None:
    path = write(
        tmp_path / name, "  First paragraph. \r\n\n\t\nSecond one.\nno newline at end", compression
    )
    assert detect_format(path) == "text"
    assert list(iter_paragraphs(path)) == ["First paragraph.", "Second one.", "no newline at end"]


def test_jsonl_text_and_title_fields(tmp_path: Path) -> None:
    records = [
        {"id": 1, "body": "Rivers flow.", "name": "Water"},
        {"id": 2, "body": "Banks lend.", "name": None},
        {"id": 3, "body": "No title here."},
        {"id": 4, "body": "   "},
    ]
    path = write(tmp_path / "docs.jsonl", jsonl(records) + "\n")
    assert detect_format(path) == "jsonl"
    assert list(iter_paragraphs(path, text_field="body")) == [
        "Rivers flow.",
        "Banks lend.",
        "No title here.",
    ]
    assert list(iter_paragraphs(path, "jsonl", text_field="body", title_field="name")) == [
        "Water Rivers flow.",
        "Banks lend.",
        "No title here.",
    ]


def test_beir_corpus_joins_title_and_text(tmp_path: Path) -> None:
    records = [
        {"_id": "d1", "title": "Bank", "text": "A river bank.", "metadata": {}},
        {"_id": "d2", "title": "", "text": "Money in the bank."},
    ]
    path = write(tmp_path / "corpus.jsonl.gz", jsonl(records), "gzip")
    assert detect_format(path) == "beir"
    assert list(iter_paragraphs(path)) == ["Bank A river bank.", "Money in the bank."]


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path / "looks.jsonl", jsonl([{"text": "hello"}]))
    assert list(iter_paragraphs(path, "text")) == ['{"text": "hello"}']


# ------------------------------------------------------------------------------------------
# Errors: file and 1-based line in the message
# ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"missing\.txt: cannot open: no such file"):
        list(iter_paragraphs(tmp_path / "missing.txt"))


def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.txt", "text\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user that can read anything (root)")
        with pytest.raises(CorpusError, match=r"secret\.txt: cannot open: Permission denied"):
            list(iter_paragraphs(path))
    finally:
        path.chmod(0o644)


def test_directory_where_a_file_is_expected(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r": cannot open: Is a directory"):
        list(iter_lines(tmp_path, error=CorpusError))


def test_malformed_json_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{"text": "oops\n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl, line 2: malformed JSON"):
        list(iter_paragraphs(path))


def test_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path / "list.jsonl", '{"text": "ok"}\n["text"]\n')
    with pytest.raises(CorpusError, match=r"list\.jsonl, line 2: expected a JSON object, got list"):
        list(iter_paragraphs(path))


def test_missing_text_field(tmp_path: Path) -> None:
    path = write(tmp_path / "x.jsonl", jsonl([{"body": "a"}, {"body": "b"}, {"content": "c"}]))
    with pytest.raises(
        CorpusError, match=r"x\.jsonl, line 3: missing 'body' \(fields present: content\)"
    ):
        list(iter_paragraphs(path, text_field="body"))


def test_text_field_of_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path / "n.jsonl", jsonl([{"text": 12}]))
    with pytest.raises(CorpusError, match=r"n\.jsonl, line 1: 'text' must be a string, got int"):
        list(iter_paragraphs(path))


def test_beir_line_without_text(tmp_path: Path) -> None:
    path = write(tmp_path / "corpus.jsonl", jsonl([{"_id": "1", "text": "a"}, {"_id": "2"}]))
    with pytest.raises(CorpusError, match=r"corpus\.jsonl, line 2: missing 'text'"):
        list(iter_paragraphs(path, "beir"))


def test_gz_name_with_non_gzip_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.gz", "this is not gzip\n")
    with pytest.raises(
        CorpusError, match=r"broken\.gz, line 1: corrupt gzip data: not a gzip file"
    ):
        list(iter_paragraphs(path))


def test_truncated_gzip_names_the_line_reached(tmp_path: Path) -> None:
    text = "".join(f"Paragraph number {i} with some words.\n" for i in range(20_000))
    data = gzip.compress(text.encode())
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CorpusError, match=r"cut\.txt\.gz, line \d+: corrupt or truncated gzip data"
    ) as info:
        list(iter_paragraphs(path))
    assert info.value.line is not None and info.value.line > 1000


def test_corrupt_gzip_body(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(b"a line of text\n" * 1000))
    data[20:40] = b"\xff" * 20
    path = tmp_path / "garbled.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match=r"garbled\.gz, line 1: corrupt or truncated gzip data"):
        list(iter_paragraphs(path))


def test_corrupt_bz2(tmp_path: Path) -> None:
    data = bz2.compress(b"a line of text\n" * 1000)
    path = tmp_path / "garbled.txt.bz2"
    path.write_bytes(data[:10] + b"\x00" * 30 + data[40:])
    with pytest.raises(
        CorpusError, match=r"garbled\.txt\.bz2, line 1: corrupt or truncated bz2 data"
    ):
        list(iter_paragraphs(path))


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"fine\n" + "caf\u00e9\n".encode("latin-1") + b"more\n" * 5000)
    with pytest.raises(CorpusError, match=r"latin1\.txt, line 2: invalid UTF-8"):
        list(iter_paragraphs(path))


@pytest.mark.parametrize("content", ["", "\n\n  \n", '<doc id="1" title="T">\nT\n\n</doc>\n'])
def test_empty_corpus_is_an_error(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty.txt", content)
    with pytest.raises(CorpusError, match=r"empty corpus: no text found in .*empty\.txt"):
        list(iter_paragraphs(path))


def test_empty_folder_and_no_inputs(tmp_path: Path) -> None:
    (tmp_path / "dump").mkdir()
    with pytest.raises(CorpusError, match=r"dump: folder contains no input files"):
        resolve_inputs(tmp_path / "dump")
    with pytest.raises(CorpusError, match="no input files given"):
        resolve_inputs([])


def test_unknown_format(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "text\n")
    with pytest.raises(CorpusError, match="unknown format 'csv'"):
        list(iter_paragraphs(path, "csv"))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# convert_corpus: output, atomicity, resume
# ------------------------------------------------------------------------------------------


def test_convert_writes_one_paragraph_per_line(tmp_path: Path) -> None:
    records = [{"text": "Line one\nline two.\u2028Still the same\tparagraph."}, {"text": "Next."}]
    wiki = write(tmp_path / "wiki_00.bz2", WIKI_SNIPPET, "bz2")
    docs = write(tmp_path / "docs.jsonl", jsonl(records))
    out = tmp_path / "out" / "paragraphs.txt"
    result = convert_corpus([wiki, docs], out, progress=False)
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines == [
        *WIKI_PARAGRAPHS,
        "Line one line two. Still the same paragraph.",
        "Next.",
        "",
    ]
    assert result.paragraphs == 6 and not result.skipped
    assert json.loads(done_marker_path(out).read_text())["result"] == {"paragraphs": 6}


def test_convert_leaves_no_partial_output_when_the_reader_fails(tmp_path: Path) -> None:
    good = "".join(json.dumps({"text": f"doc {i}"}) + "\n" for i in range(5000))
    path = write(tmp_path / "docs.jsonl", good + "{broken\n")
    out = tmp_path / "out" / "paragraphs.txt"
    with pytest.raises(CorpusError, match=r"docs\.jsonl, line 5001: malformed JSON"):
        convert_corpus(path, out, progress=False)
    assert not out.exists()
    assert not done_marker_path(out).exists()
    assert list((tmp_path / "out").iterdir()) == []  # no temporary file left behind


def test_convert_keeps_the_previous_output_when_a_rerun_fails(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", "first version\n")
    out = tmp_path / "paragraphs.txt"
    convert_corpus(path, out, progress=False)
    path.write_bytes(b"second version\n\xff\n")
    with pytest.raises(CorpusError, match=r"p\.txt, line 2: invalid UTF-8"):
        convert_corpus(path, out, progress=False)
    assert out.read_text() == "first version\n"
    assert not done_marker_path(out).exists()  # the old marker no longer describes the inputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.txt", "paragraphs.txt"]


def test_convert_resume_skips_finished_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "wiki_00.gz", WIKI_SNIPPET, "gzip")
    out = tmp_path / "paragraphs.txt"
    first = convert_corpus(path, out, progress=False)
    mtime = out.stat().st_mtime_ns

    def must_not_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the corpus was read again")

    monkeypatch.setattr(corpus, "iter_paragraphs", must_not_read)
    second = convert_corpus(path, out, progress=False)
    assert second.skipped and second.paragraphs == first.paragraphs == 4
    assert out.stat().st_mtime_ns == mtime


def test_convert_redoes_work_when_inputs_options_or_output_change(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", "one\ntwo\n")
    out = tmp_path / "paragraphs.txt"
    assert not convert_corpus(path, out, progress=False).skipped

    write(path, "one\ntwo\nthree\n")  # input changed (size, mtime)
    result = convert_corpus(path, out, progress=False)
    assert not result.skipped and result.paragraphs == 3
    assert convert_corpus(path, out, progress=False).skipped

    with out.open("a") as fh:  # output changed behind the marker's back
        fh.write("tampered\n")
    assert not convert_corpus(path, out, progress=False).skipped
    assert out.read_text() == "one\ntwo\nthree\n"


def test_convert_redoes_work_after_a_same_size_edit(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", "one\ntwo\n")
    out = tmp_path / "paragraphs.txt"
    convert_corpus(path, out, progress=False)
    write(path, "one\ntwX\n")  # same size: only the content hash tells
    assert not convert_corpus(path, out, progress=False).skipped
    assert out.read_text() == "one\ntwX\n"


def test_finished_work_survives_a_copied_or_touched_data_folder(tmp_path: Path) -> None:
    """A re-mounted or copied data folder has new mtimes and paths but the same content."""
    (tmp_path / "a").mkdir()
    path = write(tmp_path / "a" / "p.txt", "one\ntwo\n")
    out = tmp_path / "paragraphs.txt"
    convert_corpus(path, out, progress=False)
    copy = tmp_path / "b"
    shutil.copytree(tmp_path / "a", copy)
    os.utime(copy / "p.txt", ns=(1, 1))
    os.utime(out, ns=(1, 1))
    assert convert_corpus(copy / "p.txt", out, progress=False).skipped

    assert not convert_corpus(path, out, "text", progress=False).skipped  # other options
    assert not convert_corpus(path, out, "text", progress=False, force=True).skipped


def test_convert_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", "one\n")
    with pytest.raises(CorpusError, match="output file is also an input"):
        convert_corpus(path, path, progress=False)
    assert path.read_text() == "one\n"


def test_convert_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "p.txt.gz", "".join(f"p{i}\n" for i in range(3000)), "gzip")
    convert_corpus(path, tmp_path / "out.txt", progress=True)
    assert "convert" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not WIKI_DATA.is_dir(), reason="needs ../shared/data/wikipedia-en")
def test_real_wikiextractor_dump_streams() -> None:
    path = WIKI_DATA / "wiki_AA.gz"
    assert detect_format(path) == "wikiextractor"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        title = re.search(r'title="([^"]*)"', fh.readline()).group(1)  # type: ignore[union-attr]
    paragraphs = list(islice(iter_paragraphs(path), 2000))
    assert len(paragraphs) == 2000
    assert all(p and p == p.strip() and "<doc" not in p and "</doc>" not in p for p in paragraphs)
    assert paragraphs[0] != title and paragraphs[0].startswith(title)  # title line dropped


def test_auto_reads_the_other_corpus_formats_like_read_corpus(tmp_path: Path) -> None:
    """Pyserini JSONL, CSV/TSV with a text column and Parquet go through minicoil.data."""
    pyserini = write(
        tmp_path / "p.jsonl",
        jsonl([{"id": "a", "contents": "River bank."}, {"id": "b", "contents": ""}]),
    )
    table = write(tmp_path / "t.csv", 'id,title,text\n1,River,"The bank,\nflooded."\n')
    assert detect_format(pyserini) == "pyserini" and detect_format(table) == "csv"
    assert list(iter_paragraphs([pyserini, table])) == ["River bank.", "River The bank,\nflooded."]
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"text": ["one", "two"]}), tmp_path / "d.parquet")
    assert detect_format(tmp_path / "d.parquet") == "parquet"
    assert list(iter_paragraphs(tmp_path / "d.parquet")) == ["one", "two"]
