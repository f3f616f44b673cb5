"""GRPO (Shao et al. 2024, DeepSeekMath, arXiv:2402.03300) as a TF-Agents TFAgent."""

import tensorflow as tf

from tfllm.rl.agent import LMAgent, sequence_mean
from tfllm.rl.groups import check_group_size, group_advantages


class GRPOAgent(LMAgent):
    """Group Relative Policy Optimization: group-relative advantages, no value network.

    Each episode's task reward (LMAgent's: whitened over the batch when whiten_rewards) is
    standardised within its group of G episodes of one prompt (`groups.group_advantages`)
    and given to every response token. Each `train` call makes num_epochs full-batch steps
    (the paper's mu, TRL's num_iterations) on the paper's objective (eq. 3), averaged per
    response and then over responses (TRL's loss_type="grpo"):
    loss = -1/B sum_i 1/|o_i| sum_t [min(rho_t A_i, clip(rho_t, 1 -/+ clip_ratio) A_i)
           - beta k3_t] - entropy_coef * (the same mean of the entropy),
    rho_t = pi(a_t) / pi_old(a_t), k3_t = pi_ref/pi - log(pi_ref/pi) - 1 (eq. 4) and beta
    the KLController's coefficient (kl_coef). The KL is this loss term only: LMAgent's
    KL-shaped rewards are not used.

    Args:
        group_size: G, episodes per prompt (>= 2; TRL's num_generations).
        num_epochs: clipped-ratio steps per batch (>= 1).
        clip_ratio: the clipping epsilon.
        scale_rewards: divide by the group's std; False only centres (Dr. GRPO, Liu et al.
            2025, arXiv:2503.20783; TRL's scale_rewards=False), and with whiten_rewards the
            scale is then the batch's reward std.
        **kwargs: LMAgent arguments (kl_coef = beta, kl_target, kl_horizon, whiten_rewards,
            entropy_coef, temperature, max_grad_norm, ...); gamma and value_coef are unused
            and no value head is needed.

    LossInfo.extra: policy_loss, kl (the mean k3_t), approx_kl, clip_fraction, and
    LMAgent's mean_reward, reward_std, kl_to_reference, kl_coef, response_length, entropy.
    """

    def __init__(self, time_step_spec, action_spec, model, optimizer, group_size, num_epochs=1,
                 clip_ratio=0.2, scale_rewards=True, name="grpo_agent", **kwargs):
        check_group_size("GRPOAgent", group_size)
        if num_epochs < 1:
            raise ValueError(f"GRPOAgent: num_epochs must be >= 1, got {num_epochs}")
        super().__init__(time_step_spec, action_spec, model, optimizer, group_size=group_size,
                         name=name, **kwargs)
        self.num_epochs = int(num_epochs)
        self.clip_ratio = float(clip_ratio)
        self.scale_rewards = bool(scale_rewards)

    def _update(self, experience, prepared):
        mask = prepared["mask"]
        rewards = self._episode_returns(prepared, "task")
        advantages = group_advantages(rewards, self.group_size, scale=self.scale_rewards)
        advantages = tf.stop_gradient(advantages)[:, None]

        def objective(policy_loss, log_p, entropy, values):
            log_ratio = tf.where(mask, prepared["reference_log_p"] - log_p, 0.0)
            kl = sequence_mean(tf.exp(log_ratio) - log_ratio - 1.0, mask)
            loss = (policy_loss + self.kl_controller.coef * kl
                    - self.entropy_coef * sequence_mean(entropy, mask))
            return loss, {"kl": kl}

        return self._clipped_steps(experience, prepared, advantages, self.num_epochs,
                                   self.clip_ratio, objective, metrics=("kl",),
                                   reduce=sequence_mean)
