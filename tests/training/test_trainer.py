"""The Trainer in one process: TensorBoard contents, accumulation, NaN guard, checkpoint
fallback, early stopping."""

import glob
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from tests.tensorboard_server import Board
from tfllm.models import DecoderLM
from tfllm.objectives import get_objective
from tfllm.training import EarlyStopping, Trainer, TrainingDiverged, WarmupDecay, make_optimizer

LENGTH = 8


def rows(n, seed=0, poison=None):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 60, size=(n, LENGTH + 1)).astype("int32")
    if poison is not None:
        ids[poison] = 63
    return {"token_ids": ids[:, :-1], "labels": ids[:, 1:],
            "padding_mask": np.ones((n, LENGTH), bool),
            "loss_mask": np.ones((n, LENGTH), np.float32)}


def dataset(batch, n=64, poison=None):
    return tf.data.Dataset.from_tensor_slices(rows(n, poison=poison)).batch(
        batch, drop_remainder=True)


def model_fn():
    keras.utils.set_random_seed(0)
    return DecoderLM.from_preset("tiny", vocabulary_size=64, max_sequence_length=LENGTH)


def trainer(data, workdir=None, steps=4, schedule=None, **options):
    schedule = schedule or WarmupDecay(1e-2, 2, steps)
    options.setdefault("objective", get_objective("mle"))
    return Trainer(model_fn, options.pop("objective"), data,
                   lambda: make_optimizer(schedule, 0.01), total_steps=steps,
                   workdir=workdir, progress=False, **options)


def test_tensorboard_holds_every_signal(tmp_path):
    schedule = WarmupDecay(1e-2, 2, 6)
    t = trainer(dataset(4).repeat(), str(tmp_path), steps=6, schedule=schedule,
                eval_data=dataset(4, n=8), eval_every=3, log_every=1, histogram_every=3,
                sample_fn=lambda model, seed: ["abc", f"seed {seed}"], sample_every=3,
                scorer=lambda texts: [1.0, 3.0],
                hparams={"model.preset": "tiny", "training.steps": 6})
    result = t.train()
    t.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard"),
                                             size_guidance={"tensors": 0})
    acc.Reload()

    def values(tag):
        return {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)}

    learning_rates = values("train/learning_rate")
    assert sorted(learning_rates) == [1, 2, 3, 4, 5, 6]
    for step, value in learning_rates.items():  # step s was taken at schedule(s - 1)
        assert value == pytest.approx(float(schedule(step - 1)), rel=1e-6)
    assert values("train/loss")[6] == pytest.approx(result["train/loss"])
    for step, value in values("train/perplexity").items():
        assert value == pytest.approx(math.exp(values("train/token_loss")[step]), rel=1e-5)
    assert values("eval/loss")[6] == pytest.approx(result["eval/loss"])
    assert sorted(values("eval/loss")) == [3, 6]
    # eval/tokens counts the tokens evaluated (2 batches of 4 rows of LENGTH labels);
    # the per-batch token count is not a training curve of its own.
    assert values("eval/tokens") == {3: 2 * 4 * LENGTH, 6: 2 * 4 * LENGTH}
    assert values("samples/mean_score") == {3: 2.0, 6: 2.0}
    tags = acc.Tags()["tensors"]
    assert "train/tokens" not in tags
    for tag in ("train/grad_norm", "train/tokens_per_s", "train/step_time_s",
                "train/accuracy", "samples"):
        assert tag in tags
    name = t.model.name  # "decoder_lm_<n>" when an earlier test built a model
    assert f"weights/{name}/token_embedding/embeddings" in tags
    assert f"gradients/{name}/token_embedding/embeddings" in tags
    assert "train_step" in acc.PluginTagToContent("graph_run_metadata_graph")  # the graph
    plugins = acc.PluginTagToContent("hparams")
    assert "_hparams_/session_start_info" in plugins
    sample = tf.make_ndarray(acc.Tensors("samples")[0].tensor_proto).item().decode()
    assert "abc" in sample and "· score 3\n" in sample and "seed " in sample


def test_accumulation_equals_a_bigger_batch():
    small = trainer(dataset(4).repeat(), steps=2, accumulation_steps=2)
    small.train()
    big = trainer(dataset(8).repeat(), steps=2)
    big.train()
    for a, b in zip(small.model.weights, big.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-6)


def poisoned_objective():
    mle = get_objective("mle")

    def objective(model, batch, training=True):
        loss, metrics = mle(model, batch, training)
        bad = tf.reduce_any(batch["token_ids"] == 63)
        return loss + tf.where(bad, float("nan"), 0.0), metrics
    return objective


