"""Bradley-Terry loss: hand-computed values, metrics, and the reward read at the last token."""

import math

import numpy as np
import pytest

from tfllm.objectives import get_objective
from tfllm.objectives.bradley_terry import bradley_terry_loss, full_sequence


class SumReward:
    """reward = sum of token ids over real positions (a stand-in reward model)."""

    def __call__(self, inputs, training=False):
        ids = np.asarray(inputs["token_ids"], "float32")
        return (ids * np.asarray(inputs["padding_mask"], "float32")).sum(axis=1)


def pair_batch():
    # chosen sequences [1, 2, 3] and [1, 1] (padded); rejected [1, 1, 1] and [1, 4, 0]
    return {
        "chosen_token_ids": np.array([[1, 2], [1, 0]], "int32"),
        "chosen_labels": np.array([[2, 3], [1, 0]], "int32"),
        "chosen_padding_mask": np.array([[1, 1], [1, 0]], bool),
        "rejected_token_ids": np.array([[1, 1], [1, 4]], "int32"),
        "rejected_labels": np.array([[1, 5], [4, 0]], "int32"),
        "rejected_padding_mask": np.array([[1, 1], [1, 1]], bool),
    }


def test_loss_equals_hand_computation():
    loss = float(bradley_terry_loss(np.array([2.0, 0.0]), np.array([1.0, 1.0])))
    expected = (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(1.0))) / 2
    assert loss == pytest.approx(expected, rel=1e-6)


def test_full_sequence_appends_the_last_label():
    ids, mask = full_sequence(pair_batch(), "chosen")
    np.testing.assert_array_equal(ids, [[1, 2, 3], [1, 1, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 1, 0]])


def test_objective_scores_whole_sequences():
    loss, metrics = get_objective("bradley_terry")(SumReward(), pair_batch())
    # rewards: chosen 6, 2; rejected 1+1+5=7, 1+4+0=5 -> margins -1, -3
    expected = (math.log(1 + math.exp(1.0)) + math.log(1 + math.exp(3.0))) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    assert float(metrics["pairwise_accuracy"]) == 0.0
    assert float(metrics["reward_margin"]) == pytest.approx(-2.0)


def test_missing_key_is_a_value_error():
    batch = pair_batch()
    del batch["rejected_labels"]
    with pytest.raises(ValueError, match="rejected_labels"):
        get_objective("bradley_terry")(SumReward(), batch)
