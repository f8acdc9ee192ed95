"""Reading data files: the one document type, the one line reader, the one corpus reader.

Everything that reads a corpus (indexing, training, evaluation, plots) goes through here, so a
format is parsed in exactly one place and every reader reports bad input the same way: one
error naming the file and line. Cheap to import: no torch, and pyarrow only when a Parquet
file is read.
"""

from minicoil.data.corpus import BEIR_CORPUS_FILE, CorpusFormat, detect_corpus_format, read_corpus
from minicoil.data.document import Document
from minicoil.data.errors import CorpusFormatError, DataFileError
from minicoil.data.lines import iter_lines

__all__ = [
    "BEIR_CORPUS_FILE",
    "CorpusFormat",
    "CorpusFormatError",
    "DataFileError",
    "Document",
    "detect_corpus_format",
    "iter_lines",
    "read_corpus",
]
