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
