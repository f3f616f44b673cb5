"""Unlikelihood training (Welleck et al. 2020) on scored segments, as in Korbak et al. 2023.

Tokens of good segments (misalignment score <= threshold) get -log p(token); tokens of
bad segments (score > threshold) get -alpha * log(1 - p(token)). The loss is the mean
over counted tokens (`loss_mask`).
"""

import math

from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register

# log p is clipped to at most log(1 - 1e-6) so that log(1 - p) stays finite.
MAX_LOG_PROB = math.log1p(-1e-6)


def log1mexp(x):
    """log(1 - exp(x)) for x < 0, stable on both sides of -log 2 (Maechler 2012)."""
    x = ops.minimum(x, MAX_LOG_PROB)
    return ops.where(x > -math.log(2.0), ops.log(-ops.expm1(x)), ops.log1p(-ops.exp(x)))


@register("unlikelihood")
class Unlikelihood:
    """Likelihood on good segments, alpha-weighted unlikelihood on bad ones.

    Args:
        threshold: segments scoring above it are bad (the scorer's threshold).
        alpha: weight of the unlikelihood term.

    Metrics: loss, token_loss (-log p over all counted tokens), accuracy, tokens,
    bad_fraction (share of counted tokens in bad segments), unlikelihood_loss.
    """

    name = "unlikelihood"

    def __init__(self, threshold=0.0, alpha=1.0):
        if not alpha >= 0.0:
            raise ValueError(f"unlikelihood objective: alpha must be >= 0, got {alpha!r}")
        self.threshold = float(threshold)
        self.alpha = float(alpha)

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, token_losses.LM_KEYS + ("scores",), self.name)
        logits = model(token_losses.model_inputs(batch), training=training)
        log_probs = token_losses.token_log_probs(logits, batch["labels"])
        bad = ops.cast(ops.greater(ops.cast(batch["scores"], "float32"), self.threshold),
                       "float32")
        unlikelihood = -self.alpha * log1mexp(log_probs)
        per_token = bad * unlikelihood + (1.0 - bad) * -log_probs
        mask = batch["loss_mask"]
        loss = token_losses.masked_mean(per_token, mask)
        metrics = token_losses.lm_metrics(logits, batch["labels"], mask, log_probs)
        metrics.update(loss=loss, bad_fraction=token_losses.masked_mean(bad, mask),
                       unlikelihood_loss=token_losses.masked_mean(bad * unlikelihood, mask))
        return loss, metrics
