"""RLOO: REINFORCE with the leave-one-out baseline (Kool et al. 2019; Ahmadian et al. 2024,
"Back to Basics", arXiv:2402.14740) as a TF-Agents TFAgent."""

import tensorflow as tf

from tfllm.rl.agent import LMAgent, sequence_sum
from tfllm.rl.groups import check_group_size, leave_one_out_baseline


class RLOOAgent(LMAgent):
    """REINFORCE Leave-One-Out on groups of G episodes per prompt; a response is one action.

    R_i = task reward - beta sum_t KL_t (LMAgent's shaped return: the KL penalty folded into
    the reward, as in TRL's RLOOTrainer), A_i = R_i - mean of the other G - 1 returns of
    its group (`groups.leave_one_out_baseline`). Each `train` call makes num_epochs
    full-batch steps on
    loss = -1/B sum_i sum_t min(rho_t A_i, clip(rho_t, 1 -/+ clip_ratio) A_i)
           - entropy_coef * (the same sum of the entropy),  rho_t = pi(a_t) / pi_old(a_t):
    per response the sum over its tokens, so with num_epochs=1 (rho = 1) the gradient is
    the paper's 1/B sum_i A_i grad log pi(y_i | x). More epochs clip per token as PPO
    does, as TRL's RLOOTrainer (num_iterations, epsilon 0.2; "REINFORCE / A2C is a special
    case of PPO, when the number of PPO epochs is 1", its docs).

    Args:
        group_size: G, episodes per prompt (>= 2; the paper's k, TRL's num_generations).
        num_epochs: steps per batch (>= 1).
        clip_ratio: the clipping epsilon (no effect when num_epochs=1).
        **kwargs: LMAgent arguments (kl_coef = beta, kl_target, kl_horizon, whiten_rewards,
            entropy_coef, temperature, max_grad_norm, ...); gamma and value_coef are unused
            and no value head is needed.

    LossInfo.extra: policy_loss, mean_return (mean R_i), approx_kl, clip_fraction, and
    LMAgent's mean_reward, reward_std, kl_to_reference, kl_coef, response_length, entropy.
    """

    def __init__(self, time_step_spec, action_spec, model, optimizer, group_size, num_epochs=1,
                 clip_ratio=0.2, name="rloo_agent", **kwargs):
        check_group_size("RLOOAgent", group_size)
        if num_epochs < 1:
            raise ValueError(f"RLOOAgent: num_epochs must be >= 1, got {num_epochs}")
        super().__init__(time_step_spec, action_spec, model, optimizer, group_size=group_size,
                         name=name, **kwargs)
        self.num_epochs = int(num_epochs)
        self.clip_ratio = float(clip_ratio)

    def _update(self, experience, prepared):
        mask = prepared["mask"]
        returns = self._episode_returns(prepared, "rewards")
        advantages = returns - leave_one_out_baseline(returns, self.group_size)
        advantages = tf.stop_gradient(advantages)[:, None]

        def objective(policy_loss, log_p, entropy, values):
            return policy_loss - self.entropy_coef * sequence_sum(entropy, mask), {}

        loss, extra = self._clipped_steps(experience, prepared, advantages, self.num_epochs,
                                          self.clip_ratio, objective, reduce=sequence_sum)
        return loss, {**extra, "mean_return": tf.reduce_mean(returns)}
