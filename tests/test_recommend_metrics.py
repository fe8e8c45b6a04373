"""Evaluation functions against values computed by hand, and the leave-one-out protocol."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from shopmind.recommend.data import Interactions, InteractionsError, read_sequences
from shopmind.recommend.evaluate import (
    coverage,
    evaluate,
    hit_rate_at_k,
    leave_one_out,
    metrics_from_ranks,
    ndcg_at_k,
    rank_of_targets,
)


def test_hit_rate_counts_a_relevant_item_in_the_first_k() -> None:
    assert hit_rate_at_k(["a", "b", "c"], {"c"}, 3) == 1.0
    assert hit_rate_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert hit_rate_at_k([], {"c"}, 10) == 0.0


def test_ndcg_matches_hand_computed_values() -> None:
    # one relevant item at rank 3: 1 / log2(4) = 0.5
    assert ndcg_at_k(["a", "b", "c"], {"c"}, 10) == pytest.approx(0.5)
    # rank 1 is perfect
    assert ndcg_at_k(["c", "a"], {"c"}, 10) == pytest.approx(1.0)
    # two relevant at ranks 1 and 3: (1 + 0.5) / (1 + 1/log2(3))
    assert ndcg_at_k(["x", "a", "y"], {"x", "y"}, 3) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert ndcg_at_k(["a"], set(), 10) == 0.0


def test_coverage_is_the_share_of_the_catalog_recommended() -> None:
    assert coverage([["a", "b"], ["b", "c"]], 6) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        coverage([], 0)


def test_metrics_from_ranks_average_over_users() -> None:
    # ranks 0 (gain 1), 2 (gain 0.5), 12 (miss at k=10)
    got = metrics_from_ranks(np.array([0, 2, 12]), (10,))
    assert got["hr@10"] == pytest.approx(2 / 3)
    assert got["ndcg@10"] == pytest.approx((1 + 0.5) / 3)


def test_full_ranking_excludes_the_history_and_counts_ties_against_the_target() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.7, 0.1]], dtype=np.float32)

    def scorer(histories: list) -> np.ndarray:
        return np.repeat(scores, len(histories), axis=0)

    # history item 0 is excluded: the target 2 ties with 3, so it ranks after 1 and 3
    assert rank_of_targets(scorer, [np.array([0])], np.array([2])).tolist() == [2]
    # a target the user had before can never be hit: it ranks after every item
    assert rank_of_targets(scorer, [np.array([1])], np.array([1])).tolist() == [5]


def test_leave_one_out_keeps_the_last_two_items_out_of_training() -> None:
    split = leave_one_out([np.array([1, 2, 3, 4]), np.array([5, 6]), np.array([7, 8, 9])])
    assert [t.tolist() for t in split.train] == [[1, 2], [5, 6], [7]]
    assert split.users.tolist() == [0, 2]
    assert split.valid.tolist() == [3, 8] and split.test.tolist() == [4, 9]


def test_evaluate_scores_validation_on_train_and_test_on_train_plus_valid() -> None:
    split = leave_one_out([np.array([0, 1, 2, 3])])
    seen: list[list[int]] = []

    def scorer(histories: list) -> np.ndarray:
        seen.extend(h.tolist() for h in histories)
        # the next item after the last one scores highest
        out = np.zeros((len(histories), 5), dtype=np.float32)
        for r, h in enumerate(histories):
            out[r, (h[-1] + 1) % 5] = 1.0
        return out

    assert evaluate(scorer, split, "valid")["ndcg@10"] == pytest.approx(1.0)
    assert evaluate(scorer, split, "test")["hr@10"] == pytest.approx(1.0)
    assert seen == [[0, 1], [0, 1, 2]]
    with pytest.raises(ValueError, match="stage"):
        evaluate(scorer, split, "train")


def test_sequences_come_back_in_time_order() -> None:
    data = Interactions.from_rows([("u", "b", 2.0), ("u", "a", 1.0), ("v", "c", 0.0)])
    assert [[data.items[i] for i in s] for s in data.sequences()] == [["a", "b"], ["c"]]
    assert data.matrix().shape == (2, 3)


def test_a_fixed_item_list_keeps_codes_and_drops_unknown_items() -> None:
    data = Interactions.from_rows([("u", "b", 1.0), ("u", "zz", 2.0)], items=["a", "b"])
    assert data.items == ["a", "b"] and len(data) == 1 and data.item_codes.tolist() == [1]


def test_sequence_files_name_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("1 10 11 12\n\n2 11 13\n", encoding="utf-8")
    assert read_sequences(good) == [("1", ["10", "11", "12"]), ("2", ["11", "13"])]
    bad = tmp_path / "bad.txt"
    bad.write_text("1 10 11\n2\n", encoding="utf-8")
    with pytest.raises(InteractionsError, match=r"bad.txt, line 2: user '2' has no items"):
        read_sequences(bad)
    twice = tmp_path / "twice.txt"
    twice.write_text("1 10\n1 11\n", encoding="utf-8")
    with pytest.raises(InteractionsError, match=r"line 2: user '1' already on line 1"):
        read_sequences(twice)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"1 10\n\xff\xfe 2\n")
    with pytest.raises(InteractionsError, match="line 2: not UTF-8"):
        read_sequences(binary)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(InteractionsError, match="no sequences"):
        read_sequences(empty)
    with pytest.raises(InteractionsError, match="cannot read"):
        read_sequences(tmp_path / "missing.txt")
