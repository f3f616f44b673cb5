import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import DecoderLM
from tfllm.objectives import get_objective


@pytest.mark.parametrize("name", ["mle", "filtering", "conditional"])
def test_loss_is_masked_mean_nll(name, batch, fixed_lm, label_log_probs):
    loss, metrics = get_objective(name)(fixed_lm, batch)
    mask = batch["loss_mask"].numpy()
    expected = -(label_log_probs * mask).sum() / 5.0
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)
    np.testing.assert_allclose(float(metrics["token_loss"]), expected, rtol=1e-6)
    # argmax per position: [0, 2, 0], [1, 3, 0]; labels [0, 2, 3], [1, 3, (pad)]
    np.testing.assert_allclose(float(metrics["accuracy"]), 4.0 / 5.0)
    assert float(metrics["tokens"]) == 5.0
    assert fixed_lm.calls == [(["padding_mask", "token_ids"], True)]


def test_hand_computed_single_token(make_lm):
    # logits [0, log 3] -> p(label 1) = 3/4, so the loss is log(4/3).
    batch = {"token_ids": np.array([[5]]), "labels": np.array([[1]]),
             "loss_mask": np.array([[1.0]], "float32")}
    loss, metrics = get_objective("mle")(make_lm([[[0.0, np.log(3.0)]]]), batch)
    np.testing.assert_allclose(float(loss), np.log(4.0 / 3.0), rtol=1e-6)
    assert float(metrics["accuracy"]) == 1.0


def test_missing_key_is_a_value_error(batch, fixed_lm):
    del batch["labels"]
    with pytest.raises(ValueError, match="mle objective: batch lacks keys \\['labels'\\]"):
        get_objective("mle")(fixed_lm, batch)


def test_real_model_gradients_flow(batch):
    model = DecoderLM.from_preset("tiny", vocabulary_size=8)
    with tf.GradientTape() as tape:
        loss, _ = get_objective("mle")(model, batch)
    grads = tape.gradient(loss, model.trainable_variables)
    # N(0, 0.02) weights: logits of scale ~0.02 * sqrt(hidden 32) = 0.11, so the loss of
    # these five labels is near log 8, within a few such scales.
    logits = np.asarray(model(batch["token_ids"]))
    assert logits.std() < 0.3
    assert np.isfinite(float(loss)) and abs(float(loss) - np.log(8)) < 0.3
    assert all(g is not None and np.isfinite(np.asarray(g)).all() for g in grads)


def test_preference_vector_reaches_the_model(batch):
    model = DecoderLM.from_preset("tiny", vocabulary_size=8, preference_dim=1)
    objective = get_objective("mle")
    losses = [float(objective(model, {**batch, "preference": np.full((2, 1), v, "float32")})[0])
              for v in (-1.0, 1.0)]
    assert abs(losses[0] - losses[1]) > 1e-6
