"""REINFORCE and PPO on the toy task (reward = fraction of token 5); the KL penalty."""

import keras
import pytest

from tfllm.rl.environment import tf_specs
from tfllm.rl.ppo_agent import PPOAgent
from tfllm.rl.reinforce_agent import ReinforceAgent

PPO_EXTRA = {"policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
             "kl_to_reference", "kl_coef", "mean_reward"}


@pytest.fixture(scope="module")
def ppo_without_penalty(toy):
    return toy.train(PPOAgent, 25, kl_coef=0.0)


def test_reinforce_reaches_high_reward(toy):
    history = toy.train(ReinforceAgent, 40, baseline="mean")
    assert history[0]["mean_reward"] < 0.5
    assert toy.final(history, "mean_reward") >= 0.9


def test_ppo_reaches_high_reward(toy, ppo_without_penalty):
    history = ppo_without_penalty
    assert PPO_EXTRA <= set(history[0])
    assert history[0]["mean_reward"] < 0.5
    assert toy.final(history, "mean_reward") >= 0.9
    assert history[0]["kl_to_reference"] == pytest.approx(0.0, abs=1e-5)  # starts at the reference


def test_large_kl_penalty_keeps_the_policy_near_the_reference(toy, ppo_without_penalty):
    penalized = toy.train(PPOAgent, 25, kl_coef=2.0)
    free_kl = toy.final(ppo_without_penalty, "kl_to_reference")
    assert free_kl > 5.0
    assert toy.final(penalized, "kl_to_reference") < 0.2 * free_kl
    assert toy.final(penalized, "mean_reward") < toy.final(ppo_without_penalty, "mean_reward")


def test_value_head_is_required(toy):
    env = toy.make_env()
    with pytest.raises(ValueError, match="value head"):
        PPOAgent(*tf_specs(env), toy.tiny_lm(value_head=False), keras.optimizers.Adam())


def test_every_agent_counts_its_own_updates(toy):
    """Two agents of one process (two runs of tfllm-rl-finetune's `finetune`, say) do not
    share TFAgent's default counter, the global step: the second starts at 0."""
    env = toy.make_env()
    first = ReinforceAgent(*tf_specs(env), toy.tiny_lm(), keras.optimizers.Adam())
    first.train_step_counter.assign_add(3)
    second = ReinforceAgent(*tf_specs(env), toy.tiny_lm(), keras.optimizers.Adam())
    assert int(second.train_step_counter.numpy()) == 0
    assert int(first.train_step_counter.numpy()) == 3
