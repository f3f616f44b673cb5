"""CachedSamplingDriver: whole episodes per call, sampled with the KV cache, as trajectories.

A TF-Agents driver that, instead of stepping the environment one token at a time with a
full forward per token (DynamicEpisodeDriver over TFPyEnvironment), asks the policy for
whole continuations (`LMPolicy.sample_continuations`: XLA, KV cache), scores the finished
episodes with the environment's reward function in one batch, and replays them to the
observers as the same per-step Trajectory batches a step driver would emit: row b holds one
episode, FIRST, MID..., then LAST (boundary) steps up to max_new_tokens + 1 steps. With
group_size G, rows g*G .. g*G+G-1 are G samples for one prompt (GRPO, RLOO).
"""

import numpy as np
import tensorflow as tf
from tf_agents.drivers import driver
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory


class CachedSamplingDriver(driver.Driver):
    """Collects `num_episodes` episodes (one per row) from a TokenEnvironment.

    Args:
        env: a (Python) TokenEnvironment: prompts, limits and reward function.
        policy: an LMPolicy (its exploration settings are used).
        observers: called with each time step's Trajectory batch, e.g.
            `replay_buffer.add_batch` of a TFUniformReplayBuffer with batch_size
            num_episodes and max_length >= env.max_new_tokens + 1.
        num_episodes: episodes (rows) per `run`.
        seed: base seed; every run draws fresh samples.
        group_size: continuations sampled per prompt, in adjacent rows; num_episodes must
            be a multiple (num_episodes / group_size prompts per run).
    """

    def __init__(self, env, policy, observers=(), num_episodes=1, seed=0, group_size=1):
        if group_size < 1 or num_episodes % group_size:
            raise ValueError(f"CachedSamplingDriver: num_episodes={num_episodes} must be a "
                             f"multiple of group_size={group_size} (>= 1)")
        super().__init__(env, policy, list(observers))
        self.num_episodes = int(num_episodes)
        self.group_size = int(group_size)
        self._seed = int(seed)
        self._runs = 0

    def run(self):
        """Samples, scores and emits one batch of episodes.

        Returns:
            (trajectory with batch and time dimensions, {"prompts", "responses",
            "rewards"} as Python lists).
        """
        env = self.env
        prompts = [prompt for prompt in env.sample_prompts(self.num_episodes // self.group_size)
                   for _ in range(self.group_size)]
        actions, log_probs, num_actions = self.policy.sample_continuations(
            prompts, env.max_new_tokens, env.eos_id, env.pad_id, [self._seed, self._runs])
        self._runs += 1
        responses = [actions[b, :n].tolist() for b, n in enumerate(num_actions)]
        responses = [r[:-1] if r and r[-1] == env.eos_id else r for r in responses]
        rewards = env.rewards(prompts, responses)
        experience = episodes_to_trajectory(prompts, actions, log_probs, num_actions, rewards,
                                            env.max_length, env.pad_id)
        for t in range(actions.shape[1] + 1):
            step = tf.nest.map_structure(lambda x, t=t: x[:, t], experience)
            for observer in self.observers:
                observer(step)
        return experience, {"prompts": prompts, "responses": responses, "rewards": rewards}


def episodes_to_trajectory(prompts, actions, log_probs, num_actions, rewards, max_length,
                           pad_id):
    """Trajectory (batch, max_new_tokens + 1) of whole episodes, one per row.

    Step t < n (n = num_actions of the row) observes prompt + actions[:t] and takes
    actions[t]; step n - 1 ends the episode (reward, discount 0); steps t >= n are
    LAST -> FIRST boundary steps with no action.
    """
    batch, new = actions.shape
    steps = new + 1
    t = np.arange(steps)[None, :]
    n = np.asarray(num_actions)[:, None]
    sequences = np.full((batch, max_length), pad_id, np.int32)
    for b, prompt in enumerate(prompts):
        sequences[b, :len(prompt)] = prompt
        sequences[b, len(prompt):len(prompt) + new] = actions[b]
    prompt_length = np.array([len(p) for p in prompts])[:, None]
    length = prompt_length + np.minimum(t, n)
    tokens = np.where(np.arange(max_length)[None, None, :] < length[..., None],
                      sequences[:, None, :], pad_id).astype(np.int32)
    padded_actions = np.concatenate([actions, np.full((batch, 1), pad_id)], axis=1)
    padded_log_probs = np.concatenate([log_probs, np.zeros((batch, 1))], axis=1)
    step_type = np.where(t == 0, ts.StepType.FIRST,
                         np.where(t < n, ts.StepType.MID, ts.StepType.LAST))
    next_step_type = np.where(t < n - 1, ts.StepType.MID,
                              np.where(t == n - 1, ts.StepType.LAST, ts.StepType.FIRST))
    final = t == n - 1
    reward = np.where(final, np.asarray(rewards, np.float32)[:, None], 0.0)
    discount = np.where(final, 0.0, 1.0)
    return trajectory.Trajectory(
        step_type=tf.constant(step_type, tf.int32),
        observation={"tokens": tf.constant(tokens), "length": tf.constant(length, tf.int32)},
        action=tf.constant(np.where(t < n, padded_actions, pad_id), tf.int32),
        policy_info=policy_step.PolicyInfo(
            log_probability=tf.constant(np.where(t < n, padded_log_probs, 0.0), tf.float32)),
        next_step_type=tf.constant(next_step_type, tf.int32),
        reward=tf.constant(reward, tf.float32),
        discount=tf.constant(discount, tf.float32))
