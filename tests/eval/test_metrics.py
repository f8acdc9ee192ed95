"""Metrics against values worked out by hand (trec_eval conventions: gain = grade, log2 discount).

Notation: DCG@k = sum over ranks r <= k of grade(r) / log2(r + 1); IDCG is the DCG of the ideal
ordering of the judged grades; NDCG = DCG / IDCG. Recall@k = relevant retrieved in top k /
relevant judged (grade >= 1). MRR@k = 1 / rank of the first relevant document in the top k.
"""

from __future__ import annotations

import copy
import math

import pytest

from minicoil.eval.metrics import (
    DEFAULT_METRICS,
    evaluate,
    evaluate_per_query,
    remove_self_hits,
    truncate_run,
)

QRELS: dict[str, dict[str, int]] = {
    "q1": {"d1": 2, "d2": 0, "d3": 1},  # graded: d1 highly relevant, d3 relevant, d2 judged 0
    "q2": {"d4": 1, "d5": 1},
    "q3": {"d6": 1},  # not in the run at all: counts as 0 (trec_eval -c)
}
RUN: dict[str, dict[str, float]] = {
    "q1": {"d2": 0.9, "d1": 0.8, "d3": 0.7},  # ranking d2, d1, d3
    "q2": {"d4": 0.5, "d9": 0.4},  # ranking d4, d9 (d9 unjudged = not relevant)
    "q9": {"d1": 1.0},  # not in qrels: ignored
}

# q1, ranking d2 (0), d1 (2), d3 (1):
#   DCG@10  = 0/log2(2) + 2/log2(3) + 1/log2(4) = 0 + 1.261860 + 0.5 = 1.761860
#   IDCG@10 = 2/log2(2) + 1/log2(3)             = 2 + 0.630930      = 2.630930
#   NDCG@10 = 1.761860 / 2.630930 = 0.669672
#   Recall@100 = 2 relevant retrieved / 2 relevant = 1.0
#   MRR@10 = first relevant (d1) at rank 2 -> 1/2 = 0.5
Q1_NDCG10 = (2 / math.log2(3) + 1 / math.log2(4)) / (2 + 1 / math.log2(3))
# q2, ranking d4 (1), d9 (0):
#   DCG@10  = 1/log2(2) = 1
#   IDCG@10 = 1/log2(2) + 1/log2(3) = 1 + 0.630930 = 1.630930
#   NDCG@10 = 1 / 1.630930 = 0.613147
#   Recall@100 = 1 / 2 = 0.5;  MRR@10 = 1/1 = 1.0
Q2_NDCG10 = 1 / (1 + 1 / math.log2(3))


def test_hand_computed_constants() -> None:
    assert round(Q1_NDCG10, 6) == 0.669672
    assert round(Q2_NDCG10, 6) == 0.613147


def test_per_query_default_metrics() -> None:
    per_query = evaluate_per_query(QRELS, RUN)
    assert set(per_query) == {"q1", "q2", "q3"}  # q9 (unjudged) is not reported
    assert per_query["q1"] == pytest.approx(
        {"ndcg@10": Q1_NDCG10, "recall@100": 1.0, "mrr@10": 0.5}
    )
    assert per_query["q2"] == pytest.approx(
        {"ndcg@10": Q2_NDCG10, "recall@100": 0.5, "mrr@10": 1.0}
    )
    assert per_query["q3"] == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}


def test_mean_over_all_judged_queries() -> None:
    # Means over the 3 judged queries (q3 contributes zeros):
    #   NDCG@10    = (0.669672 + 0.613147 + 0) / 3 = 0.427606
    #   Recall@100 = (1.0 + 0.5 + 0) / 3 = 0.5
    #   MRR@10     = (0.5 + 1.0 + 0) / 3 = 0.5
    result = evaluate(QRELS, RUN)
    assert list(result) == list(DEFAULT_METRICS)
    assert result["ndcg@10"] == pytest.approx((Q1_NDCG10 + Q2_NDCG10) / 3)
    assert result["ndcg@10"] == pytest.approx(0.427606, abs=1e-6)
    assert result["recall@100"] == pytest.approx(0.5)
    assert result["mrr@10"] == pytest.approx(0.5)


def test_cutoff_one() -> None:
    # Only rank 1 counts. q1: d2 (grade 0) -> NDCG@1 = 0, Recall@1 = 0/2, MRR@1 = 0
    #   (without truncation recip_rank would give 1/2 here: this checks MRR@k truncates).
    # q2: d4 (grade 1) -> NDCG@1 = 1/1 (IDCG@1 = 1), Recall@1 = 1/2, MRR@1 = 1.
    # Means over 3 queries: NDCG@1 = 1/3, Recall@1 = 0.5/3, MRR@1 = 1/3.
    result = evaluate(QRELS, RUN, metrics=("ndcg@1", "recall@1", "mrr@1"))
    assert result == pytest.approx({"ndcg@1": 1 / 3, "recall@1": 0.5 / 3, "mrr@1": 1 / 3})


