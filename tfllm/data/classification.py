"""Classification pipeline: (text, label) from TSV/JSONL -> padded batches.

Batches: token_ids (int32 (B, T): <bos> + text, truncated and padded), padding_mask
(bool (B, T)), label (int32 (B,)).
"""

import os

import numpy as np
import tensorflow as tf

from tfllm.data import distribute
from tfllm.data import sources

_AUTOTUNE = tf.data.AUTOTUNE


def read_examples(path, text_field="text", label_field="label", errors="strict",
                  line_numbers=False):
    """(text, label) pairs from a TSV (text <tab> label) or JSONL file ((line number,
    (text, label)) pairs if `line_numbers`)."""
    extension = os.path.splitext(path)[1].lower()
    if extension in (".tsv", ".txt"):
        numbered = sources.read_tsv(path, 2, errors=errors, line_numbers=True)
    elif extension in (".jsonl", ".json"):
        numbered = ((n, (r[text_field], r[label_field])) for n, r in sources.read_jsonl(
            path, (text_field, label_field), errors, line_numbers=True))
    else:
        raise ValueError(f"{path}: unknown examples format {extension!r}; expected .tsv, "
                         f".txt or .jsonl")
    return [pair if line_numbers else pair[1] for pair in numbered]


def label_ids(labels, label_names=None, locations=None):
    """Maps labels to ints: by `label_names` order, ints as given, else sorted names.

    A label is a class name (str) or a class id (int >= 0); floats, booleans and
    other types are an error naming the example's location (`locations[i]`, e.g.
    "file.tsv:3"; default "example i").
    Returns (ids, label_names or None).
    """
    labels = list(labels)
    where = list(locations) if locations is not None else [
        f"example {i}" for i in range(len(labels))]
    for i, label in enumerate(labels):
        if isinstance(label, bool) or not isinstance(label, (str, int, np.integer)):
            raise ValueError(f"{where[i]}: label {label!r} is a {type(label).__name__}; "
                             f"labels are class names (str) or class ids (int)")
        if not isinstance(label, str) and label < 0:
            raise ValueError(f"{where[i]}: label {label} is negative")
    if label_names is None and all(not isinstance(x, str) for x in labels):
        return [int(x) for x in labels], None
    names = list(label_names) if label_names is not None else sorted(set(map(str, labels)))
    index = {name: i for i, name in enumerate(names)}
    ids = []
    for i, label in enumerate(labels):
        if str(label) not in index:
            raise ValueError(f"{where[i]}: label {label!r} not in label_names {names}")
        ids.append(index[str(label)])
    return ids, names


def make_classification_dataset(examples_or_path, tokenizer, sequence_length, batch_size,
                                *, label_names=None, seed=0, shuffle=True, repeat=False,
                                num_shards=1, shard_index=0, input_context=None,
                                drop_remainder=False, prefetch=True):
    """Batches of (text, label) examples (a list or a TSV/JSONL path).

    Args:
        label_names: class names in id order; default: int labels as given, else the
            sorted distinct labels of these examples (pass `label_names` to keep the
            mapping fixed across splits).
    """
    if isinstance(examples_or_path, str):
        numbered = read_examples(examples_or_path, line_numbers=True)
        if not numbered:
            raise ValueError(f"{examples_or_path}: no examples (empty file)")
        locations = [f"{examples_or_path}:{n}" for n, _ in numbered]
        examples = [example for _, example in numbered]
    else:
        examples, locations = list(examples_or_path), None
        if not examples:
            raise ValueError("make_classification_dataset: no examples (empty list)")
    ids, _ = label_ids([label for _, label in examples], label_names, locations)
    encoded = tokenizer.encode([text for text, _ in examples])
    tokens = np.full((len(examples), sequence_length), tokenizer.pad_id, np.int32)
    real = np.zeros((len(examples), sequence_length), bool)
    for i, row in enumerate(encoded):
        row = ([tokenizer.bos_id] + row)[:sequence_length]
        tokens[i, :len(row)] = row
        real[i, :len(row)] = True
    dataset = tf.data.Dataset.from_tensor_slices(
        {"token_ids": tokens, "padding_mask": real, "label": np.array(ids, np.int32)})
    dataset = distribute.order(dataset, seed, shuffle, repeat, num_shards, shard_index,
                               input_context)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(_AUTOTUNE) if prefetch else dataset
