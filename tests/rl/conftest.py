"""Toy RL fixtures: an 8-token vocabulary, reward = fraction of the target token 5."""

import types

import keras
import pytest


def target_fraction(prompts, responses):
    """Fraction of response tokens equal to 5 (0 for an empty response)."""
    return [sum(t == 5 for t in r) / max(len(r), 1) for r in responses]


def tiny_lm(value_head=True, seed=0):
    from tfllm.models import DecoderLM
    keras.utils.set_random_seed(seed)
    return DecoderLM(8, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
                     max_sequence_length=16, value_head=value_head)


def make_env(max_new_tokens=6, prompts=([1],), seed=0):
    from tfllm.rl.environment import TokenEnvironment
    return TokenEnvironment(list(prompts), 8, max_new_tokens, target_fraction, eos_id=2,
                            pad_id=0, seed=seed)


@pytest.fixture(scope="session")
def toy():
    """vocabulary 8, EOS 2, target 5; `tiny_lm()`, `make_env()`, `target_fraction`."""
    return types.SimpleNamespace(target_fraction=target_fraction, tiny_lm=tiny_lm,
                                 make_env=make_env)
