"""evaluate_pairs: held-out pairwise metrics over every pair, whatever the batching."""

import keras
import numpy as np
import pytest

from tfllm.data.prompts import make_preference_dataset
from tfllm.evaluation.preference_pairs import evaluate_pairs
from tfllm.models import DecoderLM
from tfllm.objectives import get_objective
from tfllm.tokenizers import ByteTokenizer

PAIRS = [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in [
    ("The day was", " lovely.", " awful."), ("I", " like it", " hate it"),
    ("Tea is", " good", " bad"), ("We are", " glad", " sad"), ("It", " works", " fails")]]


def tiny_lm(seed):
    keras.utils.set_random_seed(seed)
    model = DecoderLM.from_preset("tiny", vocabulary_size=ByteTokenizer().vocabulary_size)
    model(np.zeros((1, 8), np.int32))
    return model


def test_a_ragged_last_batch_counts_each_pair_once():
    tokenizer = ByteTokenizer()
    objective = get_objective("dpo", beta=0.5)
    policy = tiny_lm(1)
    objective.set_reference(tiny_lm(2))
    dataset = make_preference_dataset(PAIRS, tokenizer, 24, 2, shuffle=False)  # 2 + 2 + 1
    metrics = evaluate_pairs(objective, policy, dataset)
    (whole,) = make_preference_dataset(PAIRS, tokenizer, 24, 5, shuffle=False)
    _, expected = objective(policy, whole, training=False)
    assert metrics["pairs"] == 5
    assert metrics["pairwise_accuracy"] == pytest.approx(float(expected["pairwise_accuracy"]))
    assert metrics["reward_margin"] == pytest.approx(float(expected["reward_margin"]),
                                                     rel=1e-5)
    assert metrics["reward_margin"] != 0.0  # the policy and its reference differ


def test_no_pairs_is_an_error():
    objective = get_objective("dpo", beta=0.5)
    with pytest.raises(ValueError, match="no pairs"):
        evaluate_pairs(objective, tiny_lm(1), [])
