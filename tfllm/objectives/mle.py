"""Maximum likelihood: masked next-token cross-entropy. Also filtering and conditional.

Korbak et al. (2023) "Pretraining Language Models with Human Preferences": filtering
and conditional training change the *data*, not the loss. Filtering trains with MLE on
a corpus whose documents over a misalignment threshold were dropped; conditional
training with MLE on text where the data pipeline put `<|good|>` / `<|bad|>` at each
segment start (tfllm.data). As in the paper the control tokens are ordinary tokens of
the sequence here: they count in the loss like any other label (the model learns how
often each kind of segment occurs); they are banned from the output at generation.
"""

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register


class MaximumLikelihood:
    """Mean over counted tokens (`loss_mask`) of -log p(label), logits in float32.

    Metrics: loss, token_loss (= loss; perplexity = exp), accuracy, tokens.
    """

    name = "mle"

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, token_losses.LM_KEYS, self.name)
        logits = model(token_losses.model_inputs(batch), training=training)
        log_probs = token_losses.token_log_probs(logits, batch["labels"])
        metrics = token_losses.lm_metrics(logits, batch["labels"], batch["loss_mask"], log_probs)
        return metrics["token_loss"], {"loss": metrics["token_loss"], **metrics}


for _name in ("mle", "filtering", "conditional"):
    register(_name)(MaximumLikelihood)
