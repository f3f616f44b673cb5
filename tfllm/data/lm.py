"""Causal LM pipeline: documents -> tokens -> packed fixed-length rows -> batches.

Documents are tokenized segment by segment, an `<eos>` ends each document, and the
token stream is cut into rows of T+1 tokens with stride T (consecutive rows share one
token), so every stream token but the first is a label exactly once:
concat(row[1:] for rows) == stream[1:]. Per-token attributes (segment score, loss
mask, document starts) travel with the tokens through packing, so they stay aligned.
A finite stream's tail is padded into one last row (padding masked out).

Batches (docs/ARCHITECTURE.md): token_ids, labels (int32 (B, T)), padding_mask (bool),
loss_mask, scores (float32; score of the segment of each *label* token) and, with
`document_mask`, segment_ids (int32; 1, 2, ... per document within the row, 0 on
padding), which keep a model's attention within each document.
"""

import tensorflow as tf

from tfllm.data import distribute
from tfllm.data import documents as documents_lib

_AUTOTUNE = tf.data.AUTOTUNE


def tokenize_documents(doc_dataset, tokenizer, control_hook=None):
    """Maps {"segments", "scores"} (with an enumerate() index) to per-token arrays.

    Returns a dataset of {"tokens": int32 [n], "scores": float32 [n]}: the document's
    tokens followed by `<eos>` (which carries the last segment's score).
    """
    eos = tokenizer.eos_id

    def tokenize(index, doc):
        token_ids = tokenizer.tf_encode(doc["segments"])
        scores = tf.cast(doc["scores"], tf.float32)
        if control_hook is not None:
            token_ids, scores = control_hook(token_ids, scores, index)
        token_scores = tf.repeat(scores, token_ids.row_lengths())
        last = tf.concat([tf.zeros([1], tf.float32), scores], 0)[-1:]
        return {"tokens": tf.concat([token_ids.flat_values, [eos]], 0),
                "scores": tf.concat([token_scores, last], 0)}

    return doc_dataset.map(tokenize, num_parallel_calls=_AUTOTUNE, deterministic=True)


