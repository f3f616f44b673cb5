"""Language-model metrics over a dataset: perplexity, next-token accuracy, bits per byte and
per character."""

import math

import numpy as np
import tensorflow as tf

from tfllm.objectives import token_losses


def evaluate_lm(model, dataset, max_batches=0, token_byte_lengths=None,
                token_character_lengths=None, ignored_label_ids=()):
    """Token-weighted loss, perplexity and accuracy of `model` over LM batches.

    Args:
        model: a DecoderLM (logits from `token_losses.model_inputs(batch)`).
        dataset: batches with token_ids, labels, padding_mask, loss_mask.
        max_batches: stop after this many batches (0: all).
        token_byte_lengths: the tokenizer's `token_byte_lengths()`; adds bits_per_byte,
            the summed loss over the counted labels' bytes (comparable across tokenizers).
        token_character_lengths: the tokenizer's `token_character_lengths()`; adds
            bits_per_character, the same over the labels' characters (code points).
        ignored_label_ids: labels not counted (e.g. control tokens, which no text has).

    Returns:
        dict(loss, perplexity, accuracy, tokens, batches[, bits_per_byte, bytes]
        [, bits_per_character, characters]).
    """
    units = {name: lengths for name, lengths in (("byte", token_byte_lengths),
                                                 ("character", token_character_lengths))
             if lengths is not None}
    tables = {name: tf.constant(lengths, tf.float32) for name, lengths in units.items()}
    ignored = tf.constant(list(ignored_label_ids) or [-1], tf.int32)

    @tf.function(jit_compile=True)
    def batch_sums(batch):
        logits = model(token_losses.model_inputs(batch), training=False)
        labels = batch["labels"]
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        counted = tf.reduce_all(labels[..., None] != ignored, axis=-1)
        mask = tf.cast(batch["loss_mask"], tf.float32) * tf.cast(counted, tf.float32)
        hits = tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == labels, tf.float32)
        sums = {"nll": nll * mask, "hits": hits * mask, "tokens": mask}
        sums.update({name: tf.gather(table, labels) * mask for name, table in tables.items()})
        return {key: tf.reduce_sum(value) for key, value in sums.items()}

    totals = {}
    batches = 0
    for batch in dataset:
        if max_batches and batches >= max_batches:
            break
        for key, value in batch_sums(batch).items():
            totals[key] = totals.get(key, 0.0) + float(value)
        batches += 1
    if not totals.get("tokens"):
        raise ValueError("evaluation data has no counted tokens (empty split or all masked)")
    loss = totals["nll"] / totals["tokens"]
    metrics = {"loss": loss, "perplexity": math.exp(min(loss, 700.0)),
               "accuracy": totals["hits"] / totals["tokens"], "tokens": int(totals["tokens"]),
               "batches": batches}
    for name in units:
        if totals[name]:
            metrics[f"bits_per_{name}"] = totals["nll"] / (totals[name] * math.log(2))
            metrics[f"{name}s"] = int(totals[name])
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
