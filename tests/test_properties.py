"""Property-based tests of the text and encoding path: any text in, a valid vector out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minicoil import MiniCOIL

ODD = st.sampled_from(
    [
        "",
        "   \t\n ",
        "🙂🙃 bank 🏦",
        "\x00\x01\x1b[31m bank \x7f",
        "مصرف الضفة bank نهر",  # right-to-left script
        "בנק river",
        "a" * 5000,
        "bank" * 300,
        "the of and",
        "Databases\u200b\u200dplease\u00ad university",
        "e\u0301t\u00e9 caf\u00e9 CAFE\u0301",
        "\uff11\uff12\uff13 \uff42\uff41\uff4e\uff4b",  # full-width "123 bank"
    ]
)
TEXTS = st.one_of(st.text(max_size=300), ODD)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check_vector(vec) -> None:
    assert vec.indices.dtype == np.int32 and vec.values.dtype == np.float32
    assert (vec.indices >= 0).all()
    assert (np.diff(vec.indices.astype(np.int64)) > 0).all()  # sorted and unique
    assert np.isfinite(vec.values).all()
    assert len(vec.indices) == len(vec.values)


@SETTINGS
@given(texts=st.lists(TEXTS, min_size=1, max_size=6))
def test_any_batch_gives_valid_vectors_independent_of_the_batch(
    tiny_model: MiniCOIL, texts: list[str]
) -> None:
    docs = list(tiny_model.encode_document(texts, avg_len=10.0, batch_size=3))
    queries = list(tiny_model.encode_query(texts))
    for doc, query in zip(docs, queries, strict=True):
        check_vector(doc)
        check_vector(query)
    # the same text alone gives the same vector as inside the mixed batch
    for text, doc in zip(texts, docs, strict=True):
        alone = next(tiny_model.encode_document([text], avg_len=10.0))
        assert alone.indices.tolist() == doc.indices.tolist()
        np.testing.assert_allclose(alone.values, doc.values, atol=1e-5)


@SETTINGS
@given(text=TEXTS)
def test_same_text_same_vector(tiny_model: MiniCOIL, text: str) -> None:
    a = next(tiny_model.encode_query(text))
    b = next(tiny_model.encode_query(text))
    assert a.indices.tolist() == b.indices.tolist() and a.values.tolist() == b.values.tolist()


def test_one_megabyte_document(tiny_model: MiniCOIL) -> None:
    text = ("The bank of the river. Money in the bank! " * 25_000)[:1_000_000]
    vec = next(tiny_model.encode_document(text, avg_len=100.0))
    check_vector(vec)
    assert len(vec) > 4


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", None]])
def test_wrong_types_are_type_errors(tiny_model: MiniCOIL, bad: object) -> None:
    with pytest.raises(TypeError):
        list(tiny_model.encode_query(bad))  # type: ignore[arg-type]
