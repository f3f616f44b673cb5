"""Seq2seq cross-entropy: label smoothing against Keras, scheduled sampling, decay, training,
resume."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import Seq2SeqTransformer
from tests.training.conftest import scalars
from tfllm.objectives import get_objective
from tfllm.training import Trainer, make_optimizer

VOCAB = 7


class RecordingSeq2Seq:
    """Logits that depend on the decoder inputs (one-hot of (token + 2) % VOCAB, scaled)."""

    def __init__(self):
        self.decoder_inputs = []

    def __call__(self, inputs, training=None):
        tokens = tf.cast(inputs["decoder_token_ids"], tf.int32)
        self.decoder_inputs.append(tokens.numpy())
        return 3.0 * tf.one_hot((tokens + 2) % VOCAB, VOCAB) + 0.1 * tf.cast(
            tokens[..., None], tf.float32)


def make_batch(rows=2, length=5, seed=0):
    rng = np.random.default_rng(seed)
    decoder = rng.integers(3, VOCAB, (rows, length)).astype("int32")
    decoder[:, 0] = 1
    mask = np.ones((rows, length), bool)
    mask[0, -2:] = False
    return {"encoder_token_ids": rng.integers(3, VOCAB, (rows, 4)).astype("int32"),
            "encoder_padding_mask": np.ones((rows, 4), bool),
            "decoder_token_ids": decoder, "decoder_padding_mask": mask,
            "labels": np.concatenate([decoder[:, 1:], np.full((rows, 1), 2)], 1).astype("int32"),
            "loss_mask": mask.astype("float32")}


def test_teacher_forced_loss_matches_keras_cross_entropy():
    batch = make_batch()
    for smoothing in (0.0, 0.2):
        model = RecordingSeq2Seq()
        loss, metrics = get_objective("seq2seq", label_smoothing=smoothing)(model, batch)
        assert len(model.decoder_inputs) == 1  # teacher forcing: one pass
        logits = model(batch)
        expected = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=smoothing, reduction="sum")(
            tf.one_hot(batch["labels"], VOCAB), logits, sample_weight=batch["loss_mask"])
        expected = float(expected) / batch["loss_mask"].sum()
        np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
        assert float(metrics["tokens"]) == batch["loss_mask"].sum()
        assert (float(metrics["token_loss"]) == float(loss)) == (smoothing == 0)


def test_ratio_zero_feeds_back_greedy_predictions_on_real_tokens():
    batch = make_batch()
    model = RecordingSeq2Seq()
    _, metrics = get_objective("seq2seq", teacher_forcing_ratio=0.0, seed=3)(model, batch)
    gold, mixed = model.decoder_inputs
    np.testing.assert_array_equal(gold, batch["decoder_token_ids"])
    predicted = (gold + 2) % VOCAB  # argmax of the first pass at each position
    mask = batch["decoder_padding_mask"]
    np.testing.assert_array_equal(mixed[:, 0], gold[:, 0])
    np.testing.assert_array_equal(mixed[:, 1:][mask[:, 1:]], predicted[:, :-1][mask[:, 1:]])
    np.testing.assert_array_equal(mixed[~mask], gold[~mask])
    assert float(metrics["teacher_forcing_ratio"]) == 0.0


def test_ratio_half_replaces_about_half_and_eval_never_mixes():
    batch = make_batch(rows=64, length=32, seed=1)
    batch["decoder_padding_mask"][:] = True
    model = RecordingSeq2Seq()
    objective = get_objective("seq2seq", teacher_forcing_ratio=0.5, seed=0)
    objective(model, batch)
    gold, mixed = model.decoder_inputs
    predicted = np.concatenate([gold[:, :1], ((gold + 2) % VOCAB)[:, :-1]], 1)
    differs = (gold != predicted)[:, 1:]  # only there is a replacement visible
    replaced = (mixed != gold)[:, 1:][differs].mean()
    assert 0.45 < replaced < 0.55, replaced
    model.decoder_inputs.clear()
    objective(model, batch, training=False)
    assert len(model.decoder_inputs) == 1


def test_linear_decay_of_the_ratio():
    objective = get_objective("seq2seq", teacher_forcing_ratio=1.0,
                              final_teacher_forcing_ratio=0.0, decay_steps=4, seed=0)
    ratios = [float(objective(RecordingSeq2Seq(), make_batch())[1]["teacher_forcing_ratio"])
              for _ in range(6)]
    np.testing.assert_allclose(ratios, [1.0, 0.75, 0.5, 0.25, 0.0, 0.0])


def test_scheduled_sampling_trains_a_real_model_in_tf_function():
    keras.utils.set_random_seed(0)
    model = Seq2SeqTransformer(VOCAB, 1, 1, 2, 16, 32, 8)
    objective = get_objective("seq2seq", label_smoothing=0.1, teacher_forcing_ratio=0.7, seed=1)
    optimizer = keras.optimizers.Adam(0.01)
    batch = {k: tf.constant(v) for k, v in make_batch(rows=8, length=6, seed=2).items()}

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss, metrics = objective(model, batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, metrics["accuracy"]

    losses = [float(step()[0]) for _ in range(30)]
    assert all(np.isfinite(losses)) and losses[-1] < 0.6 * losses[0], losses


def scheduled_sampling_run(workdir, steps):
    """`steps` Trainer steps (constant learning rate) of a ratio decaying 1.0 -> 0.0 over 8
    steps, checkpointed into `workdir`; returns the final weights."""
    def model_fn():
        keras.utils.set_random_seed(0)
        return Seq2SeqTransformer(VOCAB, 1, 1, 2, 16, 32, 8)

    data = tf.data.Dataset.from_tensors(make_batch(rows=4, length=6, seed=2)).repeat()
    objective = get_objective("seq2seq", teacher_forcing_ratio=1.0,
                              final_teacher_forcing_ratio=0.0, decay_steps=8, seed=1)
    trainer = Trainer(model_fn, objective, data, lambda: make_optimizer(0.01, 0.0),
                      total_steps=steps, workdir=str(workdir), log_every=1, progress=False)
    trainer.train()
    return trainer.model.get_weights()


def test_a_resumed_run_continues_the_ratio_where_it_stopped(tmp_path):
    """A run stopped after 3 of 6 steps and started again from its checkpoint by fresh
    objects logs the ratios and ends with the weights of an uninterrupted run."""
    uninterrupted = scheduled_sampling_run(tmp_path / "whole", 6)
    scheduled_sampling_run(tmp_path / "parts", 3)
    resumed = scheduled_sampling_run(tmp_path / "parts", 6)
    ratios = scalars(str(tmp_path / "parts" / "tensorboard"), "train/teacher_forcing_ratio")
    assert ratios == scalars(str(tmp_path / "whole" / "tensorboard"),
                             "train/teacher_forcing_ratio")
    np.testing.assert_allclose([ratios[step] for step in range(1, 7)],
                               [1.0, 0.875, 0.75, 0.625, 0.5, 0.375])
    for a, b in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(a, b)


def test_bad_options_and_batches():
    with pytest.raises(ValueError, match="label_smoothing"):
        get_objective("seq2seq", label_smoothing=1.0)
    with pytest.raises(ValueError, match="teacher_forcing_ratio"):
        get_objective("seq2seq", teacher_forcing_ratio=1.5)
    batch = make_batch()
    del batch["labels"]
    with pytest.raises(ValueError, match=r"seq2seq objective: batch lacks keys \['labels'\]"):
        get_objective("seq2seq")(RecordingSeq2Seq(), batch)
