"""Trajectories from both drivers; per-step log-probs in one forward per episode; GAE."""

import types

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.drivers import dynamic_episode_driver
from tf_agents.environments import batched_py_environment, tf_py_environment
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.trajectories import time_step as ts

from tfllm.rl import trajectories
from tfllm.rl.driver import CachedSamplingDriver, episodes_to_trajectory
from tfllm.rl.environment import tf_specs
from tfllm.rl.policy import LMPolicy
from tfllm.rl.ppo_agent import gae

F, M, L = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def action_log_probs(model, experience):
    hidden = trajectories.step_hidden(model, experience)
    log_p = tf.nn.log_softmax(model.logits(hidden), axis=-1)
    return tf.gather(log_p, experience.action[..., None], batch_dims=2)[..., 0].numpy()


def test_episodes_to_trajectory_layout():
    traj = episodes_to_trajectory([[1], [1, 6]], np.array([[5, 2, 0], [4, 4, 4]]),
                                  np.full((2, 3), -0.5, np.float32), [2, 3], [0.25, 1.0], 5, 0)
    np.testing.assert_array_equal(traj.step_type, [[F, M, L, L], [F, M, M, L]])
    np.testing.assert_array_equal(traj.next_step_type, [[M, L, F, F], [M, M, L, F]])
    np.testing.assert_array_equal(traj.observation["length"], [[1, 2, 3, 3], [2, 3, 4, 5]])
    np.testing.assert_array_equal(traj.observation["tokens"][0, 2], [1, 5, 2, 0, 0])
    np.testing.assert_array_equal(traj.observation["tokens"][1, 1], [1, 6, 4, 0, 0])
    np.testing.assert_allclose(traj.reward, [[0, 0.25, 0, 0], [0, 0, 1.0, 0]])
    np.testing.assert_allclose(traj.discount, [[1, 0, 1, 1], [1, 1, 0, 1]])
    np.testing.assert_allclose(traj.policy_info.log_probability,
                               [[-0.5, -0.5, 0, 0], [-0.5, -0.5, -0.5, 0]])


def test_step_masks_drop_boundaries_and_unfinished_tails():
    experience = types.SimpleNamespace(step_type=tf.constant([[F, M, L, F, M]]),
                                       next_step_type=tf.constant([[M, L, F, M, M]]))
    valid, complete = trajectories.step_masks(experience)
    np.testing.assert_array_equal(valid, [[1, 1, 0, 1, 1]])
    np.testing.assert_array_equal(complete, [[1, 1, 0, 0, 0]])


def test_per_token_driver_log_probs_match_one_forward_per_episode(toy):
    """DynamicEpisodeDriver rows hold several auto-reset episodes; masks and log-probs hold."""
    envs = [toy.make_env(max_new_tokens=3, seed=i) for i in range(2)]
    tf_env = tf_py_environment.TFPyEnvironment(batched_py_environment.BatchedPyEnvironment(envs))
    model = toy.tiny_lm()
    policy = LMPolicy(model, tf_env.time_step_spec(), tf_env.action_spec())
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(policy.trajectory_spec, 2, 32)
    dynamic_episode_driver.DynamicEpisodeDriver(tf_env, policy, [buffer.add_batch],
                                                num_episodes=5).run()
    experience = buffer.gather_all()
    valid, complete = (m.numpy() for m in trajectories.step_masks(experience))
    step_type, next_type = experience.step_type.numpy(), experience.next_step_type.numpy()
    for b in range(2):  # complete = an action whose episode reaches LAST within the row
        for t in range(step_type.shape[1]):
            ends = [u for u in range(t, step_type.shape[1]) if next_type[b, u] == L]
            finished = bool(ends) and all(step_type[b, u] != L for u in range(t, ends[0] + 1))
            assert complete[b, t] == (step_type[b, t] != L and finished)
    assert (next_type == L).sum() >= 5
    expected = experience.policy_info.log_probability.numpy()
    got = action_log_probs(model, experience)
    np.testing.assert_allclose(got[valid], expected[valid], atol=1e-5)
    # the same numbers from a full forward on each step's own observation
    flat = tf.nest.map_structure(lambda x: tf.reshape(x, [-1, *x.shape[2:]]), experience)
    logits = model(flat.observation["tokens"])
    last = tf.gather(logits, flat.observation["length"] - 1, batch_dims=1)
    direct = tf.gather(tf.nn.log_softmax(last), flat.action[:, None], batch_dims=1)[:, 0]
    np.testing.assert_allclose(got.reshape(-1)[valid.reshape(-1)],
                               direct.numpy()[valid.reshape(-1)], atol=1e-5)


