"""Fusion functions against values computed by hand."""

from __future__ import annotations

import copy
import math

import pytest

from minicoil.search.fusion import dbsf, ranked, rrf, weighted_sum


def test_ranked_sorts_by_score_then_id() -> None:
    assert ranked({"b": 1.0, "a": 1.0, "c": 2.0}) == [("c", 2.0), ("a", 1.0), ("b", 1.0)]
    assert ranked({"b": 1.0, "a": 1.0, "c": 2.0}, limit=2) == [("c", 2.0), ("a", 1.0)]


def test_rrf_by_hand() -> None:
    runs = [{"a": 3.0, "b": 2.0, "c": 1.0}, {"b": 0.9, "c": 0.8}]
    fused = rrf(runs, k=60)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 62)
    assert [d for d, _ in ranked(fused)] == ["b", "c", "a"]


def test_rrf_breaks_ties_inside_a_run_by_id() -> None:
    fused = rrf([{"y": 1.0, "x": 1.0}], k=1)
    assert fused == {"x": pytest.approx(1 / 2), "y": pytest.approx(1 / 3)}


def test_rrf_rejects_bad_k() -> None:
    with pytest.raises(ValueError, match="k must be positive"):
        rrf([{"a": 1.0}], k=0)


def test_dbsf_by_hand() -> None:
    # run 1: mean 2, sample std 1 -> limits -1 and 5; run 2 has one document -> 0.5
    fused = dbsf([{"a": 1.0, "b": 2.0, "c": 3.0}, {"b": 10.0}])
    assert fused == {
        "a": pytest.approx(2 / 6),
        "b": pytest.approx(3 / 6 + 0.5),
        "c": pytest.approx(4 / 6),
    }


def test_dbsf_equal_scores_and_empty_runs() -> None:
    assert dbsf([{"a": 4.0, "b": 4.0}, {}]) == {"a": 0.5, "b": 0.5}
    assert dbsf([]) == {}


def test_dbsf_outlier_goes_past_one_unless_clipped() -> None:
    # ten zeros and one 100: mean 100/11, sample std 100/sqrt(11);
    # (100 - low) / (high - low) = (1000/sqrt(11) + 300) / 600
    run = {f"d{i}": 0.0 for i in range(10)} | {"top": 100.0}
    want = (1000 / math.sqrt(11) + 300) / 600
    assert dbsf([run])["top"] == pytest.approx(want)
    assert want > 1.0
    assert dbsf([run], clip=True)["top"] == 1.0


def test_weighted_sum_by_hand() -> None:
    fused = weighted_sum({"a": 4.0, "b": 2.0}, {"b": 0.5, "c": 0.9}, weight=3.0)
    assert fused == {"a": pytest.approx(1.0), "b": pytest.approx(2.0), "c": pytest.approx(2.7)}


def test_weighted_sum_never_flips_the_sparse_order() -> None:
    fused = weighted_sum({"a": -2.0, "b": -1.0}, {}, weight=1.0)
    assert fused == {"a": pytest.approx(-1.0), "b": pytest.approx(-0.5)}
    assert weighted_sum({"a": 0.0}, {"a": 0.5}, weight=2.0) == {"a": pytest.approx(1.0)}
    assert weighted_sum({}, {"a": 0.5}, weight=2.0) == {"a": pytest.approx(1.0)}


def test_inputs_are_never_mutated() -> None:
    sparse, dense = {"a": 4.0, "b": 2.0}, {"b": 0.5, "c": 0.9}
    before = copy.deepcopy([sparse, dense])
    rrf([sparse, dense])
    dbsf([sparse, dense], clip=True)
    weighted_sum(sparse, dense, 3.0)
    ranked(sparse)
    assert [sparse, dense] == before
