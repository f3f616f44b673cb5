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


def train(agent_class, iterations, value_head=True, group_size=1, **options):
    """driver (16 episodes; group_size samples per prompt) -> replay buffer -> agent.train
    on the toy task; returns the LossInfo extras per iteration."""
    from tf_agents.replay_buffers import tf_uniform_replay_buffer

    from tfllm.rl.driver import CachedSamplingDriver
    from tfllm.rl.environment import tf_specs

    env = make_env()
    agent = agent_class(*tf_specs(env), tiny_lm(value_head), keras.optimizers.Adam(1e-2),
                        group_size=group_size, **options)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=16, max_length=env.max_new_tokens + 1)
    driver = CachedSamplingDriver(env, agent.collect_policy, [buffer.add_batch], num_episodes=16,
                                  group_size=group_size)
    history = []
    for _ in range(iterations):
        driver.run()
        loss_info = agent.train(buffer.gather_all())
        buffer.clear()
        history.append({k: float(v) for k, v in loss_info.extra.items()})
    return history


def final(history, key):
    """The mean of `key` over the last 3 iterations."""
    return sum(h[key] for h in history[-3:]) / 3


@pytest.fixture(scope="session")
def toy():
    """vocabulary 8, EOS 2, target 5; `tiny_lm()`, `make_env()`, `target_fraction`,
    `train(agent_class, iterations, ...)`, `final(history, key)`."""
    return types.SimpleNamespace(target_fraction=target_fraction, tiny_lm=tiny_lm,
                                 make_env=make_env, train=train, final=final)
