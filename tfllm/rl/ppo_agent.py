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

        def objective(policy_loss, log_p, entropy, values):
            value_loss = 0.5 * masked_mean(tf.square(values - returns), mask)
            loss = (policy_loss + self.value_coef * value_loss
                    - self.entropy_coef * masked_mean(entropy, mask))
            return loss, {"value_loss": value_loss}

        return self._clipped_steps(experience, prepared, advantages, self.num_epochs,
                                   self.clip_ratio, objective, metrics=("value_loss",))
