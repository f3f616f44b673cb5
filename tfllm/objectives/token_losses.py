"""Shared pieces of the LM objectives: batch checks, per-token log-probs, masked means."""

from keras import ops

LM_KEYS = ("token_ids", "labels", "loss_mask")


def check_batch(batch, keys, objective):
    """Raises ValueError unless `batch` is a dict holding every key in `keys`."""
    if not isinstance(batch, dict):
        raise ValueError(f"{objective} objective: batch must be a dict, got "
                         f"{type(batch).__name__}")
    missing = [key for key in keys if key not in batch]
    if missing:
        raise ValueError(f"{objective} objective: batch lacks keys {missing}; "
                         f"got {sorted(batch)}")


def model_inputs(batch):
    """The model's input dict: token_ids and, when the batch has them, padding_mask,
    preference (the per-example preference vector of a DecoderLM(preference_dim>0)) and
    segment_ids (packed rows: attention within each example)."""
    return {key: batch[key] for key in ("token_ids", "padding_mask", "preference",
                                        "segment_ids") if key in batch}


def token_log_probs(logits, labels):
    """log p(label) per position, float32 (batch, length), from logits (batch, length, vocab)."""
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    labels = ops.cast(labels, "int32")
    return ops.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]


def masked_mean(values, mask):
    """sum(values * mask) / sum(mask); 0.0 when the mask is empty."""
    mask = ops.cast(mask, "float32")
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


def lm_metrics(logits, labels, loss_mask, log_probs):
    """Unweighted LM metrics over counted tokens.

    token_loss: mean -log p(label) (perplexity = exp(token_loss)); accuracy: argmax hits;
    tokens: number of counted tokens.
    """
    hits = ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int32")), "float32")
    return {"token_loss": masked_mean(-log_probs, loss_mask),
            "accuracy": masked_mean(hits, loss_mask),
            "tokens": ops.sum(ops.cast(loss_mask, "float32"))}


def segment_rewards(batch, objective):
    """Per-token reward = -misalignment score of the label's segment (float32)."""
    check_batch(batch, ("scores",), objective)
    return -ops.cast(batch["scores"], "float32")
