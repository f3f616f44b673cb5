"""ILQL: its loss terms on hand-computed values, terminal and row-end handling, the Polyak
update of the target heads, and the ILQLModel's heads, save/load and checkpoints."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import DecoderLM, ILQLModel
from tfllm.objectives import get_objective
from tfllm.objectives.ilql import cql_loss, expectile_loss, td_targets, transitions

LN3 = np.log(3.0)


def test_td_targets_bootstrap_unless_terminal():
    targets = td_targets(tf.constant([1.0, 0.5, -1.0]), tf.constant([2.0, 3.0, 4.0]),
                         tf.constant([0.0, 1.0, 0.0]), 0.9)
    np.testing.assert_allclose(targets, [1.0 + 0.9 * 2.0, 0.5, -1.0 + 0.9 * 4.0], rtol=1e-6)


def test_expectile_weighs_each_side_of_tau():
    # u = Qhat - V: above V weighs tau, below 1 - tau; tau = 0.5 is half the squared error.
    np.testing.assert_allclose(expectile_loss(tf.constant([2.0, -2.0, 0.0]), 0.7),
                               [0.7 * 4.0, 0.3 * 4.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(expectile_loss(tf.constant([1.0, -3.0]), 0.5), [0.5, 4.5],
                               rtol=1e-6)


def test_cql_is_cross_entropy_of_q_as_logits():
    q = tf.constant([[0.0, 0.0, np.log(2.0)], [0.0, 0.0, np.log(2.0)]])
    # logsumexp = log(1 + 1 + 2) = log 4; Q(a=2) = log 2, Q(a=0) = 0.
    np.testing.assert_allclose(cql_loss(q, tf.constant([2, 0])), [np.log(2.0), np.log(4.0)],
                               rtol=1e-6)


def test_terminal_at_eos_no_td_at_row_end_or_into_padding(batch):
    # conftest batch: labels [[0, 2, 3], [1, 3, 0]]: label 2 (<eos>) ends a document at
    # (0, 1); (0, 2) is the row's last transition; (1, 1)'s next position is padding.
    done, td_mask = transitions(batch, eos_id=2)
    np.testing.assert_array_equal(done, [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(td_mask, [[1, 1, 0], [1, 0, 0]])


class FakeILQL:
    """Fixed heads on a (1, 3) batch, vocab 3: Q_i full, target Q at the actions, V."""

    def __init__(self):
        self.logits = tf.zeros((1, 3, 3))
        self.q = [tf.constant([[[1.5, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]]),
                  tf.constant([[[0.5, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])]
        self.target_q = [tf.constant([[2.0, 1.0, 4.0]]), tf.constant([[3.0, 3.0, 2.0]])]
        self.v = tf.constant([[1.0, 2.0, 3.0]])
        self.updates = []

    def update_target_heads(self, alpha, every):
        self.updates.append((alpha, every))

    def call_with_hidden(self, inputs, training=None):
        return self.logits, None

    def q_values(self, hidden):
        return self.q

    def target_q_values(self, hidden, actions):
        return self.target_q

    def values(self, hidden):
        return self.v


def fake_batch():
    # labels: action 0, then <eos> (2, terminal), then 1 at the row's end (no TD term).
    return {"token_ids": tf.constant([[1, 0, 1]]), "labels": tf.constant([[0, 2, 1]]),
            "loss_mask": tf.ones((1, 3)), "scores": tf.constant([[0.5, 0.0, 1.0]])}


def test_ilql_loss_on_hand_computed_values():
    model = FakeILQL()
    objective = get_objective("ilql", gamma=0.5, tau=0.7, cql_scale=0.1, lm_scale=2.0,
                              alpha=0.25, target_sync_every=3)
    loss, metrics = objective(model, fake_batch())
    # rewards -score = [-0.5, 0, -1]; V(s_{t+1}) = [2, 3, -]; targets: -0.5 + 0.5 * 2 = 0.5,
    # 0 (terminal: no bootstrap), none at the row end. Q_1(s, a) = [1.5, 1, 0], Q_2 = [.5, 0, 2].
    td = ((1.5 - 0.5) ** 2 + (1.0 - 0.0) ** 2) / 2 + ((0.5 - 0.5) ** 2 + 0.0) / 2
    # min target Q = [2, 1, 2]; u = min - V = [1, -1, -1]: 0.7 * 1, 0.3 * 1, 0.3 * 1.
    value = (0.7 + 0.3 + 0.3) / 3
    cql = (np.log(np.exp(1.5) + 2) - 1.5 + np.log(np.exp(1.0) + 2) - 1.0 + LN3) / 3 \
        + (np.log(np.exp(0.5) + 2) - 0.5 + LN3 + np.log(np.exp(2.0) + 2) - 2.0) / 3
    expected = {"td_loss": td, "value_loss": value, "cql_loss": cql, "token_loss": LN3,
                "loss": td + value + 0.1 * cql + 2.0 * LN3,
                "q_mean": (1.5 + 1.0 + 0.0 + 0.5 + 0.0 + 2.0) / 6, "target_q_mean": 5.0 / 3,
                "v_mean": 2.0, "reward_mean": -0.5, "terminal_fraction": 1.0 / 3}
    for name, value in expected.items():
        np.testing.assert_allclose(float(metrics[name]), value, rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(float(loss), expected["loss"], rtol=1e-5)
    assert model.updates == [(0.25, 3)]  # one Polyak step per training call
    objective(model, fake_batch(), training=False)
    assert model.updates == [(0.25, 3)]  # evaluation updates nothing


def test_reward_offset_shifts_the_td_target():
    model = FakeILQL()
    _, metrics = get_objective("ilql", gamma=0.5, reward_offset=0.5)(model, fake_batch())
    # rewards [0, 0.5, -0.5]: targets 0 + 0.5 * 2 = 1 and 0.5.
    td = ((1.5 - 1.0) ** 2 + (1.0 - 0.5) ** 2) / 2 + ((0.5 - 1.0) ** 2 + 0.5 ** 2) / 2
    np.testing.assert_allclose(float(metrics["td_loss"]), td, rtol=1e-5)
    np.testing.assert_allclose(float(metrics["reward_mean"]), 0.0, atol=1e-7)


def test_ilql_objective_checks(batch):
    with pytest.raises(ValueError, match="not an ILQLModel"):
        get_objective("ilql")(DecoderLM.from_preset("tiny", vocabulary_size=8), batch)
    with pytest.raises(ValueError, match="tau must be in"):
        get_objective("ilql", tau=1.0)
    with pytest.raises(ValueError, match="target_sync_every"):
        get_objective("ilql", target_sync_every=0)


def tiny_ilql(beta=1.0):
    return ILQLModel(DecoderLM.from_preset("tiny", vocabulary_size=8, max_sequence_length=8),
                     beta=beta)


def test_polyak_update_by_hand():
    model = tiny_ilql()
    for head, target in zip(model.q_heads, model.target_q_heads):
        np.testing.assert_array_equal(head.kernel.numpy(), target.kernel.numpy())
        head.kernel.assign(np.ones(head.kernel.shape, "float32"))
        head.bias.assign(np.full(head.bias.shape, 2.0, "float32"))
        target.kernel.assign(np.zeros(target.kernel.shape, "float32"))
        target.bias.assign(np.full(target.bias.shape, 4.0, "float32"))
    model.update_target_heads(0.25, every=2)  # call 1 of 2: no change
    assert float(model.target_q_heads[0].bias[0]) == 4.0
    model.update_target_heads(0.25, every=2)  # 0.25 * online + 0.75 * target
    for target in model.target_q_heads:
        np.testing.assert_allclose(target.kernel.numpy(), 0.25, rtol=1e-6)
        np.testing.assert_allclose(target.bias.numpy(), 0.25 * 2.0 + 0.75 * 4.0, rtol=1e-6)
    assert int(model.target_updates.numpy()) == 2


def test_heads_advantages_and_objective_on_the_model(batch):
    model = tiny_ilql()
    hidden = model.call_with_hidden(batch["token_ids"])[1]
    q_1, q_2 = (np.asarray(q) for q in model.target_q_values(hidden))
    values = np.asarray(model.values(hidden))
    np.testing.assert_allclose(model.advantages(hidden), np.minimum(q_1, q_2) - values[..., None],
                               rtol=1e-5, atol=1e-6)
    taken = model.target_q_values(hidden, batch["labels"])[0]
    np.testing.assert_allclose(taken, np.take_along_axis(q_1, batch["labels"].numpy()[..., None],
                                                         -1)[..., 0], rtol=1e-5, atol=1e-6)
    heads = {v.path.split("/")[0] for v in model.trainable_variables} - {model.backbone.name}
    assert heads == {"q_head_1", "q_head_2", "v_head"}  # the targets are not trained
    # Updated inside the Trainer's per-replica compiled function: on-read replicas, not
    # mirrored variables (whose assignment there needs an unsupported cross-replica merge).
    for variable in model.target_q_heads[0].weights + [model.target_updates]:
        assert variable.synchronization == "on_read", variable.path
    with tf.GradientTape() as tape:
        loss, metrics = get_objective("ilql")(model, batch)
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads) and np.isfinite(float(loss))
    assert int(model.target_updates.numpy()) == 1
    assert {"td_loss", "value_loss", "cql_loss", "token_loss", "q_mean", "v_mean"} <= set(metrics)


def test_save_load_and_checkpoint_round_trip(tmp_path, batch):
    from tfllm.training.checkpoints import Checkpointer, model_trackables, restore_model

    model = tiny_ilql(beta=3.0)
    model.update_target_heads(0.5)
    path = os.path.join(tmp_path, "ilql.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ILQLModel) and loaded.beta == 3.0
    assert int(loaded.target_updates.numpy()) == 1
    inputs = batch["token_ids"]
    hidden, loaded_hidden = model.call_with_hidden(inputs)[1], loaded.call_with_hidden(inputs)[1]
    np.testing.assert_allclose(loaded(inputs), model(inputs), rtol=1e-6, atol=1e-6)
    for ours, theirs in ((model.advantages(hidden), loaded.advantages(loaded_hidden)),
                         (model.q_values(hidden)[1], loaded.q_values(loaded_hidden)[1])):
        np.testing.assert_allclose(theirs, ours, rtol=1e-6, atol=1e-6)
    step = tf.Variable(0, dtype=tf.int64)
    Checkpointer(str(tmp_path / "checkpoints"), step, **model_trackables(model)).save()
    fresh = ILQLModel.from_config(model.get_config())
    restore_model(str(tmp_path / "checkpoints"), fresh)
    for ours, theirs in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(theirs.numpy(), ours.numpy(), err_msg=ours.path)
