import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import DecoderLM
from tfllm.objectives import get_objective

REWARDS = -np.array([[0.0, 0.5, 0.5], [0.2, 0.0, 0.9]])
VALUES = np.array([[0.3, -0.2, 0.0], [-0.5, 0.1, 0.7]])
MASK = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])


def test_rwr_weights_nll_by_exp_reward(batch, fixed_lm, label_log_probs):
    loss, metrics = get_objective("rwr", beta=0.5)(fixed_lm, batch)
    weights = np.exp(REWARDS / 0.5)  # all <= 1: no clipping at the default max_weight
    expected = -(weights * label_log_probs * MASK).sum() / 5.0
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)
    np.testing.assert_allclose(float(metrics["mean_weight"]), (weights * MASK).sum() / 5.0,
                               rtol=1e-6)
    np.testing.assert_allclose(float(metrics["token_loss"]),
                               -(label_log_probs * MASK).sum() / 5.0, rtol=1e-6)


def test_rwr_clips_weights(batch, fixed_lm, label_log_probs):
    loss, _ = get_objective("rwr", beta=0.5, max_weight=0.5)(fixed_lm, batch)
    weights = np.minimum(np.exp(REWARDS / 0.5), 0.5)
    np.testing.assert_allclose(float(loss), -(weights * label_log_probs * MASK).sum() / 5.0,
                               rtol=1e-6)


def test_awr_matches_hand_computation(batch, fixed_lm, label_log_probs):
    objective = get_objective("awr", alpha=0.6, beta=0.25, max_weight=1.2)
    loss, metrics = objective(fixed_lm, batch)
    advantages = REWARDS - VALUES  # [[-.3, -.3, -.5], [.3, -.1, -1.6]]
    weights = np.minimum(np.exp(advantages / 0.25), 1.2)  # exp(1.2) clipped to 1.2
    assert weights[1, 0] == 1.2
    lm_loss = -(weights * label_log_probs * MASK).sum() / 5.0
    value_loss = ((VALUES - REWARDS) ** 2 * MASK).sum() / 5.0
    np.testing.assert_allclose(float(metrics["lm_loss"]), lm_loss, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["value_loss"]), value_loss, rtol=1e-5)
    np.testing.assert_allclose(float(loss), 0.6 * lm_loss + 0.4 * value_loss, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["mean_advantage"]),
                               (advantages * MASK).sum() / 5.0, rtol=1e-5)


def _value_head_gradient(alpha, batch):
    model = DecoderLM.from_preset("tiny", vocabulary_size=8, value_head=True)
    with tf.GradientTape() as tape:
        loss, _ = get_objective("awr", alpha=alpha)(model, batch)
    grads = tape.gradient(loss, model.value_head.trainable_variables)
    return [0.0 if g is None else float(tf.reduce_sum(tf.abs(g))) for g in grads]


def test_awr_value_head_learns_only_from_value_loss(batch):
    assert sum(_value_head_gradient(1.0, batch)) == 0.0  # stop-gradient in the weights
    assert sum(_value_head_gradient(0.5, batch)) > 0.0


def test_awr_needs_value_head(batch):
    model = DecoderLM.from_preset("tiny", vocabulary_size=8)
    with pytest.raises(ValueError, match="no value head"):
        get_objective("awr")(model, batch)


@pytest.mark.parametrize("name", ["rwr", "awr"])
def test_needs_scores(name, batch, fixed_lm):
    del batch["scores"]
    with pytest.raises(ValueError, match=f"{name} objective: batch lacks keys \\['scores'\\]"):
        get_objective(name)(fixed_lm, batch)
