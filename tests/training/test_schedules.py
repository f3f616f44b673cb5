"""WarmupDecay against hand-computed values; make_optimizer's weight-decay exclusions."""

import math

import pytest

from tfllm.training import WarmupDecay, make_optimizer


@pytest.mark.parametrize("decay, step, expected", [
    ("cosine", 0, 0.0), ("cosine", 5, 0.5), ("cosine", 10, 1.0),
    ("cosine", 60, 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))),
    ("cosine", 110, 0.1), ("cosine", 500, 0.1),
    ("linear", 60, 1.0 - 0.9 * 0.5), ("linear", 110, 0.1),
    ("inverse_sqrt", 40, math.sqrt(10 / 40)), ("constant", 90, 1.0),
    # wsd with cooldown_fraction 0.2: the peak until step 90, linear to 0.1 at 110.
    ("wsd", 60, 1.0), ("wsd", 90, 1.0), ("wsd", 100, 1.0 - 0.9 * 0.5), ("wsd", 110, 0.1),
    ("wsd", 200, 0.1),
])
def test_warmup_then_decay(decay, step, expected):
    schedule = WarmupDecay(1.0, warmup_steps=10, decay_steps=110, decay=decay,
                           final_fraction=0.1)
    assert float(schedule(step)) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="decay"):
        WarmupDecay(1.0, decay="exp")
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupDecay(1.0, warmup_steps=0, decay="inverse_sqrt")
    with pytest.raises(ValueError, match="cooldown_fraction"):
        WarmupDecay(1.0, decay="wsd", cooldown_fraction=0.0)
    with pytest.raises(ValueError, match="kind 'sgd'"):
        make_optimizer(1e-3, kind="sgd")


def test_weight_decay_skips_biases_norms_and_embeddings():
    from tfllm.models import DecoderLM

    model = DecoderLM.from_preset("tiny")
    optimizer = make_optimizer(1e-3, weight_decay=0.1)
    optimizer.build(model.trainable_variables)
    # Paths without the model's own name, which depends on how many models the process made.
    decayed = {v.path.split("/", 1)[1] for v in model.trainable_variables
               if optimizer._use_weight_decay(v)}
    assert "decoder/block_0/self_attention/qkv/kernel" in decayed
    assert not any(word in path for path in decayed
                   for word in ("bias", "gamma", "beta", "embeddings"))


def test_muon_orthogonalises_matrices_and_adam_steps_the_rest():
    """One Muon step from zero momentum: a 2-D kernel moves by lr * rms_rate * sqrt(max
    dim) * an approximately orthogonal matrix (singular values near 1); an embedding
    and a bias take AdamW's first step, lr * sign(gradient)."""
    import keras
    import numpy as np

    optimizer = make_optimizer(0.01, kind="muon")
    kernel = keras.Variable(np.zeros((8, 32), np.float32), name="kernel")
    embeddings = keras.Variable(np.zeros((16, 8), np.float32), name="embeddings")
    bias = keras.Variable(np.zeros((8,), np.float32), name="bias")
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=v.shape).astype(np.float32) for v in (kernel, embeddings, bias)]
    optimizer.apply(grads, [kernel, embeddings, bias])
    singular = np.linalg.svd(-np.asarray(kernel) / (0.01 * 0.2 * math.sqrt(32)),
                             compute_uv=False)
    assert singular.min() > 0.5 and singular.max() < 1.3  # Newton-Schulz in bf16, not exact
    np.testing.assert_allclose(np.asarray(embeddings), -0.01 * np.sign(grads[1]), rtol=1e-3)
    np.testing.assert_allclose(np.asarray(bias), -0.01 * np.sign(grads[2]), rtol=1e-3)