def test_cached_driver_matches_its_own_log_probs(toy):
    env = toy.make_env(max_new_tokens=5, prompts=([1], [1, 3, 4]))
    model = toy.tiny_lm()
    policy = LMPolicy(model, *tf_specs(env))
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(policy.trajectory_spec, 4, 6)
    returned, info = CachedSamplingDriver(env, policy, [buffer.add_batch], num_episodes=4).run()
    experience = buffer.gather_all()
    np.testing.assert_array_equal(experience.action, returned.action)
    valid, complete = (m.numpy() for m in trajectories.step_masks(experience))
    np.testing.assert_array_equal(valid, complete)  # one whole episode per row
    np.testing.assert_allclose(action_log_probs(model, experience)[valid],
                               experience.policy_info.log_probability.numpy()[valid], atol=1e-4)
    final = experience.reward.numpy()[experience.discount.numpy() == 0]
    np.testing.assert_allclose(final, toy.target_fraction(None, info["responses"]))


def test_gae_equals_hand_computation():
    # one row: episode A (2 actions), boundary step, episode B (1 action), boundary
    values = tf.constant([[0.5, 0.2, 0.0, 0.4, 0.0]])
    rewards = tf.constant([[0.0, 1.0, 0.0, 2.0, 0.0]])
    discounts = tf.constant([[0.9, 0.0, 0.9, 0.0, 0.9]])
    advantages, returns = gae(values, rewards, discounts, td_lambda=0.5)
    d_b = 2.0 - 0.4                       # episode B: last action, no bootstrap
    d_a1 = 1.0 - 0.2                      # episode A: last action
    d_a0 = 0.0 + 0.9 * 0.2 - 0.5
    a_a0 = d_a0 + 0.9 * 0.5 * d_a1
    np.testing.assert_allclose(advantages.numpy()[0, [0, 1, 3]], [a_a0, d_a1, d_b], rtol=1e-6)
    np.testing.assert_allclose(returns.numpy()[0, [0, 1, 3]],
                               [a_a0 + 0.5, d_a1 + 0.2, d_b + 0.4], rtol=1e-6)


def test_epsilon_mixture_log_probs(toy):
    """log((1 - eps) softmax(z / T) + eps / V): exactly log_softmax at eps 0, -log V at 1."""
    env = toy.make_env()
    policy = LMPolicy(toy.tiny_lm(), *tf_specs(env), temperature=0.5)
    logits = tf.constant([[1.0, -2.0, 0.5, 3.0, 0.0, 0.0, -1.0, 2.0]])
    np.testing.assert_array_equal(policy.log_probs(logits), tf.nn.log_softmax(logits / 0.5))
    policy.epsilon = 0.3
    expected = np.log(0.7 * tf.nn.softmax(logits / 0.5).numpy() + 0.3 / 8)
    np.testing.assert_allclose(policy.log_probs(logits), expected, rtol=1e-6)
    policy.epsilon = 1.0
    np.testing.assert_allclose(policy.log_probs(logits), np.full((1, 8), -np.log(8.0)),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="epsilon must be in"):
        policy.epsilon = 1.5
