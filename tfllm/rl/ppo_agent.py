"""PPO-clip (Schulman et al. 2017) with GAE and a value head, as a TF-Agents TFAgent."""

import tensorflow as tf
from tf_agents.utils import value_ops

from tfllm.rl.agent import LMAgent, masked_mean, whiten


def gae(values, rewards, discounts, td_lambda):
    """(advantages, returns) (batch, time) by GAE with no bootstrap after the last step."""
    advantages = value_ops.generalized_advantage_estimation(
        values, tf.zeros_like(values[:, 0]), discounts, rewards, td_lambda=td_lambda,
        time_major=False)
    return advantages, advantages + values


class PPOAgent(LMAgent):
    """PPO on token episodes with a KL penalty to a frozen reference (Ziegler et al. 2019).

    Advantages: tf_agents.utils.value_ops.generalized_advantage_estimation over the
    shaped rewards and the old values (whitened over the batch when
    normalize_advantages); returns = advantages + old values. Each `train` call makes
    num_epochs full-batch steps on
    loss = -mean min(rho A, clip(rho, 1 -/+ clip) A) + value_coef 0.5 (V - R)^2
           - entropy_coef H,  rho = pi(a) / pi_old(a).

    Args:
        num_epochs: gradient steps per batch.
        clip_ratio: PPO's epsilon.
        td_lambda: GAE lambda.
        normalize_advantages: whiten advantages over the batch.
        **kwargs: LMAgent arguments (kl_coef, kl_target, kl_horizon, whiten_rewards,
            entropy_coef, value_coef, gamma, temperature, epsilon, ...).

    LossInfo.extra: policy_loss, value_loss, entropy, approx_kl (k3 estimate of
    KL(pi_old || pi) after the update), clip_fraction, kl_to_reference, kl_coef,
    mean_reward, reward_std, response_length.
    """

    def __init__(self, time_step_spec, action_spec, model, optimizer, num_epochs=4,
                 clip_ratio=0.2, td_lambda=0.95, normalize_advantages=True, name="ppo_agent",
                 **kwargs):
        super().__init__(time_step_spec, action_spec, model, optimizer, name=name, **kwargs)
        self._check_value_head("PPOAgent")
        if num_epochs < 1:
            raise ValueError(f"PPOAgent: num_epochs must be >= 1, got {num_epochs}")
        self.num_epochs = int(num_epochs)
        self.clip_ratio = float(clip_ratio)
        self.td_lambda = float(td_lambda)
        self.normalize_advantages = bool(normalize_advantages)

    def _update(self, experience, prepared):
        mask = prepared["mask"]
        advantages, returns = gae(prepared["values"], prepared["rewards"],
                                  prepared["discounts"], self.td_lambda)
        if self.normalize_advantages:
            advantages = whiten(advantages, mask)
        advantages = tf.stop_gradient(advantages)

        def epoch(i, *_):
            with tf.GradientTape() as tape:
                log_p, entropy, values = self._outputs(self.model, experience, training=True)
                log_ratio = tf.where(mask, log_p - prepared["log_p"], 0.0)
                ratio = tf.exp(log_ratio)
                clipped = tf.clip_by_value(ratio, 1.0 - self.clip_ratio, 1.0 + self.clip_ratio)
                policy_loss = -masked_mean(tf.minimum(ratio * advantages,
                                                      clipped * advantages), mask)
                value_loss = 0.5 * masked_mean(tf.square(values - returns), mask)
                loss = (policy_loss + self.value_coef * value_loss
                        - self.entropy_coef * masked_mean(entropy, mask))
            self._apply_gradients(tape, loss)
            approx_kl = masked_mean((ratio - 1.0) - log_ratio, mask)
            clip_fraction = masked_mean(
                tf.cast(tf.abs(ratio - 1.0) > self.clip_ratio, tf.float32), mask)
            return i + 1, loss, policy_loss, value_loss, approx_kl, clip_fraction

        # one traced epoch in a while loop: tracing cost does not grow with num_epochs
        _, loss, policy_loss, value_loss, approx_kl, clip_fraction = tf.while_loop(
            lambda i, *_: i < self.num_epochs, epoch, (tf.constant(0),) + (tf.constant(0.0),) * 5)
        return loss, {"policy_loss": policy_loss, "value_loss": value_loss,
                      "approx_kl": approx_kl, "clip_fraction": clip_fraction}
