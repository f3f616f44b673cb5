"""Advantage-weighted regression (Peng et al. 2019) on segment rewards, as in Korbak et al. 2023.

The LM needs a value head (`DecoderLM(..., value_head=True)`): V_t = value_head(h_t)
predicts the reward of label t. Advantage A = R - stop_gradient(V); the LM term weights
each token's -log p by min(exp(A / beta), max_weight); the value term is the mean of
(V - R)^2. Loss = alpha * LM term + (1 - alpha) * value term, means over counted tokens.
"""

from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register
from tfllm.objectives.rwr import check_weighting, exponential_weights


@register("awr")
class AdvantageWeightedRegression:
    """Value-baselined reward weighting of the LM loss, plus a value regression loss.

    Args:
        alpha: weight of the LM term; the value term gets 1 - alpha.
        beta: temperature of the exponential weights.
        max_weight: upper clip of a token weight.

    Metrics: loss, token_loss, accuracy, tokens, lm_loss, value_loss, mean_weight,
    mean_advantage.
    """

    name = "awr"

    def __init__(self, alpha=0.5, beta=1.0, max_weight=100.0):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"awr objective: alpha must be in [0, 1], got {alpha!r}")
        check_weighting(beta, max_weight, self.name)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.max_weight = float(max_weight)

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, token_losses.LM_KEYS, self.name)
        rewards = token_losses.segment_rewards(batch, self.name)
        if getattr(model, "value_head", None) is None:
            raise ValueError("awr objective: the model has no value head; build it with "
                             "value_head=True")
        logits, hidden = model.call_with_hidden(token_losses.model_inputs(batch),
                                                training=training)
        values = ops.cast(model.value_head(hidden), "float32")
        log_probs = token_losses.token_log_probs(logits, batch["labels"])
        advantages = rewards - ops.stop_gradient(values)
        weights = exponential_weights(advantages, self.beta, self.max_weight)
        mask = batch["loss_mask"]
        lm_loss = token_losses.masked_mean(-weights * log_probs, mask)
        value_loss = token_losses.masked_mean(ops.square(values - rewards), mask)
        loss = self.alpha * lm_loss + (1.0 - self.alpha) * value_loss
        metrics = token_losses.lm_metrics(logits, batch["labels"], mask, log_probs)
        metrics.update(loss=loss, lm_loss=lm_loss, value_loss=value_loss,
                       mean_weight=token_losses.masked_mean(weights, mask),
                       mean_advantage=token_losses.masked_mean(advantages, mask))
        return loss, metrics
