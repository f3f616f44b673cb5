"""evaluate_classifier: metrics and confusion matrix over a split, TensorBoard image."""

import glob

import numpy as np
import pytest
import tensorflow as tf

from tfllm.evaluation.classifier import evaluate_classifier

LOGITS = np.array([[2.0, 0.1, -1.0], [0.0, 1.5, 0.3], [0.2, 0.1, 0.9], [1.0, 3.0, 0.0]])


class FixedClassifier:
    def __init__(self, logits):
        self.logits = tf.constant(logits, tf.float32)

    def __call__(self, inputs, training=None):
        return self.logits[:tf.shape(inputs["token_ids"])[0]]


def batch(labels):
    n = len(labels)
    return {"token_ids": tf.ones((n, 5), tf.int32), "padding_mask": tf.ones((n, 5), tf.bool),
            "label": tf.constant(labels, tf.int32)}


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


def test_bad_input():
    empty = tf.data.Dataset.from_tensor_slices(batch([0, 1])).take(0).batch(2)
    with pytest.raises(ValueError, match="dataset is empty"):
        evaluate_classifier(FixedClassifier(LOGITS), empty, ["a", "b"])
    no_labels = tf.data.Dataset.from_tensor_slices({"token_ids": tf.ones((2, 5))}).batch(2)
    with pytest.raises(ValueError, match=r"batch lacks keys \['label'\]"):
        evaluate_classifier(FixedClassifier(LOGITS), no_labels, ["a", "b"])