def test_nan_stops_naming_the_step(tmp_path):
    t = trainer(dataset(4, poison=9), str(tmp_path), steps=4, objective=poisoned_objective(),
                checkpoint_every_steps=1)
    with pytest.raises(TrainingDiverged, match="step 3"):
        t.train()
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-2")


def test_nan_batch_is_skipped_on_request():
    t = trainer(dataset(4, poison=9), steps=5, objective=poisoned_objective(),
                nan_policy="skip")
    result = t.train()
    assert result["skipped_batches"] == 1 and result["step"] == 5
    assert int(t.optimizer.iterations.numpy()) == 4
    assert all(np.isfinite(w.numpy()).all() for w in t.model.weights)


def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    first = trainer(dataset(4).repeat(), str(tmp_path), steps=4, checkpoint_every_steps=2)
    first.train()
    first.close()
    for path in glob.glob(str(tmp_path / "checkpoints" / "ckpt-4.data-*")):
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    second = trainer(dataset(4).repeat(), str(tmp_path), steps=4)
    assert second.restore() == 2
    reference = trainer(dataset(4).repeat(), steps=2)
    reference.train()
    for a, b in zip(second.model.weights, reference.model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_early_stopping_on_a_flat_metric():
    t = trainer(dataset(4).repeat(), steps=10, schedule=WarmupDecay(0.0, 0, 10),
                eval_data=dataset(4, n=8), eval_every=1,
                early_stopping=EarlyStopping("eval/loss", patience=1))
    result = t.train()
    assert result["stopped"] == "early_stopping" and result["step"] == 3


def test_rows_longer_than_the_model_are_named_before_tracing():
    long_rows = {key: np.concatenate([value, value], axis=1) for key, value in rows(8).items()}
    data = tf.data.Dataset.from_tensor_slices(long_rows).batch(4, drop_remainder=True)
    with pytest.raises(ValueError, match=r"^training data: token_ids rows of 16 tokens exceed "
                                         r"the model's max_sequence_length 8 "):
        trainer(data)
    with pytest.raises(ValueError, match=r"^evaluation data: token_ids rows of 16"):
        trainer(dataset(4), eval_data=data)
    trainer(dataset(4), eval_data=dataset(4))  # rows of exactly max_sequence_length fit


def test_a_rerun_of_a_finished_run_ends_with_the_same_evaluation(tmp_path):
    first = trainer(dataset(4), workdir=str(tmp_path), eval_data=dataset(4, n=8))
    done = first.train()
    first.close()
    again = trainer(dataset(4), workdir=str(tmp_path), eval_data=dataset(4, n=8))
    rerun = again.train()
    again.close()
    assert rerun["step"] == done["step"] == 4
    evaluation = {k: v for k, v in done.items() if k.startswith("eval/")}
    assert evaluation and {k: rerun[k] for k in evaluation} == pytest.approx(evaluation)


def test_an_empty_evaluation_set_fails_before_training(tmp_path):
    empty = dataset(4, n=8).take(0)
    with pytest.raises(ValueError, match="evaluation dataset is empty.*before training"):
        trainer(dataset(4), workdir=str(tmp_path), eval_data=empty).train()
    assert not glob.glob(str(tmp_path / "checkpoints" / "ckpt-*"))


def test_profiled_steps_open_in_tensorboards_profile_tab(tmp_path):
    t = trainer(dataset(4).repeat(), str(tmp_path), steps=4, profile_steps=(2, 3))
    t.train()
    t.close()
    board = Board(tmp_path / "tensorboard")
    listing = board.get("data/plugins_listing")["profile"]
    assert listing["enabled"]  # the plugin itself, not the "the profiler has moved" page
    assert listing["loading_mechanism"]["module_path"] == "/data/plugin/profile/index.js"
    runs = board.get("data/plugin/profile/runs")
    assert len(runs) == 1  # one profiled window
    tools = board.get(f"data/plugin/profile/run_tools?run={runs[0]}")
    assert "trace_viewer@" in tools and "overview_page" in tools, tools


def test_perplexity_only_where_the_objective_reports_a_token_loss():
    from tfllm.training.trainer import with_perplexity

    assert with_perplexity({"loss": 0.7, "accuracy": 0.5}) == {"loss": 0.7, "accuracy": 0.5}
    assert with_perplexity({"loss": 9.0, "token_loss": 1.0})["perplexity"] == \
        pytest.approx(math.e)
