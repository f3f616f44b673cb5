"""Prompt/response pipelines: chat SFT (loss on the response only) and preference pairs
{prompt, chosen, rejected} for reward models and DPO.

A sequence is <bos> + template(prompt) + response + <eos>, truncated on the right to
`sequence_length + 1` tokens and padded; `loss_mask` is 1.0 on labels that belong to
the response (its <eos> included).
"""

from absl import logging
import numpy as np
import tensorflow as tf

from tfllm.data import distribute
from tfllm.data import sources

CHAT_TEMPLATE = "User: {prompt}\nAssistant: "
_AUTOTUNE = tf.data.AUTOTUNE


def _records(records_or_path, fields):
    """The records of a JSONL path or a list of dicts; every field must be a str. Errors
    name "file:line" (a path) or "record i" (a list)."""
    if isinstance(records_or_path, str):
        numbered = [(f"{records_or_path}:{number}", record) for number, record in
                    sources.read_jsonl(records_or_path, fields, line_numbers=True)]
        empty = f"{records_or_path}: no records (empty file)"
    else:
        numbered = [(f"record {i}", record) for i, record in enumerate(records_or_path)]
        empty = "no records (empty corpus)"
    for where, record in numbered:
        for field in fields:
            if field not in record:
                raise ValueError(f"{where}: missing field {field!r}")
            if not isinstance(record[field], str):
                raise ValueError(f"{where}: field {field!r} must be a string, got "
                                 f"{type(record[field]).__name__} {record[field]!r}")
    if not numbered:
        raise ValueError(empty)
    return [record for _, record in numbered]


def _name(records_or_path):
    return records_or_path if isinstance(records_or_path, str) else "records"


def _check_responses_fit(loss_mask, sequence_length, where):
    """ValueError if no example keeps a response token after truncation to
    `sequence_length`; a warning with the count if some lose theirs."""
    lost = int((loss_mask.sum(axis=1) == 0).sum())
    if lost and lost == len(loss_mask):
        raise ValueError(f"{where}: every example's response is cut off at sequence_length "
                         f"{sequence_length} (the prompts fill it); raise "
                         f"config.data.sequence_length or shorten the prompts")
    if lost:
        logging.warning("%s: %d of %d examples lose their whole response at "
                        "sequence_length %d and add nothing to the loss", where, lost,
                        len(loss_mask), sequence_length)


def encode_prompt_response(tokenizer, prompts, responses, sequence_length):
    """Arrays (N, T) token_ids, labels (int32), padding_mask (bool), loss_mask (float32)."""
    prompt_ids = tokenizer.encode(list(prompts))
    response_ids = tokenizer.encode(list(responses))
    n, length = len(prompt_ids), sequence_length
    token_ids = np.full((n, length), tokenizer.pad_id, np.int32)
    labels = np.full((n, length), tokenizer.pad_id, np.int32)
    padding_mask = np.zeros((n, length), bool)
    loss_mask = np.zeros((n, length), np.float32)
    for i, (p, r) in enumerate(zip(prompt_ids, response_ids)):
        sequence = ([tokenizer.bos_id] + p + r + [tokenizer.eos_id])[:length + 1]
        count = len(sequence) - 1
        token_ids[i, :count] = sequence[:-1]
        labels[i, :count] = sequence[1:]
        padding_mask[i, :count] = True
        loss_mask[i, len(p):count] = 1.0  # label t is sequence[t + 1]
    return {"token_ids": token_ids, "labels": labels, "padding_mask": padding_mask,
            "loss_mask": loss_mask}


def _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
             input_context, drop_remainder, prefetch):
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    dataset = distribute.order(dataset, seed, shuffle, repeat, num_shards, shard_index,
                               input_context)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(_AUTOTUNE) if prefetch else dataset


def make_chat_dataset(records_or_path, tokenizer, sequence_length, batch_size, *,
                      template=CHAT_TEMPLATE, prompt_field="prompt",
                      response_field="response", seed=0, shuffle=True, repeat=False,
                      num_shards=1, shard_index=0, input_context=None,
                      drop_remainder=False, prefetch=True):
    """Supervised fine-tuning on {prompt, response} JSONL (path) or dicts.

    Returns LM batches (token_ids, labels, padding_mask, loss_mask) with the loss on
    the response only. `template` formats the prompt (a `{prompt}` placeholder).
    """
    records = _records(records_or_path, (prompt_field, response_field))
    arrays = encode_prompt_response(
        tokenizer, [template.format(prompt=r[prompt_field]) for r in records],
        [r[response_field] for r in records], sequence_length)
    _check_responses_fit(arrays["loss_mask"], sequence_length, _name(records_or_path))
    return _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
                    input_context, drop_remainder, prefetch)


def make_preference_dataset(records_or_path, tokenizer, sequence_length, batch_size, *,
                            template="{prompt}", seed=0, shuffle=True, repeat=False,
                            num_shards=1, shard_index=0, input_context=None,
                            drop_remainder=False, prefetch=True):
    """Preference pairs from {prompt, chosen, rejected} JSONL (path) or dicts.

    Returns batches with chosen_token_ids, chosen_labels, chosen_padding_mask,
    chosen_loss_mask and the same rejected_* keys (loss mask on the response).
    """
    fields = ("prompt", "chosen", "rejected")
    records = _records(records_or_path, fields)
    prompts = [template.format(prompt=r["prompt"]) for r in records]
    arrays = {}
    for side in ("chosen", "rejected"):
        encoded = encode_prompt_response(tokenizer, prompts, [r[side] for r in records],
                                         sequence_length)
        _check_responses_fit(encoded["loss_mask"], sequence_length,
                             f"{_name(records_or_path)} ({side})")
        arrays.update({f"{side}_{k}": v for k, v in encoded.items()})
    return _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
                    input_context, drop_remainder, prefetch)
