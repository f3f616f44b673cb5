"""Scored text: {"text", "score"} JSONL rows -> LM batches of one text per row, the score
being the row's preference input (a DecoderLM(preference_dim=1) conditioned on it, e.g.
a sentence and its sentiment).

Batches: token_ids / labels (int32 (B, T): <bos> text <eos>, cut to T + 1 tokens and
zero-padded, shifted by one), padding_mask (bool (B, T)), loss_mask (float32 (B, T): 1 on
the real labels) and preference (float32 (B, 1): the score).
"""

import math

import numpy as np

from tfllm.data import sources


def read_scored_texts(path):
    """(text, score) pairs of a {"text": str, "score": number} JSONL file; a row whose text
    is not a string or whose score is not a finite number is an error naming path:line."""
    out = []
    for number, record in sources.read_jsonl(path, ("text", "score"), line_numbers=True):
        text, score = record["text"], record["score"]
        if not isinstance(text, str):
            raise ValueError(f"{path}:{number}: field 'text' is a {type(text).__name__}, "
                             "expected a string")
        if isinstance(score, bool) or not isinstance(score, (int, float)) \
                or not math.isfinite(score):
            raise ValueError(f"{path}:{number}: field 'score' is {score!r}, expected a "
                             "finite number")
        out.append((text, float(score)))
    return out


def make_scored_text_dataset(rows, tokenizer, sequence_length, batch_size, seed=0,
                             shuffle=True, repeat=True, drop_remainder=True):
    """Batches of `rows` ((text, score) pairs, or a JSONL path for `read_scored_texts`):
    one text per row; with `shuffle` the rows are shuffled over the whole set (`seed`, a
    new order each pass), with `repeat` repeated without end."""
    import tensorflow as tf

    if isinstance(rows, str):
        rows = read_scored_texts(rows)
    rows = list(rows)
    if not rows:
        raise ValueError("make_scored_text_dataset: no rows")
    length = int(sequence_length)
    ids = np.zeros((len(rows), length + 1), np.int32)
    for i, row in enumerate(tokenizer.encode([text for text, _ in rows])):
        row = ([tokenizer.bos_id] + row + [tokenizer.eos_id])[:length + 1]
        ids[i, :len(row)] = row
    labels = ids[:, 1:]
    dataset = tf.data.Dataset.from_tensor_slices({
        "token_ids": ids[:, :-1], "labels": labels, "padding_mask": ids[:, :-1] != 0,
        "loss_mask": (labels != 0).astype(np.float32),
        "preference": np.array([[score] for _, score in rows], np.float32)})
    if shuffle:
        dataset = dataset.shuffle(len(rows), seed=seed)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(int(batch_size), drop_remainder=drop_remainder)
