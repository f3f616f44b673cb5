"""Reward-weighted regression (Peters & Schaal 2007) on segment rewards, as in Korbak et al. 2023.

Each token's -log p is weighted by min(exp(R / beta), max_weight), R = -misalignment
score of its segment (the batch's `scores`); the loss is the weighted sum divided by
the number of counted tokens.
"""

import math

from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register


def exponential_weights(values, beta, max_weight):
    """min(exp(values / beta), max_weight), computed without overflow."""
    return ops.exp(ops.minimum(values / beta, math.log(max_weight)))


def check_weighting(beta, max_weight, objective):
    """Raises ValueError unless beta > 0 and max_weight > 0."""
    if not beta > 0.0:
        raise ValueError(f"{objective} objective: beta must be > 0, got {beta!r}")
    if not max_weight > 0.0:
        raise ValueError(f"{objective} objective: max_weight must be > 0, got {max_weight!r}")


@register("rwr")
class RewardWeightedRegression:
    """MLE with token weights exp(reward / beta), clipped at max_weight.

    Args:
        beta: temperature of the exponential weights.
        max_weight: upper clip of a token weight.

    Metrics: loss, token_loss (unweighted -log p), accuracy, tokens, mean_weight.
    """

    name = "rwr"

    def __init__(self, beta=1.0, max_weight=100.0):
        check_weighting(beta, max_weight, self.name)
        self.beta = float(beta)
        self.max_weight = float(max_weight)

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, token_losses.LM_KEYS, self.name)
        rewards = token_losses.segment_rewards(batch, self.name)
        logits = model(token_losses.model_inputs(batch), training=training)
        log_probs = token_losses.token_log_probs(logits, batch["labels"])
        weights = exponential_weights(rewards, self.beta, self.max_weight)
        mask = batch["loss_mask"]
        loss = token_losses.masked_mean(-weights * log_probs, mask)
        metrics = token_losses.lm_metrics(logits, batch["labels"], mask, log_probs)
        metrics.update(loss=loss, mean_weight=token_losses.masked_mean(weights, mask))
        return loss, metrics
