"""Search hits as a person reads them: one line per hit with the matched query words marked,
or one JSON object per hit for scripts.

Marking uses the model's own words and stems (``TextProcessor``), so a word is marked exactly
when BM25/miniCOIL counts it as a match ("banks" for the query "bank"), and never a stopword.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from minicoil.text import TextProcessor

SNIPPET_CHARS = 160
"""Snippet length: with rank, id, score and title, one hit stays on about two terminal rows."""
_LEAD = 40  # characters kept before the first match, so the snippet shows its context


def use_colour(stream: Any = None) -> bool:
    """Bold/colour only for a terminal: piped output stays plain text (and NO_COLOR wins)."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def _flat(text: str) -> str:
    return " ".join(text.split())


def snippet(text: str, spans: Sequence[tuple[int, int]], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` (whitespace folded) starting a little before the
    first matched span, with ``…`` where text was cut."""
    flat = _flat(text)
    if len(flat) <= width:
        return flat
    first = _flat(text[: spans[0][0]]) if spans else ""
    start = max(0, len(first) - _LEAD) if spans else 0
    if start > 0:  # start on a word boundary
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < len(first) else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    return ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")


def mark(text: str, stems: set[str], processor: TextProcessor, colour: bool) -> str:
    """``text`` with every word whose stem is in ``stems`` in bold yellow (when ``colour``)."""
    if not colour or not stems:
        return text
    pieces, last = [], 0
    for word in processor.words(text):
        if word.stem in stems:
            pieces.append(text[last : word.start])
            pieces.append(typer.style(text[word.start : word.end], fg="yellow", bold=True))
            last = word.end
    return "".join([*pieces, text[last:]])


def hit_line(
    rank: int, hit: Any, stems: set[str], processor: TextProcessor, colour: bool
) -> str:
    """``rank  id  score  title — snippet`` on one line (newlines in the data folded)."""
    body = _flat(getattr(hit, "text", "") or "")
    spans = [(w.start, w.end) for w in processor.words(body) if w.stem in stems]
    parts = [f"{rank:>3}", str(hit.doc_id), f"{hit.score:.4f}"]
    title = _flat(getattr(hit, "title", "") or "")
    shown = snippet(body, spans)
    text = " — ".join(p for p in (title, shown) if p)
    if colour:
        parts[1] = typer.style(parts[1], bold=True)
        text = mark(text, stems, processor, colour)
    return "  ".join([*parts, text]) if text else "  ".join(parts)


def hit_record(rank: int, hit: Any) -> str:
    """One hit as a JSON object: rank, id, score, title and the full text."""
    record = {
        "rank": rank,
        "id": hit.doc_id,
        "score": float(hit.score),
        "title": getattr(hit, "title", "") or "",
        "text": getattr(hit, "text", "") or "",
    }
    return json.dumps(record, ensure_ascii=False)


def print_hits(
    hits: Iterable[Any], query: str, processor: TextProcessor, *, as_json: bool
) -> int:
    """Print the hits; returns how many there were."""
    colour = use_colour()
    stems = {word.stem for word in processor.words(query)}
    count = 0
    for rank, hit in enumerate(hits, start=1):
        line = hit_record(rank, hit) if as_json else hit_line(rank, hit, stems, processor, colour)
        typer.echo(line, color=colour)
        count += 1
    return count
