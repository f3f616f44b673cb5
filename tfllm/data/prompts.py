"""Prompt/response pipelines: chat SFT (loss on the response only) and preference pairs
{prompt, chosen, rejected} for reward models and DPO.

A sequence is <bos> + template(prompt) + response + <eos>, truncated on the right to
`sequence_length + 1` tokens and padded; `loss_mask` is 1.0 on labels that belong to
the response (its <eos> included).
"""

import numpy as np
import tensorflow as tf

from tfllm.data import distribute
from tfllm.data import sources

CHAT_TEMPLATE = "User: {prompt}\nAssistant: "
_AUTOTUNE = tf.data.AUTOTUNE


def _records(records_or_path, fields):
    if isinstance(records_or_path, str):
        return list(sources.read_jsonl(records_or_path, fields))
    records = list(records_or_path)
    for i, record in enumerate(records):
        for field in fields:
            if field not in record:
                raise ValueError(f"record {i}: missing field {field!r}")
            if not isinstance(record[field], str):
                raise ValueError(f"record {i}: field {field!r} must be str, got "
                                 f"{type(record[field]).__name__}")
    if not records:
        raise ValueError("no records (empty corpus)")
    return records


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
        arrays.update({f"{side}_{k}": v for k, v in encoded.items()})
    return _batched(arrays, batch_size, seed, shuffle, repeat, num_shards, shard_index,
                    input_context, drop_remainder, prefetch)
