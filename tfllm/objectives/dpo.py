"""Direct Preference Optimization (Rafailov et al. 2023) and IPO (Azar et al. 2023).

The reference policy is a frozen copy of the model taken at the objective's first call
(the fine-tuning start point), made eagerly even when the first call is traced; call
`objective.set_reference(model)` to choose it explicitly.
"""

from keras import ops

from tfllm.models.frozen import frozen_copy
from tfllm.objectives import token_losses
from tfllm.objectives.registry import register

SIDE_KEYS = ("token_ids", "labels", "padding_mask", "loss_mask")
LOSS_TYPES = ("sigmoid", "ipo")


def sequence_log_probs(model, batch, side, training=False):
    """(sum of response log-probs, number of response tokens), each (batch,), for `side`."""
    inputs = {"token_ids": batch[f"{side}_token_ids"],
              "padding_mask": batch[f"{side}_padding_mask"]}
    logits = model(inputs, training=training)
    log_probs = token_losses.token_log_probs(logits, batch[f"{side}_labels"])
    mask = ops.cast(batch[f"{side}_loss_mask"], "float32")
    return ops.sum(log_probs * mask, axis=1), ops.sum(mask, axis=1)


def dpo_loss(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta,
             loss_type="sigmoid"):
    """Per-pair loss from (summed or averaged) response log-probs.

    sigmoid (DPO): -log sigmoid(beta * h); ipo: (h - 1 / (2 beta))^2, where
    h = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected).
    """
    h = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
    if loss_type == "sigmoid":
        return ops.softplus(-beta * h)
    return ops.square(h - 1.0 / (2.0 * beta))


@register("dpo")
class DirectPreferenceOptimization:
    """DPO / IPO objective on preference pairs against a frozen reference.

    Args:
        beta: inverse temperature of the implicit reward beta * log(pi / pi_ref).
        loss_type: "sigmoid" (DPO) or "ipo" (IPO, on per-token mean log-probs, as in
            the IPO paper's sequence log-likelihood normalised by length).

    Batch: chosen_/rejected_ token_ids, labels, padding_mask and loss_mask (1 on the
    response). Metrics: loss, pairwise_accuracy (chosen implicit reward above the
    rejected one), reward_margin, chosen_reward, rejected_reward.
    """

    name = "dpo"

    def __init__(self, beta=0.1, loss_type="sigmoid"):
        if not beta > 0.0:
            raise ValueError(f"dpo objective: beta must be > 0, got {beta!r}")
        if loss_type not in LOSS_TYPES:
            raise ValueError(f"dpo objective: loss_type must be one of {LOSS_TYPES}, "
                             f"got {loss_type!r}")
        self.beta = float(beta)
        self.loss_type = loss_type
        self.reference = None

    def set_reference(self, model):
        """Freezes a copy of `model` (its current weights) as the reference policy."""
        self.reference = frozen_copy(model)

    def _log_probs(self, model, batch, training):
        out = {}
        for side in ("chosen", "rejected"):
            total, count = sequence_log_probs(model, batch, side, training=training)
            out[side] = total / ops.maximum(count, 1.0) if self.loss_type == "ipo" else total
        return out

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(
            batch, [f"{side}_{key}" for side in ("chosen", "rejected") for key in SIDE_KEYS],
            self.name)
        if self.reference is None:
            self.set_reference(model)
        policy = self._log_probs(model, batch, training)
        reference = self._log_probs(self.reference, batch, False)
        reference = {k: ops.stop_gradient(v) for k, v in reference.items()}
        losses = dpo_loss(policy["chosen"], policy["rejected"], reference["chosen"],
                          reference["rejected"], self.beta, self.loss_type)
        chosen_reward = self.beta * (policy["chosen"] - reference["chosen"])
        rejected_reward = self.beta * (policy["rejected"] - reference["rejected"])
        margin = chosen_reward - rejected_reward
        loss = ops.mean(losses)
        return loss, {"loss": loss,
                      "pairwise_accuracy": ops.mean(ops.cast(margin > 0, "float32")),
                      "reward_margin": ops.mean(margin),
                      "chosen_reward": ops.mean(chosen_reward),
                      "rejected_reward": ops.mean(rejected_reward)}


__all__ = ["DirectPreferenceOptimization", "dpo_loss", "sequence_log_probs"]
