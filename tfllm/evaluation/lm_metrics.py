"""Language-model metrics over a dataset: perplexity and next-token accuracy."""

import math

import numpy as np
import tensorflow as tf


def evaluate_lm(model, dataset, max_batches=0, token_byte_lengths=None):
    """Token-weighted loss, perplexity and accuracy of `model` over LM batches.

    Args:
        model: a DecoderLM (logits from {"token_ids", "padding_mask"}).
        dataset: batches with token_ids, labels, padding_mask, loss_mask.
        max_batches: stop after this many batches (0: all).
        token_byte_lengths: the tokenizer's `token_byte_lengths()`; adds bits_per_byte,
            the summed loss over the counted labels' bytes (comparable across tokenizers).

    Returns:
        dict(loss, perplexity, accuracy, tokens, batches[, bits_per_byte, bytes]).
    """
    lengths = tf.constant(np.zeros(1) if token_byte_lengths is None else token_byte_lengths,
                          tf.float32)

    @tf.function(jit_compile=True)
    def batch_sums(batch):
        logits = model({"token_ids": batch["token_ids"], "padding_mask": batch["padding_mask"]},
                       training=False)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(batch["labels"], logits)
        mask = tf.cast(batch["loss_mask"], tf.float32)
        hits = tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == batch["labels"],
                       tf.float32)
        label_bytes = (tf.gather(lengths, batch["labels"]) if token_byte_lengths is not None
                       else tf.zeros_like(mask))
        return (tf.reduce_sum(nll * mask), tf.reduce_sum(hits * mask), tf.reduce_sum(mask),
                tf.reduce_sum(label_bytes * mask))

    total_nll = total_hits = total_tokens = total_bytes = 0.0
    batches = 0
    for batch in dataset:
        if max_batches and batches >= max_batches:
            break
        nll, hits, tokens, size = (float(x) for x in batch_sums(batch))
        total_nll, total_hits, total_tokens, total_bytes = (
            total_nll + nll, total_hits + hits, total_tokens + tokens, total_bytes + size)
        batches += 1
    if not total_tokens:
        raise ValueError("evaluation data has no counted tokens (empty split or all masked)")
    loss = total_nll / total_tokens
    metrics = {"loss": loss, "perplexity": math.exp(min(loss, 700.0)),
               "accuracy": total_hits / total_tokens, "tokens": int(total_tokens),
               "batches": batches}
    if token_byte_lengths is not None and total_bytes:
        metrics.update(bits_per_byte=total_nll / (total_bytes * math.log(2)),
                       bytes=int(total_bytes))
    return metrics


def perplexity_of_texts(model, tokenizer, texts):
    """Per-text perplexity of `model` on each string (<bos> + text + <eos>)."""
    out = []
    for ids in tokenizer.encode(list(texts), add_bos=True, add_eos=True):
        ids = np.asarray(ids[:model.max_sequence_length + 1], np.int32)[None]
        logits = model(ids[:, :-1], training=False)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(ids[:, 1:], logits)
        out.append(math.exp(float(tf.reduce_mean(nll))))
    return out
