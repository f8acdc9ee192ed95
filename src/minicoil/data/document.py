"""The one document type that every corpus reader yields and every indexer consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """One corpus entry: an id unique within its corpus, the body text and an optional title.

    Metadata of the source file is not kept, since nothing here ranks on it.
    """

    doc_id: str
    text: str
    title: str = ""

    @property
    def indexable_text(self) -> str:
        """``title + " " + text``, stripped (just the text when there is no title).

        BEIR baselines (BM25 in Pyserini/Elasticsearch) index the title together with the body,
        so we do the same to keep numbers comparable.
        """
        return f"{self.title} {self.text}".strip()
