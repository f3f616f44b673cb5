import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import get_objective
from tfllm.objectives.unlikelihood import log1mexp


def test_loss_matches_hand_computation(batch, fixed_lm, label_log_probs):
    loss, metrics = get_objective("unlikelihood", threshold=0.1, alpha=0.7)(fixed_lm, batch)
    lp = label_log_probs
    # scores > 0.1: [[0, 1, 1], [1, 0, 1]]; the last token of row 1 is not counted.
    expected = (-lp[0, 0] - 0.7 * np.log(1 - np.exp(lp[0, 1])) - 0.7 * np.log(1 - np.exp(lp[0, 2]))
                - 0.7 * np.log(1 - np.exp(lp[1, 0])) - lp[1, 1]) / 5.0
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["bad_fraction"]), 3.0 / 5.0, rtol=1e-6)


def test_threshold_is_inclusive_for_good(batch, fixed_lm, label_log_probs):
    # With threshold 0.5 only the 0.9 token is bad, and it is masked: pure MLE.
    loss, _ = get_objective("unlikelihood", threshold=0.5)(fixed_lm, batch)
    mask = batch["loss_mask"].numpy()
    np.testing.assert_allclose(float(loss), -(label_log_probs * mask).sum() / 5.0, rtol=1e-6)


def test_log1mexp_is_stable():
    x = tf.constant([-1e-12, -1e-3, -0.5, -np.log(2.0), -5.0, -60.0], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = log1mexp(x)
    grad = tape.gradient(y, x).numpy()
    expected = np.log(-np.expm1(np.minimum(x.numpy().astype(np.float64), np.log1p(-1e-6))))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-7)
    assert np.all(np.isfinite(grad))
    assert y.numpy()[-1] == pytest.approx(-np.exp(-60.0), rel=1e-3)


def test_confident_bad_token_gives_finite_clipped_loss(make_lm):
    batch = {"token_ids": np.array([[5]]), "labels": np.array([[1]]),
             "loss_mask": np.array([[1.0]], "float32"), "scores": np.array([[1.0]], "float32")}
    loss, _ = get_objective("unlikelihood", alpha=2.0)(make_lm([[[0.0, 40.0]]]), batch)
    # p(label) rounds to 1; log p is clipped to log(1 - 1e-6): loss = -2 log(1e-6).
    np.testing.assert_allclose(float(loss), -2.0 * np.log(1e-6), rtol=1e-3)


def test_needs_scores(batch, fixed_lm):
    del batch["scores"]
    with pytest.raises(ValueError, match="unlikelihood objective: batch lacks keys"):
        get_objective("unlikelihood")(fixed_lm, batch)
