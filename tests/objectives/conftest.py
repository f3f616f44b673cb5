"""Fixtures for objective tests: a fake LM with fixed logits/values and a tiny batch."""

import numpy as np
import pytest
import tensorflow as tf


class FixedLM:
    """Returns the same logits for any input; `value_head(hidden)` reads hidden[..., 0]."""

    def __init__(self, logits, hidden=None):
        self.logits = tf.constant(logits, tf.float32)
        self.hidden = None if hidden is None else tf.constant(hidden, tf.float32)
        self.value_head = None if hidden is None else (lambda h: h[..., 0])
        self.calls = []

    def __call__(self, inputs, training=None):
        self.calls.append((sorted(inputs), training))
        return self.logits

    def call_with_hidden(self, inputs, training=None):
        self.calls.append((sorted(inputs), training))
        return self.logits, self.hidden


def log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


LOGITS = np.array([[[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 3.0, -2.0], [1.0, 1.0, 1.0, 1.0]],
                   [[-1.0, 4.0, 0.0, 0.5], [0.0, 0.0, 0.0, 5.0], [2.5, -0.5, 0.3, 0.1]]])
VALUES = np.array([[0.3, -0.2, 0.0], [-0.5, 0.1, 0.7]])


@pytest.fixture
def batch():
    """2 rows x 3 tokens, vocab 4; the last token of row 1 is padding."""
    return {"token_ids": tf.constant([[1, 2, 3], [3, 1, 0]], tf.int32),
            "labels": tf.constant([[0, 2, 3], [1, 3, 0]], tf.int32),
            "padding_mask": tf.constant([[True, True, True], [True, True, False]]),
            "loss_mask": tf.constant([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]),
            "scores": tf.constant([[0.0, 0.5, 0.5], [0.2, 0.0, 0.9]])}


@pytest.fixture
def fixed_lm():
    return FixedLM(LOGITS, hidden=VALUES[..., None])


@pytest.fixture
def label_log_probs(batch):
    """numpy (2, 3) log p(label) under LOGITS."""
    labels = batch["labels"].numpy()
    return np.take_along_axis(log_softmax(LOGITS), labels[..., None], -1)[..., 0]


@pytest.fixture
def make_lm():
    """The FixedLM class, for tests that build their own logits."""
    return FixedLM
