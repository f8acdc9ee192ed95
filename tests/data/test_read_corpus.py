"""``read_corpus``: every format chosen by content, and one clear error for ambiguous input."""

from __future__ import annotations

import bz2
import gzip
import json
import re
import sys
from pathlib import Path

import pytest

from minicoil.data import CorpusFormatError, Document, detect_corpus_format, read_corpus


def jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


BEIR = [
    {"_id": "d1", "title": "River", "text": "The bank of the river."},
    {"_id": "d2", "text": "Money at the bank.", "metadata": {}},
]
EXPECTED = [
    Document(doc_id="d1", text="The bank of the river.", title="River"),
    Document(doc_id="d2", text="Money at the bank."),
]


@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.json", "corpus.txt", "no_suffix"])
def test_beir_jsonl_is_read_whatever_its_name(tmp_path: Path, name: str) -> None:
    path = jsonl(tmp_path / name, BEIR)
    assert detect_corpus_format(path) == "beir"
    assert list(read_corpus(path)) == EXPECTED


def test_beir_folder_and_compressed_files(tmp_path: Path) -> None:
    jsonl(tmp_path / "corpus.jsonl", BEIR)
    assert list(read_corpus(tmp_path)) == EXPECTED
    raw = (tmp_path / "corpus.jsonl").read_bytes()
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "c.bz2").write_bytes(bz2.compress(raw))
    assert list(read_corpus(tmp_path / "c.jsonl.gz")) == EXPECTED
    assert list(read_corpus(tmp_path / "c.bz2")) == EXPECTED


def test_pyserini_jsonl(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "collection.jsonl",
        [{"id": "a", "contents": "river bank"}, {"id": 7, "contents": "money", "title": "T"}],
    )
    assert detect_corpus_format(path) == "pyserini"
    assert list(read_corpus(path)) == [
        Document(doc_id="a", text="river bank"),
        Document(doc_id="7", text="money", title="T"),
    ]


def test_plain_text_ids_are_line_numbers_counting_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "docs.txt"
    path.write_text("first doc\n\nthird, with a comma\n", encoding="utf-8")
    assert detect_corpus_format(path) == "text"
    assert list(read_corpus(path)) == [
        Document(doc_id="1", text="first doc"),
        Document(doc_id="3", text="third, with a comma"),
    ]


def test_folder_of_txt_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("second\nfile\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first file", encoding="utf-8")
    (tmp_path / "sub" / "c.txt").write_text("nested", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("temporary", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not a txt", encoding="utf-8")
    assert detect_corpus_format(tmp_path) == "txt-folder"
    assert list(read_corpus(tmp_path)) == [
        Document(doc_id="a.txt", text="first file"),
        Document(doc_id="b.txt", text="second\nfile"),
        Document(doc_id="sub/c.txt", text="nested"),
    ]


def test_csv_with_quoted_multiline_field_and_named_columns(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_text(
        'DocID,Title,Body\n1,River,"The bank,\nof the river"\n2,,"Money ""bank"""\n',
        encoding="utf-8",
    )
    assert detect_corpus_format(path) == "csv"
    assert list(read_corpus(path)) == [
        Document(doc_id="1", text="The bank,\nof the river", title="River"),
        Document(doc_id="2", text='Money "bank"'),
    ]


def test_tsv_without_id_column_uses_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "docs.tsv"
    path.write_text("title\ttext\nRiver\triver bank\n\nMoney\tmoney bank\n", encoding="utf-8")
    assert detect_corpus_format(path) == "tsv"
    assert list(read_corpus(path)) == [
        Document(doc_id="2", text="river bank", title="River"),
        Document(doc_id="4", text="money bank", title="Money"),
    ]


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "docs.bin"  # named wrongly on purpose: the magic bytes decide
    table = pa.table({"_id": ["x", "y"], "text": ["river bank", "money"], "title": ["R", None]})
    pq.write_table(table, path)
    assert detect_corpus_format(path) == "parquet"
    assert list(read_corpus(path)) == [
        Document(doc_id="x", text="river bank", title="R"),
        Document(doc_id="y", text="money"),
    ]


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "docs.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(
        CorpusFormatError, match=r"docs\.parquet: .*pip install 'minicoil\[parquet\]'"
    ):
        list(read_corpus(path))


def test_wikiextractor_documents(tmp_path: Path) -> None:
    path = tmp_path / "wiki_00"
    path.write_text(
        '<doc id="12" url="u" title="Anarchism">\nAnarchism\n\nA philosophy.\nHistory.\n</doc>\n',
        encoding="utf-8",
    )
    assert list(read_corpus(path)) == [
        Document(doc_id="12", text="A philosophy.\nHistory.", title="Anarchism")
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.jsonl", '{"doc": "x", "body": "y"}\n', r"neither BEIR .* nor Pyserini"),
        ("b.json", "[1, 2]\n", r"a JSON array"),
        ("c.txt", '{"_id": "d1", "text": \n', r"starts like JSON but is not"),
        ("d.jsonl", "just words\n", r"named \.jsonl but its content is not jsonl"),
        ("e.csv", "a,b\n1,2\n", r"no text column"),
    ],
)
def test_ambiguous_files_get_one_error_naming_them(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=re.escape(name) + ".*" + message):
        list(read_corpus(path))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("dup.jsonl", '{"_id": "1", "text": "a"}\n{"_id": "1", "text": "b"}\n',
         r"dup\.jsonl, line 2: duplicate id '1' \(first seen on line 1\)"),
        ("dup.csv", "id,text\n1,a\n1,b\n", r"dup\.csv, line 3: duplicate id '1'"),
        ("bad.jsonl", '{"_id": "1", "text": "a"}\n{"_id": "2"}\n',
         r"bad\.jsonl, line 2: missing 'text'"),
        ("cols.csv", "id,text\n1,a,extra\n", r"cols\.csv, line 2: expected 2 columns"),
    ],
)  # fmt: skip
def test_bad_records_name_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=message):
        list(read_corpus(path))


def test_missing_paths_and_folders_without_a_corpus(tmp_path: Path) -> None:
    with pytest.raises(CorpusFormatError, match=r"absent\.jsonl: file not found"):
        read_corpus(tmp_path / "absent.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusFormatError, match=r"empty: folder holds neither"):
        read_corpus(tmp_path / "empty")
    (tmp_path / "beir" / "qrels").mkdir(parents=True)
    with pytest.raises(CorpusFormatError, match=r"beir/corpus\.jsonl: file not found"):
        read_corpus(tmp_path / "beir")


def test_empty_file_has_no_documents(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert list(read_corpus(path)) == []


def test_indexable_text_joins_title_and_text() -> None:
    assert Document(doc_id="1", text=" body ", title="Title").indexable_text == "Title  body"
    assert Document(doc_id="1", text="body").indexable_text == "body"
