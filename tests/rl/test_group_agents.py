"""GRPO and RLOO: hand-computed group statistics, grouped sampling, the toy task."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.rl.agent import sequence_mean, sequence_sum
from tfllm.rl.driver import CachedSamplingDriver, episodes_to_trajectory
from tfllm.rl.environment import tf_specs
from tfllm.rl.grpo_agent import GRPOAgent
from tfllm.rl.groups import group_advantages, leave_one_out_baseline
from tfllm.rl.rloo_agent import RLOOAgent

REWARDS = [1.0, 2.0, 3.0, 6.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]  # 3 groups of 4


def test_group_advantages_by_hand():
    # group 1: mean 3, deviations -2 -1 0 3, sample variance 14 / 3; group 2: mean 0.5,
    # variance 1 / 3; group 3 is constant: 0 (the epsilon keeps 0 / 0 away)
    expected = np.concatenate([np.array([-2, -1, 0, 3]) / (np.sqrt(14 / 3) + 1e-4),
                               np.array([-0.5, -0.5, 0.5, 0.5]) / (np.sqrt(1 / 3) + 1e-4),
                               np.zeros(4)])
    np.testing.assert_allclose(group_advantages(REWARDS, 4), expected, rtol=1e-6)
    np.testing.assert_allclose(group_advantages(REWARDS, 4, scale=False),
                               [-2, -1, 0, 3, -0.5, -0.5, 0.5, 0.5, 0, 0, 0, 0])


def test_leave_one_out_baseline_by_hand():
    np.testing.assert_allclose(leave_one_out_baseline(REWARDS, 4),
                               [11 / 3, 10 / 3, 3, 2, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 2, 2, 2, 2],
                               rtol=1e-6)
    np.testing.assert_allclose(leave_one_out_baseline([0.0, 1.0, 5.0, 3.0], 2), [1, 0, 3, 5])


def test_sequence_reductions_by_hand():
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    mask = np.array([[True, True, False], [True, False, False]])
    assert float(sequence_mean(values, mask)) == pytest.approx((1.5 + 4.0) / 2)
    assert float(sequence_sum(values, mask)) == pytest.approx((3.0 + 4.0) / 2)


class _FixedPolicy:
    """Stands in for LMPolicy: every continuation is [5, 2] (token 5, then EOS)."""

    def sample_continuations(self, prompts, max_new_tokens, eos_id, pad_id, seed):
        actions = np.full((len(prompts), max_new_tokens), pad_id, np.int32)
        actions[:, :2] = [5, eos_id]
        return actions, np.zeros(actions.shape, np.float32), np.full(len(prompts), 2, np.int32)


def test_driver_samples_groups_in_adjacent_rows(toy):
    env = toy.make_env(prompts=[[1], [3], [4], [6]])
    _, info = CachedSamplingDriver(env, _FixedPolicy(), num_episodes=12, group_size=4).run()
    groups = [info["prompts"][g * 4:(g + 1) * 4] for g in range(3)]
    assert all(group == [group[0]] * 4 for group in groups)
    assert len({tuple(group[0]) for group in groups}) > 1  # the prompts were drawn per group
    with pytest.raises(ValueError, match="multiple of group_size=4"):
        CachedSamplingDriver(env, _FixedPolicy(), num_episodes=6, group_size=4)


def test_group_agents_need_groups(toy):
    env = toy.make_env()
    for agent_class in (GRPOAgent, RLOOAgent):
        with pytest.raises(ValueError, match="group_size must be >= 2"):
            agent_class(*tf_specs(env), toy.tiny_lm(value_head=False), keras.optimizers.Adam(),
                        group_size=1)


def fixed_batch(rows):
    """Trajectory of `rows` episodes [5, 3, 5, EOS] after prompt [1], each with reward 1."""
    actions = np.tile(np.array([[5, 3, 5, 2, 0, 0]], np.int32), (rows, 1))
    return episodes_to_trajectory([[1]] * rows, actions, np.zeros(actions.shape, np.float32),
                                  [4] * rows, [1.0] * rows, 7, 0)


def test_batch_must_be_whole_groups_of_one_episode_per_row(toy):
    env = toy.make_env()
    agent = RLOOAgent(*tf_specs(env), toy.tiny_lm(value_head=False), keras.optimizers.Adam(),
                      group_size=3)
    with pytest.raises(ValueError, match="holds 8 episodes, not a multiple of group_size=3"):
        agent.train(fixed_batch(8))
    two_per_row = tf.nest.map_structure(lambda x: tf.concat([x, x], axis=1), fixed_batch(6))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one finished episode"):
        agent.train(two_per_row)


def test_grpo_kl_term_pulls_the_policy_to_the_reference(toy):
    """With equal rewards every advantage is 0: only the k3 term moves the policy, from the
    reference with 10x token embeddings (sharper logits) back toward the reference."""
    env = toy.make_env()
    model = toy.tiny_lm(value_head=False)
    for variable in model.weights:
        if "token_embedding" in variable.path:
            variable.assign(10.0 * variable)
    agent = GRPOAgent(*tf_specs(env), model, keras.optimizers.Adam(1e-2), group_size=4,
                      kl_coef=1.0, reference_model=toy.tiny_lm(value_head=False))
    batch = fixed_batch(8)
    history = [{k: float(v) for k, v in agent.train(batch).extra.items()} for _ in range(8)]
    assert all(h["policy_loss"] == 0.0 for h in history)
    assert history[0]["kl"] > 0.1
    assert history[-1]["kl"] < 0.1 * history[0]["kl"]


def test_grpo_reaches_high_reward(toy):
    history = toy.train(GRPOAgent, 20, value_head=False, group_size=4, num_epochs=2, kl_coef=0.02)
    assert {"policy_loss", "kl", "approx_kl", "clip_fraction", "mean_reward",
            "kl_to_reference", "entropy"} <= set(history[0])
    assert history[0]["mean_reward"] < 0.5
    assert toy.final(history, "mean_reward") >= 0.9
    assert max(h["clip_fraction"] for h in history) > 0.0  # the second epoch is clipped


def test_rloo_reaches_high_reward(toy):
    history = toy.train(RLOOAgent, 25, value_head=False, group_size=4, kl_coef=0.02)
    assert {"policy_loss", "mean_return", "approx_kl", "clip_fraction", "mean_reward",
            "kl_to_reference"} <= set(history[0])
    assert history[0]["mean_reward"] < 0.5
    assert toy.final(history, "mean_reward") >= 0.9
    for h in history:  # the return is the task reward less the KL penalty
        assert h["mean_return"] == pytest.approx(
            h["mean_reward"] - 0.02 * h["kl_to_reference"], abs=1e-4)
