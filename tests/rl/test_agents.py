"""REINFORCE and PPO on the toy task (reward = fraction of token 5); the KL penalty."""

import keras
import numpy as np
import pytest
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from tfllm.rl.driver import CachedSamplingDriver
from tfllm.rl.environment import tf_specs
from tfllm.rl.ppo_agent import PPOAgent
from tfllm.rl.reinforce_agent import ReinforceAgent

PPO_EXTRA = {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
             "kl_to_reference", "kl_coef", "mean_reward"}


def train(toy, agent_class, iterations, **options):
    """Runs driver -> replay buffer -> agent.train; returns the LossInfo extras per iteration."""
    env = toy.make_env()
    agent = agent_class(*tf_specs(env), toy.tiny_lm(), keras.optimizers.Adam(1e-2), **options)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=16, max_length=env.max_new_tokens + 1)
    driver = CachedSamplingDriver(env, agent.collect_policy, [buffer.add_batch], num_episodes=16)
    history = []
    for _ in range(iterations):
        driver.run()
        loss_info = agent.train(buffer.gather_all())
        buffer.clear()
        history.append({k: float(v) for k, v in loss_info.extra.items()})
    return history


def final(history, key):
    return np.mean([h[key] for h in history[-3:]])


@pytest.fixture(scope="module")
def ppo_without_penalty(toy):
    return train(toy, PPOAgent, 25, kl_coef=0.0)


def test_reinforce_reaches_high_reward(toy):
    history = train(toy, ReinforceAgent, 40, baseline="mean")
    assert history[0]["mean_reward"] < 0.5
    assert final(history, "mean_reward") >= 0.9


def test_ppo_reaches_high_reward(ppo_without_penalty):
    history = ppo_without_penalty
    assert PPO_EXTRA <= set(history[0])
    assert history[0]["mean_reward"] < 0.5
    assert final(history, "mean_reward") >= 0.9
    assert history[0]["kl_to_reference"] == pytest.approx(0.0, abs=1e-5)  # starts at the reference


def test_large_kl_penalty_keeps_the_policy_near_the_reference(toy, ppo_without_penalty):
    penalized = train(toy, PPOAgent, 25, kl_coef=2.0)
    free_kl = final(ppo_without_penalty, "kl_to_reference")
    assert free_kl > 5.0
    assert final(penalized, "kl_to_reference") < 0.2 * free_kl
    assert final(penalized, "mean_reward") < final(ppo_without_penalty, "mean_reward")


def test_value_head_is_required(toy):
    env = toy.make_env()
    with pytest.raises(ValueError, match="value head"):
        PPOAgent(*tf_specs(env), toy.tiny_lm(value_head=False), keras.optimizers.Adam())
