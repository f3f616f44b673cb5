"""DPO and IPO losses against hand-computed values; frozen reference; traced first call."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import get_objective
from tfllm.objectives.dpo import dpo_loss


@keras.saving.register_keras_serializable(package="tfllm_tests")
class TableLM(keras.Model):
    """logits[b, t] = table[token_ids[b, t]]: log-probs are easy to compute by hand."""

    def __init__(self, vocabulary_size=3, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.table = self.add_weight(shape=(vocabulary_size, vocabulary_size),
                                     initializer="zeros", name="table")

    def call(self, inputs, training=None):
        return tf.gather(self.table, inputs["token_ids"])

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


def batch():
    # one pair; prompt token 0, chosen response [1, 1], rejected response [2]
    return {
        "chosen_token_ids": np.array([[0, 1]], "int32"),
        "chosen_labels": np.array([[1, 1]], "int32"),
        "chosen_padding_mask": np.array([[1, 1]], bool),
        "chosen_loss_mask": np.array([[1.0, 1.0]], "float32"),
        "rejected_token_ids": np.array([[0, 2]], "int32"),
        "rejected_labels": np.array([[2, 0]], "int32"),
        "rejected_padding_mask": np.array([[1, 0]], bool),
        "rejected_loss_mask": np.array([[1.0, 0.0]], "float32"),
    }


def test_dpo_loss_hand_values():
    # h = (-1 - -2) - (-3 - -1) = 3
    assert float(dpo_loss(-1.0, -3.0, -2.0, -1.0, beta=0.5)) == pytest.approx(
        math.log(1 + math.exp(-1.5)), rel=1e-6)
    assert float(dpo_loss(-1.0, -3.0, -2.0, -1.0, beta=0.5, loss_type="ipo")) == \
        pytest.approx((3.0 - 1.0) ** 2, rel=1e-6)


def trained_policy():
    model = TableLM()
    objective_reference = TableLM()
    # row 0 (after token 0): logits [0, log 2, 0] -> p(1) = 1/2, p(2) = 1/4
    # row 1 (after token 1): logits [0, log 3, 0] -> p(1) = 3/5
    table = np.zeros((3, 3), "float32")
    table[0, 1] = math.log(2.0)
    table[1, 1] = math.log(3.0)
    model.table.assign(table)
    return model, objective_reference


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_objective_equals_hand_computation(loss_type):
    model, reference = trained_policy()
    objective = get_objective("dpo", beta=0.1, loss_type=loss_type)
    objective.set_reference(reference)  # uniform reference: log p = -log 3 per token
    loss, metrics = objective(model, batch())
    ref_c, ref_r = 2 * -math.log(3), -math.log(3)
    pol_c, pol_r = math.log(0.5) + math.log(0.6), math.log(0.25)
    if loss_type == "ipo":
        ref_c, pol_c = ref_c / 2, pol_c / 2
        h = (pol_c - ref_c) - (pol_r - ref_r)
        expected = (h - 1 / 0.2) ** 2
    else:
        h = (pol_c - ref_c) - (pol_r - ref_r)
        expected = math.log(1 + math.exp(-0.1 * h))
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert float(metrics["reward_margin"]) == pytest.approx(0.1 * h, rel=1e-5)
    assert float(metrics["pairwise_accuracy"]) == float(h > 0)


def test_reference_is_frozen_copy_made_at_first_traced_call():
    model, _ = trained_policy()
    objective = get_objective("dpo", beta=0.1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss, metrics = objective(model, batch())
        return loss, tape.gradient(loss, model.trainable_variables)

    loss, grads = step()
    assert float(loss) == pytest.approx(math.log(2.0), rel=1e-6)  # policy == reference
    assert objective.reference is not model and not objective.reference.trainable
    model.table.assign_add(tf.ones((3, 3)) * grads[0] * -10.0)
    loss, _ = step()
    assert float(loss) < math.log(2.0)  # moving away from the frozen reference helps


def test_bad_options_and_batch():
    with pytest.raises(ValueError, match="loss_type"):
        get_objective("dpo", loss_type="hinge2")
    bad = batch()
    del bad["chosen_loss_mask"]
    with pytest.raises(ValueError, match="chosen_loss_mask"):
        get_objective("dpo")(TableLM(), bad)
