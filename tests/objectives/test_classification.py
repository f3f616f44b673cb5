"""Classification objective: loss vs Keras, fine-tuning an EncoderClassifier."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.evaluation.classifier import evaluate_classifier
from tfllm.models import EncoderClassifier
from tfllm.objectives import get_objective

LOGITS = np.array([[2.0, 0.1, -1.0], [0.0, 1.5, 0.3], [0.2, 0.1, 0.9], [1.0, 3.0, 0.0]])


class FixedClassifier:
    def __init__(self, logits):
        self.logits = tf.constant(logits, tf.float32)
        self.inputs = []

    def __call__(self, inputs, training=None):
        self.inputs.append(sorted(inputs))
        return self.logits[:tf.shape(inputs["token_ids"])[0]]


def batch(labels):
    n = len(labels)
    return {"token_ids": tf.ones((n, 5), tf.int32), "padding_mask": tf.ones((n, 5), tf.bool),
            "label": tf.constant(labels, tf.int32)}


def test_loss_and_accuracy_match_keras():
    labels = [0, 1, 1, 2]
    for smoothing in (0.0, 0.3):
        model = FixedClassifier(LOGITS)
        loss, metrics = get_objective("classification", label_smoothing=smoothing)(
            model, batch(labels))
        expected = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=smoothing)(tf.one_hot(labels, 3), LOGITS)
        np.testing.assert_allclose(float(loss), float(expected), rtol=1e-5)
        assert float(metrics["accuracy"]) == 0.5 and float(metrics["examples"]) == 4
        assert model.inputs == [["padding_mask", "token_ids"]]


def test_fine_tunes_an_encoder_classifier():
    keras.utils.set_random_seed(0)
    model = EncoderClassifier(20, 1, 2, 16, 32, 8, num_classes=2)
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, 20, (32, 8)).astype("int32")
    labels = (tokens[:, 0] >= 11).astype("int32")  # the class is in the first token
    data = {"token_ids": tf.constant(tokens), "padding_mask": tf.ones((32, 8), tf.bool),
            "label": tf.constant(labels)}
    objective = get_objective("classification")
    optimizer = keras.optimizers.Adam(0.01)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss, metrics = objective(model, data)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = [float(step()) for _ in range(40)]
    assert losses[-1] < 0.3 * losses[0], losses
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(8)
    assert evaluate_classifier(model, dataset, ["a", "b"])["accuracy"] > 0.9


def test_bad_input():
    with pytest.raises(ValueError, match="label_smoothing"):
        get_objective("classification", label_smoothing=-0.1)
    with pytest.raises(ValueError, match=r"batch lacks keys \['label'\]"):
        get_objective("classification")(FixedClassifier(LOGITS), {"token_ids": tf.ones((4, 5))})
