"""LoRA on the tfllm models (tfllm.models.lora over Keras' Dense.enable_lora): a no-op at
the start, only the adapters train, the merge computes what the adapters do, adapter files
round-trip, and Keras `fit` on a DecoderLM gives the Trainer's MLE loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import DecoderLM, EncoderClassifier, RewardModel, Seq2SeqTransformer
from tfllm.models.frozen import frozen_copy
from tfllm.objectives import get_objective

VOCAB, LENGTH = 64, 8


def lm(**overrides):
    keras.utils.set_random_seed(0)
    return DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=LENGTH,
                                 **overrides)


def batch(seed=0, n=4):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, size=(n, LENGTH + 1)).astype("int32")
    mask = np.ones((n, LENGTH), np.float32)
    mask[:, :3] = 0.0  # a prompt out of the loss, as chat SFT has
    return {"token_ids": ids[:, :-1], "labels": ids[:, 1:],
            "padding_mask": np.ones((n, LENGTH), bool), "loss_mask": mask}


def train(model, steps=3, learning_rate=0.05):
    """`steps` Adam steps of the MLE objective on the trainable variables."""
    objective, optimizer = get_objective("mle"), keras.optimizers.Adam(learning_rate)
    for step in range(steps):
        with tf.GradientTape() as tape:
            loss, _ = objective(model, batch(step))
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
    return optimizer


def values(model):
    return {v.path: v.numpy().copy() for v in model.variables}


def test_the_adapters_start_as_a_no_op_and_are_the_only_trainable_weights():
    model = lm(tie_embeddings=False, value_head=True)
    inputs = batch()["token_ids"]
    before = model(inputs).numpy()
    assert model.default_lora_layer_names() == ["query_key_value"]
    assert model.enable_lora(4) == ["decoder/block_0/self_attention/qkv",
                                    "decoder/block_1/self_attention/qkv"]
    np.testing.assert_array_equal(model(inputs).numpy(), before)  # B starts at zero
    trainable = sorted(v.path for v in model.trainable_variables)
    assert trainable == [f"{model.name}/decoder/block_{i}/self_attention/qkv/lora_kernel_{ab}"
                         for i in (0, 1) for ab in "ab"]
    shapes = {v.path.rsplit("/", 1)[1]: tuple(v.shape) for v in model.trainable_variables}
    assert shapes == {"lora_kernel_a": (32, 4), "lora_kernel_b": (4, 96)}
    frozen = {v.path for v in model.weights} - set(trainable)
    # embeddings, positions, norms, biases, the untied head and the value head are frozen
    for part in ("token_embedding", "position_embedding", "final_norm", "qkv/bias",
                 "qkv/kernel", "lm_head", "value_head"):
        assert any(part in path for path in frozen), part


def test_only_the_adapters_change_in_training():
    model = lm()
    model.enable_lora(2, ["attention", "feed_forward"], lora_alpha=4.0)
    start = values(model)
    train(model)
    end = values(model)
    adapters = {p for p in start if "lora_kernel" in p}
    assert len(adapters) == 2 * 2 * 4  # A and B of 4 projections in each of 2 blocks
    for path in start:
        if path in adapters:
            assert not np.array_equal(start[path], end[path]), path
        elif not path.endswith("seed_generator_state"):
            np.testing.assert_array_equal(start[path], end[path], err_msg=path)


def test_the_merge_folds_alpha_over_rank_times_a_b_into_the_kernel():
    model = lm()
    model.enable_lora(2, ["self_attention/output"], lora_alpha=6.0)
    train(model)
    merged = model.merge_lora()
    assert type(merged) is DecoderLM and merged.get_config() == model.get_config()
    assert not any("lora" in v.path for v in merged.variables)
    assert len(merged.trainable_variables) == len(lm().trainable_variables)
    layer = model.decoder.blocks[0].self_attention.output_dense
    a, b = layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy()
    assert np.abs(b).max() > 0  # trained: the merge has something to fold in
    base = {v.path: v.numpy() for v in model.weights}[layer.path + "/kernel"]
    merged_kernel = merged.decoder.blocks[0].self_attention.output_dense.kernel.numpy()
    np.testing.assert_allclose(merged_kernel, base + 3.0 * a @ b, rtol=1e-6, atol=1e-7)
    inputs = batch(7)["token_ids"]
    np.testing.assert_allclose(merged(inputs).numpy(), model(inputs).numpy(), atol=2e-5)


def test_a_mixed_precision_merge_keeps_the_float32_kernel():
    keras.utils.set_random_seed(0)
    model = DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=LENGTH,
                                  dtype="mixed_bfloat16")
    model.enable_lora(2)
    layer = model.decoder.blocks[1].self_attention.qkv_dense
    layer.lora_kernel_b.assign(np.full((2, 96), 0.01, np.float32))
    base = {v.path: v.numpy() for v in model.weights}[layer.path + "/kernel"]
    expected = base + layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy()
    merged = model.merge_lora().decoder.blocks[1].self_attention.qkv_dense
    assert merged.kernel.dtype == "float32"
    # float32 exactly; rounded to bfloat16 (as Dense.kernel computes it) it would be off
    # by up to 2^-9 of each value
    np.testing.assert_allclose(merged.kernel.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_the_merged_model_saves_and_loads_as_a_plain_keras_model(tmp_path):
    model = lm()
    model.enable_lora(4, ["attention"])
    train(model)
    path = str(tmp_path / "merged.keras")
    model.merge_lora().save(path)
    loaded = keras.saving.load_model(path)
    inputs = batch(3)["token_ids"]
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), atol=2e-5)
    assert not any("lora" in v.path for v in loaded.variables)


def test_a_frozen_copy_of_a_lora_model_is_its_merged_model():
    model = lm()
    model.enable_lora(2)
    train(model)
    copy = frozen_copy(model)
    assert copy.trainable_variables == [] and not any("lora" in v.path for v in copy.variables)
    inputs = batch(5)["token_ids"]
    np.testing.assert_allclose(copy(inputs).numpy(), model(inputs).numpy(), atol=2e-5)


def test_adapter_files_hold_only_the_adapters_and_round_trip(tmp_path):
    model = lm()
    model.enable_lora(3, ["qkv", "feed_forward/inner"], lora_alpha=6.0)
    train(model)
    path = str(tmp_path / "sft.lora.h5")
    model.save_lora_weights(path)
    import h5py

    with h5py.File(path) as f:
        stored = []
        f.visititems(lambda name, item: stored.append(name)
                     if isinstance(item, h5py.Dataset) else None)
        assert (int(f.attrs["rank"]), float(f.attrs["alpha"])) == (3, 6.0)
    assert sorted(stored) == sorted(f"decoder/block_{i}/{layer}/lora_kernel_{ab}"
                                    for i in (0, 1) for layer in
                                    ("self_attention/qkv", "feed_forward/inner")
                                    for ab in "ab")
    fresh = lm()  # the same base weights (seed 0), no adapters yet
    fresh.load_lora_weights(path)
    inputs = batch(2)["token_ids"]
    np.testing.assert_array_equal(fresh(inputs).numpy(), model(inputs).numpy())
    other = lm()
    other.enable_lora(2, ["qkv", "feed_forward/inner"])
    with pytest.raises(ValueError, match="rank-3 adapters, the model has rank 2"):
        other.load_lora_weights(path)
    with pytest.raises(ValueError, match=r"must end in '\.lora\.h5'"):
        model.save_lora_weights(str(tmp_path / "sft.h5"))


def test_targets_select_by_path_end_and_groups_and_bad_ones_are_named():
    keras.utils.set_random_seed(0)
    seq2seq = Seq2SeqTransformer(VOCAB, 1, 1, 2, 16, 32, LENGTH)
    assert seq2seq.enable_lora(2) == [
        "decoder/block_0/cross_attention/key_value", "decoder/block_0/cross_attention/query",
        "decoder/block_0/self_attention/qkv", "encoder/block_0/self_attention/qkv"]
    classifier = EncoderClassifier(VOCAB, 1, 2, 16, 32, LENGTH, num_classes=3)
    assert classifier.enable_lora(2, ["output", "head"]) == [
        "encoder/block_0/feed_forward/output", "encoder/block_0/self_attention/output", "head"]
    reward = RewardModel(lm())
    assert len(reward.enable_lora(2, ["feed_forward"])) == 4
    assert {v.path.rsplit("/", 1)[1] for v in reward.trainable_variables} == {
        "lora_kernel_a", "lora_kernel_b"}
    model = lm()
    with pytest.raises(ValueError, match="LoRA target 'query' matches no Dense layer of this "
                                         "DecoderLM"):
        model.enable_lora(2, ["qkv", "query"])
    with pytest.raises(ValueError, match="a list of names, got the string 'qkv'"):
        model.enable_lora(2, "qkv")
    for rank in (0, -1, 2.0):
        with pytest.raises(ValueError, match="rank must be a positive int"):
            model.enable_lora(rank)
    assert model.trainable_variables  # nothing was frozen by the refused calls
    model.enable_lora(2)
    with pytest.raises(ValueError, match="already enabled"):
        model.enable_lora(2)


def test_keras_fit_gives_the_trainer_mle_loss_on_the_same_batch():
    model = lm()
    data = batch(4)
    loss, _ = get_objective("mle")(model, data, training=False)
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True, reduction="mean_with_sample_weight"))
    history = model.fit({"token_ids": data["token_ids"], "padding_mask": data["padding_mask"]},
                        data["labels"], sample_weight=data["loss_mask"], batch_size=4,
                        epochs=1, verbose=0, shuffle=False)
    # the mean over the 4 x 5 counted tokens, not over all 4 x 8 positions
    np.testing.assert_allclose(history.history["loss"][0], float(loss), rtol=1e-5)
    padded = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        data["labels"], model(data["token_ids"]), sample_weight=data["loss_mask"])
    np.testing.assert_allclose(float(padded), float(loss) * 5 / 8, rtol=1e-5)
