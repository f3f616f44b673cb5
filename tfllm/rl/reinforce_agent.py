"""REINFORCE (Williams 1992) with a baseline, as a TF-Agents TFAgent over a Keras LM."""

import tensorflow as tf
from tf_agents.utils import value_ops

from tfllm.rl.agent import LMAgent, masked_mean

BASELINES = ("mean", "value")


class ReinforceAgent(LMAgent):
    """Policy gradient on discounted returns of the shaped rewards, minus a baseline.

    loss = -mean_t[log pi(a_t) * (G_t - b_t)] - entropy_coef * entropy
           (+ value_coef * 0.5 * (V_t - G_t)^2 for the value baseline).

    Args:
        baseline: "mean" (the batch's mean return) or "value" (the model's value head,
            trained on the returns).
        **kwargs: LMAgent arguments.
    """

    def __init__(self, time_step_spec, action_spec, model, optimizer, baseline="mean",
                 name="reinforce_agent", **kwargs):
        if baseline not in BASELINES:
            raise ValueError(f"ReinforceAgent: baseline must be one of {BASELINES}, "
                             f"got {baseline!r}")
        super().__init__(time_step_spec, action_spec, model, optimizer, name=name, **kwargs)
        self.baseline = baseline
        if baseline == "value":
            self._check_value_head("ReinforceAgent(baseline='value')")

    def _update(self, experience, prepared):
        mask = prepared["mask"]
        returns = value_ops.discounted_return(
            prepared["rewards"], prepared["discounts"], time_major=False,
            final_value=tf.zeros_like(prepared["rewards"][:, 0]))
        if self.baseline == "value":
            advantages = returns - prepared["values"]
        else:
            advantages = returns - masked_mean(returns, mask)
        with tf.GradientTape() as tape:
            log_p, entropy, values = self._outputs(self.model, experience, training=True)
            policy_loss = -masked_mean(log_p * tf.stop_gradient(advantages), mask)
            entropy = masked_mean(entropy, mask)
            loss = policy_loss - self.entropy_coef * entropy
            value_loss = tf.constant(0.0)
            if self.baseline == "value":
                value_loss = 0.5 * masked_mean(tf.square(values - returns), mask)
                loss += self.value_coef * value_loss
        self._apply_gradients(tape, loss)
        return loss, {"policy_loss": policy_loss, "value_loss": value_loss,
                      "mean_return": masked_mean(returns, mask)}