def test_several_cutoffs_of_one_kind() -> None:
    # q1 NDCG@2: DCG = 0 + 2/log2(3) = 1.261860; IDCG@2 = 2.630930 -> 0.479626.
    # q1 MRR@2 = 1/2 (d1 at rank 2 is inside the cutoff), MRR@1 = 0.
    per_query = evaluate_per_query(QRELS, RUN, metrics=["NDCG@2", "ndcg@10", "mrr@1", "MRR@2"])
    assert per_query["q1"] == pytest.approx(
        {
            "ndcg@2": (2 / math.log2(3)) / (2 + 1 / math.log2(3)),
            "ndcg@10": Q1_NDCG10,
            "mrr@1": 0.0,
            "mrr@2": 0.5,
        }
    )


def test_ties_follow_trec_eval_doc_id_descending() -> None:
    # a and b tie on score; trec_eval ranks the larger doc id first: b (0), a (1).
    #   MRR@10 = 1/2; MRR@1 = 0; NDCG@10 = (1/log2(3)) / 1 = 0.630930.
    qrels = {"q": {"a": 1}}
    run = {"q": {"a": 1.0, "b": 1.0}}
    result = evaluate(qrels, run, metrics=("mrr@10", "mrr@1", "ndcg@10"))
    assert result == pytest.approx({"mrr@10": 0.5, "mrr@1": 0.0, "ndcg@10": 1 / math.log2(3)})


def test_query_with_only_non_relevant_judgments_scores_zero() -> None:
    # No document has grade >= 1, so nothing can be found: every metric is 0, and the query still
    # counts in the mean -> (1 + 0) / 2 for MRR@10 and Recall@100.
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    run = {"q1": {"a": 2.0}, "q2": {"b": 1.0}}
    assert evaluate(qrels, run, metrics=("mrr@10", "recall@100")) == pytest.approx(
        {"mrr@10": 0.5, "recall@100": 0.5}
    )


def test_empty_run_gives_zero() -> None:
    assert evaluate(QRELS, {}) == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}


def test_inputs_are_not_mutated() -> None:
    qrels, run = copy.deepcopy(QRELS), copy.deepcopy(RUN)
    evaluate(qrels, run, metrics=("ndcg@10", "mrr@1"))
    evaluate_per_query(qrels, run)
    assert qrels == QRELS and run == RUN


def test_integer_scores_are_accepted() -> None:
    # pytrec_eval wants floats; the wrapper converts. Ranking d1, d2 -> MRR@10 = 1.
    assert evaluate({"q": {"d1": 1}}, {"q": {"d1": 2, "d2": 1}}, ["mrr@10"]) == {"mrr@10": 1.0}


def test_single_metric_string_is_accepted() -> None:
    assert evaluate(QRELS, RUN, metrics="mrr@10") == pytest.approx({"mrr@10": 0.5})


@pytest.mark.parametrize("name", ["map", "ndcg", "ndcg@0", "ndcg@-1", "p@10", "mrr@ten", ""])
def test_unknown_metric_is_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(QRELS, RUN, metrics=(name,))


def test_no_metrics_is_rejected() -> None:
    with pytest.raises(ValueError, match="no metrics"):
        evaluate(QRELS, RUN, metrics=())


def test_empty_qrels_is_rejected() -> None:
    with pytest.raises(ValueError, match="qrels is empty"):
        evaluate({}, RUN)


def test_remove_self_hits_returns_a_copy() -> None:
    run = {"q1": {"q1": 9.0, "d1": 1.0}, "d1": {"d1": 2.0}, "q2": {"d2": 0.5}}
    original = copy.deepcopy(run)
    cleaned = remove_self_hits(run)
    assert cleaned == {"q1": {"d1": 1.0}, "d1": {}, "q2": {"d2": 0.5}}
    assert run == original
    cleaned["q2"]["d3"] = 1.0
    assert "d3" not in run["q2"]


def test_remove_self_hits_changes_metrics() -> None:
    # ArguAna-style: the query itself is in the corpus and ranks first.
    # Before: ranking q1 (unjudged), d1 (1) -> MRR@10 = 1/2. After removal: d1 first -> 1.
    qrels = {"q1": {"d1": 1}}
    run = {"q1": {"q1": 5.0, "d1": 1.0}}
    assert evaluate(qrels, run, ["mrr@10"]) == {"mrr@10": 0.5}
    assert evaluate(qrels, remove_self_hits(run), ["mrr@10"]) == {"mrr@10": 1.0}


def test_truncate_run_uses_trec_eval_order() -> None:
    run = {"q": {"a": 1.0, "b": 1.0, "c": 2.0}}
    assert truncate_run(run, 2) == {"q": {"c": 2.0, "b": 1.0}}
    assert run == {"q": {"a": 1.0, "b": 1.0, "c": 2.0}}
    with pytest.raises(ValueError, match="depth"):
        truncate_run(run, 0)