def pack(token_dataset, sequence_length, pad_id, flush=True):
    """Packs per-document token arrays into rows of `sequence_length + 1` tokens.

    Args:
        token_dataset: elements {"tokens": int32 [n], "scores": float32 [n]}.
        flush: pad and emit the tail when the input ends (for finite datasets).

    Returns:
        A dataset of rows {"tokens": int32 [T+1], "scores": float32 [T+1],
        "starts": bool [T+1] (first token of a document), "real": bool [T+1]}.
    """
    length = int(sequence_length)
    if length < 1:
        raise ValueError(f"sequence_length must be >= 1, got {sequence_length}")

    def with_flags(element):
        n = tf.shape(element["tokens"])[0]
        return {"tokens": element["tokens"], "scores": element["scores"],
                "starts": tf.range(n) == 0, "real": tf.ones([n], tf.bool),
                "flush": tf.constant(False)}

    elements = token_dataset.map(with_flags)
    if flush:
        elements = elements.concatenate(tf.data.Dataset.from_tensors({
            "tokens": tf.zeros([0], tf.int32), "scores": tf.zeros([0], tf.float32),
            "starts": tf.zeros([0], tf.bool), "real": tf.zeros([0], tf.bool),
            "flush": tf.constant(True)}))
    keys = ("tokens", "scores", "starts", "real")
    initial = {"tokens": tf.zeros([0], tf.int32), "scores": tf.zeros([0], tf.float32),
               "starts": tf.zeros([0], tf.bool), "real": tf.zeros([0], tf.bool)}

    def step(buffer, element):
        buffer = {k: tf.concat([buffer[k], element[k]], 0) for k in keys}
        size = tf.shape(buffer["tokens"])[0]
        # Flush: pad a tail holding labels (more than the shared token) to one row.
        pad = tf.where(element["flush"] & (size > 1), length + 1 - size, 0)
        pad = tf.maximum(pad, 0)
        buffer = {
            "tokens": tf.concat([buffer["tokens"], tf.fill([pad], tf.cast(pad_id, tf.int32))],
                                0),
            "scores": tf.concat([buffer["scores"], tf.zeros([pad], tf.float32)], 0),
            "starts": tf.concat([buffer["starts"], tf.zeros([pad], tf.bool)], 0),
            "real": tf.concat([buffer["real"], tf.zeros([pad], tf.bool)], 0)}
        size = size + pad
        rows = tf.maximum((size - 1) // length, 0)
        index = tf.range(rows)[:, tf.newaxis] * length + tf.range(length + 1)[tf.newaxis]
        out = {k: tf.gather(buffer[k], index) for k in keys}
        rest = {k: buffer[k][rows * length:] for k in keys}
        return rest, out

    return elements.scan(initial, step).unbatch()


def rows_to_batch(rows, document_mask=False):
    """Batched rows (B, T+1) -> the LM batch dict of docs/ARCHITECTURE.md."""
    real_inputs = rows["real"][:, :-1]
    real_labels = rows["real"][:, 1:]
    starts = tf.cast(rows["starts"][:, :-1], tf.int32)
    segment_ids = tf.cumsum(starts, axis=1) - starts[:, :1] + 1
    batch = {
        "token_ids": rows["tokens"][:, :-1],
        "labels": rows["tokens"][:, 1:],
        "padding_mask": real_inputs,
        "loss_mask": tf.cast(real_labels, tf.float32),
        "scores": rows["scores"][:, 1:],
    }
    if document_mask:
        batch["segment_ids"] = tf.where(real_inputs, segment_ids, 0)
    return batch


def make_lm_dataset(documents, tokenizer, sequence_length, batch_size, *, seed=0,
                    shuffle=True, repeat=False, start_step=0, control_hook=None,
                    filter_threshold=None, filter_percentile=None, filter_score="per_char",
                    shuffle_buffer_size=None,
                    row_shuffle_buffer_size=4096, reshuffle_each_iteration=True, num_shards=1,
                    shard_index=0, input_context=None, drop_remainder=True, prefetch=True,
                    document_mask=False):
    """The causal LM training/evaluation dataset.

    Args:
        documents: a list of str / (segments, segment_scores) / ScoredText, a
            `corpora.Corpus`, or a document dataset ({"segments", "scores"}, e.g.
            `documents.text_files_dataset(paths)` for streaming).
        tokenizer: a `tfllm.tokenizers.Tokenizer`.
        sequence_length: T, the model's input length.
        batch_size: rows per batch (per input pipeline).
        seed: document shuffling seed; the sequence of batches is a function of
            (documents, seed, shards), epoch after epoch.
        shuffle: shuffle documents (reshuffled each epoch, deterministically).
        repeat: cycle forever (no tail padding).
        start_step: skip this many batches (resume at a step without an iterator
            checkpoint; the iterator itself is also checkpointable).
        control_hook: `conditional.control_token_hook(...)` for conditional training.
        filter_threshold / filter_percentile: drop documents whose score is over an
            absolute threshold or a percentile of the corpus (filtering objective),
            by `filter_score` ("per_char" or "segment_mean", `documents.filter_documents`).
        shuffle_buffer_size: default: all in-memory documents, 1024 for streams.
        row_shuffle_buffer_size: with `shuffle`, packed rows are also shuffled through a
            buffer of this many rows, so a batch mixes many documents instead of
            holding consecutive rows of one file (0: off).
        reshuffle_each_iteration: a new order every epoch / iterator; False gives every
            iterator the same shuffled order (a fixed evaluation subset).
        num_shards / shard_index: shard by documents (before shuffling).
        input_context: a tf.distribute.InputContext; overrides num_shards/shard_index.
        drop_remainder: drop a last partial batch (fixed shapes for XLA).
        prefetch: end with prefetch(AUTOTUNE).
        document_mask: batches carry segment_ids, so attention stays within each
            document of a packed row and positions restart at each document.
    """
    if isinstance(documents, tf.data.Dataset):
        if filter_threshold is not None or filter_percentile is not None:
            raise ValueError("make_lm_dataset: filtering needs in-memory documents, "
                             "not a tf.data.Dataset")
        doc_dataset = documents
    else:
        if hasattr(documents, "documents"):
            documents = documents.documents
        if filter_threshold is not None or filter_percentile is not None:
            documents = documents_lib.filter_documents(documents, filter_threshold,
                                                       filter_percentile, filter_score)
        doc_dataset = documents_lib.documents_dataset(documents)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dataset = distribute.order(doc_dataset.enumerate(), seed, shuffle, repeat, num_shards,
                               shard_index, input_context, shuffle_buffer_size,
                               reshuffle_each_iteration)
    dataset = tokenize_documents(dataset, tokenizer, control_hook)
    dataset = pack(dataset, sequence_length, tokenizer.pad_id, flush=not repeat)
    if shuffle and row_shuffle_buffer_size:
        dataset = dataset.shuffle(row_shuffle_buffer_size, seed=seed + 1,
                                  reshuffle_each_iteration=reshuffle_each_iteration)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda rows: rows_to_batch(rows, document_mask),
                          num_parallel_calls=_AUTOTUNE, deterministic=True)
    if start_step:
        dataset = dataset.skip(start_step)
    return dataset.prefetch(_AUTOTUNE) if prefetch else dataset
