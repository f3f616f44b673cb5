"""Seq2seq pipeline: (source, target) pairs -> padded, length-bucketed batches.

Batches: encoder_token_ids, encoder_padding_mask, decoder_token_ids,
decoder_padding_mask, labels, loss_mask. The encoder reads source + <eos>; the decoder
reads <bos> + target and predicts target + <eos>.
"""

import os

import tensorflow as tf

from tfllm.data import distribute
from tfllm.data import sources

_AUTOTUNE = tf.data.AUTOTUNE


def read_pairs(path, source_field="source", target_field="target", errors="strict"):
    """(source, target) pairs from a TSV (first two columns, Tatoeba/Anki style) or a
    JSONL file ({source_field, target_field}); chosen by the file extension."""
    extension = os.path.splitext(path)[1].lower()
    if extension in (".tsv", ".txt"):
        return list(sources.read_tsv(path, 2, errors=errors))
    if extension in (".jsonl", ".json"):
        return [(r[source_field], r[target_field])
                for r in sources.read_jsonl(path, (source_field, target_field), errors)]
    raise ValueError(f"{path}: unknown pairs format {extension!r}; expected .tsv, .txt "
                     f"or .jsonl")


def encode_sources(tokenizer, texts, max_length=None):
    """Encoder inputs of source texts, as every seq2seq model is trained and decoded:
    ids + <eos>, truncated to `max_length` tokens."""
    return [(ids + [tokenizer.eos_id])[:max_length] for ids in tokenizer.encode(list(texts))]


def _encode_pairs(pairs, tokenizer, target_tokenizer, max_source_length,
                  max_target_length):
    pairs = list(pairs)
    if not pairs:
        raise ValueError("make_seq2seq_dataset: no pairs (empty corpus)")
    for i, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            raise ValueError(f"pair {i}: expected (source str, target str), got {pair!r:.80}")
    encoder = encode_sources(tokenizer, [s for s, _ in pairs], max_source_length)
    targets_ids = target_tokenizer.encode([t for _, t in pairs])
    decoder, labels = [], []
    for tgt in targets_ids:
        full = ([target_tokenizer.bos_id] + tgt + [target_tokenizer.eos_id])
        full = full[:max_target_length + 1] if max_target_length else full
        decoder.append(full[:-1])
        labels.append(full[1:])
    return encoder, decoder, labels


def ragged_ids(rows):
    """A list of int lists as an int32 RaggedTensor (fast: from flat values)."""
    lengths = [len(r) for r in rows]
    flat = [i for r in rows for i in r]
    return tf.RaggedTensor.from_row_lengths(
        tf.constant(flat, tf.int32, shape=[len(flat)]), tf.constant(lengths, tf.int64))


def _dense(example):
    """Slices of a RaggedTensor come out as ragged specs; padded_batch needs tensors."""
    return {k: v.to_tensor() if isinstance(v, tf.RaggedTensor) else tf.identity(v)
            for k, v in example.items()}


def _length(example):
    return tf.maximum(tf.shape(example["encoder"])[0], tf.shape(example["decoder"])[0])


def make_seq2seq_dataset(pairs, tokenizer, batch_size, *, target_tokenizer=None,
                         max_source_length=None, max_target_length=None,
                         bucket_boundaries=None, seed=0, shuffle=True, repeat=False,
                         num_shards=1, shard_index=0, input_context=None,
                         drop_remainder=False, prefetch=True):
    """Batches of (source, target) pairs, padded per batch (or per length bucket).

    Args:
        pairs: (source, target) str pairs (e.g. from `read_pairs`).
        tokenizer: source tokenizer (also the target one unless `target_tokenizer`).
        max_source_length / max_target_length: truncation (tokens, incl. eos/bos).
        bucket_boundaries: e.g. [16, 32, 64]: group examples of similar length
            (`tf.data.Dataset.bucket_by_sequence_length`); None: one padded batch.
    """
    target_tokenizer = target_tokenizer or tokenizer
    encoder, decoder, labels = _encode_pairs(pairs, tokenizer, target_tokenizer,
                                             max_source_length, max_target_length)
    dataset = tf.data.Dataset.from_tensor_slices(
        {"encoder": ragged_ids(encoder), "decoder": ragged_ids(decoder),
         "labels": ragged_ids(labels)}).map(_dense)
    dataset = distribute.order(dataset, seed, shuffle, repeat, num_shards, shard_index,
                               input_context)
    if bucket_boundaries:
        dataset = dataset.bucket_by_sequence_length(
            _length, list(bucket_boundaries), [batch_size] * (len(bucket_boundaries) + 1),
            padding_values=tokenizer.pad_id, drop_remainder=drop_remainder)
    else:
        dataset = dataset.padded_batch(batch_size, padding_values=tokenizer.pad_id,
                                       drop_remainder=drop_remainder)
    pad = tokenizer.pad_id

    def to_batch(x):
        decoder_mask = x["decoder"] != pad
        return {"encoder_token_ids": x["encoder"],
                "encoder_padding_mask": x["encoder"] != pad,
                "decoder_token_ids": x["decoder"],
                "decoder_padding_mask": decoder_mask,
                "labels": x["labels"],
                "loss_mask": tf.cast(decoder_mask, tf.float32)}

    dataset = dataset.map(to_batch, num_parallel_calls=_AUTOTUNE, deterministic=True)
    return dataset.prefetch(_AUTOTUNE) if prefetch else dataset
