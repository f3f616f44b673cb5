"""The Trainer on a LoRA model: adapter-only checkpoints (no frozen weight in them), a
resumed run equal to an uninterrupted one, the merged model in <workdir>/checkpoints, and
an optimizer state the size of the adapters'."""

import os

import keras
import numpy as np
import tensorflow as tf

from tfllm.models import DecoderLM
from tfllm.models.restore import restore_model
from tfllm.objectives import get_objective
from tfllm.training import Trainer

VOCAB, LENGTH = 64, 8


def data():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, VOCAB, size=(32, LENGTH + 1)).astype("int32")
    rows = {"token_ids": ids[:, :-1], "labels": ids[:, 1:],
            "padding_mask": np.ones((32, LENGTH), bool),
            "loss_mask": np.ones((32, LENGTH), np.float32)}
    return tf.data.Dataset.from_tensor_slices(rows).batch(4, drop_remainder=True).repeat()


def base_model():
    keras.utils.set_random_seed(0)  # the same "trained" base weights every time
    return DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=LENGTH)


def lora_model():
    model = base_model()
    model.enable_lora(2, ["attention"])
    return model


def trainer(workdir, steps, model=lora_model, **options):
    return Trainer(model, get_objective("mle"), data(),
                   lambda: keras.optimizers.Adam(1e-2), total_steps=steps, workdir=workdir,
                   progress=False, trace_graph=False, jit_compile=False, seed=3, **options)


def adapters(model):
    return {v.path.split("/", 1)[1]: v.numpy() for v in model.trainable_variables}


def test_a_run_resumed_from_adapter_only_checkpoints_equals_an_uninterrupted_one(tmp_path):
    uninterrupted = trainer(str(tmp_path / "ref"), 6)
    uninterrupted.train()
    first = trainer(str(tmp_path / "run"), 3)  # stops after step 3 and its checkpoint
    first.train()
    stored = dict(tf.train.list_variables(str(tmp_path / "run" / "lora_checkpoints")))
    model_keys = sorted(k for k in stored if k.startswith("model"))
    assert model_keys == sorted(
        f"model_trainable_weights/decoder.Sblock_{i}.S{layer}.Slora_kernel_{ab}/"
        ".ATTRIBUTES/VARIABLE_VALUE" for i in (0, 1)
        for layer in ("self_attention.Sqkv", "self_attention.Soutput") for ab in "ab")
    resumed = trainer(str(tmp_path / "run"), 6)
    result = resumed.train()
    assert result["step"] == 6
    expected, got = adapters(uninterrupted.model), adapters(resumed.model)
    assert sorted(got) == sorted(expected)
    for path in expected:
        np.testing.assert_array_equal(got[path], expected[path], err_msg=path)
    # the frozen weights came from the base model, unchanged, in both runs
    base = {v.path.split("/", 1)[1]: v.numpy() for v in base_model().weights}
    for variable in resumed.model.weights:
        path = variable.path.split("/", 1)[1]
        if path in base:
            np.testing.assert_array_equal(variable.numpy(), base[path], err_msg=path)


def test_the_workdir_holds_the_merged_model_for_later_binaries(tmp_path):
    t = trainer(str(tmp_path), 4, checkpoint_every_steps=2)
    t.train()
    state = tf.train.get_checkpoint_state(str(tmp_path / "checkpoints"))
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == ["ckpt-4"]
    assert sorted(os.path.basename(p) for p in tf.train.get_checkpoint_state(
        str(tmp_path / "lora_checkpoints")).all_model_checkpoint_paths) == ["ckpt-2", "ckpt-4"]
    assert os.path.isfile(tmp_path / "adapters.lora.h5")
    plain = DecoderLM.from_config(t.model.get_config())
    restore_model(str(tmp_path / "checkpoints"), plain)
    assert not any("lora" in v.path for v in plain.variables)
    ids = np.arange(2 * LENGTH).reshape(2, LENGTH) % VOCAB
    np.testing.assert_allclose(plain(ids).numpy(), t.model(ids).numpy(), atol=2e-5)
    assert np.abs(plain(ids).numpy() - base_model()(ids).numpy()).max() > 1e-3  # trained


def test_a_lora_run_keeps_optimizer_state_for_the_adapters_only(tmp_path):
    def state_size(t):
        return sum(int(np.prod(v.shape)) for v in t.optimizer.variables)

    full, lora = trainer(None, 1, model=base_model), trainer(None, 1)
    adapter_size = sum(int(np.prod(v.shape)) for v in lora.model.trainable_variables)
    model_size = sum(int(np.prod(v.shape)) for v in full.model.trainable_variables)
    # A and B of qkv (32x2 + 2x96) and of the output projection (32x2 + 2x32), 2 blocks
    assert adapter_size == 2 * (32 * 2 + 2 * 96 + 32 * 2 + 2 * 32)
    # Adam: two slots per trained weight, plus its step counter and learning rate
    assert state_size(lora) == 2 * adapter_size + 2
    assert state_size(full) == 2 * model_size + 2
    assert state_size(lora) * 10 < state_size(full)
