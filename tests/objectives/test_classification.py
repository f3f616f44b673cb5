"""Classification objective and evaluation: loss vs Keras, metrics, TensorBoard image."""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import EncoderClassifier
from tfllm.objectives import get_objective
from tfllm.objectives.classification import evaluate_classifier

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


def test_evaluate_classifier_metrics_and_confusion_image(tmp_path):
    labels = [0, 1, 1, 2]  # predictions: 0, 1, 2, 1
    dataset = tf.data.Dataset.from_tensor_slices(batch(labels)).batch(4)
    writer = tf.summary.create_file_writer(str(tmp_path))
    metrics = evaluate_classifier(FixedClassifier(LOGITS), dataset, ["neg", "pos", "mixed"],
                                  writer=writer, step=7)
    assert metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 1, 0]]
    assert metrics["accuracy"] == 0.5 and metrics["f1_micro"] == 0.5
    np.testing.assert_allclose(metrics["precision_macro"], (1 + 0.5 + 0) / 3)
    tags = {}
    for path in glob.glob(str(tmp_path / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags[value.tag] = (event.step, value.metadata.plugin_data.plugin_name)
    assert tags["eval/confusion_matrix"] == (7, "images")
    assert tags["eval/f1_macro"][0] == 7


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
    empty = tf.data.Dataset.from_tensor_slices(batch([0, 1])).take(0).batch(2)
    with pytest.raises(ValueError, match="dataset is empty"):
        evaluate_classifier(FixedClassifier(LOGITS), empty, ["a", "b"])
