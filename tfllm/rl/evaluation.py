"""Held-out evaluation of a policy on a TokenEnvironment: reward, and KL to a reference LM.

`evaluate_policy` samples whole episodes with the KV cache (CachedSamplingDriver), without
the policy's exploration epsilon, and summarizes them with a statistics function: an
agent's own `statistics` (tfllm-rl-finetune) or `sampled_statistics`, which needs no agent
and reads the policy's log-probabilities from the sampler, so it also measures a policy
that is not a plain softmax of LM logits (an ILQLModel's perturbed decoding, a DPO model).
"""

import tensorflow as tf

from tfllm.objectives.token_losses import masked_mean
from tfllm.rl import trajectories
from tfllm.rl.driver import CachedSamplingDriver


def episode_statistics(experience, kl, complete):
    """mean_reward, reward_std (over finished episodes), kl_to_reference (per-step `kl`
    (batch, time) summed per episode, averaged over episodes) and response_length (actions
    per episode) of a batch; `complete`: the steps of episodes that finish in the batch."""
    final = complete & tf.equal(experience.discount, 0.0)
    num_episodes = tf.reduce_sum(tf.cast(final, tf.float32))
    mean = masked_mean(experience.reward, final)
    return {"mean_reward": mean,
            "reward_std": tf.sqrt(masked_mean(tf.square(experience.reward - mean), final)),
            "kl_to_reference": tf.reduce_sum(tf.where(complete, kl, 0.0))
            / tf.maximum(num_episodes, 1.0),
            "response_length": tf.reduce_sum(tf.cast(complete, tf.float32))
            / tf.maximum(num_episodes, 1.0)}


def sampled_statistics(experience, reference_model):
    """`episode_statistics` with KL_t = log pi(a_t) - log pi_ref(a_t): log pi as the sampler
    recorded it (the policy info), log pi_ref recomputed by `reference_model` (a DecoderLM)."""
    _, complete = trajectories.step_masks(experience)
    hidden = trajectories.step_hidden(reference_model, experience)
    log_p = tf.nn.log_softmax(tf.cast(reference_model.logits(hidden), tf.float32), axis=-1)
    reference = tf.gather(log_p, experience.action[..., None], batch_dims=2)[..., 0]
    kl = experience.policy_info.log_probability - reference
    return episode_statistics(experience, kl, complete)


def evaluate_policy(policy, env, num_episodes, seed, tokenizer, statistics):
    """Samples `num_episodes` episodes of `env` from `policy` (an LMPolicy; its epsilon is
    set to 0 meanwhile) and returns statistics(experience) as floats, with "rewards" (every
    episode's) and "samples" (the first 8 episodes' prompt + response, decoded)."""
    epsilon, policy.epsilon = policy.epsilon, 0.0
    try:
        experience, info = CachedSamplingDriver(env, policy, (), num_episodes=num_episodes,
                                                seed=seed).run()
    finally:
        policy.epsilon = epsilon
    stats = {k: float(v) for k, v in statistics(experience).items()}
    stats["rewards"] = [float(r) for r in info["rewards"]]
    stats["samples"] = [tokenizer.decode(p + r) for p, r in
                        zip(info["prompts"][:8], info["responses"][:8])]
    return stats
